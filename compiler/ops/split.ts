/**
 * Split (opset 13): splits `input` along `axis` into parts of the sizes in
 * the constant `split` input, or into as many equal parts as the node has
 * outputs. From opset 18 the equal split must say how many parts in
 * `num_outputs`, which `lower` adds. In the IR `num_outputs` is optional and
 * must equal the number of outputs.
 */
import { type Dim, formatType, type Node } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { dimDiv } from "./dims.ts";
import { constInts, expectDtype, expectRank, freshDim, input, intAttr, normAxis } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { zerosLike } from "./grad_util.ts";
import { diag } from "../diagnostics.ts";

export const splitOp: OpDef = {
  op: "Split",
  grad: splitGrad,
  since: 13,
  inputs: [{ name: "input" }, { name: "split", optional: true }],
  outputs: [{ name: "outputs", variadic: true }],
  attrs: {
    axis: { type: "int", default: 0 },
    // Opset 18's attribute, declared so the emitter knows its type: `lower`
    // sets it from 18 on and removes it below 18 (it repeats the output count).
    num_outputs: { type: "int" },
  },
  infer(ctx) {
    const x = input(ctx, "Split", 0, "input");
    const axis = normAxis("Split", intAttr(ctx.attrs, "axis"), x.shape.length);
    const d = x.shape[axis];
    const withSize = (size: Dim) => {
      const shape = [...x.shape];
      shape[axis] = size;
      return { dtype: x.dtype, shape };
    };
    const s = ctx.inputs[1];
    if (s) {
      expectDtype("Split", "split", s, ["i64"]);
      expectRank("Split", "split", s, 1);
      const sizes = constInts(ctx, 1);
      if (!sizes) {
        const n = ctx.outputCount ?? s.shape[0];
        if (typeof n !== "number") {
          throw new ShapeError(
            ...diag(
              "DLM0231",
              "Split",
              "a constant split or a known number of outputs",
              formatType(s),
            ),
          );
        }
        return Array.from({ length: n }, () => withSize(freshDim("Split")));
      }
      const total = sizes.reduce((a, b) => a + b, 0);
      if (typeof d === "number" && total !== d) {
        throw new ShapeError(
          ...diag(
            "DLM0227",
            "Split",
            `sizes [${sizes.join(", ")}] to add up to dim ${axis} of ${formatType(x)}`,
            total,
          ),
        );
      }
      if (ctx.outputCount !== undefined && ctx.outputCount !== sizes.length) {
        throw new ShapeError(
          ...diag(
            "DLM0227",
            "Split",
            `${sizes.length} outputs for split [${sizes.join(", ")}]`,
            ctx.outputCount,
          ),
        );
      }
      return sizes.map(withSize);
    }
    const declared = ctx.attrs.num_outputs;
    if (
      typeof declared === "number" && ctx.outputCount !== undefined && declared !== ctx.outputCount
    ) {
      throw new ShapeError(
        ...diag("DLM0227", "Split", `num_outputs (${declared}) outputs`, ctx.outputCount),
      );
    }
    const n = ctx.outputCount ?? (typeof declared === "number" ? declared : undefined);
    if (n === undefined) {
      throw new ShapeError(
        ...diag("DLM0231", "Split", "a 'split' input or a known number of outputs", "neither"),
      );
    }
    if (typeof d === "number" && d % n !== 0) {
      throw new ShapeError(
        ...diag("DLM0232", "Split", `divide dim ${axis} of ${formatType(x)} into ${n} equal parts`),
      );
    }
    return Array.from({ length: n }, () => withSize(dimDiv(d, n)));
  },
  lower(node: Node, opset: number): Node[] {
    const hasSplit = node.inputs.length > 1 && node.inputs[1] !== "";
    const { num_outputs: _, ...attrs } = node.attrs;
    if (opset < 18 || hasSplit) {
      return [node.attrs.num_outputs === undefined ? node : { ...node, attrs }];
    }
    return [{
      ...node,
      inputs: [node.inputs[0]],
      attrs: { ...attrs, num_outputs: node.outputs.length },
    }];
  },
};

/** The gradient is the outputs' gradients concatenated back (zeros for unused outputs). */
function splitGrad(c: GradContext) {
  const rank = c.inputTypes[0]!.shape.length;
  const a = (c.node.attrs.axis as number | undefined) ?? 0;
  const parts = c.outputGrads.map((g, k) => g || zerosLike(c, c.node.outputs[k]).name);
  return [c.e.op1("Concat", parts, { axis: a < 0 ? a + rank : a }).name, undefined];
}
