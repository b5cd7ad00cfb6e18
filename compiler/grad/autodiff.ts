/**
 * Reverse-mode automatic differentiation over the IR: `buildGradients`
 * appends the backward graph of a scalar loss to a GraphBuilder's graph,
 * using the gradient rule (`grad`) of each op's table entry. The
 * backward graph is made of standard ONNX ops only, so a training step stays
 * a plain ONNX model.
 *
 * Policy for values the loss does not reach: a `wrt` value whose gradient is
 * zero (the loss does not depend on it, or only through integer values) gets
 * an explicit zeros tensor of its type, so an optimiser can treat every
 * parameter alike.
 */
import type { AttrValue, Graph, Node, TensorType } from "../ir/graph.ts";
import { formatSpan, formatType } from "../ir/graph.ts";
import type { GraphBuilder } from "../ops/builder.ts";
import { isFloat, type Tensor, tensor, TooLarge } from "../ir/tensor.ts";
import { ConstantPool, exprGraph } from "../ir/expr.ts";
import { diag, DlmError, error, fail } from "../diagnostics.ts";
import { getOp } from "../ops/mod.ts";
import { expandRecurrent } from "./expand_recurrent.ts";
import { GradLimit } from "../ops/grad_util.ts";
import type { GradContext } from "../ops/op_def.ts";

/**
 * The name stem of the nodes a `grad(y, wrt: x)` value is built from (the elaborator names them
 * `<level>.grad_value_<k>/...`): when a training step's backward pass meets one whose op has no
 * gradient rule, the missing rule is a second-order one, and says so (DLM0430).
 */
export const GRAD_VALUE_PREFIX = "grad_value";

const GRAD_VALUE_NODE = new RegExp(`(^|\\.)${GRAD_VALUE_PREFIX}_\\d+/`);

/** Options of `buildGradients`. */
export interface GradientOptions {
  /**
   * Values that gradients do not flow through (treated as constants): a
   * later phase of a training step reads earlier phases' updated
   * parameters without differentiating through their update.
   */
  stop?: Set<string>;
  /** dL/dloss, a value of loss's type; default ones (then loss must have one element). */
  seed?: string;
  /** Prefix of backward node names (default "grad"). */
  prefix?: string;
  /**
   * Which recurrent nodes to unroll first: all of them (default: a training step's graph), or
   * only when one lies on the path (a `grad()` value in a model, whose other recurrent layers
   * stay fused and may keep a symbolic length).
   */
  unroll?: "all" | "on_path";
}

/**
 * Whether the backward pass stops at `n` without a rule: its op's table
 * entry says `differentiable: false` (integer or boolean results, shapes,
 * constants, random draws).
 */
function carriesNoGradient(n: Node): boolean {
  return getOp(n.op, n.domain)?.differentiable === false;
}

/**
 * Append the backward graph of `loss` to `b.graph` and return, for each
 * name in `wrt`, the value holding dL/d(wrt). Nodes are visited in reverse
 * topological order over the nodes that lie between `wrt` and `loss`;
 * several contributions to one value are summed with Add. Only float values
 * carry gradients.
 *
 * Errors (DlmError): DLM0234 when the loss is not a scalar and no seed is
 * given, DLM0417 for a node on the path whose op has no gradient rule
 * (naming the op, the node and its source location), DLM0900 when a rule
 * fails.
 *
 * @example
 * const grads = buildGradients(b, "loss", ["fc.weight", "fc.bias"]);
 * b.output(grads.get("fc.weight")!, "grad:fc.weight");
 */
export function buildGradients(
  b: GraphBuilder,
  loss: string,
  wrt: string[],
  opts: GradientOptions = {},
): Map<string, string> {
  const graph = b.graph;
  // Recurrent layers are differentiated through their unrolled form (backpropagation through time).
  const crosses = () =>
    gradientPath(graph, loss, wrt, opts.stop).onPath.some((n) =>
      !n.domain && (n.op === "RNN" || n.op === "GRU" || n.op === "LSTM")
    );
  if (opts.unroll !== "on_path" || crosses()) expandRecurrent(b);
  const lossType = typeOrFail(b, loss);
  const prefix = opts.prefix ?? "grad";
  const { onPath, fromWrt } = gradientPath(graph, loss, wrt, opts.stop);

  const contributions = new Map<string, string[]>();
  const add = (value: string, g: string | undefined) => {
    if (!g) return;
    const list = contributions.get(value);
    if (list) list.push(g);
    else contributions.set(value, [g]);
  };
  const total = (value: string): string => {
    const list = contributions.get(value);
    if (!list || list.length === 0) return "";
    let acc = list[0];
    for (const g of list.slice(1)) acc = emit(b, prefix, "Add", [acc, g])[0];
    contributions.set(value, [acc]);
    return acc;
  };

  if (opts.seed) {
    add(loss, opts.seed);
  } else {
    if (!lossType.shape.every((d) => d === 1)) {
      fail(
        ...diag(
          "DLM0234",
          "The loss to differentiate",
          "a scalar",
          `'${loss}'`,
          formatType(lossType),
        ),
      );
    }
    add(loss, constant(b, tensor(lossType.dtype, lossType.shape as number[], [1])));
  }

  // What a rule may differentiate through besides its own node (GradContext.producerOnPath).
  const asked = new Set(wrt);
  const producers = new Map<string, Node>();
  for (const n of onPath) for (const o of n.outputs) if (o && !asked.has(o)) producers.set(o, n);
  const producerOnPath = (name: string) => producers.get(name);

  for (const n of onPath) { // already in reverse topological order
    const outputGrads = n.outputs.map((o) => (o ? total(o) : ""));
    if (outputGrads.every((g) => g === "")) continue;
    const def = getOp(n.op, n.domain);
    if (!def?.grad) {
      if (GRAD_VALUE_NODE.test(n.name)) {
        fail(...diag("DLM0430", n.op, n.name), n.spans?.[0]);
      }
      fail(
        ...diag("DLM0417", `op '${n.op}' (node '${n.name}'${where(n)})`, "it has no gradient rule"),
        n.spans?.[0],
      );
    }
    const ctx = gradContext(b, n, outputGrads, prefix, producerOnPath);
    let grads: (string | undefined)[];
    try {
      grads = def.grad(ctx);
    } catch (e) {
      if (e instanceof DlmError) throw e;
      // A table the rule computes (a selection matrix, divisors) past the size limit.
      if (e instanceof TooLarge) fail(...diag("DLM0350", ...e.args), n.spans?.[0]);
      const msg = e instanceof Error ? e.message : String(e);
      if (e instanceof GradLimit) {
        // A symbolic dim the rule needs as a number: a limit of training, not a bug.
        const named = e.dim && !/^\?/.test(e.dim) ? e.dim : undefined;
        const hint = named ? `; fix it with --dim ${named}=<size>` : "";
        const d = error(...diag("DLM0417", `'${n.name}'`, `${msg}${hint}`), n.spans?.[0]);
        if (named) d.needsDim = named;
        throw new DlmError(d);
      }
      fail(
        ...diag(
          "DLM0900",
          `cannot differentiate op '${n.op}' (node '${n.name}'${where(n)}): ${msg}`,
        ),
        n.spans?.[0],
      );
    }
    n.inputs.forEach((i, k) => {
      if (i && fromWrt.has(i) && isFloatValue(b, i)) add(i, grads[k]);
    });
  }

  const out = new Map<string, string>();
  for (const w of wrt) {
    const g = total(w);
    out.set(w, g || zerosOf(b, w, prefix));
  }
  return out;
}

/**
 * The nodes a gradient of `loss` flows back through to `wrt`, in reverse topological order:
 * descendants of `wrt` through float values (not through `stop`, nor through a node that
 * carries no gradient) that are ancestors of `loss`; and the set of those descendants.
 */
function gradientPath(
  graph: Graph,
  loss: string,
  wrt: readonly string[],
  stop?: Set<string>,
): { onPath: Node[]; fromWrt: Set<string>; needed: Set<string> } {
  const isFloatValue = (name: string) => {
    const t = graph.types.get(name);
    return t !== undefined && isFloat(t.dtype);
  };
  const forward = graph.nodes;
  const fromWrt = new Set<string>(wrt);
  const onPath: Node[] = [];
  for (const n of forward) {
    if (carriesNoGradient(n)) continue;
    if (n.inputs.some((i) => i && fromWrt.has(i))) {
      for (const o of n.outputs) if (o && !stop?.has(o) && isFloatValue(o)) fromWrt.add(o);
    }
  }
  const needed = new Set<string>([loss]);
  for (let k = forward.length - 1; k >= 0; k--) {
    const n = forward[k];
    if (!n.outputs.some((o) => needed.has(o))) continue;
    if (!n.inputs.some((i) => i && fromWrt.has(i))) continue;
    if (carriesNoGradient(n)) continue;
    onPath.push(n);
    for (const i of n.inputs) if (i && fromWrt.has(i)) needed.add(i);
  }
  return { onPath, fromWrt, needed };
}

/** Which `wrt` values a gradient of `loss` reaches, and the nodes where it could not pass. */
export interface GradientReach {
  /** The `wrt` values with a path to the loss that carries a gradient. */
  reached: Set<string>;
  /**
   * Nodes on which the loss depends, that depend on some `wrt` value, and that pass no
   * gradient back (`differentiable: false`, or an integer result): where the paths stop.
   */
  blocked: Node[];
}

/**
 * What `buildGradients(b, loss, wrt)` would differentiate, without building anything: which
 * values of `wrt` get a gradient that is not zeros by construction, and where the paths from
 * the others stop. The training compiler warns from it (a loss that trains nothing).
 *
 * @example
 * const { reached } = gradientReach(graph, "loss", ["fc.weight"]);
 */
export function gradientReach(
  graph: Graph,
  loss: string,
  wrt: readonly string[],
): GradientReach {
  const { needed, fromWrt } = gradientPath(graph, loss, wrt);
  const reached = new Set(wrt.filter((w) => needed.has(w)));
  // What the loss depends on, whatever the types and rules.
  const ancestors = new Set<string>([loss]);
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k];
    if (n.outputs.some((o) => ancestors.has(o))) {
      for (const i of n.inputs) if (i) ancestors.add(i);
    }
  }
  // A node the gradient reaches from wrt, on which the loss depends, that passes none on.
  const blocked = graph.nodes.filter((n) =>
    n.inputs.some((i) => i && fromWrt.has(i)) &&
    n.outputs.some((o) => o && ancestors.has(o) && !fromWrt.has(o))
  );
  return { reached, blocked };
}

function where(n: Node): string {
  const s = n.spans?.[0];
  return s ? `, ${formatSpan(s)}` : "";
}

function typeOrFail(b: GraphBuilder, name: string): TensorType {
  const t = b.typeOf(name);
  if (!t) fail(...diag("DLM0114", name, b.graph.name));
  return t;
}

function isFloatValue(b: GraphBuilder, name: string): boolean {
  const t = b.typeOf(name);
  return t !== undefined && isFloat(t.dtype);
}

function emit(
  b: GraphBuilder,
  prefix: string,
  op: string,
  inputs: string[],
  attrs: Record<string, AttrValue> = {},
  opts: { nOutputs?: number; domain?: string } = {},
): string[] {
  return b.addNode(op, inputs, attrs, { name: `${prefix}/${op.toLowerCase()}`, ...opts });
}

/** Constants are shared by value per graph, so a backward graph does not repeat `1.0` a hundred times. */
const CONSTANT_POOLS = new WeakMap<Graph, ConstantPool>();

function constant(b: GraphBuilder, t: Tensor): string {
  let pool = CONSTANT_POOLS.get(b.graph);
  if (!pool) {
    pool = new ConstantPool((name) => b.graph.initializers.has(name), { shareUniform: true });
    CONSTANT_POOLS.set(b.graph, pool);
  }
  return pool.get(t, (t) => b.initializer("grad_const", t));
}

function zerosOf(b: GraphBuilder, value: string, prefix: string): string {
  const t = typeOrFail(b, value);
  const value0 = tensor(t.dtype, [1], [0]);
  if (t.shape.every((d) => typeof d === "number")) {
    const shape = constant(b, tensor("i64", [t.shape.length], t.shape as number[]));
    return emit(b, prefix, "ConstantOfShape", [shape], { value: value0 })[0];
  }
  const shape = emit(b, prefix, "Shape", [value])[0];
  return emit(b, prefix, "ConstantOfShape", [shape], { value: value0 })[0];
}

/** The `GradContext` handed to the rule of node `n`. */
function gradContext(
  b: GraphBuilder,
  n: Node,
  outputGrads: string[],
  prefix: string,
  producerOnPath: (name: string) => Node | undefined,
): GradContext {
  const typeOf = (name: string): TensorType => typeOrFail(b, name);
  const ctx: GradContext = {
    node: n,
    inputTypes: n.inputs.map((i) => (i ? typeOf(i) : undefined)),
    outputTypes: n.outputs.map((o) => typeOf(o)),
    outputGrads,
    e: exprGraph({
      node: (op, inputs, attrs, opts) =>
        emit(b, `${prefix}/${n.name}`, op, inputs, attrs, {
          nOutputs: opts.nOutputs,
          domain: opts.domain,
        }),
      constant: (t) => constant(b, t),
      typeOf,
    }),
    typeOf,
    constantOf: (name) => b.constantOf(name),
    unbroadcast: (g, to) => unbroadcast(ctx, g, to),
    graphInputs: b.graph.inputs,
    producerOnPath,
  };
  return ctx;
}

/**
 * The adjoint of numpy broadcasting: sum `g` over the leading axes `to`
 * lacks and over the axes where `to` has size 1 but `g` does not, then drop
 * the leading axes. Equal symbolic dims need no reduction.
 */
function unbroadcast(ctx: GradContext, g: string, to: TensorType): string {
  const gt = ctx.typeOf(g);
  const lead = gt.shape.length - to.shape.length;
  const axes: number[] = [];
  for (let i = 0; i < lead; i++) axes.push(i);
  to.shape.forEach((d, i) => {
    const gd = gt.shape[lead + i];
    if (d === 1 && gd !== 1) axes.push(lead + i);
  });
  if (axes.length === 0) return g;
  const e = ctx.e;
  const axesValue = e.ints(axes);
  // Only leading axes (a bias's gradient): one ReduceSum that drops them.
  if (axes.length === lead) return e.v(g).sum(axesValue, false).name;
  let r = e.v(g).sum(axesValue, true);
  if (lead > 0) r = r.squeeze(axes.slice(0, lead));
  return r.name;
}
