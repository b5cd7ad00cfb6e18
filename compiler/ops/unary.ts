/**
 * Elementwise unary ops: the output has the input's type (Not: bool in,
 * bool out). One table entry per op, generated from the table below,
 * whose versions, port names, attributes and element types follow the ONNX
 * operator definitions in force at opset 17.
 */
import type { DType } from "../ir/tensor.ts";
import { type AttrSpec, type GradContext, type GradRule, type OpDef } from "./op_def.ts";
import { gradOf, inputOf, maskGrad, maskWhere, outputOf } from "./grad_util.ts";
import { ANY, expectDtype, FLOAT, FLOAT_NO_BF16, input, NUMERIC } from "./rules.ts";

/** Relu and Neg: signed types only. */
const SIGNED: readonly DType[] = ["f32", "i32", "i8", "i16", "i64", "f16", "f64", "bf16"];

interface UnaryRow {
  op: string;
  since: number;
  /** Port names as in the ONNX spec: X -> Y or input -> output. */
  ports: "XY" | "io";
  dtypes: readonly DType[];
  attrs?: Record<string, AttrSpec>;
  grad?: GradRule;
  /** Set for the ops whose result carries no gradient (rounding, sign, logic). */
  differentiable?: false;
}

const float = (v: number): AttrSpec => ({ type: "float", default: v });

// Gradient rules: g = dL/dY, x = the input, y = the output.
const gx = (c: GradContext) => gradOf(c, 0);
const xin = (c: GradContext) => inputOf(c, 0);
const yout = (c: GradContext) => outputOf(c, 0);
const attr = (c: GradContext, name: string, dflt: number) =>
  (c.node.attrs[name] as number | undefined) ?? dflt;

/** d|x| = sign(x). */
function absGrad(c: GradContext) {
  return [gx(c).mul(xin(c).sign()).name];
}
/** d exp(x) = exp(x) = y. */
function expGrad(c: GradContext) {
  return [gx(c).mul(yout(c)).name];
}
/** d log(x) = 1 / x. */
function logGrad(c: GradContext) {
  return [gx(c).div(xin(c)).name];
}
/** d sqrt(x) = 1 / (2 sqrt(x)) = 0.5 / y. */
function sqrtGrad(c: GradContext) {
  return [gx(c).mul(0.5).div(yout(c)).name];
}
/** d (1/x) = -1/x^2 = -y^2. */
function reciprocalGrad(c: GradContext) {
  return [gx(c).mul(yout(c).square()).neg().name];
}
function negGrad(c: GradContext) {
  return [gx(c).neg().name];
}
function identityGrad(c: GradContext) {
  return [c.outputGrads[0]];
}
/** relu'(x) = [x > 0]. */
function reluGrad(c: GradContext) {
  // y > 0 exactly where x > 0. Reading the output leaves the input to Relu alone, so
  // onnxruntime can fuse the layer before it (Conv, Gemm) with the Relu in a training step.
  // Where(y > 0, g, 0): g * sign(y) would be as many nodes, but onnxruntime's Sign runs slower
  // than Greater and Cast together (1.9 against 1.5 ms with the Mul, 1M floats, one thread).
  return [maskWhere(c, yout(c).greater(0), gx(c)).name];
}
/** leaky_relu'(x) = 1 for x > 0, alpha otherwise. */
function leakyReluGrad(c: GradContext) {
  const alpha = attr(c, "alpha", 0.01);
  const g = gx(c);
  return [xin(c).greater(0).where(g, g.mul(alpha)).name];
}
/** elu'(x) = 1 for x > 0, alpha e^x = y + alpha otherwise. */
function eluGrad(c: GradContext) {
  const alpha = attr(c, "alpha", 1);
  const g = gx(c);
  const pos = xin(c).greater(0);
  return [pos.where(g, g.mul(yout(c).add(alpha))).name];
}
/** sigmoid' = y (1 - y). */
function sigmoidGrad(c: GradContext) {
  const y = yout(c);
  return [gx(c).mul(y.mul(y.rsub(1))).name];
}
/** tanh' = 1 - y^2. */
function tanhGrad(c: GradContext) {
  const y = yout(c);
  const oneMinus = c.e.scalar(1, y.dtype).sub(y.square());
  return [gx(c).mul(oneMinus).name];
}
/** softplus'(x) = sigmoid(x). */
function softplusGrad(c: GradContext) {
  return [gx(c).mul(xin(c).sigmoid()).name];
}
/** erf'(x) = 2 / sqrt(pi) exp(-x^2). */
function erfGrad(c: GradContext) {
  const d = xin(c).square().neg().exp().mul(2 / Math.sqrt(Math.PI));
  return [gx(c).mul(d).name];
}

/** sin' = cos. */
function sinGrad(c: GradContext) {
  return [gx(c).mul(xin(c).cos()).name];
}
/** cos' = -sin. */
function cosGrad(c: GradContext) {
  return [gx(c).mul(xin(c).sin()).neg().name];
}
/** hard_sigmoid(x) = max(0, min(1, alpha x + beta)): slope alpha where 0 < alpha x + beta < 1. */
function hardSigmoidGrad(c: GradContext) {
  const alpha = attr(c, "alpha", 0.2);
  const beta = attr(c, "beta", 0.5);
  const z = xin(c).mul(alpha).add(beta);
  const inside = z.greater(0).and(z.less(1));
  return [maskGrad(c, inside, gx(c).mul(alpha)).name];
}
/**
 * hard_swish(x) = x hard_sigmoid(x) with alpha 1/6, beta 1/2: the derivative
 * is 0 for x <= -3, 1 for x >= 3 and x / 3 + 1/2 in between.
 */
function hardSwishGrad(c: GradContext) {
  const x = xin(c);
  const mid = x.mul(1 / 3).add(0.5);
  const upper = x.greaterOrEqual(3).where(1, mid);
  const d = x.lessOrEqual(-3).where(0, upper);
  return [gx(c).mul(d).name];
}
/** selu'(x) = gamma for x > 0, gamma alpha e^x = y + gamma alpha otherwise. */
function seluGrad(c: GradContext) {
  const alpha = attr(c, "alpha", 1.6732632);
  const gamma = attr(c, "gamma", 1.0507010);
  const pos = xin(c).greater(0);
  const neg = yout(c).add(gamma * alpha);
  return [gx(c).mul(pos.where(gamma, neg)).name];
}

/** The unary ops, by name. */
export const UNARY_OPS: readonly UnaryRow[] = [
  { op: "Abs", since: 13, ports: "XY", dtypes: NUMERIC, grad: absGrad },
  { op: "Ceil", since: 13, ports: "XY", dtypes: FLOAT, differentiable: false },
  { op: "Cos", since: 7, ports: "io", dtypes: FLOAT_NO_BF16, grad: cosGrad },
  {
    op: "Elu",
    since: 6,
    ports: "XY",
    dtypes: FLOAT_NO_BF16,
    attrs: { alpha: float(1.0) },
    grad: eluGrad,
  },
  { op: "Erf", since: 13, ports: "io", dtypes: NUMERIC, grad: erfGrad },
  { op: "Exp", since: 13, ports: "io", dtypes: FLOAT, grad: expGrad },
  { op: "Floor", since: 13, ports: "XY", dtypes: FLOAT, differentiable: false },
  {
    op: "HardSigmoid",
    since: 6,
    ports: "XY",
    dtypes: FLOAT_NO_BF16,
    attrs: { alpha: float(0.2), beta: float(0.5) },
    grad: hardSigmoidGrad,
  },
  { op: "HardSwish", since: 14, ports: "XY", dtypes: FLOAT_NO_BF16, grad: hardSwishGrad },
  { op: "Identity", since: 16, ports: "io", dtypes: ANY, grad: identityGrad },
  {
    op: "LeakyRelu",
    since: 16,
    ports: "XY",
    dtypes: FLOAT,
    attrs: { alpha: float(0.01) },
    grad: leakyReluGrad,
  },
  { op: "Log", since: 13, ports: "io", dtypes: FLOAT, grad: logGrad },
  { op: "Neg", since: 13, ports: "XY", dtypes: SIGNED, grad: negGrad },
  { op: "Not", since: 1, ports: "XY", dtypes: ["bool"], differentiable: false },
  { op: "Reciprocal", since: 13, ports: "XY", dtypes: FLOAT, grad: reciprocalGrad },
  { op: "Relu", since: 14, ports: "XY", dtypes: SIGNED, grad: reluGrad },
  {
    op: "Selu",
    since: 6,
    ports: "XY",
    dtypes: FLOAT_NO_BF16,
    // The spec's defaults are float32 values: 1.67326319217681884765625 and 1.05070102214813232421875.
    attrs: { alpha: float(1.6732632), gamma: float(1.0507010) },
    grad: seluGrad,
  },
  { op: "Sigmoid", since: 13, ports: "XY", dtypes: FLOAT, grad: sigmoidGrad },
  { op: "Sign", since: 13, ports: "io", dtypes: NUMERIC, differentiable: false },
  { op: "Sin", since: 7, ports: "io", dtypes: FLOAT_NO_BF16, grad: sinGrad },
  { op: "Softplus", since: 1, ports: "XY", dtypes: FLOAT_NO_BF16, grad: softplusGrad },
  { op: "Sqrt", since: 13, ports: "XY", dtypes: FLOAT, grad: sqrtGrad },
  { op: "Tanh", since: 13, ports: "io", dtypes: FLOAT, grad: tanhGrad },
];

/** The unary ops' table entries, one per row of `UNARY_OPS`. */
export const unaryOps: readonly OpDef[] = UNARY_OPS.map((row): OpDef => {
  const [inName, outName] = row.ports === "XY" ? ["X", "Y"] : ["input", "output"];
  return {
    op: row.op,
    since: row.since,
    inputs: [{ name: inName }],
    outputs: [{ name: outName }],
    attrs: row.attrs ?? {},
    grad: row.grad,
    differentiable: row.differentiable,
    infer(ctx) {
      const x = input(ctx, row.op, 0, inName);
      expectDtype(row.op, inName, x, row.dtypes);
      return [{ dtype: x.dtype, shape: [...x.shape] }];
    },
  };
});
