/**
 * fold_constants: evaluate at compile time what only depends on constants.
 */
import type { Graph, Node } from "../ir/graph.ts";
import { emptyGraph } from "../ir/graph.ts";
import { numel, type Tensor } from "../ir/tensor.ts";
import { DlmError } from "../diagnostics.ts";
import { getOp } from "../ops/mod.ts";
// The interpreter alone, not runtime/reference/mod.ts: that loads the ONNX decoder too.
import { runGraph } from "../../runtime/reference/interpreter.ts";
import { definePass, noteRewrite, type PassContext } from "./context.ts";
import {
  allEqual,
  byteSize,
  constantTable,
  hasSubgraph,
  isStatic,
  tensorSize,
  Uses,
} from "./match.ts";

/** Ops that draw random numbers: folding them would freeze one draw into the model. */
const RANDOM_OPS = new Set([
  "RandomNormal",
  "RandomNormalLike",
  "RandomUniform",
  "RandomUniformLike",
  "Bernoulli",
  "Multinomial",
]);

/** A folded result may grow past its inputs up to this factor ... */
const MAX_GROWTH = 4;
/** ... or up to this size, whichever is larger (Expand/Tile/ConstantOfShape stay lazy). */
const MAX_BYTES = 1 << 20;

/**
 * For a node f whose inputs c1..ck are all constants (initializers or
 * Constant nodes; a Constant node has none):
 *
 *   y = f(c1, ..., ck)   is replaced by the initializer   y := f(c1, ..., ck)
 *
 * computed with the reference interpreter's kernel for f, so the folded
 * numbers are exactly what the interpreter would compute at run time. The
 * initializer takes the name of the node's output, so readers are unchanged.
 *
 * Not folded: random ops (and Dropout unless it is known to be off), nodes
 * with subgraphs or in a non-default domain, nodes defining a graph output
 * (an output stays computed by a node), nodes whose output types are not
 * static or disagree with what the kernel returns, results larger than
 * max(4 x their inputs, 1 MiB), and nodes the kernel rejects (the error is
 * left for run time, where it points at the node). With `ctx.keepParams`,
 * initializers listed in `params` do not count as constants.
 * Inputs left unused are removed by `dce`.
 */
export const foldConstants = definePass({ id: "fold_constants" }, (g, ctx) => {
  const consts = constantTable(g, ctx);
  const uses = new Uses(g);
  const folded = new Set<Node>();
  for (const n of g.nodes) {
    const results = tryFold(g, n, ctx, consts, uses);
    if (!results) continue;
    n.outputs.forEach((o, k) => {
      if (!o) return;
      g.initializers.set(o, results[k]);
      consts.set(o, results[k]);
    });
    folded.add(n);
    noteRewrite(ctx, [n]);
  }
  if (folded.size === 0) return false;
  g.nodes = g.nodes.filter((n) => !folded.has(n));
  return true;
});

function tryFold(
  g: Graph,
  n: Node,
  ctx: PassContext,
  consts: Map<string, Tensor>,
  uses: Uses,
): Tensor[] | undefined {
  if (n.domain || hasSubgraph(n) || !isDeterministic(n, ctx, consts)) return undefined;
  const outs = n.outputs.filter((o) => o);
  if (outs.length === 0 || outs.some((o) => uses.isGraphOutput(o))) return undefined;
  const inputs = n.inputs.filter((i) => i);
  if (!inputs.every((i) => consts.has(i))) return undefined;

  const types = outs.map((o) => g.types.get(o));
  if (!types.every(isStatic)) return undefined;
  const outBytes = types.reduce((s, t) => s + byteSize(t!.dtype, numel(t!.shape as number[])), 0);
  const inBytes = inputs.reduce((s, i) => s + tensorSize(consts.get(i)!), 0);
  if (n.op !== "Constant" && outBytes > MAX_GROWTH * inBytes && outBytes > MAX_BYTES) {
    return undefined;
  }

  const results = evaluate(n, consts, g);
  if (!results) return undefined;
  const ok = n.outputs.every((o, k) => {
    if (!o) return true;
    const t = results[k];
    const want = g.types.get(o)!;
    return t && t.dtype === want.dtype && t.shape.length === want.shape.length &&
      t.shape.every((d, i) => d === want.shape[i]);
  });
  return ok ? results : undefined;
}

/** Whether the node computes the same result every time it runs. */
function isDeterministic(n: Node, ctx: PassContext, consts: Map<string, Tensor>): boolean {
  if (RANDOM_OPS.has(n.op) || getOp(n.op)?.nature?.includes("random")) return false;
  if (n.op === "Dropout") {
    // Dropout is random unless it is off: eval mode and training_mode absent or false.
    if (ctx.mode === "train") return false;
    const flag = n.inputs[2] ? consts.get(n.inputs[2]) : undefined;
    return !n.inputs[2] || (!!flag && allEqual(flag, 0));
  }
  return true;
}

/** Run the node alone on its constant inputs; undefined when the kernel rejects them. */
function evaluate(n: Node, consts: Map<string, Tensor>, g: Graph): Tensor[] | undefined {
  const mini = emptyGraph(`fold ${n.name}`);
  for (const i of n.inputs) {
    if (!i) continue;
    mini.initializers.set(i, consts.get(i)!);
    mini.types.set(i, g.types.get(i)!);
  }
  const outs = n.outputs.filter((o) => o);
  mini.nodes.push(n);
  for (const o of outs) {
    mini.outputs.push({ name: o, type: g.types.get(o)! });
    mini.types.set(o, g.types.get(o)!);
  }
  try {
    const { outputs } = runGraph(mini, {});
    return n.outputs.map((o) => outputs[o]);
  } catch (e) {
    if (e instanceof DlmError) return undefined;
    throw e;
  }
}
