/**
 * `dlm tokenizer train|encode|decode` as a user runs it: a tokenizer
 * trained from files, text to ids and back, ids through .npy, GPT-2's own
 * tokenizer.json, and every mistake a diagnostic with its exit code.
 */
import assert from "node:assert/strict";
import { readNpy } from "../runtime/formats/mod.ts";
import { writeTokenizerJson } from "../runtime/text/tokenizer_json.ts";
import { gpt2Model } from "../runtime/text/testing.ts";
import { toNumbers } from "../compiler/ir/tensor.ts";
import { dlm } from "./cli_testing.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);

function withTemp(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "dlm_tok_test_" });
    try {
      await fn(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

Deno.test(
  "train from two files, encode and decode text, through arguments and .npy",
  withTemp(async (dir) => {
    const tok = `${dir}/tok.json`;
    const r = await dlm(
      "tokenizer",
      "train",
      `${ROOT}README.md`,
      `${ROOT}ARCHITECTURE.md`,
      "--vocab-size",
      "700",
      "--special",
      "<|endoftext|>",
      "-o",
      tok,
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /wrote .*tok\.json \(700 tokens\)/);
    assert.match(r.err, /MB\/s overall/);
    const j = JSON.parse(Deno.readTextFileSync(tok));
    assert.equal(j.model.type, "BPE");
    assert.equal(j.model.merges.length, 700 - 256 - 1);
    assert.equal(j.added_tokens[0].content, "<|endoftext|>");
    assert.equal(j.added_tokens[0].id, 699);

    const text = "The compiler's shapes: f32[N, 64] <|endoftext|> naïve 🙂";
    const e = await dlm("tokenizer", "encode", "--tokenizer", tok, text);
    assert.equal(e.code, 0, e.err);
    const ids = e.out.split(" ").map(Number);
    assert.ok(ids.includes(699) && ids.length < new TextEncoder().encode(text).length);
    const d = await dlm("tokenizer", "decode", "--tokenizer", tok, ...e.out.split(" "));
    assert.equal(d.code, 0, d.err);
    assert.equal(d.out, text);

    const npy = `${dir}/ids.npy`;
    assert.equal((await dlm("tokenizer", "encode", "--tokenizer", tok, text, "-o", npy)).code, 0);
    const t = readNpy(Deno.readFileSync(npy));
    assert.equal(t.dtype, "i64");
    assert.deepEqual(toNumbers(t), ids);
    const back = await dlm("tokenizer", "decode", "--tokenizer", tok, "--file", npy);
    assert.equal(back.out, text);

    // --no-special: the marker is text.
    const plain = await dlm("tokenizer", "encode", "--tokenizer", tok, "--no-special", text);
    assert.ok(!plain.out.split(" ").includes("699"));
    // A text file, and decode to a file.
    Deno.writeTextFileSync(`${dir}/in.txt`, "line one\nline two\n");
    const f = await dlm("tokenizer", "encode", "--tokenizer", tok, "--file", `${dir}/in.txt`);
    Deno.writeTextFileSync(`${dir}/ids.txt`, f.out + "\n");
    const o = await dlm(
      "tokenizer",
      "decode",
      "--tokenizer",
      tok,
      "--file",
      `${dir}/ids.txt`,
      "-o",
      `${dir}/out.txt`,
    );
    assert.equal(o.code, 0, o.err);
    assert.equal(Deno.readTextFileSync(`${dir}/out.txt`), "line one\nline two\n");
  }),
);

Deno.test(
  "GPT-2's tokenizer.json gives GPT-2's ids",
  withTemp(async (dir) => {
    const tok = `${dir}/gpt2.json`;
    Deno.writeTextFileSync(tok, writeTokenizerJson(gpt2Model()));
    const r = await dlm("tokenizer", "encode", "--tokenizer", tok, "Hello world, it's 2026!");
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "15496 995 11 340 338 1160 2075 0");
  }),
);

Deno.test(
  "mistakes: diagnostics and exit codes, never a stack trace or a partial file",
  withTemp(async (dir) => {
    const bad = async (code: number, re: RegExp, ...argv: string[]) => {
      const r = await dlm("tokenizer", ...argv);
      assert.equal(r.code, code, `${argv.join(" ")}: ${r.err}`);
      assert.match(r.err, re);
      assert.doesNotMatch(r.err, /\n\s+at /);
    };
    await bad(2, /DLM0515.*train, encode or decode, got frob/, "frob");
    await bad(2, /DLM0515.*got none/);
    await bad(
      2,
      /DLM0506: missing --vocab-size/,
      "train",
      `${ROOT}README.md`,
      "-o",
      `${dir}/t.json`,
    );
    await bad(2, /DLM0506: missing -o/, "train", `${ROOT}README.md`, "--vocab-size", "300");
    await bad(2, /DLM0506: missing one or more corpus files/, "train", "--vocab-size", "300");
    await bad(2, /vocab-size/, "train", `${ROOT}README.md`, "--vocab-size", "100", "-o", "x.json");
    await bad(
      1,
      /DLM0401.*no such file/,
      "train",
      `${dir}/none.txt`,
      "--vocab-size",
      "300",
      "-o",
      `${dir}/t.json`,
    );
    Deno.writeFileSync(`${dir}/latin1.txt`, Uint8Array.of(0x63, 0x61, 0x66, 0xe9, 0x0a));
    await bad(
      1,
      /DLM0472: corpus '.*latin1.txt' is not UTF-8 text: invalid bytes at offset 3/,
      "train",
      `${dir}/latin1.txt`,
      "--vocab-size",
      "300",
      "-o",
      `${dir}/t.json`,
    );
    assert.throws(() => Deno.statSync(`${dir}/t.json`), Deno.errors.NotFound);
    await bad(2, /DLM0506: missing --tokenizer/, "encode", "hi");
    Deno.writeTextFileSync(`${dir}/wp.json`, JSON.stringify({ model: { type: "WordPiece" } }));
    await bad(
      1,
      /DLM0470: .*wp.json: model.type is "WordPiece"/,
      "encode",
      "--tokenizer",
      `${dir}/wp.json`,
      "hi",
    );
    Deno.writeTextFileSync(`${dir}/broken.json`, "{ not json");
    await bad(
      1,
      /DLM0470: .*broken.json: not JSON/,
      "encode",
      "--tokenizer",
      `${dir}/broken.json`,
      "hi",
    );
    const tok = `${dir}/tok.json`;
    assert.equal(
      (await dlm("tokenizer", "train", `${ROOT}README.md`, "--vocab-size", "300", "-o", tok)).code,
      0,
    );
    await bad(
      1,
      /DLM0471: the arguments: '300' is not a token id of this tokenizer \(0\.\.299\)/,
      "decode",
      "--tokenizer",
      tok,
      "1",
      "300",
    );
    await bad(
      1,
      /DLM0471: the arguments: 'x7' is not a token id/,
      "decode",
      "--tokenizer",
      tok,
      "x7",
    );
    await bad(2, /DLM0508/, "encode", "--tokenizer", tok, "--file", `${ROOT}README.md`, "extra");
  }),
);
