/**
 * Einsum (opset 12): `equation` such as "bij,bjk->bik". Each letter names
 * one size shared by every operand it appears in; "..." stands for
 * broadcast dims. Without "->" the output is the letters that appear once,
 * in alphabetical order, after the broadcast dims.
 */
import { type Dim, formatType, type TensorType } from "../ir/graph.ts";
import type { DType } from "../ir/tensor.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { broadcastShapes, dimEquals } from "./dims.ts";
import { expectDtype, FLOAT_NO_BF16, input, INT, sameDtype, strAttr } from "./rules.ts";
import { diag } from "../diagnostics.ts";

const EINSUM_TYPES: readonly DType[] = [...INT, ...FLOAT_NO_BF16];

/** Output shape of an einsum equation for the given operand types. */
export function einsumShape(equation: string, ts: readonly TensorType[]): Dim[] {
  const eq = equation.replace(/\s+/g, "");
  const [lhs, rhs] = eq.includes("->") ? eq.split("->") : [eq, undefined];
  const terms = lhs.split(",");
  if (terms.length !== ts.length) {
    throw new ShapeError(
      ...diag(
        "DLM0227",
        `Einsum equation '${equation}'`,
        `${terms.length} operand${terms.length === 1 ? "" : "s"}`,
        `${ts.length} input${ts.length === 1 ? "" : "s"}`,
      ),
    );
  }
  const sizes = new Map<string, Dim>();
  const counts = new Map<string, number>();
  let ellipsis: Dim[] = [];
  for (const [i, term] of terms.entries()) {
    const t = ts[i];
    const letters = term.replace("...", "");
    if (!/^[A-Za-z]*$/.test(letters) || term.split("...").length > 2) {
      throw new ShapeError(
        ...diag("DLM0232", "Einsum", `read the term '${term}' of '${equation}'`),
      );
    }
    const nEll = t.shape.length - letters.length;
    if (term.includes("...") ? nEll < 0 : nEll !== 0) {
      throw new ShapeError(
        ...diag(
          "DLM0230",
          `Einsum term '${term}' of '${equation}'`,
          `operand ${i}: ${formatType(t)}`,
        ),
      );
    }
    const at = term.indexOf("...");
    const dims = [...t.shape];
    if (at >= 0) {
      ellipsis = broadcastShapes(ellipsis, dims.splice(at, nEll));
    }
    for (const [j, ch] of [...letters].entries()) {
      const d = dims[j];
      counts.set(ch, (counts.get(ch) ?? 0) + 1);
      const prev = sizes.get(ch);
      if (prev === undefined || prev === 1) sizes.set(ch, d);
      else if (
        d !== 1 && !dimEquals(prev, d) && typeof prev === "number" && typeof d === "number"
      ) {
        throw new ShapeError(
          ...diag(
            "DLM0228",
            "Einsum",
            `one size for label '${ch}' in '${equation}'`,
            `it is ${prev} in one operand and ${d} in another`,
          ),
        );
      }
    }
  }
  let out = rhs;
  if (out === undefined) {
    const once = [...counts].filter(([, n]) => n === 1).map(([c]) => c).sort().join("");
    out = (lhs.includes("...") ? "..." : "") + once;
  }
  const shape: Dim[] = [];
  for (let i = 0; i < out.length; i++) {
    if (out.startsWith("...", i)) {
      shape.push(...ellipsis);
      i += 2;
      continue;
    }
    const d = sizes.get(out[i]);
    if (d === undefined) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "Einsum",
          `every output label of '${equation}' in an operand`,
          `'${out[i]}' in none`,
        ),
      );
    }
    shape.push(d);
  }
  return shape;
}

export const einsumOp: OpDef = {
  op: "Einsum",
  noGradYet: "no rule yet",
  since: 12,
  inputs: [{ name: "Inputs", variadic: true }],
  outputs: [{ name: "Output" }],
  attrs: { equation: { type: "string", required: true } },
  infer(ctx) {
    const ts = ctx.inputs.map((_, i) => input(ctx, "Einsum", i, `Inputs[${i}]`));
    if (ts.length === 0) {
      throw new ShapeError(...diag("DLM0227", "Einsum", "at least one input", "none"));
    }
    expectDtype("Einsum", "Inputs[0]", ts[0], EINSUM_TYPES);
    const dtype = sameDtype("Einsum", ts.map((t, i) => [`Inputs[${i}]`, t]));
    return [{ dtype, shape: einsumShape(strAttr(ctx.attrs, "equation"), ts) }];
  },
};
