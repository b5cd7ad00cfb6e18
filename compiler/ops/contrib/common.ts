/**
 * Shared pieces of the onnxruntime contrib op entries: their domain and the
 * check that a 1-D vector (bias, gamma, beta) matches the hidden size.
 */
import { formatType, type TensorType } from "../../ir/graph.ts";
import { dimEquals, formatShape } from "../dims.ts";
import { ShapeError } from "../op_def.ts";
import { diag } from "../../diagnostics.ts";

/** The operator domain of onnxruntime's contrib ops. */
export const MS_DOMAIN = "com.microsoft";

/** The float types onnxruntime's contrib kernels accept (f64 is not among them). */
export const CONTRIB_FLOAT = ["f16", "f32", "bf16"] as const;

/** `t` must be 1-D of length `hidden` (the last dim of `of`, named `ofPort`). */
export function expectHiddenVector(
  op: string,
  port: string,
  t: TensorType,
  ofPort: string,
  of: TensorType,
): void {
  const hidden = of.shape[of.shape.length - 1];
  if (t.shape.length === 1 && dimEquals(t.shape[0], hidden)) return;
  throw new ShapeError(
    ...diag(
      "DLM0227",
      op,
      `'${port}' to be 1-D of the last dim of '${ofPort}' ${formatType(of)}, i.e. ${
        formatShape([hidden])
      }`,
      formatType(t),
    ),
  );
}
