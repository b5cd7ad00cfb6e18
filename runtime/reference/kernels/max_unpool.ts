/**
 * MaxUnpool: scatter each X value to the position I gives it (the flat
 * indices MaxPool returns, in the shape with spatial dims
 * (in - 1) * stride + kernel - pads_begin - pads_end) of a zero tensor; an
 * explicit output_shape keeps those coordinates in its larger layout.
 */
import type { Kernel } from "../kernel.ts";
import { attrInts, input, intsOf, kernelFailIf, stridesOf } from "../util.ts";
import { allocData, numel } from "../../../compiler/ir/tensor.ts";

export const maxUnpool: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0), idx = intsOf(input(inputs, 1, "I"));
  const r = x.shape.length - 2;
  const kernel = attrInts(attrs, "kernel_shape") ?? [];
  kernelFailIf(kernel.length !== r, "MaxUnpool requires kernel_shape");
  const strides = attrInts(attrs, "strides") ?? new Array(r).fill(1);
  const pads = attrInts(attrs, "pads") ?? new Array(2 * r).fill(0);
  const inferred = [
    ...x.shape.slice(0, 2),
    ...x.shape.slice(2).map((d, i) => (d - 1) * strides[i] + kernel[i] - pads[i] - pads[i + r]),
  ];
  const shape = inputs[2] ? intsOf(inputs[2]) : inferred;
  kernelFailIf(
    shape.length !== inferred.length,
    `Expected an output_shape of rank ${inferred.length}`,
  );
  // Indices address the inferred shape; a larger output_shape keeps the coordinates.
  const from = stridesOf(inferred), to = stridesOf(shape);
  const data = allocData(x.dtype, numel(shape)) as any;
  const src = x.data as any;
  for (let i = 0; i < idx.length; i++) {
    kernelFailIf(idx[i] < 0 || idx[i] >= numel(inferred), `Index ${idx[i]} is outside the output`);
    let rest = idx[i], at = 0;
    for (let d = 0; d < shape.length; d++) {
      const c = Math.floor(rest / from[d]);
      rest -= c * from[d];
      at += c * to[d];
    }
    data[at] = src[i];
  }
  return [{ dtype: x.dtype, shape, data }];
};
