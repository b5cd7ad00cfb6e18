/**
 * gather_channel_shuffle: views and a permute that interleave channel groups become one Gather
 * with the same output; other permutes, a view read elsewhere, and eval mode are left alone; a
 * training step of a shuffle has no Transpose left.
 */
import assert from "node:assert/strict";
import type { Graph } from "../ir/graph.ts";
import { toNumbers } from "../ir/tensor.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { compileTrain } from "../train/mod.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds } from "./testing.ts";
import { gatherChannelShuffle } from "./gather_channel_shuffle.ts";

/** x [2, C, 3, 2] viewed as [2, g, C / g, 3, 2], permuted by `perm` and viewed back. */
function shuffle(c: number, groups: number, perm = [0, 2, 1, 3, 4], extraReader = false): Graph {
  const b = new GraphBuilder("shuffle");
  const x = b.input("x", { dtype: "f32", shape: [2, c, 3, 2] });
  const s1 = b.initializer("s1", {
    dtype: "i64",
    shape: [5],
    data: BigInt64Array.from([2, groups, c / groups, 3, 2].map(BigInt)),
  });
  const s2 = b.initializer("s2", {
    dtype: "i64",
    shape: [4],
    data: BigInt64Array.from([2, c, 3, 2].map(BigInt)),
  });
  const [v] = b.addNode("Reshape", [x, s1], {}, { name: "view" });
  const [t] = b.addNode("Transpose", [v], { perm }, { name: "permute" });
  const [y] = b.addNode("Reshape", [t, s2], {}, { name: "view_1" });
  b.output(y, "y");
  if (extraReader) b.output(b.addNode("Relu", [v])[0], "z");
  return b.graph;
}

const train = { mode: "train" as const };

Deno.test("a channel shuffle of views and a permute becomes one Gather by the permutation", () => {
  for (const [c, groups] of [[6, 2], [6, 3], [12, 4]]) {
    const g = shuffle(c, groups);
    const r = applyPass(g, gatherChannelShuffle, train);
    assert.equal(r.changed, true);
    assert.deepEqual(ops(r.graph), ["Gather"]);
    const n = r.graph.nodes[0];
    assert.deepEqual([n.name, n.inputs[0], n.outputs[0], n.attrs], ["view_1", "x", "y", {
      axis: 1,
    }]);
    // Output channel j = b g + a reads input channel a (C / g) + b.
    const p = toNumbers(r.graph.initializers.get(n.inputs[1])!);
    const per = c / groups;
    assert.deepEqual(
      p,
      Array.from({ length: c }, (_, j) => (j % groups) * per + Math.floor(j / groups)),
    );
    assertSameOutputs(g, r.graph, randomFeeds(g));
  }
});

Deno.test("other permutes, a view read elsewhere, and eval mode are left alone", () => {
  assert.equal(
    applyPass(shuffle(6, 2, [0, 1, 2, 4, 3]), gatherChannelShuffle, train).changed,
    false,
  );
  assert.equal(
    applyPass(shuffle(6, 2, [0, 2, 1, 3, 4], true), gatherChannelShuffle, train).changed,
    false,
  );
  assert.equal(applyPass(shuffle(6, 2), gatherChannelShuffle, { mode: "eval" }).changed, false);
});

Deno.test("a training step of a channel shuffle has a Gather each way and no Transpose", () => {
  const src = `block ChannelShuffle(groups: int)(x: f32[N, C, H, W]) {
  return x |> view((N, groups, floor(C / groups), H, W)) |> permute((0, 2, 1, 3, 4)) |> view((N, C, H, W))
}
model M {
  input x: f32[N, 2, 3, 3]
  output y = x |> c: conv2d(4, kernel: 1) |> ChannelShuffle(2) |> d: conv2d(2, kernel: 1)
}
train M { loss = reduce_mean(y * y)  optimizer = sgd(lr: 0.1) }`;
  const r = compileTrain("m.dlm", { read: () => src });
  assert.deepEqual(r.diagnostics, []);
  const step = r.step!;
  assert.equal(
    step.nodes.filter((n) => n.op === "Transpose" && n.name.includes("ChannelShuffle")).length,
    0,
  );
  assert.equal(step.nodes.filter((n) => n.op === "Gather").length, 2);
});
