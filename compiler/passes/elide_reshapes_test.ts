/**
 * elide_reshapes: the elementwise ops between a Reshape and the Reshapes reading their
 * results run on the first Reshape's input, with the same outputs; a Reshape back goes, one to
 * another shape stays; regions read by anything else, graph outputs, broadcasts and eval mode
 * are left alone.
 */
import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import { tensor } from "../ir/tensor.ts";
import type { Graph } from "../ir/graph.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds, seeded } from "./testing.ts";
import { elideReshapes } from "./elide_reshapes.ts";

const train = { mode: "train" as const };

const ints = (b: GraphBuilder, name: string, xs: number[]) =>
  b.initializer(name, tensor("i64", [xs.length], xs));

/**
 * x [N, 6] -> Reshape [N, 6, 1, 1] -> SiLU (and `extra`) -> Reshape back to [N, 6] -> Relu,
 * as pointwise_gemm leaves a squeeze-and-excitation block.
 */
function silu(opts: {
  back?: number[];
  extra?: (b: GraphBuilder, v: string) => string;
  alsoOut?: boolean;
} = {}): Graph {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: ["N", 6] });
  const [r] = b.addNode("Reshape", [x, ints(b, "to4", [0, 6, 1, 1])], {}, { name: "r1" });
  const [s] = b.addNode("Sigmoid", [r], {}, { name: "sig" });
  let [m] = b.addNode("Mul", [r, s], {}, { name: "silu" });
  if (opts.extra) m = opts.extra(b, m);
  const [back] = b.addNode("Reshape", [m, ints(b, "to2", opts.back ?? [0, 6])], {}, {
    name: "r2",
  });
  b.output(b.addNode("Relu", [back], {}, { name: "relu" })[0], "y");
  if (opts.alsoOut) b.output(s, "s");
  return b.graph;
}

Deno.test("a SiLU between a Reshape and its inverse runs on the Reshape's input: both Reshapes go", () => {
  const g = silu();
  const r = applyPass(g, elideReshapes, train);
  assert.equal(r.changed, true);
  assert.deepEqual(ops(r.graph), ["Sigmoid", "Mul", "Relu"]);
  assert.deepEqual(r.graph.nodes[0].inputs, ["x"]);
  assert.deepEqual(r.graph.types.get("silu")!.shape, ["N", 6]);
  for (const N of [1, 4]) assertSameOutputs(g, r.graph, randomFeeds(g, 3 + N, { N }));
  // A Reshape back that is a graph output keeps its name: it stays, reading the SiLU of x.
  const named = silu();
  named.outputs = [{ name: named.nodes[3].outputs[0], type: named.outputs[0].type }];
  named.nodes.pop();
  const n = applyPass(named, elideReshapes, train);
  assert.equal(n.changed, true);
  assert.deepEqual(ops(n.graph), ["Sigmoid", "Mul", "Reshape"]);
  for (const N of [1, 4]) assertSameOutputs(named, n.graph, randomFeeds(named, 5 + N, { N }));
});

Deno.test("scalar operands join the region; a Reshape to another shape stays and reads the region", () => {
  // (silu + 1) * c with c a scalar constant, then a Reshape to [N, 3, 2].
  const g = silu({
    back: [-1, 3, 2],
    extra: (b, v) => {
      const one = b.initializer("one", tensor("f32", [], [1]));
      const c = b.initializer("c", tensor("f32", [1, 1], [0.5]));
      return b.addNode("Mul", [b.addNode("Add", [v, one])[0], c])[0];
    },
  });
  const r = applyPass(g, elideReshapes, train);
  assert.equal(r.changed, true);
  assert.deepEqual(ops(r.graph), ["Sigmoid", "Mul", "Add", "Mul", "Reshape", "Relu"]);
  for (const N of [1, 4]) assertSameOutputs(g, r.graph, randomFeeds(g, 9 + N, { N }));
});

Deno.test("elide_reshapes leaves a region read by another op, a graph output, a broadcast, a Reshape by 0, and eval mode", () => {
  const cases: [string, Graph][] = [
    // The SiLU is also added to a full tensor of the reshaped shape.
    [
      "read by an op",
      silu({
        extra: (b, v) => {
          const z = b.input("z", { dtype: "f32", shape: ["N", 6, 1, 1] });
          return b.addNode("Add", [v, z])[0];
        },
      }),
    ],
    ["a graph output", silu({ alsoOut: true })],
    // A constant of rank 4 would make the region's ops rank 4 on x's shape.
    [
      "a rank-4 scalar",
      silu({
        extra: (b, v) =>
          b.addNode("Mul", [v, b.initializer("c4", tensor("f32", [1, 1, 1, 1], [2]))])[0],
      }),
    ],
    // A Reshape whose 0 copies a dim of its input: [N, 6, 1, 1] -> [N, 3, 2] by [0, 3, 2].
    ["a Reshape by 0", silu({ back: [0, 3, 2] })],
  ];
  for (const [what, g] of cases) {
    assert.equal(applyPass(g, elideReshapes, train).changed, false, what);
  }
  assert.equal(applyPass(silu(), elideReshapes, { mode: "eval" }).changed, false);
});

Deno.test("elide_reshapes keeps the outputs of random regions between Reshapes, and fires exactly when every outside reader is a Reshape", () => {
  const rand = seeded(19);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const unary = ["Sigmoid", "Relu", "Neg", "Abs", "Tanh", "Exp", "Identity"];
  const binary = ["Add", "Sub", "Mul", "Max", "Min"];
  let fired = 0;
  for (let t = 0; t < 60; t++) {
    const b = new GraphBuilder("g");
    const x = b.input("x", { dtype: "f32", shape: ["N", 6] });
    const [r] = b.addNode("Reshape", [x, ints(b, "to4", [0, 2, 3, 1])], {});
    const region = [r];
    for (let k = 0, n = 1 + Math.floor(rand() * 5); k < n; k++) {
      const a = pick(region);
      const other = rand() < 0.3
        ? b.initializer(`c${k}`, tensor("f32", rand() < 0.5 ? [] : [1, 1], [rand() + 0.5]))
        : pick(region);
      region.push(
        rand() < 0.5 ? b.addNode(pick(unary), [a])[0] : b.addNode(pick(binary), [a, other])[0],
      );
    }
    // Outside readers: Reshapes back to [N, 6], to [N, 3, 2], and sometimes an op that reads
    // the 4-D value as it is (the region must then stay).
    const blocked = rand() < 0.25;
    const [back] = b.addNode("Reshape", [region.at(-1)!, ints(b, "back", [0, 6])], {});
    b.output(b.addNode("Relu", [back])[0], "y");
    if (rand() < 0.5) {
      b.output(b.addNode("Reshape", [pick(region), ints(b, "other", [-1, 3, 2])], {})[0], "z");
    }
    if (blocked) {
      const w = b.input("w", { dtype: "f32", shape: ["N", 2, 3, 1] });
      b.output(b.addNode("Add", [pick(region), w])[0], "u");
    }
    const g = b.graph;
    const res = applyPass(g, elideReshapes, train);
    assert.equal(res.changed, !blocked, `case ${t}`);
    if (res.changed) {
      fired++;
      assert.ok(!res.graph.nodes.some((n) => n.outputs.includes(back)), "the Reshape back goes");
    }
    for (const N of [1, 3]) assertSameOutputs(g, res.graph, randomFeeds(g, t + N, { N }));
  }
  assert.ok(fired > 30, `${fired} of 60 fired`);
});
