/**
 * onnxruntime's contrib operators (domain "com.microsoft") that the
 * Transformer fusions of `compiler/passes` produce. Importing this module
 * registers them; `compiler/ops/mod.ts` does.
 */
import "./gelu.ts";
import "./fast_gelu.ts";
import "./bias_gelu.ts";
import "./skip_layer_normalization.ts";
import "./multi_head_attention.ts";

export { MS_DOMAIN } from "./common.ts";
