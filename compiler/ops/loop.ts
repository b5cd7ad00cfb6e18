/**
 * Loop (opset 16): runs `body` while (no trip count M, or iteration < M) and (no cond, or cond),
 * threading N loop-carried values through the iterations.
 *   inputs:  M (optional i64 scalar), cond (optional bool scalar), v_1..v_N
 *   body:    (iteration_num i64[], cond bool[], v_1..v_N) -> (cond', v'_1..v'_N, scan_1..scan_K)
 *   outputs: the final v_1..v_N, then each scan_k stacked along a new leading axis.
 * A loop-carried value keeps its type (the body returns what it was given); the stacked
 * axis is M when M is a constant and there is no cond, else a dim known only at run time.
 * The body reads outer values by name (ONNX's lexical scoping), as Scan's does.
 */
import type { Graph } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { diag } from "../diagnostics.ts";
import { freshDim } from "./rules.ts";

export const loopOp: OpDef = {
  op: "Loop",
  noGradYet: "the gradient of a Loop needs the iterations' values kept, not written yet",
  since: 16,
  inputs: [
    { name: "M", optional: true },
    { name: "cond", optional: true },
    { name: "v_initial", variadic: true },
  ],
  outputs: [{ name: "v_final_and_scan_outputs", variadic: true }],
  attrs: { body: { type: "graph", required: true } },
  infer(ctx) {
    const body = ctx.attrs.body as Graph | undefined;
    if (!body) throw new ShapeError(...diag("DLM0227", "Loop", "a body graph", "none"));
    const n = Math.max(0, ctx.inputs.length - 2);
    const [m, cond] = ctx.inputs;
    if (m && (m.dtype !== "i64" || m.shape.some((d) => d !== 1))) {
      throw new ShapeError(
        ...diag("DLM0227", "Loop", "an i64 scalar trip count M", `${m.dtype}[${m.shape}]`),
      );
    }
    if (cond && (cond.dtype !== "bool" || cond.shape.some((d) => d !== 1))) {
      throw new ShapeError(
        ...diag("DLM0227", "Loop", "a bool scalar cond", `${cond.dtype}[${cond.shape}]`),
      );
    }
    if (body.inputs.length !== n + 2) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "Loop",
          `a body of (iteration_num, cond, ${n} loop-carried values) as inputs`,
          `${body.inputs.length} inputs`,
        ),
      );
    }
    if (body.outputs.length < n + 1) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "Loop",
          `a body that returns cond and its ${n} loop-carried values first`,
          `${body.outputs.length} values`,
        ),
      );
    }
    const states = [];
    for (let i = 0; i < n; i++) {
      const s = ctx.inputs[2 + i]!, o = body.outputs[1 + i].type;
      if (s.dtype !== o.dtype || s.shape.length !== o.shape.length) {
        throw new ShapeError(
          ...diag(
            "DLM0228",
            "Loop",
            `its body to keep the type of loop-carried value ${i}`,
            `it is ${s.dtype}[${s.shape.join(", ")}] but the body returns ${o.dtype}[${
              o.shape.join(", ")
            }]`,
          ),
        );
      }
      states.push({ dtype: s.dtype, shape: [...s.shape] });
    }
    const mConst = ctx.inputs[0] ? ctx.constant(0) : undefined;
    const trips = mConst && !cond ? Number(mConst.data[0]) : freshDim("Loop");
    const stacked = body.outputs.slice(1 + n).map((o) => ({
      dtype: o.type.dtype,
      shape: [trips, ...o.type.shape],
    }));
    return [...states, ...stacked];
  },
};
