import assert from "node:assert/strict";
import { formatType, type Graph } from "../../ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../../ir/tensor.ts";
import { runGraph } from "../../../runtime/reference/interpreter.ts";
import { compileTrain } from "../../train/mod.ts";
import { diffTrain, formatTrainDiff } from "../../../runtime/diff/train_diff.ts";
import { compileOk as ok, compileSource as compile } from "../testing.ts";

const types = (g: Graph) => g.outputs.map((o) => formatType(g.types.get(o.name)!));
const ops = (g: Graph) => g.nodes.map((n) => n.op);

/** The errors of `body` in a model with inputs x: f32[N, 10], y: f32[N, 5, 3], i: i64[N, 2, 3]. */
function errs(body: string): string[] {
  return compile(
    "model M {\n  input x: f32[N, 10]\n  input y: f32[N, 5, 3]\n  input i: i64[N, 2, 3]\n" +
      `  input z: f32[M]\n${body}\n}`,
  ).diagnostics.filter((d) => d.severity === "error").map((d) =>
    `${d.code} ${d.span?.line}:${d.span?.col} ${d.message}`
  );
}

Deno.test("topk, sort and argsort have exact types, a symbolic k or dim included", () => {
  const g = ok(`model M {
    input x: f32[N, L]
    input y: i64[N, 5, 3]
    let (v, idx) = topk(x, 3)
    output v
    output idx
    let (s, si) = sort(x, axis: 0, descending: true)
    output s
    output si
    output a = argsort(y, axis: 1)
    output whole = topk(x, L)[0]
    output rows = topk(x, N, axis: 0, largest: false)[1]
  }`);
  assert.deepEqual(types(g), [
    "f32[N, 3]",
    "i64[N, 3]",
    "f32[N, L]",
    "i64[N, L]",
    "i64[N, 5, 3]",
    "f32[N, L]",
    "i64[N, L]",
  ]);
});

Deno.test("each lowers to as few nodes as torch.onnx.export emits, or fewer", () => {
  // torch 1.13, opset 17, constants aside: topk 1 (TopK); sort and argsort 3 (Shape, Gather,
  // TopK) whether the dim is known or not; gather, scatter, scatter_add 1; scatter of a number
  // 3 (Shape, Expand, ScatterElements); logsigmoid 2 (Sigmoid, Log, which is -inf for x < -88
  // in f32: dlm's 3 nodes keep it finite).
  const one = (expr: string, decl = "input x: f32[4, L]") =>
    ops(ok(`model M {\n  ${decl}\n  input i: i64[4, 2]\n  output y = ${expr}\n}`));
  assert.deepEqual(one("topk(x, 3)[0]"), ["TopK"]);
  assert.deepEqual(one("sort(x, axis: 0)[0]"), ["TopK"]);
  assert.deepEqual(one("argsort(x)"), ["Shape", "TopK"]);
  assert.deepEqual(one("take_along_axis(x, i)"), ["GatherElements"]);
  assert.deepEqual(one("scatter(x, i, take_along_axis(x, i))"), [
    "GatherElements",
    "ScatterElements",
  ]);
  assert.deepEqual(one("scatter_add(x, i, 1.0)"), ["Expand", "ScatterElements"]);
  assert.deepEqual(one("scatter(x, j, 1.0)", "input x: f32[N, 6]\n  input j: i64[N, 2]"), [
    "Shape",
    "Expand",
    "ScatterElements",
  ]);
  assert.deepEqual(one("log_sigmoid(x)"), ["Neg", "Softplus", "Neg"]);
  // A TopK always sorts: onnxruntime's unsorted order is its own.
  const g = ok("model M {\n  input x: f32[4, 6]\n  output y = topk(x, 2, sorted: false)[0]\n}");
  assert.equal(g.nodes[0].attrs.sorted, 1);
});

Deno.test("a symbolic k of another tensor reads its size from like:", () => {
  const g = ok(`model M {
    input scores: f32[N, 50]
    input queries: f32[Q, 8]
    output v = topk(scores, Q, like: queries)[1]
  }`);
  assert.deepEqual(types(g), ["i64[N, Q]"]);
  assert.deepEqual(ops(g), ["Shape", "TopK"]);
  // Value v sits at index 23 v mod 50 (37 * 23 = 1 mod 50): 49, 48, 47 at 27, 4, 31.
  const scores = tensor("f32", [1, 50], Array.from({ length: 50 }, (_, k) => (k * 37) % 50));
  const queries = tensor("f32", [3, 8], Array(24).fill(0));
  assert.deepEqual(toNumbers(runGraph(g, { scores, queries }).outputs.v), [27, 4, 31]);
});

Deno.test("a symbolic k reads its size from the input with one Shape node", () => {
  const g = ok(`model M {
    input x: f32[N, L]
    output v = topk(x, L)[0]
  }`);
  assert.deepEqual(ops(g), ["Shape", "TopK"]);
  const x = tensor("f32", [2, 4], [3, 1, 2, 0, 5, 7, 6, 4]);
  assert.deepEqual(toNumbers(runGraph(g, { x }).outputs.v), [3, 2, 1, 0, 7, 6, 5, 4]);
});

Deno.test("sort is stable: equal values keep the order of their indices, descending too", () => {
  const g = ok(`model M {
    input x: f32[1, 6]
    output up = argsort(x)
    output down = argsort(x, descending: true)
    output top = topk(x, 3)[1]
  }`);
  const x: Tensor = tensor("f32", [1, 6], [2, 1, 2, 1, 2, 0]);
  const out = runGraph(g, { x }).outputs;
  assert.deepEqual(toNumbers(out.up), [5, 1, 3, 0, 2, 4]);
  assert.deepEqual(toNumbers(out.down), [0, 2, 4, 1, 3, 5]);
  assert.deepEqual(toNumbers(out.top), [0, 2, 4]);
});

Deno.test("take_along_axis and scatter keep the indices' and the input's types", () => {
  const g = ok(`model M {
    input x: f32[N, 16, 8]
    input noise: f32[N, 16]
    let keep = argsort(noise, axis: 1)[:, :4]
    let idx = expand(unsqueeze(keep, 2), (N, 4, 8))
    output visible = take_along_axis(x, idx, axis: 1)
    output back = scatter(zeros_like(x), idx, visible, axis: 1)
    output counts = scatter_add(zeros_like(noise), keep, 1.0, axis: 1)
    output ls = log_sigmoid(noise)
  }`);
  assert.deepEqual(types(g), ["f32[N, 4, 8]", "f32[N, 16, 8]", "f32[N, 16]", "f32[N, 16]"]);
});

Deno.test("topk reports a k out of range and a symbolic k the input does not have", () => {
  assert.deepEqual(errs("  output o = topk(x, 11)[0]"), [
    "DLM0241 6:22 topk() needs k in 0..10 (dim 1 of f32[N, 10]), got 11",
  ]);
  assert.deepEqual(errs("  output o = topk(x, -1)[0]"), [
    "DLM0241 6:22 topk() needs k in 0..10 (dim 1 of f32[N, 10]), got -1",
  ]);
  assert.deepEqual(errs("  let m = z.shape[0]\n  output o = topk(x, m)[0]"), [
    "DLM0242 7:22 topk() reads a symbolic k's size from a tensor that has it, but M is not a dim " +
    "of f32[N, 10]; give k as an int, or a tensor that has M as like:",
  ]);
  assert.deepEqual(errs("  let m = z.shape[0]\n  output o = topk(x, m, like: y[0])[0]"), [
    "DLM0242 7:22 topk() reads a symbolic k's size from a tensor that has it, but M is not a dim " +
    "of f32[N, 10] or of like: f32[5, 3]; give k as an int, or a tensor that has M as like:",
  ]);
  assert.deepEqual(errs('  output o = topk(x, "3")[0]'), [
    "DLM0201 6:22 topk() expects an int or a symbolic dim for 'k', but got string \"3\"",
  ]);
  assert.deepEqual(errs("  output o = topk(x, 3, axis: 2)[0]"), [
    "DLM0213 6:25 topk() axis 2 is out of range for a tensor of rank 2",
  ]);
  assert.deepEqual(errs("  output o = sort(i > 0)[0]"), [
    "DLM0207 6:19 sort() needs a tensor of f32, f64, i32, i64, got bool[N, 2, 3]",
  ]);
});

Deno.test("take_along_axis and scatter report indices of a wrong dtype, rank or size", () => {
  assert.deepEqual(errs("  output o = take_along_axis(y, y, axis: 1)"), [
    "DLM0243 6:33 take_along_axis() needs integer indices (i64 or i32), got f32[N, 5, 3]",
  ]);
  assert.deepEqual(errs("  output o = take_along_axis(y, argsort(x), axis: 1)"), [
    "DLM0244 6:33 take_along_axis() needs indices of the input's rank 3 (one index per element), " +
    "got i64[N, 10]",
  ]);
  assert.deepEqual(errs("  output o = scatter_add(x, argsort(x) |> unsqueeze(1), 1.0)"), [
    "DLM0244 6:29 scatter_add() needs indices of the input's rank 2 (one index per element), " +
    "got i64[N, 1, 10]",
  ]);
  assert.deepEqual(errs("  output o = take_along_axis(i, argsort(y, axis: 1), axis: 2)"), [
    "DLM0245 6:33 take_along_axis() needs indices no larger than the input outside the axis: " +
    "dim 1 of i64[N, 5, 3] is 5, but the input i64[N, 2, 3] has 2",
  ]);
  assert.deepEqual(errs("  output o = scatter(y, i, x, axis: 1)"), [
    "DLM0246 6:28 scatter() needs src of the indices' shape i64[N, 2, 3], or a number, got f32[N, 10]",
  ]);
  assert.deepEqual(errs('  output o = scatter(y, i, cast(i, "f64"), axis: 1)'), [
    "DLM0207 6:28 scatter() needs src of x's dtype f32, got f64[N, 2, 3]",
  ]);
  assert.deepEqual(errs("  output o = scatter(y, i, 0.0, axis: -4)"), [
    "DLM0213 6:33 scatter() axis -4 is out of range for a tensor of rank 3",
  ]);
});

Deno.test("a call in torch's argument order is told what to write here, once", () => {
  assert.deepEqual(errs("  output o = gather(y, 1, i)"), [
    "DLM0247 6:24 gather() expects a tensor for 'indices', but got int 1: torch.gather(x, dim, " +
    "index) is take_along_axis(x, index, axis: 1) here; gather() is ONNX Gather, whole slices " +
    "as torch.index_select",
  ]);
  assert.deepEqual(errs("  output o = take_along_axis(y, 2, i)"), [
    "DLM0247 6:33 take_along_axis() expects a tensor for 'indices', but got int 2: " +
    "torch.gather(x, dim, index) is take_along_axis(x, index, axis: 2) here",
  ]);
  assert.deepEqual(errs("  output o = scatter_add(y, 1, i, y)"), [
    "DLM0247 6:29 scatter_add() expects a tensor for 'indices', but got int 1: " +
    "torch.scatter_add(x, dim, index, src) is scatter_add(x, index, src, axis: 1) here",
  ]);
  // ONNX Gather's own call is unchanged.
  ok("model M {\n  input y: f32[5, 3]\n  input i: i64[2]\n  output o = gather(y, i)\n}");
});

Deno.test("log_sigmoid is finite and exact where log(sigmoid(x)) is not", () => {
  const g = ok("model M {\n  input x: f32[5]\n  output y = log_sigmoid(x)\n}");
  const x = tensor("f32", [5], [-200, -20, 0, 20, 200]);
  const y = toNumbers(runGraph(g, { x }).outputs.y);
  const want = [-200, -20.000000002061153, -Math.LN2, -2.061153622438558e-9, 0];
  y.forEach((v, k) => assert.ok(Math.abs(v - want[k]) <= 1e-6 * Math.abs(want[k]) + 1e-12, `${k}`));
  assert.match(
    errs("  output o = log_sigmoid(i)")[0],
    /^DLM0207 .* log_sigmoid\(\) needs a floating/,
  );
});

Deno.test("top-k pooling, a sort and the indexing built-ins train alike in both runtimes over a symbolic batch", async () => {
  // The loss reaches the layers through TopK's values, a sort's values, a gather and both
  // scatters, each of whose gradient rules runs on tensors whose batch N is only known at run time.
  const src = `model M {
  input x: f32[N, 6]
  let h = x |> a: linear(10)
  let (top, at) = topk(h, 3)
  let sorted = sort(h, axis: 1, descending: true)[0]
  let picked = take_along_axis(h |> b: linear(10), at, axis: 1)
  let spread = scatter_add(zeros_like(h), at, picked, axis: 1) + scatter(h, at, top * 0.5, axis: 1)
  output y = concat(top, sorted[:, :2], spread, axis: 1) |> c: linear(2)
}
train M {
  input t: f32[N, 2]
  loss = mse(y, t) + reduce_mean(log_sigmoid(y))
  optimizer = sgd(lr: 0.1)
}`;
  const c = compileTrain("m.dlm", { read: () => src });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 5 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});
