/**
 * BERT's masked-language-model objective (lang-examples/bert_factbook.dlm):
 * the masking drawn in the graph chooses 15% of the ordinary positions and
 * corrupts them 80/10/10, the loss and the metric count the chosen positions
 * only, a wrong [MASK] id fails at compile time, and the section trains on
 * the bundled corpus with both runtimes agreeing on its steps.
 */
import assert from "node:assert/strict";
import { cloneGraph } from "../compiler/ir/graph.ts";
import { type Tensor, tensor } from "../compiler/ir/tensor.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { withTokenIds } from "../cli/token_overrides.ts";
import { UsageError } from "../cli/args.ts";
import { batchSizes, drawFeeds, drawsAsInputs } from "../runtime/train/draws.ts";
import { dlm } from "./cli_testing.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const CORPUS = `${ROOT}lang-examples/data/factbook.txt`;
const EXAMPLE = `${ROOT}lang-examples/bert_factbook.dlm`;
const SMALL = { vocab: 320, positions: 32, dim: 16, layers: 1, heads: 2, hidden: 32 };
const SET = Object.entries(SMALL).flatMap(([k, v]) => ["--set", `${k}=${v}`]);

const nums = (t: Tensor) => Array.from(t.data as ArrayLike<number | bigint | boolean>, Number);

/**
 * The section's evaluation model (the masking, BERT, the loss and the metric: the step's forward
 * without its update) run by the reference interpreter on ids [N, T], with the draws `dlm train`
 * feeds at the given step.
 */
function evaluate(ids: number[], n: number, t: number, step: number, set = {}) {
  const c = compileTrain(EXAMPLE, { overrides: { ...SMALL, ...set }, seed: 5 });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const g = cloneGraph(c.eval!);
  const draws = drawsAsInputs(g);
  // Two uniform draws (which positions, which corruption) and the random ids.
  assert.equal(draws.length, 3, draws.map((d) => d.key).join(", "));
  const feeds = { ids: tensor("i64", [n, t], ids) };
  const o = runGraph(g, { ...feeds, ...drawFeeds(draws, batchSizes(g.inputs, feeds), 9, [step]) })
    .outputs;
  return {
    masked: nums(o.masked_ids),
    labels: nums(o.labels),
    chosen: nums(o.chosen),
    logits: o.logits.data as Float32Array,
    loss: nums(o.loss)[0],
    accuracy: nums(o["metric:masked_accuracy"])[0],
  };
}

function near(got: number, want: number, tol: number, what: string) {
  assert.ok(Math.abs(got - want) <= tol, `${what}: ${got}, expected ${want} ± ${tol}`);
}

Deno.test("the masking chooses 15% of the ordinary positions and corrupts them 80/10/10", () => {
  const N = 64, T = 32, V = SMALL.vocab, MASK = V - 1;
  // Ordinary ids, and every 7th position the special token [MASK] itself.
  const ids = Array.from({ length: N * T }, (_, i) => (i % 7 === 3 ? MASK : (i * 37) % (V - 1)));
  let positions = 0, chosen = 0, masked = 0, random = 0, kept = 0;
  for (const step of [0, 1, 2]) {
    const o = evaluate(ids, N, T, step);
    for (let i = 0; i < ids.length; i++) {
      const special = ids[i] === MASK;
      if (!o.chosen[i]) {
        // Unchosen: the id goes in as it is and is no target.
        assert.equal(o.masked[i], ids[i], `position ${i} unchosen but changed`);
        assert.equal(o.labels[i], -100);
        continue;
      }
      assert.ok(!special, `special token at ${i} chosen`);
      assert.equal(o.labels[i], ids[i], `the label of chosen position ${i} is its original id`);
      if (o.masked[i] === MASK) masked++;
      else if (o.masked[i] === ids[i]) kept++;
      else {
        random++;
        assert.ok(o.masked[i] >= 0 && o.masked[i] < V - 1, `random id ${o.masked[i]} is ordinary`);
      }
    }
    positions += ids.filter((x) => x !== MASK).length;
    chosen += o.chosen.reduce((a, b) => a + b, 0);
  }
  // 3 x 1756 ordinary positions: the chosen share's standard error is 0.005, and of ~790 chosen
  // the 80% share's is 0.014 and each 10% share's 0.011; the tolerances are about 4 of them.
  near(chosen / positions, 0.15, 0.02, "chosen share");
  near(masked / chosen, 0.8, 0.06, "[MASK] share of the chosen");
  // A random replacement equal to the original (1 in 319) counts as kept.
  near(random / chosen, 0.1, 0.045, "random-token share of the chosen");
  near(kept / chosen, 0.1, 0.045, "unchanged share of the chosen");
});

Deno.test("the loss and masked_accuracy count the chosen positions only", () => {
  const N = 8, T = 32, V = SMALL.vocab;
  const ids = Array.from({ length: N * T }, (_, i) => (i * 11 + 5) % (V - 1));
  const o = evaluate(ids, N, T, 4);
  // Per position: the cross entropy -log softmax(logits)[id] and whether the top logit is the id.
  const ce: number[] = [], hit: boolean[] = [];
  for (let p = 0; p < N * T; p++) {
    const row = o.logits.subarray(p * V, (p + 1) * V);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
    ce.push(lse - row[ids[p]]);
    hit.push(row.indexOf(m) === ids[p]);
  }
  const on = [...ce.keys()].filter((p) => o.chosen[p]);
  assert.ok(on.length > 10 && on.length < N * T / 2, `${on.length} chosen`);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  near(o.loss, mean(on.map((p) => ce[p])), 1e-4, "loss over the chosen positions");
  // Over every position it would be another number: the unchosen ones are left out, not zeroed.
  assert.ok(Math.abs(mean(ce) - o.loss) > 1e-3, `${mean(ce)} vs ${o.loss}`);
  near(o.accuracy, on.filter((p) => hit[p]).length / on.length, 1e-6, "masked_accuracy");
});

Deno.test("a mask_id outside the vocabulary's last special ids fails at compile time", async () => {
  for (const id of ["5", "320", "-2"]) {
    const r = await dlm("check", EXAMPLE, ...SET, "--set", `mask_id=${id}`);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, new RegExp(`DLM0306: mask_id ${id} is not one of the last 1 id\\(s\\)`));
  }
  // Two special tokens ([SEP], then [MASK]): the second to last id is one of them.
  const two = await dlm("check", EXAMPLE, ...SET, "--set", "specials=2", "--set", "mask_id=-2");
  assert.equal(two.code, 0, two.err);
});

Deno.test("--set NAME=[MASK] is the id of the --tokenizer's special token, and a missing one fails", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_bert_tok_" });
  try {
    Deno.writeTextFileSync(
      `${dir}/c.txt`,
      "The economy of the island rests on fishing.\n".repeat(20),
    );
    const tok = `${dir}/tok.json`;
    const t = await dlm(
      "tokenizer",
      "train",
      `${dir}/c.txt`,
      "--vocab-size",
      "300",
      "--special",
      "[MASK]",
      "--special",
      "[SEP]",
      "-o",
      tok,
    );
    assert.equal(t.code, 0, t.err);
    // The ids Hugging Face's file gives them (the last ones, in order; a corpus this small does
    // not fill 300).
    const added: { id: number; content: string }[] = JSON.parse(Deno.readTextFileSync(tok))
      .added_tokens;
    const id = (s: string) => added.find((a) => a.content === s)!.id;
    assert.equal(id("[SEP]"), id("[MASK]") + 1);
    assert.deepEqual(await withTokenIds({ mask_id: "[MASK]", sep: "[SEP]", k: 3, s: "x" }, tok), {
      mask_id: id("[MASK]"),
      sep: id("[SEP]"),
      k: 3,
      s: "x",
    });
    // Without a tokenizer the value would reach the model as a string: a usage error instead.
    await assert.rejects(
      () => withTokenIds({ mask_id: "[MASK]" }, undefined),
      (e: Error) =>
        e instanceof UsageError && e.code === "DLM0507" &&
        e.message === "--set mask_id=[MASK] needs --tokenizer T.json",
    );
    const r = await dlm(
      "train",
      EXAMPLE,
      ...SET,
      "--tokenizer",
      tok,
      "--data",
      `ids=text:${dir}/c.txt:8`,
      "--set",
      "mask_id=[CLS]",
    );
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.err,
      /DLM0335: --set mask_id=\[CLS\]: the tokenizer '.*tok.json' has no special token '\[CLS\]' \(its special tokens: \[MASK\] \[SEP\]\)/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("the BERT-base configuration compiles its masked-language-model training step", () => {
  const base = { vocab: 30522, positions: 512, dim: 768, layers: 12, heads: 12, hidden: 3072 };
  const c = compileTrain(EXAMPLE, { overrides: base, evaluation: () => false });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const size = (shape: readonly (number | string)[]) => shape.reduce<number>((a, b) => a * +b, 1);
  const params = c.step!.params.filter((p) => p.trainable)
    .reduce((s, p) => s + size(c.step!.types.get(p.name)!.shape), 0);
  // BERT-base with its MLM head (Hugging Face's BertForMaskedLM, whose 109,514,298 count a
  // second token-type row, 768 more): embeddings, 12 layers, the head's transform and its bias.
  const { vocab: V, positions: P, dim: d, hidden: h } = base;
  const embeddings = V * d + P * d + d + 2 * d;
  const layer = 4 * (d * d + d) + 2 * 2 * d + (d * h + h) + (h * d + d);
  assert.equal(params, embeddings + 12 * layer + (d * d + d + 2 * d + V));
  assert.equal(params, 109_513_530);
});

Deno.test("bert_factbook.dlm trains on the corpus and both runtimes agree on its steps", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_bert_mlm_" });
  try {
    const text = new TextDecoder().decode(Deno.readFileSync(CORPUS).slice(0, 60_000));
    Deno.writeTextFileSync(`${dir}/corpus.txt`, text.slice(0, text.lastIndexOf("\n\n")));
    const tok = `${dir}/tok.json`;
    const t = await dlm(
      "tokenizer",
      "train",
      `${dir}/corpus.txt`,
      "--vocab-size",
      `${SMALL.vocab}`,
      "--special",
      "[MASK]",
      "-o",
      tok,
    );
    assert.equal(t.code, 0, t.err);
    // The [MASK] id read from the tokenizer (the last one, as the default -1 says).
    const data = [
      "--tokenizer",
      tok,
      "--set",
      "mask_id=[MASK]",
      "--data",
      `ids=text:${dir}/corpus.txt:16`,
    ];
    const r = await dlm(
      "train",
      EXAMPLE,
      ...SET,
      ...data,
      "--epochs",
      "3",
      "--seed",
      "1",
      "--out",
      `${dir}/run`,
    );
    assert.equal(r.code, 0, r.err);
    const [head, ...rows] = Deno.readTextFileSync(`${dir}/run/history.csv`).trim().split("\n");
    const column = (name: string) => {
      const k = head.split(",").indexOf(name);
      return rows.map((l) => Number(l.split(",")[k]));
    };
    const losses = column("val_loss"), accuracy = column("val_masked_accuracy");
    assert.equal(losses.length, 3, head);
    // Below the uniform guess's log(320) = 5.77, and falling; some masked tokens come back.
    assert.ok(losses[2] < 5.0 && losses[2] < losses[0], `${losses}`);
    assert.ok(accuracy[2] > 0.02 && accuracy[2] <= 1, `${accuracy}`);
    const d = await dlm("diff", EXAMPLE, ...SET, "--train", "2", ...data);
    assert.equal(d.code, 0, d.out + d.err);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
