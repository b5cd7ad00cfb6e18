/**
 * Constant (opset 13): a tensor held in exactly one of its value
 * attributes. `sparse_value` is not supported (dlm has no sparse tensors).
 */
import type { TensorType } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { diag } from "../diagnostics.ts";

const VALUE_ATTRS = [
  "value",
  "value_float",
  "value_floats",
  "value_int",
  "value_ints",
  "value_string",
  "value_strings",
];

export const constantOp: OpDef = {
  op: "Constant",
  differentiable: false,
  since: 13,
  inputs: [],
  outputs: [{ name: "output" }],
  attrs: {
    value: { type: "tensor" },
    value_float: { type: "float" },
    value_floats: { type: "floats" },
    value_int: { type: "int" },
    value_ints: { type: "ints" },
    value_string: { type: "string" },
    value_strings: { type: "strings" },
  },
  infer(ctx) {
    const set = VALUE_ATTRS.filter((a) => ctx.attrs[a] !== undefined);
    if (set.length !== 1) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "Constant",
          "exactly one value attribute",
          set.length === 0 ? "none" : set.join(", "),
        ),
      );
    }
    const v = ctx.attrs[set[0]];
    let t: TensorType;
    switch (set[0]) {
      case "value": {
        const tensor = v as Tensor;
        t = { dtype: tensor.dtype, shape: [...tensor.shape] };
        break;
      }
      case "value_float":
        t = { dtype: "f32", shape: [] };
        break;
      case "value_floats":
        t = { dtype: "f32", shape: [(v as number[]).length] };
        break;
      case "value_int":
        t = { dtype: "i64", shape: [] };
        break;
      case "value_ints":
        t = { dtype: "i64", shape: [(v as number[]).length] };
        break;
      case "value_string":
        t = { dtype: "str", shape: [] };
        break;
      default:
        t = { dtype: "str", shape: [(v as string[]).length] };
    }
    return [t];
  },
};
