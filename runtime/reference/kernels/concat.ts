/** Concat: join tensors along `axis` (negative counts from the end). */
import type { Kernel } from "../kernel.ts";
import { attrInt, kernelFailIf, normAxis } from "../util.ts";
import { allocData, numel, type Tensor } from "../../../compiler/ir/tensor.ts";

/** Tensors of one dtype and rank joined along `axis`. */
export function concatTensors(ts: Tensor[], axis: number): Tensor {
  kernelFailIf(ts.length === 0, "Concat expects at least one input");
  const rank = ts[0].shape.length;
  const ax = normAxis(axis, rank);
  for (const t of ts) {
    kernelFailIf(
      t.dtype !== ts[0].dtype || t.shape.length !== rank ||
        t.shape.some((d, i) => i !== ax && d !== ts[0].shape[i]),
      `Concat expects inputs that agree except on axis ${ax}, found ` +
        ts.map((u) => `${u.dtype}[${u.shape.join(", ")}]`).join(" and "),
    );
  }
  const shape = [...ts[0].shape];
  shape[ax] = ts.reduce((s, t) => s + t.shape[ax], 0);
  const outer = numel(shape.slice(0, ax));
  const inner = numel(shape.slice(ax + 1));
  const data = allocData(ts[0].dtype, numel(shape)) as any;
  const rowLen = shape[ax] * inner;
  let offset = 0;
  for (const t of ts) {
    const chunk = t.shape[ax] * inner;
    const src = t.data as any;
    for (let o = 0; o < outer; o++) {
      const from = o * chunk, to = o * rowLen + offset;
      if (Array.isArray(src)) { for (let i = 0; i < chunk; i++) data[to + i] = src[from + i]; }
      else data.set(src.subarray(from, from + chunk), to);
    }
    offset += chunk;
  }
  return { dtype: ts[0].dtype, shape, data };
}

export const concat: Kernel = (inputs, attrs) => {
  kernelFailIf(attrs.axis === undefined, "Concat requires the attribute 'axis'");
  const ts = inputs.filter((t): t is Tensor => !!t);
  return [concatTensors(ts, attrInt(attrs, "axis", 0))];
};
