/** Det: the determinant of each square matrix in the last two dims, by LU with partial pivoting. */
import type { Kernel } from "../kernel.ts";
import { finish, input, kernelFailIf, numbers, scratch } from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const det: Kernel = (inputs) => {
  const x = input(inputs, 0);
  const r = x.shape.length;
  kernelFailIf(
    r < 2 || x.shape[r - 1] !== x.shape[r - 2],
    `Det expects square matrices, found [${x.shape}]`,
  );
  const n = x.shape[r - 1];
  const batch = numel(x.shape.slice(0, -2));
  const src = numbers(x);
  const out = scratch(x.dtype, batch);
  for (let b = 0; b < batch; b++) {
    const a = Float64Array.from(src.subarray(b * n * n, (b + 1) * n * n));
    let d = 1;
    for (let c = 0; c < n; c++) {
      let p = c;
      for (let i = c + 1; i < n; i++) if (Math.abs(a[i * n + c]) > Math.abs(a[p * n + c])) p = i;
      if (a[p * n + c] === 0) {
        d = 0;
        break;
      }
      if (p !== c) {
        for (let j = 0; j < n; j++) [a[c * n + j], a[p * n + j]] = [a[p * n + j], a[c * n + j]];
        d = -d;
      }
      d *= a[c * n + c];
      for (let i = c + 1; i < n; i++) {
        const f = a[i * n + c] / a[c * n + c];
        for (let j = c; j < n; j++) a[i * n + j] -= f * a[c * n + j];
      }
    }
    out[b] = d;
  }
  return [finish(x.dtype, x.shape.slice(0, -2), out)];
};
