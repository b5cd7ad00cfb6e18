/** ArgMax: i64 index of the largest value along `axis` (first, or last with select_last_index). */
import type { Kernel } from "../kernel.ts";
import { argExtreme } from "./arg_util.ts";

export const argMax: Kernel = (inputs, attrs) => [argExtreme(inputs, attrs, (a, b) => a > b)];
