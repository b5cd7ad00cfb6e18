/**
 * onnxruntime's contrib operators (domain "com.microsoft") that the
 * Transformer fusions of `compiler/passes` produce, as table entries;
 * `compiler/ops/table.ts` lists them with the other ops.
 */
import type { OpDef } from "../op_def.ts";
import { biasGeluOp } from "./bias_gelu.ts";
import { fastGeluOp } from "./fast_gelu.ts";
import { geluOp } from "./gelu.ts";
import { multiHeadAttentionOp } from "./multi_head_attention.ts";
import { skipLayerNormalizationOp } from "./skip_layer_normalization.ts";

export { MS_DOMAIN } from "./common.ts";

/** The contrib ops' table entries. */
export const contribOps: readonly OpDef[] = [
  geluOp,
  fastGeluOp,
  biasGeluOp,
  skipLayerNormalizationOp,
  multiHeadAttentionOp,
];
