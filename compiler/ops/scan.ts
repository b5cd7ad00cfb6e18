/**
 * Scan (opset 16): runs `body` once per element of the scan inputs along
 * their scan axes, threading N state values through the iterations.
 *   inputs:  state_1..state_N, scan_1..scan_M
 *   body:    (state_1..state_N, elem_1..elem_M) -> (state'_1..state'_N, out_1..out_K)
 *   outputs: final state_1..state_N, then each out_k stacked along its scan output axis.
 * The output types come from the body's declared outputs; the stacked
 * dim is the scan inputs' length along their axis.
 */
import type { Graph } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { diag } from "../diagnostics.ts";

export const scanOp: OpDef = {
  op: "Scan",
  noGradYet: "the gradient of a loop body needs a reverse Scan, not written yet",
  since: 16,
  inputs: [{ name: "initial_state_and_scan_inputs", variadic: true }],
  outputs: [{ name: "final_state_and_scan_outputs", variadic: true }],
  attrs: {
    body: { type: "graph", required: true },
    num_scan_inputs: { type: "int", required: true },
    scan_input_axes: { type: "ints" },
    scan_input_directions: { type: "ints" },
    scan_output_axes: { type: "ints" },
    scan_output_directions: { type: "ints" },
  },
  infer(ctx) {
    const body = ctx.attrs.body as Graph | undefined;
    const m = ctx.attrs.num_scan_inputs as number;
    if (!body || typeof m !== "number") {
      throw new ShapeError(
        ...diag("DLM0227", "Scan", "a body graph and num_scan_inputs", "neither or one"),
      );
    }
    const n = ctx.inputs.length - m;
    if (n < 0) {
      throw new ShapeError(
        ...diag("DLM0227", "Scan", `at least num_scan_inputs (${m}) inputs`, ctx.inputs.length),
      );
    }
    if (body.inputs.length !== n + m) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "Scan",
          `a body of ${n} states + ${m} scan elements as inputs`,
          `${body.inputs.length} inputs`,
        ),
      );
    }
    if (body.outputs.length < n) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "Scan",
          `a body that returns its ${n} states first`,
          `${body.outputs.length} values`,
        ),
      );
    }
    const inAxes = (ctx.attrs.scan_input_axes as number[] | undefined) ?? Array(m).fill(0);
    const first = ctx.inputs[n];
    if (!first) throw new ShapeError(...diag("DLM0227", "Scan", "at least one scan input", "none"));
    const ax0 = inAxes[0] < 0 ? inAxes[0] + first.shape.length : inAxes[0];
    const steps = first.shape[ax0];
    for (let i = 0; i < n; i++) {
      const s = ctx.inputs[i]!, o = body.outputs[i].type;
      if (s.dtype !== o.dtype || s.shape.length !== o.shape.length) {
        throw new ShapeError(
          ...diag(
            "DLM0228",
            "Scan",
            `its body to keep the type of state ${i}`,
            `it is ${s.dtype}[${s.shape.join(", ")}] but the body returns ${o.dtype}[${
              o.shape.join(", ")
            }]`,
          ),
        );
      }
    }
    const k = body.outputs.length - n;
    const outAxes = (ctx.attrs.scan_output_axes as number[] | undefined) ?? Array(k).fill(0);
    const states = ctx.inputs.slice(0, n).map((t) => ({ dtype: t!.dtype, shape: [...t!.shape] }));
    const stacked = body.outputs.slice(n).map((o, j) => {
      const r = o.type.shape.length + 1;
      const a = outAxes[j] < 0 ? outAxes[j] + r : outAxes[j];
      const shape = [...o.type.shape];
      shape.splice(a, 0, steps);
      return { dtype: o.type.dtype, shape };
    });
    return [...states, ...stacked];
  },
};
