/**
 * RandomNormal and RandomUniform (opset 1): random numbers of the static shape
 * `shape` (no input), the element type `dtype` (an ONNX type code, default
 * f32). `randn((4, 16))` is one of these; with a symbolic dim the built-ins use
 * the `*Like` ops over a ConstantOfShape of the computed shape instead.
 */
import { type OpDef, ShapeError } from "./op_def.ts";
import { dtypeFromOnnx, expectDtype, FLOAT_NO_BF16, intsAttr } from "./rules.ts";
import { diag } from "../diagnostics.ts";
import type { TensorType } from "../ir/graph.ts";
import type { AttrValue } from "../ir/graph.ts";

function staticRandom(op: string, attrs: Record<string, AttrValue>): TensorType[] {
  const shape = intsAttr(attrs, "shape");
  if (!shape || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(
      ...diag("DLM0227", op, "'shape' of dims >= 0", shape ? `[${shape.join(", ")}]` : "none"),
    );
  }
  const code = attrs.dtype;
  const dtype = typeof code === "number" ? dtypeFromOnnx(code) : "f32";
  if (!dtype) {
    throw new ShapeError(
      ...diag("DLM0227", op, "'dtype' to name a supported element type", `${code}`),
    );
  }
  const t: TensorType = { dtype, shape: [...shape] };
  expectDtype(op, "output", t, FLOAT_NO_BF16);
  return [t];
}

export const randomNormalOp: OpDef = {
  op: "RandomNormal",
  differentiable: false,
  since: 1,
  inputs: [],
  outputs: [{ name: "output" }],
  attrs: {
    dtype: { type: "int", default: 1 },
    mean: { type: "float", default: 0.0 },
    scale: { type: "float", default: 1.0 },
    seed: { type: "float" },
    shape: { type: "ints" },
  },
  nature: ["random"],
  infer: (ctx) => staticRandom("RandomNormal", ctx.attrs),
};

export const randomUniformOp: OpDef = {
  op: "RandomUniform",
  differentiable: false,
  since: 1,
  inputs: [],
  outputs: [{ name: "output" }],
  attrs: {
    dtype: { type: "int", default: 1 },
    high: { type: "float", default: 1.0 },
    low: { type: "float", default: 0.0 },
    seed: { type: "float" },
    shape: { type: "ints" },
  },
  nature: ["random"],
  infer: (ctx) => staticRandom("RandomUniform", ctx.attrs),
};
