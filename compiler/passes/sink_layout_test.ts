import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import { tensor } from "../ir/tensor.ts";
import { sinkLayout } from "./sink_layout.ts";
import { dce } from "./dce.ts";
import { runPasses } from "./manager.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds } from "./testing.ts";

const ints = (b: GraphBuilder, name: string, xs: number[]) =>
  b.initializer(name, tensor("i64", [xs.length], xs));

/** A residual block's gradient as conv_columns leaves it: two Reshapes, two Transposes, an Add. */
function branches(opts: { perm2?: number[]; extraUse?: boolean } = {}) {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: [4, 4, "N"] });
  const y = b.input("y", { dtype: "f32", shape: [4, 4, "N"] });
  const [rx] = b.addNode("Reshape", [x, ints(b, "s1", [4, 2, 2, -1])], {}, { name: "rx" });
  const [ry] = b.addNode("Reshape", [y, ints(b, "s2", [4, 2, 2, -1])], {}, {
    name: "ry",
  });
  const [tx] = b.addNode("Transpose", [rx], { perm: [3, 0, 1, 2] }, { name: "tx" });
  const [ty] = b.addNode("Transpose", [ry], { perm: opts.perm2 ?? [3, 0, 1, 2] }, { name: "ty" });
  const [sum] = b.addNode("Add", [tx, ty], {}, { name: "sum" });
  b.output(b.addNode("Relu", [sum])[0], "out");
  if (opts.extraUse) b.output(tx, "tx_out");
  return b.graph;
}

Deno.test("sinkLayout() adds before transposing and reshaping: one Transpose and one Reshape where there were two of each", () => {
  const g = branches();
  const graph = structuredClone(g);
  const changed = runPasses(graph, [sinkLayout, dce], { mode: "train", verify: true });
  assert.ok(changed);
  assert.deepEqual(ops(graph), ["Add", "Reshape", "Transpose", "Relu"]);
  // The Add reads x and y themselves; the Relu still reads the value named "sum".
  assert.deepEqual(graph.nodes[0].inputs, ["x", "y"]);
  assert.deepEqual(graph.nodes.at(-1)!.inputs, ["sum"]);
  for (const N of [1, 3]) assertSameOutputs(g, graph, randomFeeds(g, N + 10, { N }));
});

Deno.test("sinkLayout() leaves other perms, a transposed operand read elsewhere, and eval graphs", () => {
  for (const opts of [{ perm2: [3, 0, 2, 1] }, { extraUse: true }]) {
    const { changed } = applyPass(branches(opts), sinkLayout, { mode: "train" });
    assert.ok(!changed, JSON.stringify(opts));
  }
  assert.ok(!applyPass(branches(), sinkLayout, { mode: "eval" }).changed);
});

Deno.test("sinkLayout() leaves operands of different types (a broadcast)", () => {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: [2, 3] });
  const y = b.input("y", { dtype: "f32", shape: [1, 3] });
  const [tx] = b.addNode("Transpose", [x], { perm: [1, 0] });
  const [ty] = b.addNode("Transpose", [y], { perm: [1, 0] });
  b.output(b.addNode("Mul", [tx, ty])[0], "out");
  assert.ok(!applyPass(b.graph, sinkLayout, { mode: "train" }).changed);
});
