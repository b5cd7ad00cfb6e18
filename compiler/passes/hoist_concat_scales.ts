/**
 * hoist_concat_scales: a Concat of vectors, some of them scaled by
 * one-element values, becomes the Concat of the unscaled vectors times one
 * vector of the scales.
 */
import type { Node } from "../ir/graph.ts";
import { numel, type Tensor, tensor } from "../ir/tensor.ts";
import { definePass, noteRewrite } from "./context.ts";
import { constantTable, freshName, isStatic, plain, scalar, takenNames, Uses } from "./match.ts";

/** A part of a Concat that is a vector times a one-element scale, scale * factor. */
interface Part {
  /** The Mul. */
  mul: Node;
  /** Its vector operand. */
  vector: string;
  /** The constant of the scale. */
  scale: number;
  /** The computed one-element value of the scale, if any. */
  factor: string | undefined;
}

/**
 * A packed training step's gradient of a pack is the Concat of its members' gradients (the
 * gradient of the Split that reads the pack), and a batch norm's two parameter gradients are
 * each a per-channel mean times the count M it averages over (compiler/ops/batch_normalization.ts:
 * the means are what its input's gradient reads). With parts p_i = a_i * s_i, s_i one element,
 * for a run of consecutive parts i = j..k,
 *
 *   Concat(..., a_j * s_j, ..., a_k * s_k, ...) = Concat(..., Concat(a_j, ..., a_k) * V, ...)
 *   V = Concat(s_j repeated, ..., s_k repeated)
 *
 * element for element, bit for bit: each element is the same one product. V is one vector for
 * the run: with every s_i a constant it is a constant; with s_i = f * c_i for one computed
 * scalar f shared by them (M = N * H * W, N the batch's size) and constants c_i, it is
 *
 *   V = Where(mask, f * A, B)
 *
 * with A = c_i on those parts' elements, B the constant scales on the others, mask true on the
 * former: f * c_i is the product the part's own scale computed, and the Where keeps the other
 * elements exact whatever f is (no Where when every part of the run takes f). A run that is the
 * whole Concat needs no inner Concat. So a run of k batch norms' parameters loses 2k Muls of [C]
 * vectors and gains at most four nodes, and V has the run's elements only: train/pack.ts puts a
 * pack's batch-norm parameters last, one run (ResNet-18's step: 40 Muls for 3 nodes).
 *
 * Conditions: a plain Concat with an f32 output of one static dim and parts of one static dim;
 * a part that is a plain Mul of a vector of the part's type and a one-element value of rank at
 * most 1, read by nothing but this Concat. A scale is a constant, or a Mul of a one-element
 * constant and a one-element value f, or any other one-element value f (c = 1). The run taken
 * is the one that saves the most nodes, of parts scaled by constants or by one f; none where
 * nothing is saved. The fixpoint takes further runs of the same Concat.
 */
export const hoistConcatScales = definePass({ id: "hoist_concat_scales" }, (g, ctx) => {
  const consts = constantTable(g, ctx);
  const uses = new Uses(g);
  const taken = takenNames(g);
  const added = new Map<Node, { before: Node[]; after: Node[] }>();
  const dropped = new Set<Node>();
  for (const n of g.nodes) {
    if (plain(n)?.op !== "Concat") continue;
    const ot = g.types.get(n.outputs[0]);
    if (!isStatic(ot) || ot.shape.length !== 1 || ot.dtype !== "f32") continue;
    const parts = n.inputs.map((v) => scaledPart(v, n));
    if (parts.some((p) => p === null)) continue;
    const run = bestRun(parts as (Part | undefined)[]);
    if (!run) continue;
    const { from, to, factor } = run;
    const taking = parts.slice(from, to) as Part[];
    const whole = from === 0 && to === parts.length;
    const every = taking.every((p) => p.factor !== undefined);
    const lengths = n.inputs.slice(from, to).map((v) => (g.types.get(v)!.shape as number[])[0]);
    const size = lengths.reduce((x, y) => x + y, 0);
    const dtype = ot.dtype;
    const a = new Array<number>(size).fill(0), b = new Array<number>(size).fill(0);
    const mask = new Array<number>(size).fill(0);
    let at = 0;
    taking.forEach((p, i) => {
      for (let j = at; j < at + lengths[i]; j++) {
        if (p.factor) [a[j], mask[j]] = [p.scale, 1];
        else b[j] = p.scale;
      }
      at += lengths[i];
      dropped.add(p.mul);
    });
    const fresh = (base: string) => freshName(g, `${n.outputs[0]}/${base}`, taken);
    const value = (base: string) => {
      const name = fresh(base);
      g.types.set(name, { dtype, shape: [size] });
      return name;
    };
    const constant = (base: string, t: Tensor) => {
      const name = fresh(base);
      g.initializers.set(name, t);
      g.types.set(name, { dtype: t.dtype, shape: t.shape });
      return name;
    };
    const node = (op: string, inputs: string[], output: string, attrs = {}): Node => ({
      op,
      name: fresh(op.toLowerCase()),
      inputs,
      outputs: [output],
      attrs,
      ...(n.spans ? { spans: n.spans } : {}),
    });
    const before: Node[] = [], after: Node[] = [];
    const was = { ...n, inputs: [...n.inputs], outputs: [...n.outputs] };
    const vectors = taking.map((p) => p.vector);
    // The run's unscaled vectors: the Concat itself, or a Concat of the run before it.
    const unscaled = value("unscaled");
    let scaled: string;
    if (whole) {
      scaled = n.outputs[0];
      n.inputs = vectors;
      n.outputs = [unscaled];
    } else {
      scaled = value("scaled");
      before.push(node("Concat", vectors, unscaled, { axis: 0 }));
      n.inputs = [...n.inputs.slice(0, from), scaled, ...n.inputs.slice(to)];
    }
    let scales: string;
    if (!factor) scales = constant("scales", tensor(dtype, [size], b));
    else {
      scales = value("factors");
      before.push(node("Mul", [factor, constant("counts", tensor(dtype, [size], a))], scales));
      if (!every) {
        const f = scales;
        scales = value("scales");
        const m = constant("mask", tensor("bool", [size], mask));
        before.push(node("Where", [m, f, constant("constants", tensor(dtype, [size], b))], scales));
      }
    }
    (whole ? after : before).push(node("Mul", [unscaled, scales], scaled));
    added.set(n, { before, after });
    noteRewrite(ctx, [was, ...taking.map((p) => p.mul)]);
  }
  if (!added.size) return false;
  g.nodes = g.nodes.flatMap((n) => {
    if (dropped.has(n)) return [];
    const x = added.get(n);
    return x ? [...x.before, n, ...x.after] : [n];
  });
  return true;

  /**
   * The run of consecutive parts, scaled by constants or by one factor, whose hoisting saves the
   * most nodes; undefined when none saves any.
   */
  function bestRun(parts: (Part | undefined)[]) {
    const factors = new Set<string | undefined>([undefined]);
    for (const p of parts) if (p?.factor) factors.add(p.factor);
    let best: { from: number; to: number; factor: string | undefined; saves: number } | undefined;
    for (const factor of factors) {
      const takes = (p: Part | undefined) => !!p && (p.factor === undefined || p.factor === factor);
      for (let from = 0; from < parts.length;) {
        if (!takes(parts[from])) {
          from++;
          continue;
        }
        let to = from;
        while (to < parts.length && takes(parts[to])) to++;
        const run = parts.slice(from, to) as Part[];
        const withFactor = run.some((p) => p.factor !== undefined);
        const withConstant = run.some((p) => p.factor === undefined);
        // An inner Concat unless the run is the whole, the product, and V's Mul and Where.
        const cost = (from === 0 && to === parts.length ? 0 : 1) + 1 +
          (withFactor ? 1 : 0) + (withFactor && withConstant ? 1 : 0);
        const saves = run.length - cost;
        if (saves > 0 && (!best || saves > best.saves)) {
          best = { from, to, factor: withFactor ? factor : undefined, saves };
        }
        from = to;
      }
    }
    return best;
  }

  /**
   * A part of `concat`: undefined when it is not scaled, null when the Concat cannot be taken
   * (a part that is not a vector of static length).
   */
  function scaledPart(v: string, concat: Node): Part | undefined | null {
    const t = g.types.get(v);
    if (!v || !isStatic(t) || t.shape.length !== 1) return null;
    const mul = plain(uses.producer(v));
    if (mul?.op !== "Mul" || uses.soleReader(v) !== concat) return undefined;
    const [x, y] = mul.inputs;
    const k = one(y) && sameVector(x, v) ? 0 : one(x) && sameVector(y, v) ? 1 : -1;
    if (k < 0) return undefined;
    const vector = mul.inputs[k], s = mul.inputs[1 - k];
    if (g.types.get(s)!.dtype !== t.dtype) return undefined;
    const c = scalar(consts, s);
    if (c !== undefined) return { mul, vector, scale: c, factor: undefined };
    const p = plain(uses.producer(s));
    if (p?.op === "Mul") {
      for (const [f, constant] of [p.inputs, [...p.inputs].reverse()]) {
        const c = scalar(consts, constant);
        if (c !== undefined && one(f) && g.types.get(constant)!.dtype === t.dtype) {
          return { mul, vector, scale: c, factor: f };
        }
      }
    }
    return { mul, vector, scale: 1, factor: s };
  }

  /** A one-element value of rank at most 1. */
  function one(v: string): boolean {
    const t = g.types.get(v);
    return !!v && isStatic(t) && t.shape.length <= 1 && numel(t.shape) === 1;
  }

  function sameVector(v: string, like: string): boolean {
    const t = g.types.get(v), u = g.types.get(like)!;
    return isStatic(t) && t.dtype === u.dtype && t.shape.length === 1 && t.shape[0] === u.shape[0];
  }
});
