/**
 * Split: cut along `axis` into parts of the sizes in `split` (an attribute
 * before opset 13, an input after); without it, into equal parts, one per output.
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, attrInts, input, intsOf, kernelFailIf, normAxis } from "../util.ts";
import { sliceAxis } from "./split_util.ts";

export const split: Kernel = (inputs, attrs, ctx) => {
  const x = input(inputs, 0);
  const axis = normAxis(attrInt(attrs, "axis", 0), x.shape.length);
  const dim = x.shape[axis];
  let sizes = ctx.opset < 13 ? attrInts(attrs, "split") : inputs[1] ? intsOf(inputs[1]) : undefined;
  if (!sizes || sizes.length === 0) {
    const n = attrInt(attrs, "num_outputs", ctx.node.outputs.length);
    const part = Math.ceil(dim / n);
    kernelFailIf(
      ctx.opset < 18 && dim % n !== 0,
      `Cannot split a dim of ${dim} into ${n} equal parts`,
    );
    sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(part, dim - i * part)));
  }
  kernelFailIf(
    sizes.reduce((a, b) => a + b, 0) !== dim,
    `Split sizes [${sizes.join(", ")}] do not add up to the dim ${dim}`,
  );
  let at = 0;
  return sizes.map((s) => {
    const t = sliceAxis(x, axis, at, s);
    at += s;
    return t;
  });
};
