/**
 * Loop: run `body` while (trip count M absent or iter < M) and (cond absent
 * or cond). The body maps (iter, cond, v...) to (cond, v..., scan...); the
 * results are the final v... and each scan output stacked over iterations.
 */
import type { Kernel } from "../kernel.ts";
import { i64Tensor, kernelFailIf, scalarOf } from "../util.ts";
import type { Graph } from "../../../compiler/ir/graph.ts";
import { type Tensor, zeros } from "../../../compiler/ir/tensor.ts";
import { stack } from "./stack_util.ts";

/** Safety net against runaway loops in a reference run. */
const MAX_ITERATIONS = 10_000_000;

export const loop: Kernel = (inputs, attrs, ctx) => {
  const body = attrs.body as Graph | undefined;
  kernelFailIf(!body, "Loop requires the attribute 'body'");
  const maxTrip = inputs[0] ? scalarOf(inputs[0]) : Infinity;
  let cond = inputs[1] ? scalarOf(inputs[1]) !== 0 : true;
  let state = inputs.slice(2) as Tensor[];
  const nState = state.length;
  const nScan = body!.outputs.length - 1 - nState;
  kernelFailIf(nScan < 0, "Loop body has fewer outputs than loop-carried values");
  const scans: Tensor[][] = Array.from({ length: nScan }, () => []);
  let iter = 0;
  for (; iter < maxTrip && cond; iter++) {
    kernelFailIf(iter >= MAX_ITERATIONS, `Loop ran more than ${MAX_ITERATIONS} iterations`);
    const feeds: Record<string, Tensor> = {};
    feeds[body!.inputs[0].name] = i64Tensor([], [iter]);
    feeds[body!.inputs[1].name] = {
      dtype: "bool",
      shape: [],
      data: new Uint8Array([cond ? 1 : 0]),
    };
    state.forEach((t, i) => (feeds[body!.inputs[2 + i].name] = t));
    const outs = ctx.runSubgraph(body!, feeds);
    cond = scalarOf(outs[0]) !== 0;
    state = outs.slice(1, 1 + nState);
    outs.slice(1 + nState).forEach((t, i) => scans[i].push(t));
  }
  const scanOut = scans.map((list, i) => {
    if (list.length > 0) return stack(list, 0);
    // No iteration: an empty stack of the declared element shape (unknown dims as 0).
    const t = body!.outputs[1 + nState + i].type;
    return zeros(t.dtype, [0, ...t.shape.map((d) => (typeof d === "number" ? d : 0))]);
  });
  return [...state, ...scanOut];
};
