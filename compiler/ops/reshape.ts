/**
 * Reshape (opset 14): `shape` (i64, 1-D) gives the output dims; 0 copies the
 * input dim at that position (unless allowzero = 1) and one -1 takes
 * whatever size is left: numel(data) / product(other dims).
 */
import { type Dim, formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { dimDiv, dimProduct, formatShape } from "./dims.ts";
import { constInts, expectDtype, expectRank, freshDim, input, intAttr } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { reshapeLike } from "./grad_util.ts";
import { diag } from "../diagnostics.ts";

export const reshapeOp: OpDef = {
  op: "Reshape",
  grad: reshapeGrad,
  since: 14,
  inputs: [{ name: "data" }, { name: "shape" }],
  outputs: [{ name: "reshaped" }],
  attrs: { allowzero: { type: "int", default: 0 } },
  infer(ctx) {
    const x = input(ctx, "Reshape", 0, "data");
    const s = input(ctx, "Reshape", 1, "shape");
    expectDtype("Reshape", "shape", s, ["i64"]);
    expectRank("Reshape", "shape", s, 1);
    const spec = constInts(ctx, 1);
    if (!spec) {
      const rank = s.shape[0];
      if (typeof rank !== "number") {
        throw new ShapeError(
          ...diag(
            "DLM0231",
            "Reshape",
            "a constant shape or a shape of known length",
            formatType(s),
          ),
        );
      }
      return [{ dtype: x.dtype, shape: Array.from({ length: rank }, () => freshDim("Reshape")) }];
    }
    const allowZero = intAttr(ctx.attrs, "allowzero") === 1;
    const out: Dim[] = [];
    let hole = -1;
    for (const [i, v] of spec.entries()) {
      if (v === -1) {
        if (hole >= 0) {
          throw new ShapeError(
            ...diag("DLM0227", "Reshape", "at most one -1 in its shape", `[${spec.join(", ")}]`),
          );
        }
        hole = i;
        out.push(1);
      } else if (v === 0 && !allowZero) {
        if (i >= x.shape.length) {
          throw new ShapeError(
            ...diag(
              "DLM0232",
              "Reshape",
              `copy dim ${i} (a 0 in [${spec.join(", ")}]) from ${formatType(x)}`,
            ),
          );
        }
        out.push(x.shape[i]);
      } else if (v < 0) {
        throw new ShapeError(...diag("DLM0227", "Reshape", "dims >= -1", `[${spec.join(", ")}]`));
      } else out.push(v);
    }
    const total = dimProduct(x.shape);
    const known = dimProduct(out);
    const target = `[${spec.join(", ")}]`;
    if (hole >= 0) {
      if (known === 0) {
        throw new ShapeError(
          ...diag(
            "DLM0232",
            "Reshape",
            `infer the -1 in ${target} for ${formatType(x)}: the other dims multiply to 0`,
          ),
        );
      }
      if (typeof total === "number" && typeof known === "number" && total % known !== 0) {
        throw new ShapeError(
          ...diag(
            "DLM0232",
            "Reshape",
            `turn ${
              formatType(x)
            } (${total} elements) into ${target}: ${total} is not a multiple of ${known}`,
          ),
        );
      }
      out[hole] = dimDiv(total, known);
    } else if (typeof total === "number" && typeof known === "number" && total !== known) {
      throw new ShapeError(
        ...diag(
          "DLM0232",
          "Reshape",
          `turn ${formatType(x)} (${total} elements) into ${formatShape(out)} (${known} elements)`,
        ),
      );
    }
    return [{ dtype: x.dtype, shape: out }];
  },
};

/** A reshape moves no values: the gradient is g reshaped back to the input's shape. */
function reshapeGrad(c: GradContext) {
  return [reshapeLike(c, c.outputGrads[0], c.node.inputs[0]).name, undefined];
}
