/**
 * The gradient-check cases, one or more per op with a gradient rule; run by
 * `grad_rules_test.ts`. `compiler/ops/op_facets_test.ts` fails for an op
 * whose table entry has a `grad` rule and no case here.
 */
import { tensor } from "../ir/tensor.ts";
import { type GradCase, rand } from "./grad_check.ts";

const i64 = (shape: number[], vs: number[]) => tensor("i64", shape, vs);
const f64 = (shape: number[], vs: number[]) => tensor("f64", shape, vs);
/** Values kept away from 0 (for Log, Sqrt, Div, Abs, Relu kinks). */
const pos = (shape: number[], seed = 3) => rand(shape, { lo: 0.5, hi: 2, seed });
/** Values kept away from 0 on both sides. */
const away = (shape: number[], seed = 5) => {
  const t = rand(shape, { seed });
  const d = t.data as Float64Array;
  for (let k = 0; k < d.length; k++) d[k] = d[k] < 0 ? d[k] - 0.2 : d[k] + 0.2;
  return t;
};

export const GRAD_CASES: GradCase[] = [
  { op: "Add", inputs: [rand([2, 3]), rand([3], { seed: 2 })] },
  { name: "Add with size-1 axes", op: "Add", inputs: [rand([2, 1, 4]), rand([3, 1], { seed: 2 })] },
  { op: "Sub", inputs: [rand([2, 1]), rand([2, 3], { seed: 2 })] },
  { op: "Mul", inputs: [rand([2, 3]), rand([1, 3], { seed: 2 })] },
  { op: "Div", inputs: [rand([2, 3]), pos([3])] },
  { op: "Pow", inputs: [pos([2, 3]), f64([], [2.5])], constant: [1] },
  { name: "Pow with an integer exponent", op: "Pow", inputs: [rand([4]), i64([], [3])] },
  { op: "Neg", inputs: [rand([3])] },
  { op: "Exp", inputs: [rand([2, 3])] },
  { op: "Log", inputs: [pos([2, 3])] },
  { op: "Sqrt", inputs: [pos([2, 3])] },
  { op: "Reciprocal", inputs: [pos([2, 3])] },
  { op: "Abs", inputs: [away([2, 3])] },
  { op: "Relu", inputs: [away([2, 3])] },
  { op: "LeakyRelu", inputs: [away([2, 3])], attrs: { alpha: 0.1 } },
  { op: "Elu", inputs: [away([2, 3])], attrs: { alpha: 0.7 } },
  { op: "Sigmoid", inputs: [rand([2, 3])] },
  { op: "Tanh", inputs: [rand([2, 3])] },
  { op: "Softplus", inputs: [rand([2, 3])] },
  { op: "Erf", inputs: [rand([2, 3])] },
  { op: "Identity", inputs: [rand([2, 3])] },
  { op: "Max", inputs: [rand([2, 3]), rand([3], { seed: 9 })] },
  { op: "Min", inputs: [rand([2, 3]), rand([2, 1], { seed: 23, lo: -0.9 })] },
  { op: "Sum", inputs: [rand([2, 3]), rand([3], { seed: 2 }), rand([2, 1], { seed: 4 })] },
  { op: "Mean", inputs: [rand([2, 3]), rand([3], { seed: 2 })] },
  { op: "ReduceSum", inputs: [rand([2, 3, 4]), i64([2], [0, -1])], attrs: { keepdims: 0 } },
  { name: "ReduceSum over all axes", op: "ReduceSum", inputs: [rand([2, 3])] },
  { op: "ReduceMean", inputs: [rand([2, 3, 4])], attrs: { axes: [1], keepdims: 1 } },
  { op: "ReduceMax", inputs: [rand([2, 3, 4])], attrs: { axes: [2], keepdims: 0 } },
  { op: "MatMul", inputs: [rand([2, 3, 4]), rand([4, 5], { seed: 2 })] },
  {
    name: "MatMul of a rank-4 batch and a shared weight",
    op: "MatMul",
    inputs: [rand([2, 2, 3, 4]), rand([4, 5], { seed: 2 })],
  },
  {
    name: "MatMul with broadcast batches",
    op: "MatMul",
    inputs: [rand([2, 1, 2, 3]), rand([3, 3, 2], { seed: 2 })],
  },
  {
    name: "MatMul of a vector and a matrix",
    op: "MatMul",
    inputs: [rand([3]), rand([2, 3, 2], { seed: 2 })],
  },
  {
    name: "MatMul of a matrix and a vector",
    op: "MatMul",
    inputs: [rand([2, 3]), rand([3], { seed: 2 })],
  },
  {
    op: "Gemm",
    inputs: [rand([2, 3]), rand([3, 4], { seed: 2 }), rand([4], { seed: 3 })],
    attrs: { alpha: 0.5, beta: 2 },
  },
  {
    name: "Gemm with transA, transB and a 2-D C",
    op: "Gemm",
    inputs: [rand([3, 2]), rand([4, 3], { seed: 2 }), rand([2, 1], { seed: 3 })],
    attrs: { transA: 1, transB: 1, alpha: 1.5 },
  },
  {
    name: "Gemm with transB and no C",
    op: "Gemm",
    inputs: [rand([2, 3]), rand([4, 3], { seed: 2 })],
    attrs: { transB: 1 },
  },
  { op: "Flatten", inputs: [rand([2, 3, 2])], attrs: { axis: 2 } },
  { op: "Reshape", inputs: [rand([2, 3, 2]), i64([2], [3, -1])] },
  { op: "Squeeze", inputs: [rand([2, 1, 3]), i64([1], [1])] },
  { op: "Unsqueeze", inputs: [rand([2, 3]), i64([2], [0, 3])] },
  { op: "Transpose", inputs: [rand([2, 3, 4])], attrs: { perm: [1, 2, 0] } },
  { op: "Expand", inputs: [rand([3, 1]), i64([3], [2, 3, 4])] },
  { op: "Cast", inputs: [rand([2, 3])], attrs: { to: 1 }, eps: 1e-3, rtol: 1e-3, atol: 1e-3 },
  {
    op: "Where",
    inputs: [tensor("bool", [2, 3], [1, 0, 1, 0, 0, 1]), rand([2, 3]), rand([3], { seed: 2 })],
  },
  { op: "Clip", inputs: [rand([3, 4]), f64([], [-0.5]), f64([], [0.4])], constant: [1, 2] },
  { name: "Dropout in eval mode", op: "Dropout", inputs: [rand([2, 3])], lossOutputs: [0] },
  { op: "Softmax", inputs: [rand([2, 3, 4])], attrs: { axis: 1 } },
  { op: "LogSoftmax", inputs: [rand([2, 5])] },
  {
    op: "GatherElements",
    inputs: [rand([3, 4]), i64([2, 4], [0, 2, 1, 0, 2, 2, 0, 1])],
    attrs: { axis: 0 },
  },
  {
    name: "GatherElements with indices smaller than data outside the axis",
    op: "GatherElements",
    inputs: [rand([3, 4]), i64([3, 2], [3, 0, 1, 1, 2, 0])],
    attrs: { axis: 1 },
  },
  { op: "TopK", inputs: [rand([3, 5]), i64([1], [2])], attrs: { axis: 1 }, lossOutputs: [0] },
  {
    name: "TopK of the smallest along axis 0, k the whole dim (a sort)",
    op: "TopK",
    inputs: [rand([4, 3]), i64([1], [4])],
    attrs: { axis: 0, largest: 0 },
    lossOutputs: [0],
  },
  {
    // Distinct positions in each row: with a repeated one, one write wins and the others'
    // gradient is zero, which the rule does not give (as torch's does not).
    op: "ScatterElements",
    inputs: [rand([3, 4]), i64([3, 2], [3, 0, 1, 2, 0, 3]), rand([3, 2], { seed: 2 })],
    attrs: { axis: 1 },
  },
  {
    name: "ScatterElements adding, a position hit twice",
    op: "ScatterElements",
    inputs: [rand([3, 4]), i64([2, 4], [0, 2, 1, 0, 0, 1, 1, 2]), rand([2, 4], { seed: 2 })],
    attrs: { axis: 0, reduction: "add" },
  },
  { op: "GlobalAveragePool", inputs: [rand([2, 3, 2, 3])] },
  { op: "MaxPool", inputs: [rand([2, 2, 5, 5])], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  {
    name: "MaxPool with overlapping padded windows",
    op: "MaxPool",
    inputs: [rand([1, 2, 5, 4])],
    attrs: { kernel_shape: [3, 3], strides: [1, 2], pads: [1, 1, 1, 1] },
  },
  {
    // Rois inside, across the border (samples clamped to the last row or column) and past it
    // (samples below -1 weigh nothing), over two images, with torchvision's aligned = True.
    op: "RoiAlign",
    inputs: [
      rand([2, 2, 5, 6]),
      f64([4, 4], [0.5, 0.7, 4.2, 3.9, 3, 2.5, 7.5, 6, -2.5, -1.8, 2, 1.5, 1, 0, 5, 4.5]),
      i64([4], [0, 1, 1, 0]),
    ],
    attrs: { output_height: 2, output_width: 3, sampling_ratio: 2, spatial_scale: 1 },
    wrt: [0],
  },
  {
    name: "RoiAlign without the half-pixel shift (aligned = False), scaled rois",
    op: "RoiAlign",
    inputs: [rand([1, 3, 4, 4]), f64([2, 4], [1, 2, 9, 7, 3, 3, 3.5, 4]), i64([2], [0, 0])],
    attrs: {
      output_height: 3,
      output_width: 2,
      sampling_ratio: 3,
      spatial_scale: 0.5,
      coordinate_transformation_mode: "output_half_pixel",
    },
    wrt: [0],
  },
  {
    // Bins of several sizes (a 3-pixel roi in 2 bins overlaps them), a roi half off the map
    // (clipped bins, an empty one), rounding half away from zero (-0.5 -> -1), two images.
    op: "MaxRoiPool",
    inputs: [
      rand([2, 2, 5, 6]),
      f64([4, 5], [0, 0, 0, 4, 3, 1, 2.6, 1.2, 5, 4, 1, -2.5, -0.5, 1, 1.4, 0, 3, 3, 8, 9]),
    ],
    attrs: { pooled_shape: [2, 3], spatial_scale: 1 },
    wrt: [0],
  },
  {
    name: "MaxRoiPool with scaled rois",
    op: "MaxRoiPool",
    inputs: [rand([1, 3, 4, 4]), f64([2, 5], [0, 1, 2, 7, 7, 0, 0, 0, 3, 2])],
    attrs: { pooled_shape: [3, 2], spatial_scale: 0.5 },
    wrt: [0],
  },
  {
    op: "Concat",
    inputs: [rand([2, 3]), rand([2, 1], { seed: 2 }), rand([2, 2], { seed: 3 })],
    attrs: { axis: -1 },
  },
  {
    op: "Conv",
    inputs: [rand([2, 3, 5, 5]), rand([4, 3, 3, 3], { seed: 2 }), rand([4], { seed: 3 })],
  },
  {
    name: "Conv with stride, padding and dilation",
    op: "Conv",
    inputs: [rand([1, 2, 7, 6]), rand([3, 2, 2, 3], { seed: 2 })],
    attrs: { strides: [2, 3], pads: [1, 0, 2, 1], dilations: [2, 1] },
  },
  {
    // ResNet's downsampling 3x3: the weight gradient's end padding is trimmed instead of cropping.
    name: "Conv 3x3 with stride 2 and padding 1 on an even input",
    op: "Conv",
    inputs: [rand([2, 2, 6, 6]), rand([3, 2, 3, 3], { seed: 2 })],
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  {
    // ResNet's 1x1 shortcut: no padding to trim, so the weight gradient slices x's last rows off.
    name: "Conv 1x1 with stride 2 on an even input",
    op: "Conv",
    inputs: [rand([2, 2, 6, 6]), rand([3, 2, 1, 1], { seed: 2 })],
    attrs: { strides: [2, 2] },
  },
  {
    // Begin padding past every position the stride reads on one axis (that axis's output reads
    // padding only, so y and both gradients are 0): the weight gradient's Conv output is
    // cropped there, x sliced on the other axis.
    name: "Conv whose begin padding spans all it reads on one axis, stride 3",
    op: "Conv",
    inputs: [rand([2, 2, 1, 8]), rand([3, 2, 1, 1], { seed: 2 })],
    attrs: { strides: [3, 3], pads: [2, 0, 0, 0] },
  },
  {
    // Weights larger than the activations: the weight gradient comes out in the weight's layout
    // by correlating flipped maps (conv.ts flippedWeightGrad) instead of a transpose.
    name: "Conv whose weight gradient correlates flipped maps",
    op: "Conv",
    inputs: [rand([1, 4, 2, 3]), rand([6, 4, 3, 3], { seed: 2 }), rand([6], { seed: 3 })],
    attrs: { pads: [1, 1, 1, 1] },
  },
  {
    name: "Conv with flipped maps and asymmetric padding",
    op: "Conv",
    inputs: [rand([1, 3, 3, 2]), rand([5, 3, 3, 2], { seed: 2 })],
    attrs: { pads: [0, 1, 2, 0] },
  },
  {
    name: "Conv on 1x1 maps (the flips are no-ops)",
    op: "Conv",
    inputs: [rand([2, 8, 1, 1]), rand([4, 8, 3, 3], { seed: 2 })],
    attrs: { pads: [1, 1, 1, 1] },
  },
  {
    name: "1-D Conv with flipped maps",
    op: "Conv",
    inputs: [rand([1, 2, 3]), rand([4, 2, 3], { seed: 2 })],
    attrs: { pads: [2, 0] },
  },
  {
    name: "Conv with groups and SAME_UPPER padding",
    op: "Conv",
    inputs: [rand([2, 4, 5, 5]), rand([6, 2, 3, 3], { seed: 2 }), rand([6], { seed: 3 })],
    attrs: { group: 2, strides: [2, 2], auto_pad: "SAME_UPPER" },
  },
  {
    name: "depthwise Conv with a 1-D input",
    op: "Conv",
    inputs: [rand([2, 3, 8]), rand([3, 1, 3], { seed: 2 })],
    attrs: { group: 3, strides: [2], pads: [1, 1] },
  },
  // Grouped weight gradients are one Conv with the group (conv.ts convGrad); stride 1 makes the
  // input gradient a flipped Conv with the group, else a ConvTranspose.
  {
    name: "Conv with 2 groups, stride, dilation and asymmetric padding",
    op: "Conv",
    inputs: [rand([2, 6, 7, 6]), rand([4, 3, 2, 3], { seed: 2 }), rand([4], { seed: 3 })],
    attrs: { group: 2, strides: [2, 1], dilations: [1, 2], pads: [1, 0, 0, 2] },
  },
  {
    name: "Conv with 2 groups, dilation and asymmetric padding at stride 1",
    op: "Conv",
    inputs: [rand([2, 4, 5, 6]), rand([6, 2, 3, 2], { seed: 2 })],
    attrs: { group: 2, dilations: [2, 1], pads: [1, 0, 3, 1] },
  },
  {
    name: "Conv with 2 groups, 1x1 and stride 2 on an even input (x's last rows sliced off)",
    op: "Conv",
    inputs: [rand([2, 4, 6, 6]), rand([4, 2, 1, 1], { seed: 2 })],
    attrs: { group: 2, strides: [2, 2] },
  },
  {
    name: "1-D Conv with 3 groups and dilation",
    op: "Conv",
    inputs: [rand([2, 6, 8]), rand([9, 2, 3], { seed: 2 })],
    attrs: { group: 3, dilations: [2], pads: [0, 2] },
  },
  {
    name: "depthwise Conv with stride, dilation and asymmetric padding",
    op: "Conv",
    inputs: [rand([2, 3, 7, 6]), rand([3, 1, 3, 2], { seed: 2 }), rand([3], { seed: 3 })],
    attrs: { group: 3, strides: [2, 1], dilations: [1, 2], pads: [0, 1, 2, 0] },
  },
  {
    name: "depthwise Conv with a channel multiplier",
    op: "Conv",
    inputs: [rand([2, 3, 5, 5]), rand([6, 1, 3, 3], { seed: 2 })],
    attrs: { group: 3, pads: [1, 2, 1, 0] },
  },
  {
    name: "depthwise Conv with a channel multiplier, stride and dilation",
    op: "Conv",
    inputs: [rand([2, 2, 7, 7]), rand([4, 1, 3, 3], { seed: 2 })],
    attrs: { group: 2, strides: [2, 2], dilations: [2, 1], pads: [2, 1, 1, 1] },
  },
  {
    name: "1-D depthwise Conv with a channel multiplier and dilation",
    op: "Conv",
    inputs: [rand([2, 2, 9]), rand([6, 1, 3], { seed: 2 })],
    attrs: { group: 2, dilations: [2], pads: [2, 1] },
  },
  {
    op: "LayerNormalization",
    inputs: [rand([2, 3, 4]), rand([4], { seed: 2 }), rand([4], { seed: 3 })],
  },
  {
    name: "LayerNormalization over two axes",
    op: "LayerNormalization",
    inputs: [rand([2, 3, 4]), rand([3, 4], { seed: 2 })],
    attrs: { axis: 1, epsilon: 1e-3 },
    nOutputs: 1,
  },
  {
    name: "BatchNormalization in training mode",
    op: "BatchNormalization",
    inputs: [
      rand([3, 2, 2, 2]),
      rand([2], { seed: 2 }),
      rand([2], { seed: 3 }),
      rand([2], { seed: 4 }),
      pos([2]),
    ],
    attrs: { training_mode: 1 },
    lossOutputs: [0],
    wrt: [0, 1, 2],
  },
  {
    name: "BatchNormalization in eval mode",
    op: "BatchNormalization",
    inputs: [
      rand([3, 2, 2]),
      rand([2], { seed: 2 }),
      rand([2], { seed: 3 }),
      rand([2], { seed: 4 }),
      pos([2]),
    ],
    wrt: [0, 1, 2],
  },
  { op: "Slice", inputs: [rand([3, 5]), i64([2], [1, -4]), i64([2], [3, 100]), i64([2], [0, 1])] },
  {
    name: "Slice with steps (Swin's x[:, 0::2, 1::2] and a reversal)",
    op: "Slice",
    inputs: [
      rand([2, 5, 4, 3]),
      i64([3], [0, 1, -1]),
      i64([3], [2 ** 31 - 1, 2 ** 31 - 1, -(2 ** 31)]),
      i64([3], [1, 2, 3]),
      i64([3], [2, 2, -1]),
    ],
  },
  {
    name: "Slice with a negative step of 2 and a step-1 axis",
    op: "Slice",
    inputs: [rand([4, 7]), i64([2], [1, 5]), i64([2], [3, 0]), i64([2], [0, 1]), i64([2], [1, -2])],
  },
  { op: "Split", inputs: [rand([2, 5]), i64([2], [2, 3])], attrs: { axis: 1 }, nOutputs: 2 },
  {
    name: "Split with one output unused",
    op: "Split",
    inputs: [rand([4, 2])],
    nOutputs: 2,
    lossOutputs: [1],
  },
  {
    name: "Dropout in training mode",
    op: "Dropout",
    inputs: [rand([3, 4]), f64([], [0.25]), tensor("bool", [], [1])],
    attrs: { seed: 3 },
    nOutputs: 2,
    lossOutputs: [0],
    wrt: [0],
  },
  { op: "Sin", inputs: [rand([2, 3])] },
  { op: "Cos", inputs: [rand([2, 3])] },
  // Kinks at alpha x + beta = 0 and 1 (x = -2.5, 2.5 for these attributes) are avoided.
  { op: "HardSigmoid", inputs: [rand([3, 4], { lo: -4, hi: 4 })] },
  {
    name: "HardSigmoid with custom alpha and beta",
    op: "HardSigmoid",
    inputs: [f64([6], [-3, -1.2, -0.1, 0.3, 0.9, 2])],
    attrs: { alpha: 0.5, beta: 0.4 },
  },
  { op: "HardSwish", inputs: [f64([7], [-4.5, -2.9, -1, 0.2, 1.7, 2.8, 3.5])] },
  { op: "Selu", inputs: [away([2, 3])] },
  {
    op: "PRelu",
    inputs: [away([2, 3, 2, 2]), rand([3, 1, 1], { seed: 2 })],
  },
  { name: "PRelu with a scalar slope", op: "PRelu", inputs: [away([2, 3]), f64([1], [0.3])] },
  { op: "ReduceSumSquare", inputs: [rand([2, 3, 4])], attrs: { axes: [1], keepdims: 0 } },
  { op: "ReduceL2", inputs: [rand([2, 3, 4])], attrs: { axes: [0, 2], keepdims: 1 } },
  {
    name: "ReduceL2 over all axes",
    op: "ReduceL2",
    inputs: [rand([2, 3])],
    attrs: { keepdims: 0 },
  },
  { op: "ReduceMin", inputs: [rand([2, 3, 4])], attrs: { axes: [-1], keepdims: 0 } },
  { op: "GlobalMaxPool", inputs: [rand([2, 3, 3, 2])] },
  {
    name: "Gather of embedding rows with repeated indices",
    op: "Gather",
    inputs: [rand([5, 3]), i64([2, 3], [1, 4, 1, 0, 4, 1])],
  },
  {
    name: "Gather along a middle axis with negative indices",
    op: "Gather",
    inputs: [rand([2, 4, 3]), i64([3], [-1, 0, 3])],
    attrs: { axis: 1 },
  },
  {
    name: "Gather of a constant channel permutation (its gradient a Gather by the inverse)",
    op: "Gather",
    inputs: [rand([2, 6, 2]), i64([6], [0, 3, 1, 4, -4, 5])],
    attrs: { axis: 1 },
  },
  {
    name: "Gather of a scalar index along the last axis",
    op: "Gather",
    inputs: [rand([2, 3]), i64([], [2])],
    attrs: { axis: -1 },
  },
  { op: "Tile", inputs: [rand([2, 3]), i64([2], [3, 2])] },
  {
    op: "Pad",
    inputs: [rand([2, 3]), i64([4], [1, 0, 2, 3]), f64([], [0.5])],
    wrt: [0, 2],
  },
  {
    name: "Pad with negative (cropping) pads",
    op: "Pad",
    inputs: [rand([3, 4]), i64([4], [-1, 2, 1, -2])],
  },
  { op: "CumSum", inputs: [rand([3, 4]), i64([], [1])] },
  {
    name: "CumSum exclusive and reversed",
    op: "CumSum",
    inputs: [rand([3, 4]), i64([1], [0])],
    attrs: { exclusive: 1, reverse: 1 },
  },
  { op: "Trilu", inputs: [rand([2, 3, 4]), i64([], [1])], attrs: { upper: 0 } },
  { name: "Trilu upper without k", op: "Trilu", inputs: [rand([4, 3])] },
  {
    op: "AveragePool",
    inputs: [rand([2, 2, 4, 4])],
    attrs: { kernel_shape: [2, 2], strides: [2, 2] },
  },
  {
    name: "AveragePool with pads, excluding them from the count",
    op: "AveragePool",
    inputs: [rand([1, 2, 5, 4])],
    attrs: { kernel_shape: [3, 2], strides: [1, 2], pads: [1, 1, 1, 0] },
  },
  {
    name: "AveragePool with pads counted",
    op: "AveragePool",
    inputs: [rand([1, 2, 5, 4])],
    attrs: { kernel_shape: [3, 3], strides: [2, 1], pads: [1, 1, 1, 1], count_include_pad: 1 },
  },
  {
    name: "AveragePool with ceil_mode and counted pads",
    op: "AveragePool",
    inputs: [rand([1, 1, 6, 5])],
    attrs: {
      kernel_shape: [3, 2],
      strides: [2, 2],
      pads: [1, 0, 1, 0],
      ceil_mode: 1,
      count_include_pad: 1,
    },
  },
  {
    name: "AveragePool with SAME_UPPER padding",
    op: "AveragePool",
    inputs: [rand([2, 1, 7, 7])],
    attrs: { kernel_shape: [3, 3], strides: [2, 3], auto_pad: "SAME_UPPER" },
  },
  {
    name: "AveragePool dropping input rows that no window covers",
    op: "AveragePool",
    inputs: [rand([1, 1, 7])],
    attrs: { kernel_shape: [2], strides: [3] },
  },
  // Planes of more than 4,096 (output, input) pairs: the transposed-convolution form of the
  // gradient (the small ones above take the spreading matrix).
  {
    name: "AveragePool on a large map, padded",
    op: "AveragePool",
    inputs: [rand([1, 1, 18, 18])],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 0, 0] },
  },
  {
    name: "AveragePool on a large map with ceil_mode and counted pads",
    op: "AveragePool",
    inputs: [rand([1, 2, 16, 20])],
    attrs: {
      kernel_shape: [2, 3],
      strides: [2, 2],
      pads: [0, 1, 0, 1],
      ceil_mode: 1,
      count_include_pad: 1,
    },
  },
  {
    op: "InstanceNormalization",
    inputs: [rand([2, 3, 2, 3]), rand([3], { seed: 2 }), rand([3], { seed: 3 })],
    attrs: { epsilon: 1e-3 },
  },
  {
    op: "ConvTranspose",
    inputs: [rand([2, 3, 3, 3]), rand([3, 2, 2, 3], { seed: 2 }), rand([2], { seed: 3 })],
  },
  {
    name: "ConvTranspose with stride, pads, dilation and output padding",
    op: "ConvTranspose",
    inputs: [rand([1, 2, 3, 4]), rand([2, 3, 3, 2], { seed: 2 })],
    attrs: { strides: [2, 3], pads: [1, 0, 0, 1], dilations: [1, 2], output_padding: [1, 2] },
  },
  {
    name: "ConvTranspose with groups",
    op: "ConvTranspose",
    inputs: [rand([2, 4, 3, 3]), rand([4, 3, 2, 2], { seed: 2 }), rand([6], { seed: 3 })],
    attrs: { group: 2, strides: [2, 1], pads: [0, 1, 1, 0] },
  },
  {
    name: "depthwise ConvTranspose with a channel multiplier, stride, dilation and output padding",
    op: "ConvTranspose",
    inputs: [rand([2, 3, 3, 4]), rand([3, 2, 3, 2], { seed: 2 })],
    attrs: {
      group: 3,
      strides: [2, 2],
      dilations: [1, 2],
      pads: [1, 0, 0, 2],
      output_padding: [1, 0],
    },
  },
  {
    name: "depthwise ConvTranspose",
    op: "ConvTranspose",
    inputs: [rand([2, 3, 4, 3]), rand([3, 1, 3, 3], { seed: 2 }), rand([3], { seed: 3 })],
    attrs: { group: 3, pads: [1, 1, 1, 1] },
  },
  {
    name: "1-D ConvTranspose with 2 groups, stride and dilation",
    op: "ConvTranspose",
    inputs: [rand([2, 4, 5]), rand([4, 3, 2], { seed: 2 })],
    attrs: { group: 2, strides: [3], dilations: [2], pads: [1, 2] },
  },
  {
    op: "LRN",
    inputs: [rand([2, 5, 2, 2])],
    attrs: { size: 3, alpha: 0.5, beta: 0.75, bias: 1.5 },
  },
  {
    name: "LRN with an even window",
    op: "LRN",
    inputs: [rand([1, 4, 3])],
    attrs: { size: 2, alpha: 0.8, beta: 0.6 },
  },
];
