/**
 * Range (opset 11): a 1-D tensor of max(ceil((limit - start) / delta), 0)
 * elements; start, limit and delta are scalars of one type.
 */
import { formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { constInts, expectDtype, freshDim, input, sameDtype } from "./rules.ts";
import { diag } from "../diagnostics.ts";

export const rangeOp: OpDef = {
  op: "Range",
  differentiable: false,
  since: 11,
  inputs: [{ name: "start" }, { name: "limit" }, { name: "delta" }],
  outputs: [{ name: "output" }],
  attrs: {},
  infer(ctx) {
    const ports = ["start", "limit", "delta"] as const;
    const ts = ports.map((p, i) => input(ctx, "Range", i, p));
    expectDtype("Range", "start", ts[0], ["f32", "f64", "i16", "i32", "i64"]);
    const dtype = sameDtype("Range", ts.map((t, i) => [ports[i], t]));
    for (const [i, t] of ts.entries()) {
      if (!(t.shape.length === 0 || (t.shape.length === 1 && t.shape[0] === 1))) {
        throw new ShapeError(
          ...diag("DLM0227", "Range", `'${ports[i]}' to be a scalar`, formatType(t)),
        );
      }
    }
    const [start, limit, delta] = [0, 1, 2].map((i) => constInts(ctx, i)?.[0]);
    if (start === undefined || limit === undefined || delta === undefined) {
      return [{ dtype, shape: [freshDim("Range")] }];
    }
    if (delta === 0) throw new ShapeError(...diag("DLM0227", "Range", "a non-zero delta", "0"));
    return [{ dtype, shape: [Math.max(Math.ceil((limit - start) / delta), 0)] }];
  },
};
