/**
 * LayerNormalization (opset 17): normalises X over dims [axis, rank), then
 * Y = normalised * Scale + B, with Scale and B broadcasting to
 * X.shape[axis:]. The optional Mean and InvStdDev outputs have shape
 * X.shape[:axis] + [1] * (rank - axis) and the stash type (f32 by default).
 */
import { formatType, type TensorType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { broadcastShapes, dimEquals, formatShape } from "./dims.ts";
import { dtypeFromOnnx, expectDtype, FLOAT, input, intAttr, normAxis, sameDtype } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { gradOf, inputOf, normalizeGrad } from "./grad_util.ts";
import { diag } from "../diagnostics.ts";
import type { Expr } from "../ir/expr.ts";
import { numel, tensor } from "../ir/tensor.ts";

export const layerNormalizationOp: OpDef = {
  op: "LayerNormalization",
  grad: layerNormGrad,
  since: 17,
  inputs: [{ name: "X" }, { name: "Scale" }, { name: "B", optional: true }],
  outputs: [{ name: "Y" }, { name: "Mean", optional: true }, { name: "InvStdDev", optional: true }],
  attrs: {
    axis: { type: "int", default: -1 },
    epsilon: { type: "float", default: 1e-5 },
    stash_type: { type: "int", default: 1 },
  },
  infer(ctx) {
    const op = "LayerNormalization";
    const x = input(ctx, op, 0, "X");
    const scale = input(ctx, op, 1, "Scale");
    const b = ctx.inputs[2];
    expectDtype(op, "X", x, FLOAT);
    sameDtype(op, [["X", x], ["Scale", scale], ["B", b]]);
    const rank = x.shape.length;
    const axis = normAxis(op, intAttr(ctx.attrs, "axis", -1), rank);
    const normShape = x.shape.slice(axis);
    for (const [port, t] of [["Scale", scale], ["B", b]] as const) {
      if (!t) continue;
      const fits = t.shape.length <= normShape.length &&
        broadcastShapes(t.shape, normShape, [formatType(t), formatShape(normShape)])
          .every((d, i) => dimEquals(d, normShape[i]) || typeof normShape[i] !== "number");
      if (!fits) {
        throw new ShapeError(
          ...diag(
            "DLM0227",
            op,
            `'${port}' to broadcast to the normalised dims ${formatShape(normShape)} of ${
              formatType(x)
            }`,
            formatType(t),
          ),
        );
      }
    }
    const stash = dtypeFromOnnx(intAttr(ctx.attrs, "stash_type", 1)) ?? "f32";
    const stat: TensorType = {
      dtype: stash,
      shape: [...x.shape.slice(0, axis), ...normShape.map(() => 1)],
    };
    const out: TensorType[] = [{ dtype: x.dtype, shape: [...x.shape] }];
    const n = ctx.outputCount ?? 1;
    if (n > 1) out.push(stat);
    if (n > 2) out.push({ ...stat, shape: [...stat.shape] });
    return out;
  },
};

/**
 * Normalised over axes a = axis..rank-1 (D elements per row); Scale and B broadcast from the
 * right. With xhat = (x - mean) rstd, rstd = (var + eps)^-1/2 and dxhat = g Scale:
 *
 *   dx = rstd (dxhat - mean_a(dxhat) - xhat mean_a(dxhat xhat))
 *      = rstd / D (D dxhat - sum_a(dxhat) - xhat sum_a(dxhat xhat))
 *
 * (the derivative of xhat through x, the mean and the variance; see normalizeGrad).
 * rstd is the forward node's own InvStdDev output: the rule asks for the same node with all
 * three outputs, which cse merges into the forward one. xhat is a LayerNormalization of x with
 * unit scale, one node where (x - mean) rstd takes two. Where the statistics' stash type is not
 * x's dtype (f16 inputs), the rule computes them from x (normalizeGrad).
 */
function layerNormGrad(c: GradContext) {
  const [, scale, bias] = c.node.inputs;
  const xt = c.inputTypes[0]!;
  const rank = xt.shape.length;
  const a = (c.node.attrs.axis as number | undefined) ?? -1;
  const axis = a < 0 ? a + rank : a;
  const axes = Array.from({ length: rank - axis }, (_, i) => axis + i);
  const eps = (c.node.attrs.epsilon as number | undefined) ?? 1e-5;
  const g = c.outputGrads[0];
  if (!g) return [undefined, undefined, undefined];
  const gv = gradOf(c, 0);
  const x = inputOf(c, 0);
  const stash = dtypeFromOnnx((c.node.attrs.stash_type as number | undefined) ?? 1) ?? "f32";
  const normShape = xt.shape.slice(axis);
  let dx: Expr, xhat: Expr;
  if (stash === xt.dtype && normShape.every((d) => typeof d === "number")) {
    const [, , rstd] = c.e.op("LayerNormalization", c.node.inputs, c.node.attrs, { nOutputs: 3 });
    const d = normShape as number[];
    const ones = c.e.constant(tensor(xt.dtype, d, new Array<number>(numel(d)).fill(1)));
    xhat = x.op("LayerNormalization", [ones], { axis, epsilon: eps });
    const dxhat = gv.mul(scale);
    dx = dxhat.sub(dxhat.mean(axes, true)).sub(xhat.mul(dxhat.mul(xhat).mean(axes, true)))
      .mul(rstd);
  } else {
    ({ dx, xhat } = normalizeGrad(x, gv, scale, axes, eps));
  }
  const dScale = c.unbroadcast(gv.mul(xhat).name, c.inputTypes[1]!);
  return [dx.name, dScale, bias ? c.unbroadcast(g, c.inputTypes[2]!) : undefined];
}
