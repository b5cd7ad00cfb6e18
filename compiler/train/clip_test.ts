import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import { tensor, toNumbers } from "../ir/tensor.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { buildClip, type ClipSpec } from "./clip.ts";

function clip(spec: ClipSpec, a: number[], b: number[]) {
  const g = new GraphBuilder("clip");
  const x = g.input("a", { dtype: "f32", shape: [a.length] });
  const y = g.input("b", { dtype: "f32", shape: [b.length] });
  const r = buildClip(g, spec, [x, y]);
  g.output(r.grads[0], "ca");
  g.output(r.grads[1], "cb");
  if (r.norm) g.output(r.norm, "norm");
  const out = runGraph(g.graph, {
    a: tensor("f32", [a.length], a),
    b: tensor("f32", [b.length], b),
  }).outputs;
  const round = (k: string) => out[k] ? toNumbers(out[k]).map((v) => +v.toFixed(5)) : undefined;
  return { a: round("ca"), b: round("cb"), norm: round("norm") };
}

Deno.test("clipping by global norm scales all gradients by max_norm / norm", () => {
  // ||(3, 4, 12)|| = 13; max 6.5 halves every gradient.
  assert.deepEqual(clip({ kind: "norm", maxNorm: 6.5 }, [3, 4], [12]), {
    a: [1.5, 2],
    b: [6],
    norm: [13],
  });
});

Deno.test("clipping by global norm leaves gradients under the norm unchanged", () => {
  assert.deepEqual(clip({ kind: "norm", maxNorm: 100 }, [3, 4], [12]).a, [3, 4]);
});

Deno.test("clipping by value clamps each element to [-v, v]", () => {
  assert.deepEqual(clip({ kind: "value", clipValue: 1 }, [3, -0.5], [-12]), {
    a: [1, -0.5],
    b: [-1],
    norm: undefined,
  });
});
