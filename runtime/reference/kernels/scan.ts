/**
 * Scan: for t over the scan axis, run body(state..., slice_t of each scan
 * input) -> (state..., scan outputs...); return the final states and the
 * scan outputs stacked along their axes. Directions 1 iterate or stack in
 * reverse. Opset 8's form (batch dim 0, optional sequence_lens first) runs
 * this per batch element.
 */
import type { Kernel, KernelContext } from "../kernel.ts";
import type { AttrValue, Graph } from "../../../compiler/ir/graph.ts";
import type { Tensor } from "../../../compiler/ir/tensor.ts";
import { attrInt, attrInts, intsOf, kernelFailIf, normAxis, reshaped } from "../util.ts";
import { sliceAxis } from "./split_util.ts";
import { stack } from "./stack_util.ts";

export const scan: Kernel = (inputs, attrs, ctx) => {
  const body = attrs.body as Graph | undefined;
  kernelFailIf(!body, "Scan requires the attribute 'body'");
  const m = attrInt(attrs, "num_scan_inputs", 0);
  if (ctx.opset >= 9) return scanOnce(inputs as Tensor[], m, attrs, body!, ctx, undefined);
  // Opset 8: inputs are (sequence_lens?, states..., scans...), all batched on dim 0.
  const lens = inputs[0] ? intsOf(inputs[0]) : undefined;
  const rest = inputs.slice(1) as Tensor[];
  const batch = rest[0].shape[0];
  const perBatch: Tensor[][] = [];
  for (let b = 0; b < batch; b++) {
    const sliced = rest.map((t) => {
      const s = sliceAxis(t, 0, b, 1);
      return reshaped(s, s.shape.slice(1));
    });
    perBatch.push(
      scanOnce(sliced, m, { ...attrs, scan_input_axes: undefined as any }, body!, ctx, lens?.[b]),
    );
  }
  return perBatch[0].map((_, i) => stack(perBatch.map((outs) => outs[i]), 0));
};

function scanOnce(
  inputs: Tensor[],
  m: number,
  attrs: Record<string, AttrValue>,
  body: Graph,
  ctx: KernelContext,
  length: number | undefined,
): Tensor[] {
  const n = inputs.length - m;
  let state = inputs.slice(0, n);
  const scanIns = inputs.slice(n);
  const inAxes = (attrInts(attrs, "scan_input_axes") ?? scanIns.map(() => 0))
    .map((a, i) => normAxis(a, scanIns[i].shape.length));
  const inDirs = attrInts(attrs, "scan_input_directions") ??
    attrInts(attrs, "directions") ?? scanIns.map(() => 0);
  const k = body.outputs.length - n;
  const outAxesRaw = attrInts(attrs, "scan_output_axes") ?? new Array(k).fill(0);
  const outDirs = attrInts(attrs, "scan_output_directions") ?? new Array(k).fill(0);
  const T = length ?? (scanIns.length ? scanIns[0].shape[inAxes[0]] : 0);
  const outs: Tensor[][] = Array.from({ length: k }, () => []);
  for (let t = 0; t < T; t++) {
    const feeds: Record<string, Tensor> = {};
    state.forEach((s, i) => (feeds[body.inputs[i].name] = s));
    scanIns.forEach((x, i) => {
      const at = inDirs[i] ? T - 1 - t : t;
      const s = sliceAxis(x, inAxes[i], at, 1);
      feeds[body.inputs[n + i].name] = reshaped(s, s.shape.filter((_, d) => d !== inAxes[i]));
    });
    const res = ctx.runSubgraph(body, feeds);
    state = res.slice(0, n);
    res.slice(n).forEach((y, i) => outs[i].push(y));
  }
  const scanOuts = outs.map((list, i) => {
    const ordered = outDirs[i] ? [...list].reverse() : list;
    const rank = ordered[0]?.shape.length ?? 0;
    return stack(ordered, normAxis(outAxesRaw[i], rank + 1));
  });
  return [...state, ...scanOuts];
}
