/** Round: to the nearest integer, halves to even (numpy's rint). */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

/** Round half to even. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  // Math.round sends halves up; an odd result from an exact half goes back down.
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export const round: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), roundHalfEven)];
