/**
 * Reference kernels of onnxruntime's contrib operators (domain
 * "com.microsoft"), keyed as in the kernel table ("com.microsoft::Op").
 */
import type { Kernel } from "../../kernel.ts";
import { biasGelu } from "./bias_gelu.ts";
import { fastGelu } from "./fast_gelu.ts";
import { gelu } from "./gelu.ts";
import { multiHeadAttention } from "./multi_head_attention.ts";
import { skipLayerNormalization } from "./skip_layer_normalization.ts";

/** The contrib kernels by "com.microsoft::Op". */
export const CONTRIB_KERNELS: Record<string, Kernel> = {
  "com.microsoft::BiasGelu": biasGelu,
  "com.microsoft::FastGelu": fastGelu,
  "com.microsoft::Gelu": gelu,
  "com.microsoft::MultiHeadAttention": multiHeadAttention,
  "com.microsoft::SkipLayerNormalization": skipLayerNormalization,
};
