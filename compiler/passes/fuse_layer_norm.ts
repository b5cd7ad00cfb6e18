/**
 * fuse_layer_norm: the decomposed layer norm over the last axis -> one
 * ONNX LayerNormalization (a standard op: every target).
 */
import type { Graph, Node } from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { dimEquals } from "../ops/dims.ts";
import { definePass, mergeSpans, noteRewrite } from "./context.ts";
import { constantTable, freshName, otherInput, scalar, sole, Uses } from "./match.ts";

/**
 * Layer norm over the last axis, as exporters and hand-written models spell it:
 *
 *   m = ReduceMean(x, axes = [-1], keepdims = 1)
 *   d = Sub(x, m)
 *   v = ReduceMean(Pow(d, 2) | Mul(d, d), axes = [-1], keepdims = 1)
 *   y = Div(d, Sqrt(Add(v, eps)))                  = (x - E x) / sqrt(Var x + eps)
 *   z = Add(Mul(y, gamma), beta)                   (Mul and Add optional, operands either way)
 *
 * is LayerNormalization(x, gamma, beta; axis = -1, epsilon = eps) (population
 * variance, as ONNX defines it). Without a Mul, gamma is a constant 1.
 *
 * Conditions: x is f32 or f16 (the op normalises in f32 either way); both
 * ReduceMeans take exactly the last axis and keep it; eps is a constant
 * scalar; gamma and beta are constants of shape [H], H the last dim of x;
 * every intermediate value feeds only the next node of the pattern (d feeds
 * the square and the Div). The fused node takes the first ReduceMean's name,
 * the last node's output name and position, and the spans of all it replaced.
 */
export const fuseLayerNorm = definePass({ id: "fuse_layer_norm" }, (g, ctx) => {
  const consts = constantTable(g, { ...ctx, keepParams: false });
  const uses = new Uses(g);
  const removed = new Set<Node>();
  for (const mean of g.nodes) {
    if (mean.op !== "ReduceMean" || mean.domain || removed.has(mean)) continue;
    const m = match(g, mean, consts, uses);
    if (!m) continue;
    const replaced = m.nodes.map((n) => ({ ...n }));
    const last = m.nodes[m.nodes.length - 1];
    let gamma = m.gamma;
    if (!gamma) {
      const h = g.types.get(m.x)!.shape.at(-1) as number;
      const dtype = g.types.get(m.x)!.dtype;
      gamma = freshName(g, `${mean.name}.ones`);
      g.initializers.set(gamma, tensor(dtype, [h], new Array(h).fill(1)));
      g.types.set(gamma, { dtype, shape: [h] });
    }
    for (const n of m.nodes) {
      uses.drop(n);
      if (n === last) continue;
      removed.add(n);
      for (const o of n.outputs) g.types.delete(o);
    }
    last.op = "LayerNormalization";
    delete last.domain;
    last.name = mean.name;
    last.inputs = m.beta ? [m.x, gamma, m.beta] : [m.x, gamma];
    last.attrs = { axis: -1, epsilon: m.eps };
    last.spans = mergeSpans(...m.nodes);
    uses.add(last);
    noteRewrite(ctx, replaced);
  }
  if (removed.size === 0) return false;
  g.nodes = g.nodes.filter((n) => !removed.has(n));
  return true;
});

interface Match {
  x: string;
  gamma?: string;
  beta?: string;
  eps: number;
  /** The pattern's nodes, the last one (whose output is the result) last. */
  nodes: Node[];
}

function match(
  g: Graph,
  mean: Node,
  consts: Map<string, Tensor>,
  uses: Uses,
): Match | undefined {
  const x = mean.inputs[0];
  const xt = g.types.get(x);
  if (!xt || (xt.dtype !== "f32" && xt.dtype !== "f16") || xt.shape.length < 1) return undefined;
  const h = xt.shape[xt.shape.length - 1];
  if (!isLastAxisMean(mean, xt.shape.length)) return undefined;
  const sub = sole(uses, mean.outputs[0], "Sub");
  if (!sub || sub.inputs[0] !== x || sub.inputs[1] !== mean.outputs[0]) return undefined;
  const d = sub.outputs[0];
  const readers = uses.readers(d);
  if (readers.length !== 2 || uses.isGraphOutput(d) || uses.isCaptured(d)) return undefined;
  const sq = readers.find((n) =>
    (n.op === "Mul" && n.inputs[0] === d && n.inputs[1] === d) ||
    (n.op === "Pow" && n.inputs[0] === d && scalar(consts, n.inputs[1]) === 2)
  );
  const div = readers.find((n) => n.op === "Div" && n.inputs[0] === d);
  if (!sq || !div || sq.domain || div.domain) return undefined;
  const mean2 = sole(uses, sq.outputs[0], "ReduceMean");
  if (!mean2 || !isLastAxisMean(mean2, xt.shape.length)) return undefined;
  const add = sole(uses, mean2.outputs[0], "Add");
  const epsName = add && otherInput(add, mean2.outputs[0]);
  const eps = epsName !== undefined ? scalar(consts, epsName) : undefined;
  if (!add || eps === undefined) return undefined;
  const sqrt = sole(uses, add.outputs[0], "Sqrt");
  if (!sqrt || sole(uses, sqrt.outputs[0], "Div") !== div || div.inputs[1] !== sqrt.outputs[0]) {
    return undefined;
  }
  const nodes = [mean, sub, sq, mean2, add, sqrt, div];
  const vector = (name: string | undefined) => {
    const t = name === undefined ? undefined : consts.get(name);
    return !!t && t.dtype === xt.dtype && t.shape.length === 1 && dimEquals(t.shape[0], h);
  };
  let out = div.outputs[0];
  let gamma: string | undefined, beta: string | undefined;
  const mul = sole(uses, out, "Mul");
  if (mul && vector(otherInput(mul, out))) {
    gamma = otherInput(mul, out);
    nodes.push(mul);
    out = mul.outputs[0];
    const plus = sole(uses, out, "Add");
    if (plus && vector(otherInput(plus, out))) {
      beta = otherInput(plus, out);
      nodes.push(plus);
    }
  }
  if (!gamma && typeof h !== "number") return undefined;
  return { x, gamma, beta, eps, nodes };
}

/** ReduceMean over exactly the last axis, keeping it (opset-17 form: axes attribute). */
function isLastAxisMean(n: Node, rank: number): boolean {
  const axes = n.attrs.axes;
  const keep = n.attrs.keepdims ?? 1;
  return n.inputs.length === 1 && keep === 1 && Array.isArray(axes) && axes.length === 1 &&
    (axes[0] === -1 || axes[0] === rank - 1);
}
