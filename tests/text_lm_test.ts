/**
 * A language model from a text file, as a user runs it: a tokenizer trained
 * on the bundled corpus, lang-examples/gpt_factbook.dlm (at a tiny size)
 * trained on windows of its token ids, and the reference interpreter and
 * onnxruntime agreeing on its training steps.
 */
import assert from "node:assert/strict";
import { dlm } from "./cli_testing.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const CORPUS = `${ROOT}lang-examples/data/factbook.txt`;
const EXAMPLE = `${ROOT}lang-examples/gpt_factbook.dlm`;
const TINY = ["vocab=320", "positions=16", "dim=32", "layers=1", "heads=2"].flatMap((s) => [
  "--set",
  s,
]);

Deno.test("the corpus: over 2 MB of UTF-8 English prose in paragraphs", () => {
  const bytes = Deno.readFileSync(CORPUS);
  assert.ok(bytes.length > 2_000_000);
  const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  const paragraphs = text.split("\n\n");
  assert.ok(paragraphs.length > 4000);
  assert.match(text, /The economy/);
});

Deno.test("gpt_factbook.dlm trains on windows of a text file's tokens and both runtimes agree", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_text_lm_" });
  try {
    // A slice of the corpus keeps the test small.
    const text = new TextDecoder().decode(Deno.readFileSync(CORPUS).slice(0, 60_000));
    const cut = text.slice(0, text.lastIndexOf("\n\n"));
    Deno.writeTextFileSync(`${dir}/corpus.txt`, cut);
    const tok = `${dir}/tok.json`;
    const t = await dlm(
      "tokenizer",
      "train",
      `${dir}/corpus.txt`,
      "--vocab-size",
      "320",
      "-o",
      tok,
    );
    assert.equal(t.code, 0, t.err);
    const data = [
      "--tokenizer",
      tok,
      "--data",
      `ids=text:${dir}/corpus.txt:16`,
      "--data",
      `target=text:${dir}/corpus.txt:16:next`,
    ];
    const r = await dlm(
      "train",
      EXAMPLE,
      ...TINY,
      ...data,
      "--epochs",
      "3",
      "--seed",
      "1",
      "--out",
      `${dir}/run`,
      "--save",
      `${dir}/gpt.safetensors`,
    );
    assert.equal(r.code, 0, r.err);
    const [head, ...rows] = Deno.readTextFileSync(`${dir}/run/history.csv`).trim().split("\n");
    const col = head.split(",").indexOf("val_loss");
    const losses = rows.map((l) => Number(l.split(",")[col]));
    assert.equal(losses.length, 3, head);
    // Below the uniform guess's log(320) = 5.77, and falling.
    assert.ok(losses[2] < 5.0 && losses[2] < losses[0], `${losses}`);
    // Text in, text out: the prompt's text comes back first, then what the model adds.
    const g = await dlm(
      "generate",
      EXAMPLE,
      ...TINY,
      "--tokenizer",
      tok,
      "--weights",
      `${dir}/gpt.safetensors`,
      "--prompt",
      "The economy of",
      "--max-new",
      "6",
      "--temperature",
      "0.8",
      "--top-p",
      "0.9",
    );
    assert.equal(g.code, 0, g.err);
    const [line, stats] = g.out.split("\n");
    assert.ok(line.startsWith("The economy of") && line.length > "The economy of".length, line);
    assert.match(stats, /^6 tokens in/);
    const d = await dlm("diff", EXAMPLE, ...TINY, "--train", "2", ...data);
    assert.equal(d.code, 0, d.out + d.err);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
