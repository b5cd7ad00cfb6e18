/** BitShift: a << b or a >> b (direction "LEFT" / "RIGHT") on unsigned integers, broadcast. */
import type { Kernel } from "../kernel.ts";
import { attrString, binaryElems, input, kernelFailIf } from "../util.ts";

export const bitShift: Kernel = (inputs, attrs) => {
  const a = input(inputs, 0), b = input(inputs, 1);
  const dir = attrString(attrs, "direction", "");
  kernelFailIf(
    dir !== "LEFT" && dir !== "RIGHT",
    `Expected direction "LEFT" or "RIGHT", found "${dir}"`,
  );
  kernelFailIf(
    !a.dtype.startsWith("u"),
    `BitShift expects an unsigned integer type, found ${a.dtype}`,
  );
  const left = dir === "LEFT";
  // Typed-array stores wrap a left shift to the type's width; >>> keeps u32 unsigned.
  return [
    binaryElems(a, b, (x, y) => {
      if (typeof x === "bigint") return left ? x << y : x >> y;
      return left ? (y >= 32 ? 0 : x << y) : (y >= 32 ? 0 : x >>> y);
    }),
  ];
};
