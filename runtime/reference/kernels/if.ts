/** If: run then_branch when the bool scalar cond is true, else else_branch; return its outputs. */
import type { Kernel } from "../kernel.ts";
import { input, kernelFailIf } from "../util.ts";
import type { Graph } from "../../../compiler/ir/graph.ts";

export const ifKernel: Kernel = (inputs, attrs, ctx) => {
  const cond = input(inputs, 0, "cond");
  kernelFailIf(cond.data.length !== 1, "If expects a single-element cond");
  const branch = (cond.data[0] ? attrs.then_branch : attrs.else_branch) as Graph | undefined;
  kernelFailIf(!branch, "If is missing then_branch or else_branch");
  return ctx.runSubgraph(branch!, {});
};
