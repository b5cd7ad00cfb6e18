/**
 * view() of a tensor whose dim is a sum of symbolic products: the dim algebra factors the common
 * symbol out (K * N + 32 * N = N * (K + 32)) to infer a -1, reads a symbolic dim the tensor lacks
 * from a model input, and rejects a view whose element counts differ as polynomials.
 */
import assert from "node:assert/strict";
import type { Diagnostic } from "../diagnostics.ts";
import { formatType, type Graph } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { runGraph } from "../../runtime/reference/interpreter.ts";
import { compileOk as ok, compileSource as compile } from "./testing.ts";

const types = (g: Graph) => g.outputs.map((o) => formatType(g.types.get(o.name)!));
const head = `model M {
  input a: f32[N, K, 11]
  input b: f32[N, 32, 11]
  let c = concat(reshape(a, (-1, 11)), reshape(b, (-1, 11)), axis: 0)
`;

Deno.test("view(c, (N, -1, 11)) of c: [K * N + 32 * N, 11] is [N, K + 32, 11]", () => {
  const g = ok(`${head}
    output c0 = c
    output v = view(c, (N, -1, 11))
    output u = view(c, (N, -1))
    output w = view(c, (-1, N, 11))
  }`);
  assert.deepEqual(types(g), [
    "f32[K * N + 32 * N, 11]",
    "f32[N, K + 32, 11]",
    "f32[N, 11 * K + 352]",
    "f32[K + 32, N, 11]",
  ]);
  // At N = 2, K = 3: 70 rows of c regrouped as 2 x 35, the values in order.
  const fill = (shape: number[], from: number) =>
    tensor("f32", shape, Array.from({ length: shape.reduce((x, y) => x * y) }, (_, i) => from + i));
  const out = runGraph(g, { a: fill([2, 3, 11], 0), b: fill([2, 32, 11], 1000) }).outputs;
  assert.deepEqual(out.v.shape, [2, 35, 11]);
  assert.deepEqual(out.u.shape, [2, 385]);
  assert.deepEqual(out.w.shape, [35, 2, 11]);
  assert.deepEqual(Array.from(out.v.data as Float32Array), Array.from(out.c0.data as Float32Array));
});

Deno.test("a view whose element counts differ as polynomials is DLM0232 at the shape", () => {
  const d = compile(`model M {
  input a: f32[N, K, 11]
  input t: f32[T]
  output z = view(a, (K, T, 11))
}`).diagnostics;
  assert.deepEqual(d.map((x: Diagnostic) => `${x.span?.line}:${x.span?.col} ${x.code}`), [
    "4:22 DLM0232",
  ]);
  assert.match(d[0].message, /11 \* K \* N elements\) into \(K, T, 11\) \(11 \* K \* T elements/);
});

Deno.test("a dim the view needs that neither the tensor nor an input has is DLM0232", () => {
  const d = compile(`model M {
  input a: f32[N, 4]
  let y = a[1:]
  output z = view(reshape(y, (-1,)), (y.shape[0], -1))
}`).diagnostics;
  assert.deepEqual(d.map((x: Diagnostic) => `${x.span?.line}:${x.span?.col} ${x.code}`), [
    "4:38 DLM0232",
  ]);
  assert.match(d[0].message, /know the size of N - 1 at position 0/);
});
