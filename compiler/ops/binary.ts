/**
 * Elementwise ops with numpy broadcasting: the binary arithmetic, logic and
 * comparison ops, and the variadic Max/Min/Mean/Sum. One table entry per
 * op, generated from the tables below (ONNX definitions in force at opset 17).
 */
import { formatType } from "../ir/graph.ts";
import type { DType } from "../ir/tensor.ts";
import type { Expr } from "../ir/expr.ts";
import { gradOf, inputOf, outputOf } from "./grad_util.ts";
import {
  type AttrSpec,
  type GradContext,
  type GradRule,
  type OpDef,
  ShapeError,
} from "./op_def.ts";
import { broadcastTypes, expectDtype, FLOAT, input, NUMERIC, sameDtype } from "./rules.ts";
import { diag } from "../diagnostics.ts";

interface BinaryRow {
  op: string;
  since: number;
  dtypes: readonly DType[];
  /** Output is bool (comparisons) instead of the input type. */
  bool?: boolean;
  attrs?: Record<string, AttrSpec>;
  /** Set for the logic and comparison ops: a bool result carries no gradient. */
  differentiable?: false;
  /** Why a differentiable op has no rule yet. */
  noGradYet?: string;
}

// Gradient rules: g = dL/dC; each operand's gradient is summed back over the axes it was broadcast along.
const G = (c: GradContext) => gradOf(c, 0);
const A = (c: GradContext) => inputOf(c, 0);
const B = (c: GradContext) => inputOf(c, 1);
const unbA = (c: GradContext, g: Expr) => c.unbroadcast(g.name, c.inputTypes[0]!);
const unbB = (c: GradContext, g: Expr) => c.unbroadcast(g.name, c.inputTypes[1]!);

function addGrad(c: GradContext) {
  return [unbA(c, G(c)), unbB(c, G(c))];
}
function subGrad(c: GradContext) {
  return [unbA(c, G(c)), unbB(c, G(c).neg())];
}
/** d(ab) = b da + a db. */
function mulGrad(c: GradContext) {
  return siluGrad(c) ?? [unbA(c, G(c).mul(B(c))), unbB(c, G(c).mul(A(c)))];
}
/**
 * SiLU, y = x s with s = sigmoid(x) (either operand order), differentiated whole when the
 * sigmoid lies on the gradient's path (GradContext.producerOnPath):
 *
 *   dx = g s + (g x) s (1 - s) = g (s + y (1 - s))      (x s (1 - s) = y (1 - s))
 *
 * four nodes over the map (1 - s, y (1 - s), the sum, the product by g) where the product's rule
 * and the sigmoid's take six (g s, g x, 1 - s, s (1 - s), the product, the sum). The sigmoid's
 * output gets no gradient from this node, so its own rule sees only its other readers' (none in
 * a SiLU). x, s and y have one shape (s is x's sigmoid).
 */
function siluGrad(c: GradContext): (string | undefined)[] | undefined {
  const [a, b] = c.node.inputs;
  const sigmoidOf = (s: string, x: string) => {
    const p = c.producerOnPath(s);
    return !!p && !p.domain && p.op === "Sigmoid" && p.inputs[0] === x;
  };
  const k = sigmoidOf(b, a) ? 1 : sigmoidOf(a, b) ? 0 : -1;
  if (k < 0) return undefined;
  const s = inputOf(c, k), y = outputOf(c, 0);
  const x = 1 - k;
  const dx = c.unbroadcast(G(c).mul(s.add(y.mul(s.rsub(1)))).name, c.inputTypes[x]!);
  return x === 0 ? [dx, undefined] : [undefined, dx];
}
/** d(a/b) = da / b - (a/b) db / b. */
function divGrad(c: GradContext) {
  const dA = G(c).div(B(c));
  const dB = dA.mul(outputOf(c, 0)).neg();
  return [unbA(c, dA), unbB(c, dB)];
}
/** d(x^p)/dx = p x^(p-1); the exponent gets no gradient (it is a constant). */
function powGrad(c: GradContext) {
  const dtype = c.inputTypes[0]!.dtype;
  const p = c.inputTypes[1]!.dtype === dtype ? B(c) : B(c).cast(dtype);
  const d = p.mul(A(c).pow(p.sub(1)));
  return [unbA(c, G(c).mul(d)), undefined];
}
/** Max/Min of two: the gradient goes to the selected operand (to the first on ties). */
function extremumGrad(cmp: "GreaterOrEqual" | "LessOrEqual"): GradRule {
  return (c) => {
    if (c.node.inputs.length === 1) return [c.outputGrads[0]];
    if (c.node.inputs.length !== 2) {
      throw new Error(`only 1 or 2 inputs are supported, found ${c.node.inputs.length}`);
    }
    const first = A(c).op(cmp, [B(c)]);
    const zero = c.e.scalar(0, c.outputTypes[0].dtype);
    return [unbA(c, first.where(G(c), zero)), unbB(c, first.where(zero, G(c)))];
  };
}
function sumGrad(c: GradContext) {
  return c.inputTypes.map((t) => c.unbroadcast(c.outputGrads[0], t!));
}
function meanGrad(c: GradContext) {
  const g = G(c).mul(1 / c.node.inputs.length).name;
  return c.inputTypes.map((t) => c.unbroadcast(g, t!));
}
const BINARY_GRADS: Record<string, GradRule> = {
  Add: addGrad,
  Sub: subGrad,
  Mul: mulGrad,
  Div: divGrad,
  Max: extremumGrad("GreaterOrEqual"),
  Min: extremumGrad("LessOrEqual"),
  Sum: sumGrad,
  Mean: meanGrad,
};

/** The binary broadcasting ops with inputs A, B and output C. */
export const BINARY_OPS: readonly BinaryRow[] = [
  { op: "Add", since: 14, dtypes: NUMERIC },
  { op: "Sub", since: 14, dtypes: NUMERIC },
  { op: "Mul", since: 14, dtypes: NUMERIC },
  { op: "Div", since: 14, dtypes: NUMERIC },
  {
    op: "Mod",
    since: 13,
    dtypes: NUMERIC,
    attrs: { fmod: { type: "int", default: 0 } },
    noGradYet: "no rule yet",
  },
  { op: "And", since: 7, dtypes: ["bool"], bool: true, differentiable: false },
  { op: "Or", since: 7, dtypes: ["bool"], bool: true, differentiable: false },
  { op: "Equal", since: 13, dtypes: [...NUMERIC, "bool"], bool: true, differentiable: false },
  { op: "Greater", since: 13, dtypes: NUMERIC, bool: true, differentiable: false },
  { op: "GreaterOrEqual", since: 16, dtypes: NUMERIC, bool: true, differentiable: false },
  { op: "Less", since: 13, dtypes: NUMERIC, bool: true, differentiable: false },
  { op: "LessOrEqual", since: 16, dtypes: NUMERIC, bool: true, differentiable: false },
];

/** The binary ops' table entries, one per row of `BINARY_OPS`. */
export const binaryOps: readonly OpDef[] = BINARY_OPS.map((row): OpDef => ({
  op: row.op,
  since: row.since,
  inputs: [{ name: "A" }, { name: "B" }],
  outputs: [{ name: "C" }],
  attrs: row.attrs ?? {},
  grad: BINARY_GRADS[row.op],
  differentiable: row.differentiable,
  noGradYet: row.noGradYet,
  infer(ctx) {
    const a = input(ctx, row.op, 0, "A");
    const b = input(ctx, row.op, 1, "B");
    expectDtype(row.op, "A", a, row.dtypes);
    const dtype = sameDtype(row.op, [["A", a], ["B", b]]);
    if (row.op === "Mod" && FLOAT.includes(dtype) && ctx.attrs.fmod !== 1) {
      throw new ShapeError(
        ...diag("DLM0227", "Mod", "fmod = 1 for float inputs", `fmod = 0 with ${formatType(a)}`),
      );
    }
    return [{ dtype: row.bool ? "bool" : dtype, shape: broadcastTypes([a, b]) }];
  },
}));

// Pow: the exponent may have a different numeric type; the result has the base's type.
export const powOp: OpDef = {
  op: "Pow",
  since: 15,
  inputs: [{ name: "X" }, { name: "Y" }],
  outputs: [{ name: "Z" }],
  attrs: {},
  grad: powGrad,
  infer(ctx) {
    const x = input(ctx, "Pow", 0, "X");
    const y = input(ctx, "Pow", 1, "Y");
    expectDtype("Pow", "X", x, ["i32", "i64", ...FLOAT]);
    expectDtype("Pow", "Y", y, NUMERIC);
    return [{ dtype: x.dtype, shape: broadcastTypes([x, y]) }];
  },
};

/** The variadic broadcasting ops with inputs data_0, data_1, ... */
export const VARIADIC_OPS: readonly BinaryRow[] = [
  { op: "Max", since: 13, dtypes: NUMERIC },
  { op: "Min", since: 13, dtypes: NUMERIC },
  { op: "Mean", since: 13, dtypes: FLOAT },
  { op: "Sum", since: 13, dtypes: FLOAT },
];

/** The variadic ops' table entries, one per row of `VARIADIC_OPS`. */
export const variadicOps: readonly OpDef[] = VARIADIC_OPS.map((row): OpDef => {
  const out = row.op.toLowerCase();
  return {
    op: row.op,
    since: row.since,
    inputs: [{ name: "data_0", variadic: true }],
    outputs: [{ name: out }],
    attrs: {},
    grad: BINARY_GRADS[row.op],
    infer(ctx) {
      if (ctx.inputs.length === 0) {
        throw new ShapeError(...diag("DLM0227", row.op, "at least one input", "none"));
      }
      const ts = ctx.inputs.map((_, i) => input(ctx, row.op, i, `data_${i}`));
      expectDtype(row.op, "data_0", ts[0], row.dtypes);
      const dtype = sameDtype(row.op, ts.map((t, i) => [`data_${i}`, t]));
      return [{ dtype, shape: broadcastTypes(ts) }];
    },
  };
});
