import assert from "node:assert/strict";
import type { AttrValue, Dim, TensorType } from "../ir/graph.ts";
import { type DType, type Tensor, tensor } from "../ir/tensor.ts";
import { getOp, resetFreshDims, withDefaults } from "./mod.ts";

const f32 = (...shape: Dim[]): TensorType => ({ dtype: "f32", shape });
const i64 = (...shape: Dim[]): TensorType => ({ dtype: "i64", shape });
const t = (dtype: DType, ...shape: Dim[]): TensorType => ({ dtype, shape });
/** A constant i64 vector input: its type and its value. */
const ints = (
  ...v: number[]
): [TensorType, Tensor] => [i64(v.length), tensor("i64", [v.length], v)];

type In = TensorType | [TensorType, Tensor] | undefined;

/** Run an op's shape rule; inputs given as [type, value] are constants. */
function infer(
  op: string,
  inputs: In[],
  attrs: Record<string, AttrValue> = {},
  outputCount?: number,
): TensorType[] {
  const def = getOp(op);
  if (!def) throw new Error(`no op ${op}`);
  return def.infer({
    inputs: inputs.map((i) => (Array.isArray(i) ? i[0] : i)),
    attrs: withDefaults(def, attrs),
    constant: (k) => {
      const i = inputs[k];
      return Array.isArray(i) ? i[1] : undefined;
    },
    outputCount,
  });
}

/** The one output type. */
const one = (...args: Parameters<typeof infer>) => {
  const out = infer(...args);
  assert.equal(out.length, 1);
  return out[0];
};

function rejects(fn: () => unknown, message: string) {
  assert.throws(fn, { name: "ShapeError", message });
}

// ---- elementwise ----

Deno.test("unary ops keep the input type", () => {
  assert.deepEqual(one("Relu", [f32("N", 3)]), f32("N", 3));
  assert.deepEqual(one("Not", [t("bool", 2)]), t("bool", 2));
  assert.deepEqual(one("Identity", [t("str", 2)]), t("str", 2));
});

Deno.test("unary ops reject element types outside the spec", () => {
  rejects(
    () => infer("Sigmoid", [i64("N")]),
    "Sigmoid expects 'X' to be a float tensor (f16, f32, f64, bf16), found i64[N]",
  );
  rejects(() => infer("Not", [f32(2)]), "Not expects 'X' to be of type bool, found f32[2]");
});

Deno.test("binary ops broadcast and comparisons give bool", () => {
  assert.deepEqual(one("Add", [f32("N", 3, 1), f32(4)]), f32("N", 3, 4));
  assert.deepEqual(one("Less", [f32("N", 3), f32(3)]), t("bool", "N", 3));
  assert.deepEqual(one("Pow", [f32(2, 3), t("i64")]), f32(2, 3));
  assert.deepEqual(one("Sum", [f32(3), f32(2, 1), f32(1)]), f32(2, 3));
});

Deno.test("binary ops report broadcast and dtype mismatches", () => {
  rejects(
    () => infer("Add", [f32("N", 3), f32(4)]),
    "Cannot broadcast f32[N, 3] with f32[4]: dim 1 is 3 but must be 1 or 4",
  );
  rejects(
    () => infer("Mul", [f32(3), i64(3)]),
    "Mul expects 'B' to have the same element type as 'A': found i64[3] and f32[3]",
  );
  rejects(
    () => infer("Mod", [f32(3), f32(3)]),
    "Mod expects fmod = 1 for float inputs, found fmod = 0 with f32[3]",
  );
  rejects(
    () => infer("Max", [f32(2), f32(3), f32(3)]),
    "Cannot broadcast f32[2] with f32[3]: dim 0 is 2 but must be 1 or 3",
  );
});

Deno.test("Where broadcasts condition, X and Y", () => {
  assert.deepEqual(one("Where", [t("bool", "N", 1), f32(1, 4), f32()]), f32("N", 4));
  rejects(
    () => infer("Where", [f32(1), f32(1), f32(1)]),
    "Where expects 'condition' to be of type bool, found f32[1]",
  );
});

Deno.test("PRelu broadcasts the slope onto X only", () => {
  assert.deepEqual(one("PRelu", [f32("N", 3, 8, 8), f32(3, 1, 1)]), f32("N", 3, 8, 8));
  rejects(
    () => infer("PRelu", [f32(3), f32(2, 3)]),
    "PRelu expects slope to broadcast to f32[3], found f32[2, 3]",
  );
});

// ---- convolution and pooling ----

Deno.test("Conv computes LeNet's and ResNet's output sizes", () => {
  assert.deepEqual(
    one("Conv", [f32("N", 1, 32, 32), f32(6, 1, 5, 5), f32(6)]),
    f32("N", 6, 28, 28),
  );
  assert.deepEqual(
    one("Conv", [f32("N", 3, 224, 224), f32(64, 3, 7, 7)], { strides: [2, 2], pads: [3, 3, 3, 3] }),
    f32("N", 64, 112, 112),
  );
  assert.deepEqual(
    one("Conv", [f32(1, 32, 10, 10), f32(32, 1, 3, 3)], { group: 32, auto_pad: "SAME_UPPER" }),
    f32(1, 32, 10, 10),
  );
});

Deno.test("Conv on symbolic spatial dims gives canonical expressions", () => {
  assert.deepEqual(
    one("Conv", [f32("N", 3, "H", "W"), f32(16, 3, 3, 3)], { pads: [1, 1, 1, 1] }),
    f32("N", 16, "H", "W"),
  );
  assert.deepEqual(
    one("Conv", [f32("N", 3, "H", "W"), f32(16, 3, 3, 3)], { pads: [1, 1, 1, 1], strides: [2, 2] }),
    f32("N", 16, "floor((H + 1) / 2)", "floor((W + 1) / 2)"),
  );
});

Deno.test("Conv rejects mismatched channels, ranks, attributes and too-small inputs", () => {
  rejects(
    () => infer("Conv", [f32("N", 3, 32, 32), f32(16, 6, 5, 5)]),
    "Conv expects input channels to equal weight channels x group: input f32[N, 3, 32, 32] has 3, weight f32[16, 6, 5, 5] needs 6",
  );
  rejects(
    () => infer("Conv", [f32("N", 3, 32, 32), f32(16, 3, 5)]),
    "Conv expects weight rank to equal input rank: input f32[N, 3, 32, 32] has 4 dims, weight f32[16, 3, 5] has 3",
  );
  rejects(
    () => infer("Conv", [f32("N", 3, 32, 32), f32(16, 3, 5, 5)], { strides: [2] }),
    "Conv expects strides to have 2 values, found [2]",
  );
  rejects(
    () => infer("Conv", [f32("N", 3, 4, 4), f32(16, 3, 5, 5)]),
    "Conv window of 5 does not fit in dim 2 of input f32[N, 3, 4, 4] padded to 4",
  );
  rejects(
    () => infer("Conv", [f32("N", 3, 8, 8), f32(16, 3, 3, 3), f32(8)]),
    "Conv expects bias of shape [16] to match weight f32[16, 3, 3, 3], found f32[8]",
  );
  rejects(
    () => infer("Conv", [i64(1, 3, 8, 8), i64(16, 3, 3, 3)]),
    "Conv expects 'X' to be a float tensor (f16, f32, f64), found i64[1, 3, 8, 8]",
  );
});

Deno.test("ConvTranspose upsamples by its stride", () => {
  assert.deepEqual(
    one("ConvTranspose", [f32("N", 16, 7, 7), f32(16, 8, 4, 4)], {
      strides: [2, 2],
      pads: [1, 1, 1, 1],
    }),
    f32("N", 8, 14, 14),
  );
  assert.deepEqual(
    one("ConvTranspose", [f32("N", 16, "H", "H"), f32(16, 8, 2, 2)], { strides: [2, 2] }),
    f32("N", 8, "2 * H", "2 * H"),
  );
  rejects(
    () => infer("ConvTranspose", [f32(1, 3, 7, 7), f32(16, 8, 4, 4)]),
    "ConvTranspose expects input channels to equal weight dim 0: input f32[1, 3, 7, 7] has 3, weight f32[16, 8, 4, 4] has 16",
  );
});

Deno.test("pools compute their windows like Conv", () => {
  assert.deepEqual(
    one("MaxPool", [f32("N", 64, 112, 112)], {
      kernel_shape: [3, 3],
      strides: [2, 2],
      pads: [1, 1, 1, 1],
    }),
    f32("N", 64, 56, 56),
  );
  assert.deepEqual(
    infer("MaxPool", [f32(1, 1, 5, 5)], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }, 2),
    [f32(1, 1, 3, 3), i64(1, 1, 3, 3)],
  );
  assert.deepEqual(
    one("AveragePool", [f32("N", 8, "H", "W")], { kernel_shape: [2, 2], strides: [2, 2] }),
    f32(
      "N",
      8,
      "floor(H / 2)",
      "floor(W / 2)",
    ),
  );
  assert.deepEqual(one("GlobalAveragePool", [f32("N", 512, 7, 7)]), f32("N", 512, 1, 1));
  rejects(
    () => infer("MaxPool", [f32(1, 1, 5, 5)], { kernel_shape: [2] }),
    "MaxPool expects kernel_shape with 2 values for input of rank 4, found [2]",
  );
  rejects(
    () => infer("GlobalMaxPool", [f32(1, 5)]),
    "GlobalMaxPool expects 'X' to have at least 3 dims, found f32[1, 5]",
  );
});

// ---- matrix products ----

Deno.test("MatMul multiplies matrices and broadcasts batch dims", () => {
  assert.deepEqual(one("MatMul", [f32("N", 400), f32(400, 120)]), f32("N", 120));
  assert.deepEqual(one("MatMul", [f32(2, 1, 3, 4), f32(5, 4, 6)]), f32(2, 5, 3, 6));
  assert.deepEqual(one("MatMul", [f32(4), f32(4, 6)]), f32(6));
  assert.deepEqual(one("MatMul", [f32(3, 4), f32(4)]), f32(3));
  assert.deepEqual(one("MatMul", [f32(4), f32(4)]), f32());
  rejects(
    () => infer("MatMul", [f32("N", 400), f32(120, 84)]),
    "MatMul cannot multiply f32[N, 400] by f32[120, 84]: inner dims 400 and 120 differ",
  );
});

Deno.test("Gemm honours transA and transB and checks C", () => {
  assert.deepEqual(
    one("Gemm", [f32("N", 400), f32(120, 400), f32(120)], { transB: 1 }),
    f32("N", 120),
  );
  assert.deepEqual(one("Gemm", [f32(400, "N"), f32(400, 120)], { transA: 1 }), f32("N", 120));
  rejects(
    () => infer("Gemm", [f32("N", 400), f32(120, 400)]),
    "Gemm cannot multiply f32[N, 400] by f32[120, 400]: inner dims 400 and 120 differ",
  );
  rejects(
    () => infer("Gemm", [f32(2, 3), f32(3, 4), f32(3, 4)]),
    "Cannot broadcast f32[3, 4] with the output [2, 4]: dim 0 is 3 but must be 1 or 2",
  );
  rejects(
    () => infer("Gemm", [f32(2, 3, 1), f32(3, 4)]),
    "Gemm expects 'A' to have 2 dims, found f32[2, 3, 1]",
  );
});

Deno.test("Einsum derives the output from the equation", () => {
  assert.deepEqual(
    one("Einsum", [f32("B", 3, 4), f32("B", 4, 5)], { equation: "bij,bjk->bik" }),
    f32("B", 3, 5),
  );
  assert.deepEqual(one("Einsum", [f32(3, 4), f32(4, 5)], { equation: "ij,jk" }), f32(3, 5));
  assert.deepEqual(one("Einsum", [f32(2, 7, 3, 4)], { equation: "...ij->...ji" }), f32(2, 7, 4, 3));
  assert.deepEqual(one("Einsum", [f32(3, 3)], { equation: "ii" }), f32());
  rejects(
    () => infer("Einsum", [f32(3, 4), f32(5, 6)], { equation: "ij,jk->ik" }),
    "Einsum expects one size for label 'j' in 'ij,jk->ik': it is 4 in one operand and 5 in another",
  );
  rejects(
    () => infer("Einsum", [f32(3, 4)], { equation: "ijk->i" }),
    "Einsum term 'ijk' of 'ijk->i' does not fit operand 0: f32[3, 4]",
  );
});

// ---- normalisation ----

Deno.test("BatchNormalization checks per-channel parameters", () => {
  const c = f32(16);
  assert.deepEqual(infer("BatchNormalization", [f32("N", 16, 8, 8), c, c, c, c]), [
    f32("N", 16, 8, 8),
  ]);
  assert.deepEqual(
    infer("BatchNormalization", [f32("N", 16, 8, 8), c, c, c, c], { training_mode: 1 }, 3),
    [f32("N", 16, 8, 8), c, c],
  );
  rejects(
    () => infer("BatchNormalization", [f32("N", 16, 8, 8), c, c, f32(8), c]),
    "BatchNormalization expects 'input_mean' of shape [16] for input f32[N, 16, 8, 8], found f32[8]",
  );
});

Deno.test("LayerNormalization gives statistics with the reduced dims kept as 1", () => {
  assert.deepEqual(
    infer("LayerNormalization", [f32("N", "T", 64), f32(64), f32(64)], {}, 3),
    [f32("N", "T", 64), f32("N", "T", 1), f32("N", "T", 1)],
  );
  assert.deepEqual(
    infer("LayerNormalization", [f32(2, 3, 4), f32(3, 4)], { axis: 1 }),
    [f32(2, 3, 4)],
  );
  rejects(
    () => infer("LayerNormalization", [f32("N", 64), f32(32)]),
    "Cannot broadcast f32[32] with [64]: dim 0 is 32 but must be 1 or 64",
  );
});

Deno.test("InstanceNormalization and LRN keep the input shape", () => {
  assert.deepEqual(one("InstanceNormalization", [f32(2, 3, 5), f32(3), f32(3)]), f32(2, 3, 5));
  assert.deepEqual(one("LRN", [f32(2, 3, 5, 5)], { size: 3 }), f32(2, 3, 5, 5));
  rejects(
    () => infer("InstanceNormalization", [f32(2, 3, 5), f32(4), f32(3)]),
    "InstanceNormalization expects 'scale' of shape [3] for input f32[2, 3, 5], found f32[4]",
  );
});

Deno.test("Softmax checks its axis", () => {
  assert.deepEqual(one("Softmax", [f32("N", 10)]), f32("N", 10));
  rejects(
    () => infer("LogSoftmax", [f32("N", 10)], { axis: 2 }),
    "LogSoftmax expects axis in [-2, 1] for a rank-2 input, found 2",
  );
});

// ---- reshaping ----

Deno.test("Reshape resolves 0 and -1 from the constant shape", () => {
  assert.deepEqual(one("Reshape", [f32("N", 16, 5, 5), ints(0, -1)]), f32("N", 400));
  assert.deepEqual(one("Reshape", [f32(2, 3, 4), ints(-1, 4)]), f32(6, 4));
  assert.deepEqual(one("Reshape", [f32(2, 3, 4), ints(4, 0, 2)]), f32(4, 3, 2));
  assert.deepEqual(one("Reshape", [f32("N", 12), ints(-1, 3, 4)]), f32("N", 3, 4));
  assert.deepEqual(one("Reshape", [f32(0, 3), ints(0, 3)], { allowzero: 1 }), f32(0, 3));
});

Deno.test("Reshape with a non-constant shape makes fresh dims", () => {
  resetFreshDims();
  assert.deepEqual(one("Reshape", [f32(2, 3), i64(2)]), f32("?Reshape_0", "?Reshape_1"));
  rejects(
    () => infer("Reshape", [f32(2, 3), i64("K")]),
    "Reshape needs a constant shape or a shape of known length, found i64[K]",
  );
});

Deno.test("Reshape rejects impossible shapes", () => {
  rejects(
    () => infer("Reshape", [f32(2, 3), ints(4, 2)]),
    "Reshape cannot turn f32[2, 3] (6 elements) into [4, 2] (8 elements)",
  );
  rejects(
    () => infer("Reshape", [f32(2, 3), ints(-1, 4)]),
    "Reshape cannot turn f32[2, 3] (6 elements) into [-1, 4]: 6 is not a multiple of 4",
  );
  rejects(
    () => infer("Reshape", [f32(6), ints(-1, -1)]),
    "Reshape expects at most one -1 in its shape, found [-1, -1]",
  );
});

Deno.test("Flatten multiplies the dims on each side of axis", () => {
  assert.deepEqual(one("Flatten", [f32("N", 16, 5, 5)]), f32("N", 400));
  assert.deepEqual(one("Flatten", [f32("N", "C", 5)], { axis: 0 }), f32(1, "5 * C * N"));
  assert.deepEqual(one("Flatten", [f32(2, 3)], { axis: 2 }), f32(6, 1));
  rejects(
    () => infer("Flatten", [f32(2, 3)], { axis: 3 }),
    "Flatten expects axis in [-2, 2] for f32[2, 3], found 3",
  );
});

Deno.test("Transpose permutes dims", () => {
  assert.deepEqual(one("Transpose", [f32("N", 3, 4)], { perm: [0, 2, 1] }), f32("N", 4, 3));
  assert.deepEqual(one("Transpose", [f32(2, 3, 4)]), f32(4, 3, 2));
  rejects(
    () => infer("Transpose", [f32(2, 3)], { perm: [0, 0] }),
    "Transpose expects perm to be a permutation of 0..1 for f32[2, 3], found [0, 0]",
  );
});

Deno.test("Squeeze and Unsqueeze remove and insert unit dims", () => {
  assert.deepEqual(one("Squeeze", [f32("N", 1, 3, 1), ints(1, -1)]), f32("N", 3));
  assert.deepEqual(one("Squeeze", [f32(1, 3, 1)]), f32(3));
  assert.deepEqual(one("Unsqueeze", [f32("N", 3), ints(0, 3)]), f32(1, "N", 3, 1));
  rejects(
    () => infer("Squeeze", [f32("N", 3), ints(1)]),
    "Squeeze cannot remove dim 1 of f32[N, 3]: its size is 3, not 1",
  );
  rejects(
    () => infer("Unsqueeze", [f32(3), ints(0, 0)]),
    "Unsqueeze expects distinct axes, found [0, 0]",
  );
});

Deno.test("Concat adds up the axis dim", () => {
  assert.deepEqual(one("Concat", [f32("N", 3, 8), f32("N", 5, 8)], { axis: 1 }), f32("N", 8, 8));
  assert.deepEqual(
    one("Concat", [f32("N", "C", 8), f32("N", "C", 8)], { axis: 1 }),
    f32("N", "2 * C", 8),
  );
  rejects(
    () => infer("Concat", [f32("N", 3, 8), f32("N", 5, 4)], { axis: 1 }),
    "Concat along axis 1 expects the other dims to agree: dim 2 is 8 in f32[N, 3, 8] but 4 in f32[N, 5, 4]",
  );
});

Deno.test("Split divides by its constant sizes or equally by its output count", () => {
  assert.deepEqual(infer("Split", [f32("N", 6), ints(2, 4)], { axis: 1 }), [
    f32("N", 2),
    f32("N", 4),
  ]);
  assert.deepEqual(infer("Split", [f32("N", 6)], { axis: 1 }, 3), [
    f32("N", 2),
    f32("N", 2),
    f32("N", 2),
  ]);
  assert.deepEqual(infer("Split", [f32("2 * C")], {}, 2), [f32("C"), f32("C")]);
  rejects(
    () => infer("Split", [f32("N", 6), ints(2, 3)], { axis: 1 }),
    "Split expects sizes [2, 3] to add up to dim 1 of f32[N, 6], found 5",
  );
  rejects(
    () => infer("Split", [f32(7)], {}, 2),
    "Split cannot divide dim 0 of f32[7] into 2 equal parts",
  );
});

Deno.test("Slice clamps like numpy", () => {
  const sl = (x: TensorType, s: number[], e: number[], a?: number[], st?: number[]) =>
    one("Slice", [x, ints(...s), ints(...e), a && ints(...a), st && ints(...st)]);
  assert.deepEqual(sl(f32(10, 5), [1], [1000], [0]), f32(9, 5));
  assert.deepEqual(sl(f32(10, 5), [-3], [-1], [0]), f32(2, 5));
  assert.deepEqual(sl(f32(10, 5), [0, 0], [10, 5], [0, 1], [3, 2]), f32(4, 3));
  assert.deepEqual(sl(f32(10), [9], [-1000], [0], [-1]), f32(10));
  assert.deepEqual(sl(f32(10), [5], [2], [0]), f32(0));
});

/** [INT64_MAX], as exporters write "to the end". */
const int64Max: Tensor = {
  dtype: "i64",
  shape: [1],
  data: new BigInt64Array([9223372036854775807n]),
};

Deno.test("Slice of a symbolic dim assumes the bounds lie inside it", () => {
  assert.deepEqual(
    one("Slice", [f32("N", "T"), ints(1), ints(-1), ints(1)]),
    f32("N", "T - 2"),
  );
  assert.deepEqual(
    one("Slice", [f32("N", "T"), ints(0), [i64(1), int64Max], ints(1), ints(2)]),
    f32("N", "floor((T + 1) / 2)"),
  );
});

Deno.test("Expand, Tile and Pad read their constant inputs", () => {
  assert.deepEqual(one("Expand", [f32(3, 1), ints(2, 1, 4)]), f32(2, 3, 4));
  assert.deepEqual(one("Tile", [f32("N", 3), ints(1, 2)]), f32("N", 6));
  assert.deepEqual(
    one("Pad", [f32("N", 3, 8, 8), ints(0, 0, 1, 1, 0, 0, 1, 1)]),
    f32("N", 3, 10, 10),
  );
  rejects(
    () => infer("Expand", [f32(3), ints(2, 4)]),
    "Cannot broadcast f32[3] with [2, 4]: dim 0 is 3 but must be 1 or 4",
  );
  rejects(
    () => infer("Pad", [f32(3, 3), ints(1, 1)]),
    "Pad expects 4 pads for f32[3, 3], found [1, 1]",
  );
  rejects(
    () => infer("Tile", [f32(3, 3), ints(2)]),
    "Tile expects 2 non-negative repeats for f32[3, 3], found [2]",
  );
});

Deno.test("data-dependent shapes without constants get fresh symbols, never guesses", () => {
  resetFreshDims();
  assert.deepEqual(one("Expand", [f32(3, 1), i64(2)]), f32(3, "?Expand_0"));
  assert.deepEqual(one("Pad", [f32(3), i64(2)]), f32("?Pad_1"));
  assert.deepEqual(one("Range", [i64(), i64(), i64()]), i64("?Range_2"));
  assert.deepEqual(
    one("ConstantOfShape", [i64(2)]),
    f32("?ConstantOfShape_3", "?ConstantOfShape_4"),
  );
  assert.deepEqual(infer("TopK", [f32("N", 10), i64(1)]), [
    f32("N", "?TopK_5"),
    i64("N", "?TopK_5"),
  ]);
});

// ---- reductions and index ops ----

Deno.test("Reduce ops drop or keep the reduced axes", () => {
  assert.deepEqual(one("ReduceMean", [f32("N", 3, 8, 8)], { axes: [2, 3] }), f32("N", 3, 1, 1));
  assert.deepEqual(one("ReduceMax", [f32("N", 3, 8)], { axes: [-1], keepdims: 0 }), f32("N", 3));
  assert.deepEqual(one("ReduceL2", [f32(2, 3)], { keepdims: 0 }), f32());
  assert.deepEqual(one("ReduceSum", [f32("N", 3), ints(1)], { keepdims: 0 }), f32("N"));
  assert.deepEqual(one("ReduceSum", [f32("N", 3)]), f32(1, 1));
  assert.deepEqual(
    one("ReduceSum", [f32("N", 3), ints()], { noop_with_empty_axes: 1 }),
    f32("N", 3),
  );
  rejects(
    () => infer("ReduceMin", [f32(2, 3)], { axes: [2] }),
    "ReduceMin expects axes in [-2, 1] for a rank-2 input, found 2",
  );
});

Deno.test("ArgMax gives i64 indices", () => {
  assert.deepEqual(one("ArgMax", [f32("N", 10)], { axis: 1, keepdims: 0 }), i64("N"));
  assert.deepEqual(one("ArgMax", [f32("N", 10)], { axis: -1 }), i64("N", 1));
});

Deno.test("Gather and GatherElements index along an axis", () => {
  assert.deepEqual(one("Gather", [f32(1000, 64), i64("N", "T")]), f32("N", "T", 64));
  assert.deepEqual(one("Gather", [f32(5, 4, 3), i64()], { axis: 1 }), f32(5, 3));
  assert.deepEqual(one("GatherElements", [f32(3, 3), i64(2, 3)], { axis: 1 }), f32(2, 3));
  rejects(
    () => infer("Gather", [f32(5, 4), f32(2)]),
    "Gather expects 'indices' to be one of i32, i64, found f32[2]",
  );
  rejects(
    () => infer("GatherElements", [f32(3, 3), i64(3)]),
    "GatherElements expects indices of the same rank (>= 1) as data: data f32[3, 3], indices i64[3]",
  );
});

Deno.test("OneHot inserts the depth at its axis", () => {
  const depth: [TensorType, Tensor] = [i64(), tensor("i64", [], [10])];
  const values: [TensorType, Tensor] = [f32(2), tensor("f32", [2], [0, 1])];
  assert.deepEqual(one("OneHot", [i64("N"), depth, values]), f32("N", 10));
  assert.deepEqual(one("OneHot", [i64("N", 4), depth, values], { axis: 1 }), f32("N", 10, 4));
});

Deno.test("TopK replaces the axis dim by k", () => {
  const k: [TensorType, Tensor] = [i64(1), tensor("i64", [1], [5])];
  assert.deepEqual(infer("TopK", [f32("N", 10), k]), [f32("N", 5), i64("N", 5)]);
  rejects(
    () => infer("TopK", [f32("N", 3), k]),
    "TopK expects K in [0, 3] for axis 1 of f32[N, 3], found 5",
  );
});

// ---- misc ----

Deno.test("Cast, Constant, Shape and Range give the right element types", () => {
  assert.deepEqual(one("Cast", [f32("N", 3)], { to: 7 }), i64("N", 3));
  rejects(
    () => infer("Cast", [f32(3)], { to: 99 }),
    "Cast expects 'to' to name a supported element type, found 99",
  );
  assert.deepEqual(one("Constant", [], { value: tensor("f32", [2, 2], [1, 2, 3, 4]) }), f32(2, 2));
  assert.deepEqual(one("Constant", [], { value_ints: [1, 2, 3] }), i64(3));
  rejects(
    () => infer("Constant", [], { value_int: 1, value_float: 2 }),
    "Constant expects exactly one value attribute, found value_float, value_int",
  );
  assert.deepEqual(one("Shape", [f32("N", 3, 8, 8)]), i64(4));
  assert.deepEqual(one("Shape", [f32("N", 3, 8, 8)], { start: 1, end: -1 }), i64(2));
  const s = (v: number): [TensorType, Tensor] => [f32(), tensor("f32", [], [v])];
  assert.deepEqual(one("Range", [s(0), s(1), s(0.25)]), f32(4));
});

Deno.test("Resize reads sizes or scales", () => {
  const empty: [TensorType, Tensor] = [f32(0), tensor("f32", [0], [])];
  const scales: [TensorType, Tensor] = [f32(4), tensor("f32", [4], [1, 1, 2, 0.5])];
  assert.deepEqual(
    one("Resize", [f32("N", 3, "H", "W"), undefined, scales]),
    f32("N", 3, "2 * H", "floor(W / 2)"),
  );
  assert.deepEqual(
    one("Resize", [f32(1, 3, 8, 8), empty, empty, ints(1, 3, 16, 16)]),
    f32(1, 3, 16, 16),
  );
  rejects(
    () => infer("Resize", [f32(1, 3, 8, 8)]),
    "Resize expects 'scales' or 'sizes', found neither",
  );
});

Deno.test("Dropout, Clip, Trilu, CumSum and the random ops keep the input shape", () => {
  assert.deepEqual(infer("Dropout", [f32("N", 4)], {}, 2), [f32("N", 4), t("bool", "N", 4)]);
  assert.deepEqual(one("Clip", [f32("N", 4), f32(), f32()]), f32("N", 4));
  rejects(
    () => infer("Clip", [f32("N", 4), f32(2)]),
    "Clip expects 'min' to be a scalar, found f32[2]",
  );
  assert.deepEqual(one("Trilu", [f32(3, 3)]), f32(3, 3));
  assert.deepEqual(one("CumSum", [f32(3, 4), [t("i32"), tensor("i32", [], [1])]]), f32(3, 4));
  assert.deepEqual(one("RandomNormalLike", [f32("N", 4)]), f32("N", 4));
  assert.deepEqual(one("RandomUniformLike", [i64("N", 4)], { dtype: 1 }), f32("N", 4));
});

Deno.test("RandomNormal and RandomUniform take their static shape and dtype from attributes", () => {
  assert.deepEqual(one("RandomNormal", [], { shape: [3, 4] }), f32(3, 4));
  assert.deepEqual(one("RandomUniform", [], { shape: [2], dtype: 11 }), t("f64", 2));
  rejects(
    () => infer("RandomNormal", [], { shape: [3, -1] }),
    "RandomNormal expects 'shape' of dims >= 0, found [3, -1]",
  );
  rejects(
    () => infer("RandomUniform", [], { shape: [2], dtype: 7 }),
    "RandomUniform expects 'output' to be a float tensor (f16, f32, f64), found i64[2]",
  );
});
