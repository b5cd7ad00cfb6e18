import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import type { Span, TensorType } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { fuseLayerNorm } from "./fuse_layer_norm.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds, randomTensor, seeded } from "./testing.ts";

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });
const span = (line: number): Span => ({ file: "m.dlm", line, col: 1, endLine: line, endCol: 5 });

interface Opts {
  square?: "pow" | "mul";
  affine?: boolean;
  axes?: number[];
  /** Also output the centred value d (so the pattern must not fire). */
  leakCentred?: boolean;
}

/** x |> (x - mean) / sqrt(var + 1e-5) * gamma + beta, spelled out node by node. */
function decomposed(o: Opts = {}): GraphBuilder {
  const b = new GraphBuilder("ln");
  const rand = seeded(7);
  const x = b.input("x", f32("N", 3, 8));
  const axes = o.axes ?? [-1];
  const [m] = b.addNode("ReduceMean", [x], { axes }, { spans: [span(1)] });
  const [d] = b.addNode("Sub", [x, m], {}, { spans: [span(2)] });
  const [sq] = o.square === "mul"
    ? b.addNode("Mul", [d, d], {}, { spans: [span(3)] })
    : b.addNode("Pow", [d, b.initializer("two", tensor("f32", [], [2]))], {}, { spans: [span(3)] });
  const [v] = b.addNode("ReduceMean", [sq], { axes });
  const [e] = b.addNode("Add", [v, b.initializer("eps", tensor("f32", [], [1e-5]))]);
  const [s] = b.addNode("Sqrt", [e]);
  let [y] = b.addNode("Div", [d, s], {}, { spans: [span(4)] });
  if (o.affine !== false) {
    [y] = b.addNode("Mul", [b.initializer("ln.weight", randomTensor("f32", [8], rand)), y]);
    [y] = b.addNode("Add", [y, b.initializer("ln.bias", randomTensor("f32", [8], rand))], {}, {
      spans: [span(5)],
    });
  }
  const [z] = b.addNode("Relu", [y], {}, { outputs: ["z"] });
  b.output(z);
  if (o.leakCentred) b.output(d);
  return b;
}

Deno.test("fuseLayerNorm() turns the decomposed layer norm into LayerNormalization", () => {
  const b = decomposed();
  const { graph, changed, run } = applyPass(b.graph, fuseLayerNorm);
  assert.ok(changed);
  assert.equal(run.fired, 1);
  assert.deepEqual(ops(graph), ["LayerNormalization", "Relu"]);
  const ln = graph.nodes[0];
  assert.deepEqual(ln.inputs, ["x", "ln.weight", "ln.bias"]);
  assert.deepEqual(ln.attrs, { axis: -1, epsilon: Math.fround(1e-5) });
  assert.equal(ln.name, "reducemean");
  assert.deepEqual(ln.spans, [span(1), span(2), span(3), span(4), span(5)]);
  assert.equal(run.rewrites[0].ops.length, 9);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 1, { N: 2 }));
});

Deno.test("fuseLayerNorm() accepts Mul(d, d) as the square and no affine part", () => {
  const b = decomposed({ square: "mul", affine: false });
  const { graph } = applyPass(b.graph, fuseLayerNorm);
  assert.deepEqual(ops(graph), ["LayerNormalization", "Relu"]);
  const ln = graph.nodes[0];
  assert.equal(ln.inputs.length, 2);
  assert.deepEqual(graph.initializers.get(ln.inputs[1])?.shape, [8]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 2, { N: 3 }));
});

Deno.test("fuseLayerNorm() does not fire over another axis or when the centred value is used elsewhere", () => {
  for (const o of [{ axes: [1] }, { leakCentred: true }] as Opts[]) {
    const { graph, changed } = applyPass(decomposed(o).graph, fuseLayerNorm);
    assert.equal(changed, false, JSON.stringify(o));
    assert.equal(graph.nodes.length, 10);
  }
});
