/**
 * RNN (opset 14): one layer of a vanilla recurrent network,
 * H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb), f = Tanh by default.
 *
 * Also the shape rule RNN, GRU and LSTM share (`recurrentInfer`). With
 * `gates` gates per cell (RNN 1, GRU 3, LSTM 4), `dirs` = 2 when
 * bidirectional else 1 and H = hidden_size:
 *
 *   layout 0: X [T, N, C]  Y [T, dirs, N, H]  initial_h, Y_h (and c) [dirs, N, H]
 *   layout 1: X [N, T, C]  Y [N, T, dirs, H]  initial_h, Y_h (and c) [N, dirs, H]
 *   W [dirs, gates*H, C], R [dirs, gates*H, H], B [dirs, 2*gates*H],
 *   sequence_lens i32 [N], P (LSTM) [dirs, 3*H].
 *
 * T and N stay as X gives them (symbolic dims stay symbolic).
 */
import { type Dim, formatType, type TensorType } from "../ir/graph.ts";
import { type InferContext, type OpDef, ShapeError } from "./op_def.ts";
import { formatShape } from "./dims.ts";
import {
  expectDtype,
  expectRank,
  FLOAT_NO_BF16,
  input,
  intAttr,
  sameDtype,
  strAttr,
} from "./rules.ts";
import type { AttrSpec, PortSpec } from "./op_def.ts";
import { diag } from "../diagnostics.ts";

/** Attributes all three recurrent ops take (opset 14). */
export const RECURRENT_ATTRS: Record<string, AttrSpec> = {
  activation_alpha: { type: "floats" },
  activation_beta: { type: "floats" },
  activations: { type: "strings" },
  clip: { type: "float" },
  direction: { type: "string", default: "forward" },
  hidden_size: { type: "int" },
  layout: { type: "int", default: 0 },
};

/** Inputs all three recurrent ops take, in order (LSTM adds initial_c and P). */
export const RECURRENT_INPUTS: PortSpec[] = [
  { name: "X" },
  { name: "W" },
  { name: "R" },
  { name: "B", optional: true },
  { name: "sequence_lens", optional: true },
  { name: "initial_h", optional: true },
];

const DIRECTIONS = ["forward", "reverse", "bidirectional"];

/** Two dims that are both known and differ (symbolic dims are not compared). */
function conflict(a: Dim, b: Dim): boolean {
  return typeof a === "number" && typeof b === "number" && a !== b;
}

/**
 * Output types of RNN (gates 1), GRU (3) or LSTM (4, with a cell state):
 * [Y, Y_h] or [Y, Y_h, Y_c]. Throws ShapeError naming the port, the
 * expected shape and the type found.
 */
export function recurrentInfer(op: string, gates: number, ctx: InferContext): TensorType[] {
  const x = input(ctx, op, 0, "X");
  const w = input(ctx, op, 1, "W");
  const r = input(ctx, op, 2, "R");
  expectDtype(op, "X", x, FLOAT_NO_BF16);
  const lstm = gates === 4;
  const dtype = sameDtype(op, [
    ["X", x],
    ["W", w],
    ["R", r],
    ["B", ctx.inputs[3]],
    ["initial_h", ctx.inputs[5]],
    ...(lstm
      ? [["initial_c", ctx.inputs[6]], ["P", ctx.inputs[7]]] as [
        string,
        TensorType | undefined,
      ][]
      : []),
  ]);
  expectRank(op, "X", x, 3);
  expectRank(op, "W", w, 3);
  expectRank(op, "R", r, 3);

  const direction = strAttr(ctx.attrs, "direction", "forward");
  if (!DIRECTIONS.includes(direction)) {
    throw new ShapeError(
      ...diag("DLM0227", op, 'direction "forward", "reverse" or "bidirectional"', `"${direction}"`),
    );
  }
  const dirs = direction === "bidirectional" ? 2 : 1;
  const layout = intAttr(ctx.attrs, "layout", 0);
  if (layout !== 0 && layout !== 1) {
    throw new ShapeError(...diag("DLM0227", op, "layout 0 or 1", layout));
  }
  const [t, n, c] = layout === 0 ? x.shape : [x.shape[1], x.shape[0], x.shape[2]];

  // hidden_size is required by the spec, but R's last dim says it too.
  let h: Dim = ctx.attrs.hidden_size !== undefined ? intAttr(ctx.attrs, "hidden_size") : r.shape[2];
  if (typeof h === "number" && (!Number.isInteger(h) || h <= 0)) {
    throw new ShapeError(...diag("DLM0227", op, "a positive hidden_size", h));
  }
  const gh: Dim = typeof h === "number" ? gates * h : r.shape[1];
  if (typeof h !== "number" && typeof gh === "number") h = gh / gates;

  const expectShape = (port: string, ty: TensorType | undefined, want: Dim[]) => {
    if (!ty) return;
    if (ty.shape.length !== want.length || ty.shape.some((d, i) => conflict(d, want[i]))) {
      throw new ShapeError(
        ...diag("DLM0227", op, `'${port}' of shape ${formatShape(want)}`, formatType(ty)),
      );
    }
  };
  const state: Dim[] = layout === 0 ? [dirs, n, h] : [n, dirs, h];
  expectShape("W", w, [dirs, gh, c]);
  expectShape("R", r, [dirs, gh, h]);
  expectShape("B", ctx.inputs[3], [dirs, typeof gh === "number" ? 2 * gh : "2*" + gh]);
  const lens = ctx.inputs[4];
  if (lens) {
    expectDtype(op, "sequence_lens", lens, ["i32"]);
    expectShape("sequence_lens", lens, [n]);
  }
  expectShape("initial_h", ctx.inputs[5], state);
  if (lstm) {
    expectShape("initial_c", ctx.inputs[6], state);
    expectShape("P", ctx.inputs[7], [dirs, typeof h === "number" ? 3 * h : "3*" + h]);
  }

  const y: TensorType = { dtype, shape: layout === 0 ? [t, dirs, n, h] : [n, t, dirs, h] };
  const yh: TensorType = { dtype, shape: state };
  return lstm ? [y, yh, { ...yh, shape: [...state] }] : [y, yh];
}

export const rnnOp: OpDef = {
  op: "RNN",
  noGradYet:
    "differentiated through its unrolled form: grad/expand_recurrent.ts replaces it before the backward pass",
  since: 14,
  inputs: RECURRENT_INPUTS,
  outputs: [{ name: "Y", optional: true }, { name: "Y_h", optional: true }],
  attrs: RECURRENT_ATTRS,
  infer: (ctx) => recurrentInfer("RNN", 1, ctx),
};
