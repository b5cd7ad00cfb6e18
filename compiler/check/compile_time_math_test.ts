/**
 * Compile-time trigonometry and the functions of one number over tuples: sin, cos, tan and the
 * prelude's pi on numbers, the same names as tensor functions on tensors (dispatch by argument
 * kind), and a cosine noise schedule computed once as a folded tensor table.
 */
import assert from "node:assert/strict";
import type { Diagnostic } from "../diagnostics.ts";
import { tensor } from "../ir/tensor.ts";
import { runGraph } from "../../runtime/reference/interpreter.ts";
import { compileOk as ok, compileSource as compile } from "./testing.ts";

/** The values of a constant output whose items are compile-time numbers. */
function numbers(expr: string, prelude = ""): number[] {
  const g = ok(
    `${prelude}\nmodel M {\n  input x: f32[N]\n  output y = tensor(${expr}, dtype: "f64")\n}`,
  );
  return Array.from(runGraph(g, { x: tensor("f32", [1], [0]) }).outputs.y.data as Float64Array);
}

Deno.test("sin, cos, tan and pi are compile-time numbers", () => {
  assert.deepEqual(numbers("(cos(pi), sin(pi / 2), tan(0.25 * pi), pi)"), [
    -1,
    1,
    Math.tan(0.25 * Math.PI),
    Math.PI,
  ]);
  // A program's own pi replaces the prelude's, without a diagnostic.
  assert.deepEqual(numbers("(pi,)", "let pi = 3"), [3]);
});

Deno.test("the functions of one number map over a tuple or list of numbers", () => {
  assert.deepEqual(numbers("cos((0.0, pi))"), [1, -1]);
  assert.deepEqual(numbers("floor((1.5, -1.5, 2))"), [1, -2, 2]);
  assert.deepEqual(numbers("sqrt([4, 9])"), [2, 3]);
  assert.deepEqual(numbers("exp(log((2.0, 5.0)))").map((v) => Math.round(v * 1e12) / 1e12), [2, 5]);
  // min and max of one tuple still reduce it.
  assert.deepEqual(numbers("(max((1, 7, 3)), min([4, 2]))"), [7, 2]);
  const d = compile(`let a = cos((1.0, "x"))
let b = sqrt((1.0, -1.0))
model M {\n  input x: f32[N]\n  output y = x\n}`).diagnostics;
  assert.deepEqual(d.map((x: Diagnostic) => `${x.span?.line}:${x.span?.col} ${x.code}`), [
    "1:13 DLM0201",
    "2:14 DLM0308",
  ]);
});

Deno.test("cos of a tensor is still the tensor function", () => {
  const g = ok(`model M {\n  input x: f32[N]\n  output y = cos(x)\n  output z = x |> sin\n}`);
  assert.deepEqual(g.nodes.map((n) => n.op), ["Cos", "Sin"]);
  const out = runGraph(g, { x: tensor("f32", [2], [0, Math.PI / 2]) }).outputs;
  assert.deepEqual(
    Array.from(out.y.data as Float32Array).map((v) => Math.round(v * 1e6) / 1e6 + 0),
    [1, 0],
  );
});

Deno.test("a cosine schedule as a tensor table equals the formula at each t", () => {
  const T = 20, s = 0.008;
  const g = ok(`let T = ${T}
let s = ${s}
model M {
  input t: i64[N]
  let f = cos((tensor(range(0, T + 1), dtype: "f32") / T + s) / (1 + s) * pi / 2)
  output abar = index_select(f * f / cos(s / (1 + s) * pi / 2) ** 2, 0, t)
}`);
  const ts = [0, 1, 7, 20];
  const got = runGraph(g, { t: tensor("i64", [4], ts) }).outputs.abar.data as Float32Array;
  const f = (t: number) => Math.cos(((t / T + s) / (1 + s)) * Math.PI / 2) ** 2;
  ts.forEach((t, i) => assert.ok(Math.abs(got[i] - f(t) / f(0)) < 1e-6, `t = ${t}: ${got[i]}`));
});
