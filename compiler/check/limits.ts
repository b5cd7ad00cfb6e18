import { MAX_CONSTANT_ELEMENTS } from "../ir/tensor.ts";

/** Limits that turn runaway programs into diagnostics instead of hangs (spec/language.md 4.9). */
export const LIMITS = {
  depth: 200,
  iterations: 1_000_000,
  // Real networks have thousands of nodes (GPT-2: ~3k; an unrolled RNN: tens of thousands).
  nodes: 250_000,
  rangeLength: 1_000_000,
  /**
   * Items tuple and list concatenations copy, all together: `a + a + ... + a` copies the growing
   * tuple at every `+`, quadratic in the chain (100,000 of them: 1.5e10 copies, a hang).
   */
  copiedItems: 100_000_000,
  tensorElements: 2 ** 31 - 1,
  totalParamElements: 4 * 2 ** 30,
  /** Elements of one constant the compiler computes (`table()` in compiler/ir/tensor.ts checks it). */
  constantElements: MAX_CONSTANT_ELEMENTS,
};
