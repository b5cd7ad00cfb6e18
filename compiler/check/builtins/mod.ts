/**
 * All built-in layers and functions, gathered from the files that define
 * them (one family a file: CNN layers, recurrent layers, attention, tensor
 * operations), and the compile-time functions and initialisers. A name
 * defined twice is a programming error caught at load.
 */
import { type LayerDef, LAYERS as CORE_LAYERS } from "./layers.ts";
import { type FnDef, FUNCTIONS as CORE_FUNCTIONS } from "./functions.ts";
import { RECURRENT_LAYERS } from "./recurrent.ts";
import { FUNCTIONS as TENSOR_FUNCTIONS } from "./tensor_ops.ts";
import { FUNCTIONS as ATTENTION_FUNCTIONS, LAYERS as ATTENTION_LAYERS } from "./attention.ts";
import { FUNCTIONS as WINDOW_FUNCTIONS, LAYERS as WINDOW_LAYERS } from "./window_ops.ts";
import { FUNCTIONS as LOSS_FUNCTIONS } from "./losses.ts";
import { FUNCTIONS as DETECTION_FUNCTIONS } from "./detection.ts";
import { FUNCTIONS as SORTING_FUNCTIONS } from "./sorting.ts";
import { FUNCTIONS as RANDOM_FUNCTIONS } from "./random.ts";
import { FUNCTIONS as AUGMENT_FUNCTIONS } from "./augment.ts";
import { FUNCTIONS as GRADIENT_FUNCTIONS } from "./gradient.ts";
import { FUNCTIONS as MATCHING_FUNCTIONS } from "./matching.ts";
import type { CompileFn } from "../context.ts";
import { scan } from "./scan.ts";
import { param, params, tensor } from "./param.ts";
import { kmeansStage, METHODS, phase, SETTINGS } from "./train_specs.ts";
import { SCALAR_FNS } from "./scalars.ts";

export type { LayerDef } from "./layers.ts";
export type { FnDef } from "./functions.ts";
export { INIT_FNS, makeInit } from "./inits.ts";

function merge<T>(what: string, ...tables: Record<string, T>[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const t of tables) {
    for (const [k, v] of Object.entries(t)) {
      if (k in out) throw new Error(`internal: built-in ${what} '${k}' is defined twice`);
      out[k] = v;
    }
  }
  return out;
}

export const LAYERS: Record<string, LayerDef> = merge(
  "layer",
  CORE_LAYERS,
  RECURRENT_LAYERS,
  ATTENTION_LAYERS,
  WINDOW_LAYERS,
);
export const FUNCTIONS: Record<string, FnDef> = merge(
  "function",
  CORE_FUNCTIONS,
  TENSOR_FUNCTIONS,
  SORTING_FUNCTIONS,
  MATCHING_FUNCTIONS,
  ATTENTION_FUNCTIONS,
  WINDOW_FUNCTIONS,
  LOSS_FUNCTIONS,
  DETECTION_FUNCTIONS,
  RANDOM_FUNCTIONS,
  AUGMENT_FUNCTIONS,
  GRADIENT_FUNCTIONS,
);

/**
 * Compile-time functions, in the order spec/builtins.md lists them (and
 * "did you mean" meets them: on a tie the first wins).
 */
export const COMPILE_FNS: Record<string, CompileFn> = merge(
  "compile-time function",
  { scan, param, phase, params, kmeans: kmeansStage },
  SETTINGS,
  METHODS,
  { tensor },
  SCALAR_FNS,
);
