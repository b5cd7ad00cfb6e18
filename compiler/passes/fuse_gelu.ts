/**
 * fuse_gelu: GELU spelled out elementwise -> onnxruntime's com.microsoft
 * Gelu (exact, erf form) or FastGelu (tanh approximation). Target "ort" only.
 */
import type { Node } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { MS_DOMAIN } from "../ops/contrib/common.ts";
import { definePass, mergeSpans, noteRewrite } from "./context.ts";
import { constantTable, producerOnlyFor, scalar, sole, Uses } from "./match.ts";

/**
 * erf_gelu(x)  = 0.5 * x * (1 + erf(x / sqrt(2)))                          -> Gelu(x)
 * tanh_gelu(x) = 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))    -> FastGelu(x)
 *
 * Recognised spellings. The inner part, from its anchor node:
 *   Erf(Div(x, sqrt 2) | Mul(x, 1 / sqrt 2))                 (dlm's gelu(): Div)
 *   Tanh(Mul(Add(x, Mul(Pow(x, 3) | Mul(x, Mul(x, x)), 0.044715)), sqrt(2 / pi)))
 * then p = Add(inner, 1), and the product 0.5 * x * p in any association:
 *   Mul(Mul(x, p), 0.5)   (dlm's gelu())     Mul(Mul(x, 0.5), p)     Mul(Mul(p, 0.5), x)
 * with every Add and Mul taking its operands in either order. Constants are
 * compared to within 1e-6 relative (they are stored rounded to f32).
 *
 * Conditions: x is f32 or f16 (onnxruntime's CPU kernels); every intermediate
 * value feeds only the next node of the pattern (x may feed anything). The
 * fused node takes the anchor's name, the last Mul's output name and
 * position, and the spans of all it replaced.
 */
export const fuseGelu = definePass({ id: "fuse_gelu" }, (g, ctx) => {
  const consts = constantTable(g, { ...ctx, keepParams: false });
  const uses = new Uses(g);
  const removed = new Set<Node>();
  for (const anchor of g.nodes) {
    if ((anchor.op !== "Erf" && anchor.op !== "Tanh") || anchor.domain) continue;
    if (removed.has(anchor)) continue;
    const inner = anchor.op === "Erf"
      ? matchErf(anchor, consts, uses)
      : matchTanh(anchor, consts, uses);
    if (!inner) continue;
    const xt = g.types.get(inner.x);
    if (!xt || (xt.dtype !== "f32" && xt.dtype !== "f16")) continue;
    const outer = matchHalfProduct(anchor.outputs[0], inner.x, consts, uses);
    if (!outer) continue;
    const nodes = [...inner.nodes, anchor, ...outer];
    const last = outer[outer.length - 1];
    const replaced = nodes.map((n) => ({ ...n }));
    for (const n of nodes) {
      uses.drop(n);
      if (n === last) continue;
      removed.add(n);
      for (const o of n.outputs) g.types.delete(o);
    }
    last.op = anchor.op === "Erf" ? "Gelu" : "FastGelu";
    last.domain = MS_DOMAIN;
    last.name = anchor.name;
    last.inputs = [inner.x];
    last.attrs = {};
    last.spans = mergeSpans(...nodes);
    uses.add(last);
    noteRewrite(ctx, replaced);
  }
  if (removed.size === 0) return false;
  g.nodes = g.nodes.filter((n) => !removed.has(n));
  return true;
});

/** Erf(x / sqrt 2): x and the scaling node. */
function matchErf(
  erf: Node,
  consts: Map<string, Tensor>,
  uses: Uses,
): { x: string; nodes: Node[] } | undefined {
  const d = producerOnlyFor(uses, erf.inputs[0], erf);
  if (!d) return undefined;
  if (d.op === "Div" && near(scalar(consts, d.inputs[1]), Math.SQRT2)) {
    return { x: d.inputs[0], nodes: [d] };
  }
  if (d.op === "Mul") {
    for (const [a, c] of [[0, 1], [1, 0]]) {
      if (near(scalar(consts, d.inputs[c]), Math.SQRT1_2)) return { x: d.inputs[a], nodes: [d] };
    }
  }
  return undefined;
}

/** Tanh(sqrt(2 / pi) * (x + 0.044715 x^3)): x and the nodes computing the argument. */
function matchTanh(
  tanh: Node,
  consts: Map<string, Tensor>,
  uses: Uses,
): { x: string; nodes: Node[] } | undefined {
  const scale = producerOnlyFor(uses, tanh.inputs[0], tanh);
  const k = scale?.op === "Mul" ? constOperand(scale, consts, Math.sqrt(2 / Math.PI)) : undefined;
  const sum = k && producerOnlyFor(uses, k.other, scale!);
  if (!sum || sum.op !== "Add") return undefined;
  for (const [xi, ci] of [[0, 1], [1, 0]]) {
    const x = sum.inputs[xi];
    const cube = producerOnlyFor(uses, sum.inputs[ci], sum);
    const c = cube?.op === "Mul" ? constOperand(cube, consts, 0.044715) : undefined;
    const pow = c && producerOnlyFor(uses, c.other, cube!);
    if (!pow) continue;
    const nodes = [pow, cube!, sum, scale!];
    if (pow.op === "Pow" && pow.inputs[0] === x && near(scalar(consts, pow.inputs[1]), 3)) {
      return { x, nodes };
    }
    if (pow.op === "Mul") {
      // x * (x * x), in either order.
      const [a, b] = pow.inputs;
      const sqName = a === x ? b : b === x ? a : undefined;
      const sq = sqName !== undefined ? producerOnlyFor(uses, sqName, pow) : undefined;
      if (sq?.op === "Mul" && sq.inputs[0] === x && sq.inputs[1] === x) {
        return { x, nodes: [sq, ...nodes] };
      }
    }
  }
  return undefined;
}

/**
 * From p = Add(inner, 1) to the value 0.5 * x * p: the nodes after `inner`
 * (the Add first, the node giving the result last).
 */
function matchHalfProduct(
  inner: string,
  x: string,
  consts: Map<string, Tensor>,
  uses: Uses,
): Node[] | undefined {
  const add = sole(uses, inner, "Add");
  if (!add || !constOperandOf(add, inner, consts, 1)) return undefined;
  const p = add.outputs[0];
  const m1 = sole(uses, p, "Mul");
  if (!m1 || m1.inputs.length !== 2) return undefined;
  const q = m1.inputs[0] === p ? m1.inputs[1] : m1.inputs[0];
  if (q === x) {
    // Mul(Mul(x, p), 0.5)
    const m2 = sole(uses, m1.outputs[0], "Mul");
    return m2 && constOperandOf(m2, m1.outputs[0], consts, 0.5) ? [add, m1, m2] : undefined;
  }
  if (near(scalar(consts, q), 0.5)) {
    // Mul(Mul(p, 0.5), x)
    const m2 = sole(uses, m1.outputs[0], "Mul");
    const ok = m2 && m2.inputs.length === 2 && m2.inputs.includes(x) &&
      m2.inputs.includes(m1.outputs[0]);
    return ok ? [add, m1, m2!] : undefined;
  }
  // Mul(Mul(x, 0.5), p): q is the half of x, read by m1 alone.
  const half = producerOnlyFor(uses, q, m1);
  if (half?.op === "Mul" && constOperandOf(half, x, consts, 0.5)) return [half, add, m1];
  return undefined;
}

/** For a binary node with one operand the constant `c`: the other operand. */
function constOperand(
  n: Node,
  consts: Map<string, Tensor>,
  c: number,
): { other: string } | undefined {
  if (n.inputs.length !== 2) return undefined;
  if (near(scalar(consts, n.inputs[1]), c)) return { other: n.inputs[0] };
  if (near(scalar(consts, n.inputs[0]), c)) return { other: n.inputs[1] };
  return undefined;
}

/** Whether binary node `n` reads `value` and the constant `c` (either order). */
function constOperandOf(n: Node, value: string, consts: Map<string, Tensor>, c: number): boolean {
  return n.inputs.length === 2 && n.inputs.includes(value) &&
    near(scalar(consts, n.inputs[0] === value ? n.inputs[1] : n.inputs[0]), c);
}

/** Equal to within 1e-6 relative: constants are stored rounded to f32. */
function near(v: number | undefined, want: number): boolean {
  return v !== undefined && Math.abs(v - want) <= 1e-6 * Math.abs(want);
}
