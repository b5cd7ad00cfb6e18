/**
 * `updates = minibatches(...)` as one ONNX Loop (compiler/train/minibatches.ts, issues 15 and
 * 19) against the unrolled updates it replaced, kept as the reference (`unrollUpdates`): PPO's
 * step on the sorting task, with uneven slices (6 rollouts in 4 minibatches), gives the same
 * parameters and optimiser state after a step in the reference interpreter and in
 * onnxruntime-node, and its size does not grow with epochs x count.
 */
import assert from "node:assert/strict";
import { compileTrain } from "../compiler/train/mod.ts";
import { type Graph, nodeCount } from "../compiler/ir/graph.ts";
import { type Tensor, tensor, toNumbers, zeros } from "../compiler/ir/tensor.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { drawFeeds, drawsAsInputs } from "../runtime/train/draws.ts";

const EXAMPLE = new URL("../lang-examples/rlhf_sort.dlm", import.meta.url).pathname;
const N = 6;

function ppo(unrollUpdates: boolean, epochs: number, count: number): Graph {
  const r = compileTrain(EXAMPLE, {
    model: "SortPPO",
    overrides: { dim: 16, layers: 1, heads: 2, ppo_epochs: epochs, ppo_minibatches: count },
    unrollUpdates,
    evaluation: () => false,
  });
  assert.ok(r.step, r.diagnostics.map((d) => d.message).join("; "));
  return r.step;
}

/** The step's feeds: initial state, a fixed batch of prompts, step 3, its draws as inputs. */
function feedsOf(g: Graph): Record<string, Tensor> {
  const draws = drawsAsInputs(g);
  const digits = Array.from({ length: N * 4 }, (_, i) => (i * 7 + 3) % 10);
  const feeds: Record<string, Tensor> = {
    digits: tensor("i64", [N, 4], digits),
    step: tensor("i64", [], [3]),
    ...drawFeeds(draws, { N }, 11, [3]),
  };
  for (const i of g.inputs) {
    if (i.name in feeds) continue;
    feeds[i.name] = g.initializers.get(i.name) ?? zeros(i.type.dtype, i.type.shape as number[]);
  }
  return feeds;
}

function assertClose(got: Record<string, Tensor>, want: Record<string, Tensor>, what: string) {
  const names = Object.keys(want).filter((k) => k.startsWith("next:"));
  assert.ok(names.length > 10, `${what}: ${names.length} state outputs`);
  for (const k of names) {
    const a = toNumbers(got[k]), b = toNumbers(want[k]);
    assert.equal(a.length, b.length, `${what}: ${k}`);
    let worst = 0;
    for (let i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1e-3 + Math.abs(b[i])));
    }
    assert.ok(worst < 2e-3, `${what}: ${k} differs by ${worst} (relative)`);
  }
}

Deno.test("PPO's minibatch updates as one Loop make the step the unrolled updates make, in both runtimes", async () => {
  const loop = ppo(false, 2, 4), unrolled = ppo(true, 2, 4);
  assert.equal(loop.nodes.filter((n) => n.op === "Loop").length, 1);
  assert.equal(unrolled.nodes.filter((n) => n.op === "Loop").length, 0);
  const feeds = feedsOf(loop), feedsU = feedsOf(unrolled);
  const want = runGraph(unrolled, feedsU).outputs;
  // The updates moved the policy and the critic: a step that changed nothing would agree too.
  const w0 = toNumbers(feeds["policy.wte.weight"]), w1 = toNumbers(want["next:policy.wte.weight"]);
  assert.ok(w0.some((x, i) => Math.abs(x - w1[i]) > 1e-6));
  assert.equal(Number(toNumbers(want["next:opt:step"] ?? want["next:step"])[0]), 4);
  assertClose(runGraph(loop, feeds).outputs, want, "reference");
  const s = await createSession(emitModel(loop).model, { optimize: "disabled" });
  try {
    const ort = await s.run(Object.fromEntries(s.inputNames.map((n) => [n, feeds[n]])));
    assertClose(ort, want, "onnxruntime-node");
  } finally {
    await s.release();
  }
});

Deno.test("the minibatch Loop's step does not grow with epochs x count", () => {
  const small = nodeCount(ppo(false, 1, 2)), big = nodeCount(ppo(false, 4, 4));
  assert.equal(big, small);
  assert.ok(nodeCount(ppo(true, 4, 4)) > 4 * big, "the unrolled step is the larger");
});
