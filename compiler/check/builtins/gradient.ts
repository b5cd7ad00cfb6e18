/**
 * `grad(y, wrt: x)`: a gradient as a value, in any model (torch.autograd.grad).
 * The backward graph of y is built into the model at the call by the same
 * reverse mode that trains (compiler/grad, the op table's gradient rules), so
 * dy/dx is an ordinary tensor: classifier guidance reads d log p(c | x) / dx
 * inside a sampling model.
 *
 * y must have one element (reduce_sum(...) of a per-sample score gives each sample's
 * own gradient when the samples do not interact), unless `grad_output:` gives
 * dL/dy, a tensor of y's type (torch's grad_outputs): the result is then the
 * vector-Jacobian product Σ_i g_i ∂y_i/∂x. An x that y does not depend on
 * through differentiable float ops gets zeros and the warning DLM0254 (torch's
 * allow_unused with materialised zeros). In a train section the value is
 * differentiated again (double backward) through the rules' own ops; a rule
 * that emits an op without a rule of its own is DLM0430 at the call.
 */
import { diag } from "../../diagnostics.ts";
import { formatType } from "../../ir/graph.ts";
import { isFloat } from "../../ir/tensor.ts";
import { ERROR, type TensorValue, type Value } from "../values.ts";
import type { FnDef } from "./functions.ts";

const defs: FnDef[] = [
  {
    name: "grad",
    doc: "The gradient of y (one element) with respect to x, as a tensor of x's type, as " +
      "torch.autograd.grad: grad(reduce_sum(log_softmax(f(x), axis: 1)[:, c]), wrt: x); wrt: (a, b) gives a " +
      "tuple; grad_output: dL/dy for a y of several elements. x may be an input, any value " +
      "y is computed from, or a parameter.",
    sig: [
      { name: "y", type: "tensor" },
      { name: "wrt", type: "tensors" },
      { name: "grad_output", type: "tensor", optional: true },
    ],
    apply(ctx, a) {
      const y = a.y as TensorValue;
      const many = a.wrt.k === "tuple" || a.wrt.k === "list";
      const wrt = many
        ? (a.wrt as { items: Value[] }).items as TensorValue[]
        : [a.wrt as TensorValue];
      const seed = a.grad_output as TensorValue | undefined;
      for (const [name, v] of [["y", y], ...wrt.map((w) => ["wrt", w] as const)] as const) {
        if (!isFloat(v.t.dtype)) {
          return ctx.error(
            ...diag("DLM0253", name === "y" ? "y" : "x", formatType(v.t)),
            ctx.argSpan(name),
          );
        }
      }
      if (seed) {
        if (formatType(seed.t) !== formatType(y.t)) {
          return ctx.error(
            ...diag(
              "DLM0203",
              "grad()'s grad_output",
              `y's type ${formatType(y.t)}`,
              formatType(seed.t),
            ),
            ctx.argSpan("grad_output"),
          );
        }
      } else if (!y.t.shape.every((d) => d === 1)) {
        return ctx.error(...diag("DLM0252", formatType(y.t)), ctx.argSpan("y"));
      }
      const grads = ctx.gradients(y, wrt, seed);
      if (!grads) return ERROR;
      return many ? { k: "tuple", items: grads } : grads[0];
    },
  },
];

export const FUNCTIONS: Record<string, FnDef> = Object.fromEntries(defs.map((d) => [d.name, d]));
