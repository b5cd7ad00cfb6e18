import assert from "node:assert/strict";
import { formatType, type Graph } from "../../ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../../ir/tensor.ts";
import { emitModel } from "../../onnx/emit.ts";
import { inferencePipeline, runPasses } from "../../passes/mod.ts";
import { verifyGraph } from "../../ops/verify.ts";
import { runGraph } from "../../../runtime/reference/interpreter.ts";
import { createSession } from "../../../runtime/ort/mod.ts";
import { compileTrain } from "../../train/mod.ts";
import { diffTrain, formatTrainDiff } from "../../../runtime/diff/train_diff.ts";
import { compileOk as ok, compileSource as compile } from "../testing.ts";

const types = (g: Graph) => g.outputs.map((o) => formatType(g.types.get(o.name)!));

async function runBoth(g: Graph, feeds: Record<string, Tensor>) {
  const ref = runGraph(g, feeds).outputs;
  const s = await createSession(emitModel(g).model);
  try {
    return { ref, ort: await s.run(feeds) };
  } finally {
    await s.release();
  }
}

/** The errors of `body` in a model with a few inputs. */
function errs(body: string): string[] {
  return compile(
    "model M {\n  input c: f32[N, 4, 6]\n  input i: i64[N, 4, 6]\n  input v: f32[N, T, 6]\n" +
      `  input m: bool[N, 4]\n  input w: bool[N, 6]\n${body}\n}`,
  ).diagnostics.filter((d) => d.severity === "error").map((d) =>
    `${d.code} ${d.span?.line}:${d.span?.col} ${d.message}`
  );
}

Deno.test("linear_sum_assignment gives i64 columns of the rows and rows of the columns", () => {
  const g = ok(`model M {
    input c: f32[N, 4, 6]
    input s: f64[3, 2]
    input m: f32[N, 4]
    let (cols, rows) = linear_sum_assignment(c, mask: m)
    output cols
    output rows
    let (a, b) = linear_sum_assignment(s, maximize: true)
    output a
    output b
  }`);
  assert.deepEqual(types(g), ["i64[N, 4]", "i64[N, 6]", "i64[3]", "i64[2]"]);
  // Three nested loops: rows outside, each row's shortest path and its augmentation inside.
  const loops = g.nodes.filter((n) => n.op === "Loop");
  assert.equal(loops.length, 2);
  const body = loops[0].attrs.body as Graph;
  assert.deepEqual(body.nodes.filter((n) => n.op === "Loop").length, 2);
});

Deno.test("linear_sum_assignment rejects a cost that is no float matrix and a mask that does not fit", () => {
  assert.deepEqual(errs("  output y = linear_sum_assignment(i)[0]"), [
    "DLM0280 7:36 linear_sum_assignment() expects a cost of floats, [R, C] or [B, R, C], but got i64[N, 4, 6]",
  ]);
  assert.match(
    errs("  output y = linear_sum_assignment(c[0, 0])[0]")[0],
    /^DLM0280 7:36 .*f32\[6\]$/,
  );
  assert.match(
    errs("  output y = linear_sum_assignment(v)[0]")[0],
    /^DLM0281 7:36 .* but the cost is f32\[N, T, 6\]; pad the objects/,
  );
  assert.deepEqual(errs("  output y = linear_sum_assignment(c, mask: w)[0]"), [
    "DLM0282 7:39 linear_sum_assignment() expects a mask of the cost's rows, bool[N, 4] for " +
    "the cost f32[N, 4, 6] (or of 1/0 numbers), but got bool[N, 6]",
  ]);
});

Deno.test("linear_sum_assignment solves a hand example, maximize and a mask, in both runtimes", async () => {
  // scipy's documentation example: [[4, 1, 3], [2, 0, 5], [3, 2, 2]] -> columns [1, 0, 2],
  // cost 5; maximized, [0, 2, 1], 4 + 5 + 2 = 11. Masked (row 1 padding): rows 0 and 2 take
  // columns 1 and 2 (1 + 2 = 3) and row 1 none.
  const g = ok(`model M {
    input c: f32[3, 3]
    input b: f32[2, 3, 3]
    input m: bool[2, 3]
    output min = linear_sum_assignment(c)[0]
    output max = linear_sum_assignment(c, maximize: true)[0]
    let (cols, rows) = linear_sum_assignment(b, mask: m)
    output cols
    output rows
  }`);
  const c = [4, 1, 3, 2, 0, 5, 3, 2, 2];
  const feeds = {
    c: tensor("f32", [3, 3], c),
    b: tensor("f32", [2, 3, 3], [...c, ...c]),
    m: tensor("bool", [2, 3], [1, 0, 1, 1, 1, 1]),
  };
  const { ref, ort } = await runBoth(g, feeds);
  for (const out of [ref, ort]) {
    assert.deepEqual(toNumbers(out.min), [1, 0, 2]);
    assert.deepEqual(toNumbers(out.max), [0, 2, 1]);
    assert.deepEqual(toNumbers(out.cols), [1, -1, 2, 1, 0, 2]);
    assert.deepEqual(toNumbers(out.rows), [-1, 0, 2, 1, 0, 2]);
  }
});

Deno.test("a tall cost matches every column, and a masked one per element as its valid rows allow", async () => {
  // 4 rows x 2 columns: the two cheapest rows of a column-disjoint choice. Element 0 has all
  // rows valid (transposed: columns matched to rows); element 1 only row 3 (matched as a row).
  const g = ok(`model M {
    input c: f32[2, 4, 2]
    input m: bool[2, 4]
    let (cols, rows) = linear_sum_assignment(c, mask: m)
    output cols
    output rows
    output plain = linear_sum_assignment(c)[0]
  }`);
  const c = [5, 9, 1, 7, 8, 2, 3, 3, /* 1: */ 0, 0, 0, 0, 0, 0, 9, 4];
  const feeds = {
    c: tensor("f32", [2, 4, 2], c),
    m: tensor("bool", [2, 4], [1, 1, 1, 1, 0, 0, 0, 1]),
  };
  const { ref, ort } = await runBoth(g, feeds);
  for (const out of [ref, ort]) {
    // Element 0: row 1 -> column 0 (1), row 2 -> column 1 (2), total 3.
    assert.deepEqual(toNumbers(out.cols), [-1, 0, 1, -1, -1, -1, -1, 1]);
    assert.deepEqual(toNumbers(out.rows), [1, 2, 3, 3].slice(0, 2).concat([-1, 3]));
    // Unmasked, element 1 matches two of the zero rows; element 0 as above.
    const plain = toNumbers(out.plain);
    assert.deepEqual(plain.slice(0, 4), [-1, 0, 1, -1]);
    assert.equal(plain.slice(4).filter((x) => x !== -1).length, 2);
    assert.equal(plain[7], -1);
  }
});

Deno.test("the inference passes leave the matcher's loops correct", async () => {
  const g = ok(`model M {
    input c: f32[N, 5, 7]
    input m: bool[N, 5]
    let (cols, rows) = linear_sum_assignment(c * 2.0 + 1.0, mask: m)
    output cols
    output rows
  }`);
  const c = Array.from({ length: 2 * 35 }, (_, k) => (k * 37) % 11);
  const feeds = {
    c: tensor("f32", [2, 5, 7], c),
    m: tensor("bool", [2, 5], [1, 1, 0, 1, 1, 1, 1, 1, 1, 0]),
  };
  const before = runGraph(g, feeds).outputs;
  const opt = structuredClone(g);
  runPasses(opt, inferencePipeline("eval"), { mode: "eval", verify: true });
  assert.deepEqual(verifyGraph(opt), []);
  const { ref, ort } = await runBoth(opt, feeds);
  for (const out of [ref, ort]) {
    assert.deepEqual(toNumbers(out.cols), toNumbers(before.cols));
    assert.deepEqual(toNumbers(out.rows), toNumbers(before.rows));
  }
});

Deno.test("a DETR-style matched loss trains alike in both runtimes: no gradient through the matching", async () => {
  // 5 queries predict 2-d points; each sample has up to 3 target points (padded, a mask). The
  // cost is the L1 distance of every target to every query; the loss pulls each matched query
  // to its target, read through take_along_axis at the matched indices.
  const src = `model M {
  input x: f32[N, 4]
  output p = reshape(x |> a: linear(16) |> relu |> b: linear(10), (-1, 5, 2))
}
train M {
  input t: f32[N, 3, 2]
  input valid: f32[N, 3]
  let cost = reduce_sum(abs(unsqueeze(t, (2)) - unsqueeze(p, (1))), (3))
  let (q, _) = linear_sum_assignment(cost, mask: valid)
  let idx = expand(unsqueeze(where(q < 0, zeros_like(q), q), (2)), (-1, 3, 2))
  let matched = take_along_axis(p, idx, axis: 1)
  loss = reduce_sum(abs(matched - t) * unsqueeze(valid, (2))) / 6.0
  optimizer = sgd(lr: 0.05)
}`;
  const c = compileTrain("m.dlm", { read: () => src });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 4 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});
