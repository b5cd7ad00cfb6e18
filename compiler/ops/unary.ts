/**
 * Elementwise unary ops: the output has the input's type (Not: bool in,
 * bool out). One registry entry per op, generated from the table below,
 * whose versions, port names, attributes and element types follow the ONNX
 * operator definitions in force at opset 17.
 */
import type { DType } from "../ir/tensor.ts";
import { type AttrSpec, register } from "./registry.ts";
import { ANY, expectDtype, FLOAT, FLOAT_NO_BF16, input, NUMERIC } from "./rules.ts";

/** Relu and Neg: signed types only. */
const SIGNED: readonly DType[] = ["f32", "i32", "i8", "i16", "i64", "f16", "f64", "bf16"];

interface UnaryRow {
  op: string;
  since: number;
  /** Port names as in the ONNX spec: X -> Y or input -> output. */
  ports: "XY" | "io";
  dtypes: readonly DType[];
  attrs?: Record<string, AttrSpec>;
}

const float = (v: number): AttrSpec => ({ type: "float", default: v });

/** The unary ops, by name. */
export const UNARY_OPS: readonly UnaryRow[] = [
  { op: "Abs", since: 13, ports: "XY", dtypes: NUMERIC },
  { op: "Ceil", since: 13, ports: "XY", dtypes: FLOAT },
  { op: "Cos", since: 7, ports: "io", dtypes: FLOAT_NO_BF16 },
  { op: "Elu", since: 6, ports: "XY", dtypes: FLOAT_NO_BF16, attrs: { alpha: float(1.0) } },
  { op: "Erf", since: 13, ports: "io", dtypes: NUMERIC },
  { op: "Exp", since: 13, ports: "io", dtypes: FLOAT },
  { op: "Floor", since: 13, ports: "XY", dtypes: FLOAT },
  {
    op: "HardSigmoid",
    since: 6,
    ports: "XY",
    dtypes: FLOAT_NO_BF16,
    attrs: { alpha: float(0.2), beta: float(0.5) },
  },
  { op: "HardSwish", since: 14, ports: "XY", dtypes: FLOAT_NO_BF16 },
  { op: "Identity", since: 16, ports: "io", dtypes: ANY },
  { op: "LeakyRelu", since: 16, ports: "XY", dtypes: FLOAT, attrs: { alpha: float(0.01) } },
  { op: "Log", since: 13, ports: "io", dtypes: FLOAT },
  { op: "Neg", since: 13, ports: "XY", dtypes: SIGNED },
  { op: "Not", since: 1, ports: "XY", dtypes: ["bool"] },
  { op: "Reciprocal", since: 13, ports: "XY", dtypes: FLOAT },
  { op: "Relu", since: 14, ports: "XY", dtypes: SIGNED },
  {
    op: "Selu",
    since: 6,
    ports: "XY",
    dtypes: FLOAT_NO_BF16,
    // The spec's defaults are float32 values: 1.67326319217681884765625 and 1.05070102214813232421875.
    attrs: { alpha: float(1.6732632), gamma: float(1.0507010) },
  },
  { op: "Sigmoid", since: 13, ports: "XY", dtypes: FLOAT },
  { op: "Sign", since: 13, ports: "io", dtypes: NUMERIC },
  { op: "Sin", since: 7, ports: "io", dtypes: FLOAT_NO_BF16 },
  { op: "Softplus", since: 1, ports: "XY", dtypes: FLOAT_NO_BF16 },
  { op: "Sqrt", since: 13, ports: "XY", dtypes: FLOAT },
  { op: "Tanh", since: 13, ports: "io", dtypes: FLOAT },
];

for (const row of UNARY_OPS) {
  const [inName, outName] = row.ports === "XY" ? ["X", "Y"] : ["input", "output"];
  register({
    op: row.op,
    since: row.since,
    inputs: [{ name: inName }],
    outputs: [{ name: outName }],
    attrs: row.attrs ?? {},
    infer(ctx) {
      const x = input(ctx, row.op, 0, inName);
      expectDtype(row.op, inName, x, row.dtypes);
      return [{ dtype: x.dtype, shape: [...x.shape] }];
    },
  });
}
