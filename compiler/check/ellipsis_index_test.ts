/**
 * `...` in an index, as numpy and torch read it: it stands for as many full slices as the other
 * items leave axes (none is allowed), at most once per index, lowered to the same Slice and Squeeze
 * as the index written out, so its values and gradients are those of ordinary indexing.
 */
import assert from "node:assert/strict";
import type { Diagnostic } from "../diagnostics.ts";
import { formatType, type Graph } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { runGraph } from "../../runtime/reference/interpreter.ts";
import { sexpr } from "../syntax/sexpr.ts";
import { parse } from "../syntax/mod.ts";
import { compileOk as ok, compileSource as compile } from "./testing.ts";

const located = (src: string) =>
  compile(src).diagnostics.map((d: Diagnostic) => `${d.span?.line}:${d.span?.col} ${d.code}`);
const types = (g: Graph) => g.outputs.map((o) => formatType(g.types.get(o.name)!));
const x = tensor("f32", [2, 3, 4], Array.from({ length: 24 }, (_, i) => i * 0.5 - 3));
const values = (g: Graph, name: string) =>
  Array.from(runGraph(g, { x }).outputs[name].data as Float32Array);

Deno.test("... parses as an index item of its own", () => {
  const { file } = parse("let a = b[..., 2:4]\nlet c = d[0, ..., 1:]", "a.dlm");
  assert.deepEqual(file.decls.map(sexpr), [
    "(const a = (index b ... (slice 2 4 _)))",
    "(const c = (index d 0 ... (slice 1 _ _)))",
  ]);
});

Deno.test("x[..., i], x[0, ..., 1:] and x[...] equal the index written out", () => {
  const pairs = [
    ["x[..., 2:4]", "x[:, :, 2:4]"],
    ["x[..., 0]", "x[:, :, 0]"],
    ["x[0, ..., 1:]", "x[0, :, 1:]"],
    ["x[..., -1, :]", "x[:, -1, :]"],
    ["x[1, 2, 3, ...]", "x[1, 2, 3]"],
    ["x[...]", "x"],
  ];
  const body = pairs.map(([a, b], i) => `  output a${i} = ${a}\n  output b${i} = ${b}`).join("\n");
  const g = ok(`model M {\n  input x: f32[N, 3, 4]\n${body}\n}`);
  const t = types(g);
  assert.deepEqual(t.slice(0, 4), ["f32[N, 3, 2]", "f32[N, 3, 2]", "f32[N, 3]", "f32[N, 3]"]);
  pairs.forEach((_, i) => {
    assert.equal(t[2 * i], t[2 * i + 1], pairs[i][0]);
    assert.deepEqual(values(g, `a${i}`), values(g, `b${i}`), pairs[i][0]);
  });
  assert.deepEqual(values(g, "a2"), [-2.5, -2, -1.5, -0.5, 0, 0.5, 1.5, 2, 2.5]);
});

Deno.test("the gradient through x[..., 1:3] is that of x[:, :, 1:3]", () => {
  const g = ok(`model M {
    input x: f32[N, 3, 4]
    output ge = grad(reduce_sum(x[..., 1:3] * x[..., 1:3]), wrt: x)
    output gw = grad(reduce_sum(x[:, :, 1:3] * x[:, :, 1:3]), wrt: x)
  }`);
  const ge = values(g, "ge");
  assert.deepEqual(ge, values(g, "gw"));
  // d/dx sum(x[..., 1:3]^2) = 2x on columns 1 and 2, 0 elsewhere.
  const want = Array.from(
    x.data as Float32Array,
    (v, i) => (i % 4 === 1 || i % 4 === 2 ? 2 * v : 0),
  );
  assert.deepEqual(ge, want);
});

Deno.test("two ... is DLM0255 at the second; too many items besides ... is DLM0226", () => {
  const m = (e: string) => `model M {\n  input x: f32[N, 3, 4]\n  output y = ${e}\n}`;
  assert.deepEqual(located(m("x[..., 0, ...]")), ["3:24 DLM0255"]);
  assert.deepEqual(located(m("x[0, 0, ..., 0, 0]")), ["3:14 DLM0226"]);
  assert.deepEqual(located(m("(1, 2)[...]")), ["3:14 DLM0236"]);
});
