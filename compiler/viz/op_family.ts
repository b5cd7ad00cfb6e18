/**
 * Op families for colouring graph drawings. A reader scanning a ResNet wants
 * to see "conv, norm, activation" at a glance, so every ONNX op type is put in
 * one coarse family with one colour. The table is by op name only: the
 * drawing code must not depend on the op table.
 */

/** Coarse group of an op, used for colours and the legend. */
export type OpFamily =
  | "conv"
  | "linear"
  | "norm"
  | "activation"
  | "pooling"
  | "shape"
  | "elementwise"
  | "reduce"
  | "recurrent"
  | "other";

/** Fill and stroke colours of a family, as CSS hex colours. */
export interface FamilyStyle {
  fill: string;
  stroke: string;
  /** Legend text. */
  label: string;
}

const MEMBERS: Record<Exclude<OpFamily, "other">, string[]> = {
  conv: ["Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "DeformConv"],
  linear: ["Gemm", "MatMul", "MatMulInteger", "QLinearMatMul", "Einsum"],
  norm: [
    "BatchNormalization",
    "LayerNormalization",
    "InstanceNormalization",
    "GroupNormalization",
    "LpNormalization",
    "LRN",
    "MeanVarianceNormalization",
    "RMSNormalization",
    "SimplifiedLayerNormalization",
  ],
  activation: [
    "Relu",
    "LeakyRelu",
    "PRelu",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
    "Hardmax",
    "Elu",
    "Selu",
    "Celu",
    "Gelu",
    "HardSigmoid",
    "HardSwish",
    "Softplus",
    "Softsign",
    "Mish",
    "ThresholdedRelu",
    "Shrink",
    "Dropout",
  ],
  pooling: [
    "MaxPool",
    "AveragePool",
    "LpPool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "GlobalLpPool",
    "MaxRoiPool",
    "RoiAlign",
    "MaxUnpool",
  ],
  shape: [
    "Reshape",
    "Flatten",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "Concat",
    "Split",
    "Slice",
    "Gather",
    "GatherElements",
    "GatherND",
    "ScatterElements",
    "ScatterND",
    "Expand",
    "Tile",
    "Pad",
    "Shape",
    "Size",
    "Identity",
    "Cast",
    "CastLike",
    "ConstantOfShape",
    "DepthToSpace",
    "SpaceToDepth",
    "Resize",
    "Range",
    "Compress",
    "OneHot",
    "Trilu",
    "EyeLike",
    "ReverseSequence",
    "NonZero",
  ],
  elementwise: [
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Mod",
    "Neg",
    "Abs",
    "Sign",
    "Reciprocal",
    "Sqrt",
    "Exp",
    "Log",
    "Erf",
    "Floor",
    "Ceil",
    "Round",
    "Clip",
    "Min",
    "Max",
    "Sum",
    "Mean",
    "Where",
    "Equal",
    "Less",
    "LessOrEqual",
    "Greater",
    "GreaterOrEqual",
    "And",
    "Or",
    "Xor",
    "Not",
    "IsNaN",
    "IsInf",
    "BitShift",
    "Sin",
    "Cos",
    "Tan",
    "Asin",
    "Acos",
    "Atan",
    "Sinh",
    "Cosh",
    "Asinh",
    "Acosh",
    "Atanh",
  ],
  reduce: [
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceProd",
    "ReduceSum",
    "ReduceSumSquare",
    "ArgMax",
    "ArgMin",
    "CumSum",
    "TopK",
    "NegativeLogLikelihoodLoss",
    "SoftmaxCrossEntropyLoss",
  ],
  recurrent: ["RNN", "GRU", "LSTM", "Scan", "Loop", "If"],
};

const BY_OP = new Map<string, OpFamily>();
for (const [family, ops] of Object.entries(MEMBERS)) {
  for (const op of ops) BY_OP.set(op, family as OpFamily);
}

/** Colours chosen to stay distinguishable when printed in grey and for common colour blindness. */
export const FAMILY_STYLES: Record<OpFamily, FamilyStyle> = {
  conv: { fill: "#dbe8ff", stroke: "#3f6fb8", label: "conv" },
  linear: { fill: "#e9ddff", stroke: "#7250b8", label: "linear" },
  norm: { fill: "#fff2bf", stroke: "#b8911c", label: "norm" },
  activation: { fill: "#d9f3d6", stroke: "#468f3e", label: "activation" },
  pooling: { fill: "#ffe0c2", stroke: "#cc7426", label: "pooling" },
  shape: { fill: "#ececec", stroke: "#808080", label: "shape" },
  elementwise: { fill: "#d3f1f5", stroke: "#2e8e9c", label: "elementwise" },
  reduce: { fill: "#fadbe6", stroke: "#b84a77", label: "reduce" },
  recurrent: { fill: "#e3e8d0", stroke: "#6c7a3a", label: "recurrent/control" },
  other: { fill: "#ffffff", stroke: "#606060", label: "other" },
};

/** Every family in legend order. */
export const FAMILIES: OpFamily[] = Object.keys(FAMILY_STYLES) as OpFamily[];

/**
 * The family of an op type; ops this table does not know (custom-domain ops
 * included) are "other".
 *
 * @example
 * ```ts
 * opFamily("Conv"); // "conv"
 * opFamily("ReduceMean"); // "reduce"
 * ```
 */
export function opFamily(op: string): OpFamily {
  return BY_OP.get(op) ?? "other";
}
