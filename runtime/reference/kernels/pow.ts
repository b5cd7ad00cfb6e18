/**
 * Pow: y = a ^ b with numpy broadcasting; the result has a's dtype (the
 * exponent may have another). Integer powers of 64-bit integers are exact.
 */
import type { Kernel } from "../kernel.ts";
import { binaryElems, binaryNumeric, input, isBig } from "../util.ts";

export const pow: Kernel = (inputs) => {
  const a = input(inputs, 0), b = input(inputs, 1);
  if (isBig(a.dtype) && isBig(b.dtype)) {
    return [binaryElems(a, b, (x: bigint, y: bigint) => (y < 0n ? (x === 1n ? 1n : 0n) : x ** y))];
  }
  return [binaryNumeric(a, b, (x, y) => Math.pow(x, y), a.dtype)];
};
