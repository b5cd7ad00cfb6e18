/**
 * The shape of the ai.onnx.preview.training optimizers: inputs R (learning
 * rate), T (update count), then `k` groups of n tensors (X_1..X_n, G_1..G_n,
 * ...); outputs are the updated groups in the same order. Each tensor is
 * updated elementwise in f64 and stored in its own dtype.
 */
import type { Tensor } from "../../../compiler/ir/tensor.ts";
import { finish, input, kernelFailIf, numbers, scalarOf, scratch } from "../util.ts";

/**
 * Apply `update(r, t, values)` elementwise, where values[g] is group g's
 * element; it returns the new values of the `outGroups` output groups.
 */
export function optimizerStep(
  inputs: (Tensor | undefined)[],
  groups: number,
  outGroups: number,
  update: (r: number, t: number, v: number[]) => number[],
): Tensor[] {
  const r = scalarOf(input(inputs, 0, "R")), t = scalarOf(input(inputs, 1, "T"));
  const rest = inputs.slice(2) as Tensor[];
  kernelFailIf(rest.length % groups !== 0, `Expected ${groups} tensors per optimized tensor`);
  const n = rest.length / groups;
  const outs: Tensor[][] = Array.from({ length: outGroups }, () => []);
  for (let i = 0; i < n; i++) {
    const ts = Array.from({ length: groups }, (_, g) => rest[g * n + i]);
    const vs = ts.map(numbers);
    const size = vs[0].length;
    const res = Array.from({ length: outGroups }, (_, g) => scratch(ts[g].dtype, size));
    const v = new Array<number>(groups);
    for (let e = 0; e < size; e++) {
      for (let g = 0; g < groups; g++) v[g] = vs[g][e];
      const u = update(r, t, v);
      for (let g = 0; g < outGroups; g++) res[g][e] = u[g];
    }
    res.forEach((arr, g) => outs[g].push(finish(ts[g].dtype, ts[g].shape, arr)));
  }
  return outs.flat();
}
