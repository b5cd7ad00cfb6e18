/**
 * Transpose (opset 13): out[i] = in[perm[i]]; perm defaults to the
 * reversed axes.
 */
import { formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { input, intsAttr } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { gradOf } from "./grad_util.ts";
import { diag } from "../diagnostics.ts";

export const transposeOp: OpDef = {
  op: "Transpose",
  grad: transposeGrad,
  since: 13,
  inputs: [{ name: "data" }],
  outputs: [{ name: "transposed" }],
  attrs: { perm: { type: "ints" } },
  infer(ctx) {
    const x = input(ctx, "Transpose", 0, "data");
    const r = x.shape.length;
    const perm = intsAttr(ctx.attrs, "perm") ?? x.shape.map((_, i) => r - 1 - i);
    const sorted = [...perm].sort((a, b) => a - b);
    if (perm.length !== r || sorted.some((v, i) => v !== i)) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "Transpose",
          `perm to be a permutation of 0..${r - 1} for ${formatType(x)}`,
          `[${perm.join(", ")}]`,
        ),
      );
    }
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
  },
};

/** The gradient is g transposed by the inverse permutation. */
function transposeGrad(c: GradContext) {
  const r = c.inputTypes[0]!.shape.length;
  const perm = (c.node.attrs.perm as number[] | undefined) ??
    Array.from({ length: r }, (_, i) => r - 1 - i);
  const inv = new Array<number>(r);
  perm.forEach((p, i) => inv[p] = i);
  return [gradOf(c, 0).transpose(inv).name];
}
