/**
 * MaxPool (opset 12): X (N, C, D1..Dn) -> Y (N, C, O1..On) and optional
 * Indices (i64, same shape), the window sizes from `kernel_shape` (see
 * `windowOutput`).
 */
import type { TensorType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { expectDtype, expectRank, input, intAttr, intsAttr } from "./rules.ts";
import { windowOutput } from "./window.ts";
import type { GradContext } from "./op_def.ts";
import { gradOf, reshapeLike, zerosLike } from "./grad_util.ts";
import { diag } from "../diagnostics.ts";

export const maxPoolOp: OpDef = {
  op: "MaxPool",
  grad: maxPoolGrad,
  since: 12,
  inputs: [{ name: "X" }],
  outputs: [{ name: "Y" }, { name: "Indices", optional: true }],
  attrs: {
    auto_pad: { type: "string", default: "NOTSET" },
    ceil_mode: { type: "int", default: 0 },
    dilations: { type: "ints" },
    kernel_shape: { type: "ints", required: true },
    pads: { type: "ints" },
    storage_order: { type: "int", default: 0 },
    strides: { type: "ints" },
  },
  infer(ctx) {
    const x = input(ctx, "MaxPool", 0, "X");
    expectDtype("MaxPool", "X", x, ["f16", "f32", "f64", "i8", "u8"]);
    expectRank("MaxPool", "X", x, 3, true);
    const kernel = intsAttr(ctx.attrs, "kernel_shape");
    if (!kernel || kernel.length !== x.shape.length - 2) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "MaxPool",
          `kernel_shape with ${x.shape.length - 2} values for input of rank ${x.shape.length}`,
          kernel ? `[${kernel.join(", ")}]` : "none",
        ),
      );
    }
    const ceil = intAttr(ctx.attrs, "ceil_mode") === 1;
    const shape = [x.shape[0], x.shape[1], ...windowOutput("MaxPool", x, kernel, ctx.attrs, ceil)];
    const out: TensorType[] = [{ dtype: x.dtype, shape }];
    if ((ctx.outputCount ?? 1) > 1) out.push({ dtype: "i64", shape: [...shape] });
    return out;
  },
};

/**
 * Each output's gradient goes to the input element it took the maximum
 * from: a scatter-add over the flattened input at MaxPool's Indices (a
 * second MaxPool with two outputs computes them when the node has none).
 * Correct for overlapping windows too.
 *
 * Indices-free forms were measured against this one (issue 19, ResNet-18's stem pool
 * x [16, 64, 16, 16], kernel 3, stride 2, pad 1, onnxruntime-node 1.30, 2 threads, node
 * minima in the step): MaxPool with Indices plus the scatter cost 0.88-0.90 ms, MaxPool
 * alone 0.07 ms (NCHWc), so no Indices-free gradient can save more than ~0.5 ms. The
 * cheapest exact-on-ties one found (windows stacked by a one-hot Conv with group C, ArgMax's
 * first occurrence, Where, one ConvTranspose placing them back; 8 nodes) costs ~1.3 ms, and
 * its one-hot Conv turns infinite inputs into NaN (0 * inf); k * k strided Slices instead of
 * that Conv are exact but ~1.1 ms for the Slices alone. Indices stay.
 */
function maxPoolGrad(c: GradContext) {
  const x = c.node.inputs[0];
  if ((c.node.attrs.storage_order ?? 0) !== 0) {
    throw new Error("storage_order = 1 is not supported");
  }
  const e = c.e;
  const indices = c.node.outputs[1] ||
    e.op("MaxPool", [x], c.node.attrs, { nOutputs: 2 })[1].name;
  const flat = e.ints([-1]);
  const dx = zerosLike(c, x).reshape(flat).op("ScatterElements", [
    e.v(indices).reshape(flat),
    gradOf(c, 0).reshape(flat),
  ], { axis: 0, reduction: "add" });
  return [reshapeLike(c, dx, x).name];
}
