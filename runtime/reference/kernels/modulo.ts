/**
 * Mod: with fmod=1 the remainder has the sign of the dividend (C fmod, JS %);
 * with fmod=0 (integers only) it has the sign of the divisor (Python %).
 * A remainder by zero is NaN for floats and 0 for integers.
 * (The file is not `mod.ts`: that name is the folder's public module.)
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, binaryElems, input, isFloatType, kernelFailIf, sameDType } from "../util.ts";

export const mod: Kernel = (inputs, attrs) => {
  sameDType(inputs, "Mod");
  const a = input(inputs, 0), b = input(inputs, 1);
  const fmod = attrInt(attrs, "fmod", 0) !== 0;
  const float = isFloatType(a.dtype);
  kernelFailIf(float && !fmod, "Mod of floats requires fmod=1");
  return [
    binaryElems(a, b, (x, y) => {
      if (y == 0) return typeof x === "bigint" ? 0n : float ? NaN : 0;
      const r = x % y;
      // Python's remainder: shift a nonzero remainder whose sign differs from y's.
      return fmod || r == 0 || (r < 0) === (y < 0) ? r : r + y;
    }),
  ];
};
