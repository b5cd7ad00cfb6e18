/**
 * Every op with a gradient rule has a finite-difference check in
 * `compiler/grad/grad_cases.ts`, and every op the issue asks rules for has one.
 */
import assert from "node:assert/strict";
import { allOps, getOp } from "./mod.ts";
import { GRAD_CASES } from "../grad/grad_cases.ts";

/** Ops that must have a gradient rule (issue 4). */
const REQUIRED = (
  "Add Sub Mul Div Neg Pow Exp Log Sqrt Reciprocal Abs Relu LeakyRelu Elu Sigmoid Tanh Softplus " +
  "Erf Identity Dropout Clip Max Min MatMul Gemm Conv MaxPool GlobalAveragePool Flatten Reshape " +
  "Squeeze Unsqueeze Transpose Concat ReduceSum ReduceMean ReduceMax Softmax LogSoftmax Expand " +
  "Where Cast Sum Mean GatherElements LayerNormalization BatchNormalization Slice Split " +
  // Issue 4, second round: embeddings, pooling, padding and the remaining activations.
  "Gather AveragePool Tile Pad Sin Cos HardSigmoid HardSwish Selu PRelu InstanceNormalization " +
  "ConvTranspose ReduceSumSquare ReduceL2 ReduceMin GlobalMaxPool LRN CumSum Trilu"
).split(" ");

Deno.test("every op with a gradient rule has a finite-difference test", () => {
  const tested = new Set(GRAD_CASES.map((c) => c.op));
  const missing = allOps().filter((d) => d.grad && !tested.has(d.op)).map((d) => d.op);
  assert.deepEqual(missing, []);
});

Deno.test("every op issue 4 needs has a gradient rule", () => {
  const missing = REQUIRED.filter((op) => !getOp(op)?.grad);
  assert.deepEqual(missing, []);
});
