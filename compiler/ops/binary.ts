/**
 * Elementwise ops with numpy broadcasting: the binary arithmetic, logic and
 * comparison ops, and the variadic Max/Min/Mean/Sum. One registry entry per
 * op, generated from the tables below (ONNX definitions in force at opset 17).
 */
import { formatType } from "../ir/graph.ts";
import type { DType } from "../ir/tensor.ts";
import { type AttrSpec, register, ShapeError } from "./registry.ts";
import { broadcastTypes, expectDtype, FLOAT, input, NUMERIC, sameDtype } from "./rules.ts";

interface BinaryRow {
  op: string;
  since: number;
  dtypes: readonly DType[];
  /** Output is bool (comparisons) instead of the input type. */
  bool?: boolean;
  attrs?: Record<string, AttrSpec>;
}

/** The binary broadcasting ops with inputs A, B and output C. */
export const BINARY_OPS: readonly BinaryRow[] = [
  { op: "Add", since: 14, dtypes: NUMERIC },
  { op: "Sub", since: 14, dtypes: NUMERIC },
  { op: "Mul", since: 14, dtypes: NUMERIC },
  { op: "Div", since: 14, dtypes: NUMERIC },
  { op: "Mod", since: 13, dtypes: NUMERIC, attrs: { fmod: { type: "int", default: 0 } } },
  { op: "And", since: 7, dtypes: ["bool"], bool: true },
  { op: "Or", since: 7, dtypes: ["bool"], bool: true },
  { op: "Equal", since: 13, dtypes: [...NUMERIC, "bool"], bool: true },
  { op: "Greater", since: 13, dtypes: NUMERIC, bool: true },
  { op: "GreaterOrEqual", since: 16, dtypes: NUMERIC, bool: true },
  { op: "Less", since: 13, dtypes: NUMERIC, bool: true },
  { op: "LessOrEqual", since: 16, dtypes: NUMERIC, bool: true },
];

for (const row of BINARY_OPS) {
  register({
    op: row.op,
    since: row.since,
    inputs: [{ name: "A" }, { name: "B" }],
    outputs: [{ name: "C" }],
    attrs: row.attrs ?? {},
    infer(ctx) {
      const a = input(ctx, row.op, 0, "A");
      const b = input(ctx, row.op, 1, "B");
      expectDtype(row.op, "A", a, row.dtypes);
      const dtype = sameDtype(row.op, [["A", a], ["B", b]]);
      if (row.op === "Mod" && FLOAT.includes(dtype) && ctx.attrs.fmod !== 1) {
        throw new ShapeError(
          `Mod expects fmod = 1 for float inputs, found fmod = 0 with ${formatType(a)}`,
        );
      }
      return [{ dtype: row.bool ? "bool" : dtype, shape: broadcastTypes([a, b]) }];
    },
  });
}

// Pow: the exponent may have a different numeric type; the result has the base's type.
register({
  op: "Pow",
  since: 15,
  inputs: [{ name: "X" }, { name: "Y" }],
  outputs: [{ name: "Z" }],
  attrs: {},
  infer(ctx) {
    const x = input(ctx, "Pow", 0, "X");
    const y = input(ctx, "Pow", 1, "Y");
    expectDtype("Pow", "X", x, ["i32", "i64", ...FLOAT]);
    expectDtype("Pow", "Y", y, NUMERIC);
    return [{ dtype: x.dtype, shape: broadcastTypes([x, y]) }];
  },
});

/** The variadic broadcasting ops with inputs data_0, data_1, ... */
export const VARIADIC_OPS: readonly BinaryRow[] = [
  { op: "Max", since: 13, dtypes: NUMERIC },
  { op: "Min", since: 13, dtypes: NUMERIC },
  { op: "Mean", since: 13, dtypes: FLOAT },
  { op: "Sum", since: 13, dtypes: FLOAT },
];

for (const row of VARIADIC_OPS) {
  const out = row.op.toLowerCase();
  register({
    op: row.op,
    since: row.since,
    inputs: [{ name: "data_0", variadic: true }],
    outputs: [{ name: out }],
    attrs: {},
    infer(ctx) {
      if (ctx.inputs.length === 0) {
        throw new ShapeError(`${row.op} expects at least one input, found none`);
      }
      const ts = ctx.inputs.map((_, i) => input(ctx, row.op, i, `data_${i}`));
      expectDtype(row.op, "data_0", ts[0], row.dtypes);
      const dtype = sameDtype(row.op, ts.map((t, i) => [`data_${i}`, t]));
      return [{ dtype, shape: broadcastTypes(ts) }];
    },
  });
}
