import assert from "node:assert/strict";
import { compileFile } from "../../compile.ts";
import { formatType, type Graph } from "../../ir/graph.ts";
import { tensor } from "../../ir/tensor.ts";
import { runGraph } from "../../../runtime/reference/interpreter.ts";
import { compileOk as ok, compileSource as compile } from "../testing.ts";

function types(g: Graph): string[] {
  return g.outputs.map((o) => formatType(g.types.get(o.name)!));
}

Deno.test("view keeps symbolic dims exact: f32[N, T, 32] to f32[N, T, 4, 8] and back", () => {
  const g = ok(`model M {
    input x: f32[N, T, 32]
    output a = view(x, (N, T, 4, -1))
    output b = x |> view((N, T, 4, 8)) |> permute((0, 2, 1, 3)) |> permute((0, 2, 1, 3)) |> view((N, T, 32))
    output c = x |> permute((1, 0, 2)) |> view((T, N, 4, 8))
  }`);
  assert.deepEqual(types(g), ["f32[N, T, 4, 8]", "f32[N, T, 32]", "f32[T, N, 4, 8]"]);
  // A shape with a constant Reshape: no Shape node was needed.
  assert.equal(g.nodes.filter((n) => n.op === "Shape").length, 0);
});

Deno.test("view infers one symbolic dim that moved", () => {
  const g = ok(`model M {
    input x: f32[N, 4, T, 8]
    output y = x |> view((N, T, 32))
  }`);
  assert.deepEqual(types(g), ["f32[N, T, 32]"]);
});

Deno.test("view reports a dim it cannot find", () => {
  const r = compile(`model M {
    input x: f32[N, T, 32]
    input z: f32[B]
    output y = view(x, (B, T, 4, -1))
  }`);
  assert.deepEqual(r.diagnostics.map((d) => d.code), ["DLM0232"]);
});

Deno.test("split and chunk return tuples of the right sizes", () => {
  const g = ok(`model M {
    input x: f32[N, 12]
    let (a, b, c) = split(x, 3)
    let (d, e) = split(x, (5, 7))
    let (f, h) = chunk(x, 2)
    let parts = chunk(x, 5)
    output a
    output e
    output h
    output last = parts[3]
  }`);
  assert.deepEqual(types(g), ["f32[N, 4]", "f32[N, 7]", "f32[N, 6]", "f32[N, 3]"]);
});

Deno.test("split into parts that do not divide the dim is an error", () => {
  const r = compile(`model M {
    input x: f32[N, 10]
    output y = split(x, 3)[0]
  }`);
  assert.deepEqual(r.diagnostics.map((d) => d.code), ["DLM0210"]);
});

Deno.test("arange of a symbolic dim counts 0..T-1 with the type i64[T]", () => {
  const g = ok(`model M {
    input ids: i64[N, T]
    output p = arange(T, like: ids)
    output q = arange(4)
  }`);
  assert.deepEqual(types(g), ["i64[T]", "i64[4]"]);
  const out = runGraph(g, { ids: tensor("i64", [2, 3], [9, 9, 9, 9, 9, 9]) }).outputs;
  assert.deepEqual(Array.from(out.p.data as BigInt64Array, Number), [0, 1, 2]);
});

Deno.test("arange of a symbolic dim without like says what to write", () => {
  const r = compile(`model M {
    input ids: i64[N, T]
    output p = arange(T)
  }`);
  assert.equal(r.diagnostics[0].code, "DLM0223");
  assert.match(r.diagnostics[0].message, /arange\(T, like: x\)/);
});

Deno.test("expand, stack, tril, triu, masked_fill, gather and index_select have exact types", () => {
  const g = ok(`model M {
    input x: f32[N, T, 4]
    input m: bool[T, 4]
    input i: i64[3]
    output a = expand(x[:, :, 0:1], (N, T, 4))
    output b = stack(x, x, axis: 1)
    output c = tril(x)
    output d = triu(x, k: 1)
    output e = masked_fill(x, m, 0.0)
    output f = gather(x, i, axis: 2)
    output g = index_select(x, 2, i)
  }`);
  assert.deepEqual(types(g), [
    "f32[N, T, 4]",
    "f32[N, 2, T, 4]",
    "f32[N, T, 4]",
    "f32[N, T, 4]",
    "f32[N, T, 4]",
    "f32[N, T, 3]",
    "f32[N, T, 3]",
  ]);
});

Deno.test("tril keeps the lower triangle and masked_fill writes where the mask is true", () => {
  const g = ok(`model M {
    input x: f32[3, 3]
    output y = masked_fill(tril(x), x > 4.0, -1.0)
  }`);
  const y = runGraph(g, { x: tensor("f32", [3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]) }).outputs.y;
  assert.deepEqual(Array.from(y.data as Float32Array), [1, 0, 0, 4, -1, -1, -1, -1, -1]);
});

Deno.test("permute rejects something that is not a permutation", () => {
  const r = compile(`model M {
    input x: f32[N, 3, 4]
    output y = permute(x, (0, 0, 1))
  }`);
  assert.deepEqual(r.diagnostics.map((d) => d.code), ["DLM0233"]);
});

Deno.test("view() that moves symbolic dims builds the shape at run time and keeps the exact type", () => {
  const r = compileFile("v.dlm", {
    read: () => "model M { input x: f32[N, T, 12]  output y = view(x, (T, N, 3, 4)) }",
  });
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.graph!.outputs[0].type.shape, ["T", "N", 3, 4]);
});
