/**
 * Pad (opset 13): out[i] = in[i] + pads[i] + pads[rank + i], pads being the
 * constant i64 input [x1_begin, ..., xn_begin, x1_end, ..., xn_end]
 * (negative values crop).
 */
import { type Dim, formatType } from "../ir/graph.ts";
import { type GradContext, type OpDef, ShapeError } from "./op_def.ts";
import { gradOf } from "./grad_util.ts";
import type { Expr } from "../ir/expr.ts";
import { toNumbers } from "../ir/tensor.ts";
import { dimAdd } from "./dims.ts";
import {
  constInts,
  expectDtype,
  expectRank,
  freshDim,
  input,
  sameDtype,
  strAttr,
} from "./rules.ts";
import { diag } from "../diagnostics.ts";

export const padOp: OpDef = {
  op: "Pad",
  grad: padGrad,
  since: 13,
  inputs: [{ name: "data" }, { name: "pads" }, { name: "constant_value", optional: true }],
  outputs: [{ name: "output" }],
  attrs: { mode: { type: "string", default: "constant" } },
  infer(ctx) {
    const x = input(ctx, "Pad", 0, "data");
    const p = input(ctx, "Pad", 1, "pads");
    expectDtype("Pad", "pads", p, ["i64"]);
    expectRank("Pad", "pads", p, 1);
    sameDtype("Pad", [["data", x], ["constant_value", ctx.inputs[2]]]);
    const mode = strAttr(ctx.attrs, "mode", "constant");
    if (!["constant", "reflect", "edge"].includes(mode)) {
      throw new ShapeError(
        ...diag("DLM0227", "Pad", "mode 'constant', 'reflect' or 'edge'", `'${mode}'`),
      );
    }
    const rank = x.shape.length;
    const pads = constInts(ctx, 1);
    if (!pads) return [{ dtype: x.dtype, shape: x.shape.map(() => freshDim("Pad")) }];
    if (pads.length !== 2 * rank) {
      throw new ShapeError(
        ...diag("DLM0227", "Pad", `${2 * rank} pads for ${formatType(x)}`, `[${pads.join(", ")}]`),
      );
    }
    const shape: Dim[] = x.shape.map((d, i) => dimAdd(d, pads[i] + pads[rank + i]));
    const bad = shape.findIndex((d) => typeof d === "number" && d < 0);
    if (bad >= 0) {
      throw new ShapeError(
        ...diag(
          "DLM0232",
          "Pad",
          `crop dim ${bad} of ${formatType(x)} by more than its size: pads [${pads.join(", ")}]`,
        ),
      );
    }
    return [{ dtype: x.dtype, shape }];
  },
};

/**
 * Constant-mode Pad copies x into the middle of y (cropping where a pad is
 * negative), so dx is g padded by the negated pads with zeros: the middle
 * is cut out and cropped rows come back as zeros. The fill value's
 * gradient is what g holds outside the copy: sum(g) - sum(dx).
 */
function padGrad(c: GradContext) {
  const mode = (c.node.attrs.mode as string | undefined) ?? "constant";
  if (mode !== "constant") throw new Error(`mode '${mode}' is not supported, only 'constant'`);
  const [, padsName, value] = c.node.inputs;
  const padsValue = c.constantOf(padsName);
  if (!padsValue) throw new Error("Pad needs constant pads");
  const g = gradOf(c, 0);
  const dx = g.op("Pad", [c.e.ints(toNumbers(padsValue).map((p) => -p))]);
  let dValue: string | undefined;
  if (value) {
    const total = (v: Expr) => v.sum(undefined, false);
    const outside = total(g).sub(total(dx));
    dValue = outside.reshape(c.typeOf(value).shape.map(() => 1)).name;
  }
  return [dx.name, undefined, dValue];
}
