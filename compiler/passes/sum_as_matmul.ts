/**
 * sum_as_matmul: a training step's sum over the leading axes of a tensor as a MatMul by a row
 * of ones.
 */
import type { Graph, Node } from "../ir/graph.ts";
import type { Expr, ExprGraph } from "../ir/expr.ts";
import { numel, type Tensor, tensor, toNumbers } from "../ir/tensor.ts";
import { definePass } from "./context.ts";
import { expandInPlace } from "./expand.ts";
import { constantTable, plain } from "./match.ts";

/**
 * Which sums become MatMuls: at least `minColumns` elements kept (the trailing axes' product)
 * and at least `minElements` elements summed, a symbolic dim (a batch) counted as `symbolicDim`.
 */
export const sumAsMatmulTuning = { minColumns: 64, minElements: 4096, symbolicDim: 8 };

/**
 * A sum over the leading axes 0..k-1 of x [d0, .., d(k-1), e...] is, with R = d0 ... d(k-1)
 * and C = the product of e...,
 *
 *   y[e...] = sum_r X[r, c] = (1_R^T X)[0, c],   X = Reshape(x, [R, C])
 *
 * one MatMul of a row of R ones by x as [R, C]: each sum has the same terms, each times 1
 * (exact, infinities and NaN included), in another order. It is the gradient of every bias and
 * every layer norm's scale (the sum of an output gradient over batch and positions) and of
 * conv.ts's im2col weight gradient (a sum over the batch). onnxruntime (1.30, CPU, 2 threads)
 * runs ReduceSum over leading axes at about 1.5 GB/s, one thread, and the MatMul on both threads
 * at memory speed (fastest of 300 runs, ReduceSum against MatMul with its row of ones built at
 * run time): [8, 64, 512] 163 against 14 us, [8, 64, 128] 25-47 against 9, [16, 36864] 147
 * against 31, [64, 64, 256] 93 against 40; [16, 10] and [16, 64] 6 against 7 (hence
 * `sumAsMatmulTuning`).
 *
 * The row of ones is a constant where the leading dims are static, else ConstantOfShape of
 * Shape(x, end = k) as [1, -1] (a symbolic batch), built once for all the sums over the same
 * leading dims. Runs in train mode on a built step
 * (`trainStepPipeline`). Conditions: a plain ReduceSum of an f32 tensor with constant,
 * non-empty axes that are exactly 0..k-1, k below the rank, and static trailing dims; keepdims
 * either way (the result reshaped to the ReduceSum's output shape).
 */
export const sumAsMatmul = definePass({ id: "sum_as_matmul", modes: ["train"] }, (g, ctx) => {
  const consts = constantTable(g, ctx);
  const found = new Map<Node, number>();
  for (const n of g.nodes) {
    const k = plain(n)?.op === "ReduceSum" ? leadingAxes(g, n, consts) : undefined;
    if (k !== undefined) found.set(n, k);
  }
  if (found.size === 0) return false;
  const rows = new Map<string, string>();
  expandInPlace(
    g,
    ctx,
    [...found.keys()],
    { tag: "matmul", constants: "ones" },
    (e, sum) => rewrite(g, e, rows, sum, found.get(sum)!),
  );
  return true;
});

/** k when the node sums x over exactly its axes 0..k-1 and the conditions hold. */
function leadingAxes(
  g: Graph,
  n: Node,
  consts: Map<string, Tensor>,
): number | undefined {
  const [x, axesName] = n.inputs;
  const xt = g.types.get(x);
  if (!xt || xt.dtype !== "f32" || !axesName) return undefined;
  const axesT = consts.get(axesName);
  if (!axesT) return undefined;
  const r = xt.shape.length;
  const axes = [...new Set(toNumbers(axesT).map((a) => (a < 0 ? a + r : a)))].sort((a, b) => a - b);
  const k = axes.length;
  if (k === 0 || k >= r || axes.some((a, i) => a !== i)) return undefined;
  const trailing = xt.shape.slice(k);
  if (!trailing.every((d) => typeof d === "number")) return undefined;
  const columns = numel(trailing as number[]);
  const t = sumAsMatmulTuning;
  const rows = xt.shape.slice(0, k).reduce<number>(
    (p, d) => p * (typeof d === "number" ? d : t.symbolicDim),
    1,
  );
  if (columns < t.minColumns || rows * columns < t.minElements) return undefined;
  return k;
}

function rewrite(g: Graph, e: ExprGraph, rows: Map<string, string>, sum: Node, k: number): Expr {
  const x = sum.inputs[0];
  const xt = g.types.get(x)!;
  const yt = g.types.get(sum.outputs[0])!;
  const leading = xt.shape.slice(0, k);
  const columns = numel(xt.shape.slice(k) as number[]);
  // One row of ones per leading dims: dims of the same name have the same size, and the first
  // sum in the graph's order comes before every later one.
  const key = JSON.stringify(leading);
  let ones = rows.get(key);
  if (!ones) {
    const r = leading.every((d) => typeof d === "number") ? numel(leading as number[]) : 0;
    ones = r > 0
      ? e.constant(tensor("f32", [1, r], new Float32Array(r).fill(1))).name
      : e.op1("ConstantOfShape", [e.op1("Shape", [e.v(x)], { end: k })], {
        value: tensor("f32", [1], [1]),
      }).reshape([1, -1]).name;
    rows.set(key, ones);
  }
  // The output's dims are static: the trailing ones, after k 1s with keepdims.
  return e.v(ones).matmul(e.v(x).reshape([-1, columns])).reshape(yt.shape as number[]);
}
