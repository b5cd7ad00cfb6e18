/**
 * Shape (opset 15): the 1-D i64 shape of the input, sliced to
 * [start, end) with numpy clamping (end defaults to the rank). Size
 * (opset 13): the input's element count, an i64 scalar.
 */
import type { OpDef } from "./op_def.ts";
import { input, intAttr } from "./rules.ts";

export const shapeOp: OpDef = {
  op: "Shape",
  differentiable: false,
  since: 15,
  inputs: [{ name: "data" }],
  outputs: [{ name: "shape" }],
  attrs: { end: { type: "int" }, start: { type: "int", default: 0 } },
  infer(ctx) {
    const x = input(ctx, "Shape", 0, "data");
    const r = x.shape.length;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const start = clamp(intAttr(ctx.attrs, "start"));
    const end = clamp(intAttr(ctx.attrs, "end", r));
    return [{ dtype: "i64", shape: [Math.max(end - start, 0)] }];
  },
};

export const sizeOp: OpDef = {
  op: "Size",
  differentiable: false,
  since: 13,
  inputs: [{ name: "data" }],
  outputs: [{ name: "size" }],
  attrs: {},
  infer(ctx) {
    input(ctx, "Size", 0, "data");
    return [{ dtype: "i64", shape: [] }];
  },
};
