/**
 * The graph-building context of the training builders (optimisers,
 * schedules, clipping): the shared expression API of `ir/expr.ts` over a
 * GraphBuilder, with numbers as f32 scalars. Each builder call takes a
 * context of its own, so its constants are `train_const` initializers shared
 * within that call (an optimiser's `1` and a schedule's `1` are two
 * initializers, as in every training step compiled so far).
 */
import type { GraphBuilder } from "../ops/builder.ts";
import { builderSink, type ExprGraph, exprGraph } from "../ir/expr.ts";

/** Arithmetic on the values of `b`; number operands are f32 scalars. */
export function trainMath(b: GraphBuilder): ExprGraph {
  return exprGraph(builderSink(b, "train_const"), "f32");
}
