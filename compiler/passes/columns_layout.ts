/**
 * columns_layout: a run of small-map layers of a training step stays in the
 * columns layout that conv_columns' Gemms write, so that Transposes appear
 * only at the run's edges.
 */
import type { Graph, Node } from "../ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../ir/tensor.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { definePass, noteRewrite } from "./context.ts";
import { constantPool } from "./share_batch_statistics.ts";
import {
  constantTable,
  ELEMENTWISE_BROADCAST as ELEMENTWISE,
  ELEMENTWISE_UNARY as UNARY,
  plain,
  stableTopo,
  Uses,
} from "./match.ts";

/**
 * A region is rewritten when it ends with at least `minSaving` nodes fewer (a test sets
 * Infinity to compare a step with the unrewritten one).
 */
export const columnsLayoutTuning = { minSaving: 1 };

/**
 * The columns layout of a map. conv_columns writes a convolution's output as a Gemm's
 * [M, (o..., N)], reshaped to r = [M, o..., N] and transposed by p = [n+1, 0, 1, ..., n]
 * to NCHW: v = Transpose(r, p), with v's channel axis 1 being r's axis p[1] = 0. Any
 * Transpose with p[1] = 0 has that form. Its twin is
 *
 *   T = Reshape(r, [1, C, -1])          (free: the row-major order of r is kept)
 *
 * one channel on axis 1 and the positions P = (o..., N) of every sample on axis 2, in
 * r's order. Going back costs v = Transpose(Reshape(T, s), p), s = r's shape (the
 * symbolic batch written -1); a Transpose(v, q) with q = p^-1 reads r itself, which is
 * Reshape(T, s), and merge_reshapes joins that to the Reshape after it (the next
 * convolution's columns read Reshape(Transpose(x, p^-1))).
 *
 * Each op below has an exact form on T, with T_a the twin of a value a of the same
 * (p, s) (so that element k of T_a and element k of T_b are the elements at the same
 * index of a and b):
 *
 * - y = f(a) elementwise (Relu, Clip, ...): T_y = f(T_a), the same bits;
 * - y = a op b op' ... broadcasting (Add, Mul, Greater, Where, ...), each operand a twin
 *   of the same (p, s), a value of one element (rank at most 3, so that the result's
 *   rank is T's), or a per-channel constant c (1s but for C on axis 1 once padded to
 *   v's rank): T_y = T_a op c' with c' = c as [1, C, 1]. Twins meet elementwise as
 *   above; c[0, ch, 0, 0] meets every element of channel ch in v, and c'[0, ch, 0]
 *   every element of channel ch in T. The same bits.
 * - BatchNormalization (channels on axis 1; train mode's mean and variance over every
 *   axis but 1, whose order does not matter to the set they sum; inference mode and
 *   the output per element): T_y = BatchNormalization(T_x, ...), the statistics the
 *   same values within summation order (the same bits in the inference form, which
 *   uses given statistics: the backward's per-channel affine maps,
 *   compiler/train/batch_norm_state.ts).
 * - ReduceSum / ReduceMean over every axis but 1 without keepdims (a batch norm
 *   gradient's per-channel sums): the same [C] as the reduction of T over [0, 2],
 *   within summation order.
 * - Concat, Split and Gather (constant indices) on the channel axis 1, their twins of
 *   the same positions (p and s but for the channel count, DenseNet's growing features
 *   and their gradients, ShuffleNetV2's channel split, concatenation and shuffle):
 *   T_y = Concat(T_a, T_b, axis 1), the Split and Gather of T on axis 1. A channel of v
 *   is a row of T, its positions in the same order: the same bits. A Concat's operand
 *   that is no twin but a map of the same positions in NCHW (a dense block's input,
 *   from a pooling) enters the form as Reshape(Transpose(v, p^-1), [1, C, -1]).
 *
 * The pass finds regions (values connected through such ops, from entry Transposes)
 * and rewrites a region only when it ends with fewer nodes: each entry whose output
 * every reader takes in the twin form goes (and the Reshape r before it, merged into
 * T), a reader Transpose by p^-1 becomes a Reshape (merged into the Reshape after it),
 * each value a reader needs in NCHW (a 1x1 map's Reshape to [N, C], a Shape, an
 * output) costs a Reshape and a Transpose back, and each value entered costs a Transpose
 * and a Reshape. conv_columns' Gemm of a one-position
 * map reads [N, C] itself: the last stage of ResNet-18 at 32x32 stays in NCHW.
 *
 * Runs in train mode after conv_columns and sink_layout, and after cse (a region's copies that
 * cse merges would count twice), before constant folding; merge_reshapes and dce take what it
 * leaves in the next round. The batch dims of two twins are taken to be equal at run time (a
 * gradient's `max(?Expand, N)` is the batch N): a twin broadcast over the batch would fail
 * onnxruntime's shape check, never compute other numbers, as T's positions would not match.
 */
export const columnsLayout = definePass({ id: "columns_layout", modes: ["train"] }, (g, ctx) => {
  const consts = constantTable(g, ctx);
  const uses = new Uses(g);
  const plan = planRegions(g, consts, uses);
  if (plan.chosen.size === 0) return false;
  rewrite(g, plan, uses);
  for (const n of plan.replaced) noteRewrite(ctx, [n]);
  return true;
});

/** The layout of a value in the twin form: its entry's perm and r's shape (-1 for the batch). */
interface Layout {
  key: string;
  perm: number[];
  /** r's shape (-1 for the batch); a per-channel value's own shape. */
  shape: number[];
  channels: number;
  region: number;
  /**
   * A value of one element per channel ([1, C, 1, 1]: a batch norm's statistics kept as
   * dims), whose twin is [1, C, 1]: it broadcasts against any twin of C channels.
   */
  perChannel?: boolean;
}

/** The twin layout of a per-channel value of NCHW shape `shape`, in `l`'s region. */
function perChannel(l: Layout, shape: number[]): Layout {
  return { ...l, key: `channel|${l.channels}`, shape, perChannel: true };
}

type Operand =
  | { kind: "twin" }
  | { kind: "same" }
  | { kind: "channel"; t: Tensor }
  | { kind: "enter"; layout: Layout };

type Step =
  | { kind: "entry"; region: number; layout: Layout }
  | { kind: "cancel"; region: number; layout: Layout }
  | {
    kind: "map";
    region: number;
    layout: Layout;
    operands: Operand[];
    twinOutputs: number[];
    /** The twin outputs' layouts when not the lead's (Concat, Split and Gather: other counts). */
    outLayouts?: Layout[];
  }
  | { kind: "reduce"; region: number; layout: Layout; keep: boolean }
  | { kind: "relabel"; region: number; layout: Layout };

/** A map step of a channel op: its outputs' layouts given. */
type ChannelStep = Extract<Step, { kind: "map" }> & { outLayouts: Layout[] };

interface Plan {
  steps: Map<Node, Step>;
  layouts: Map<string, Layout>;
  chosen: Set<number>;
  root: (r: number) => number;
  replaced: Node[];
}

function planRegions(g: Graph, consts: Map<string, Tensor>, uses: Uses): Plan {
  const parent: number[] = [];
  const root = (r: number): number => parent[r] === r ? r : (parent[r] = root(parent[r]));
  const join = (a: number, b: number) => (parent[root(a)] = root(b));
  const layouts = new Map<string, Layout>();
  const steps = new Map<Node, Step>();
  for (const n of g.nodes) {
    if (!plain(n)) continue;
    const twins = n.inputs.map((i) => (i ? layouts.get(i) : undefined));
    const first = twins.find((t) => t);
    if (n.op === "Transpose") {
      const perm = n.attrs.perm as number[] | undefined;
      if (first && !first.perChannel && perm && inverse(first.perm, perm)) {
        steps.set(n, { kind: "cancel", region: first.region, layout: first });
        continue;
      }
      const layout = entryLayout(g, n, parent.length);
      if (layout && !first) {
        parent.push(parent.length);
        layouts.set(n.outputs[0], layout);
        steps.set(n, { kind: "entry", region: layout.region, layout });
      }
      continue;
    }
    if (!first) continue;
    const channelStep = channelOp(g, n, twins, consts);
    if (channelStep) {
      for (const t of twins) if (t) join(t.region, channelStep.region);
      steps.set(n, channelStep);
      channelStep.twinOutputs.forEach((k, j) =>
        layouts.set(n.outputs[k], channelStep.outLayouts[j])
      );
      continue;
    }
    // Full twins of one layout, per-channel ones of as many channels.
    const full = twins.find((t) => t && !t.perChannel);
    const lead = full ?? first;
    const fits = (t: Layout | undefined) =>
      !t || (t.perChannel ? t.channels === lead.channels : t.key === lead.key);
    if (!twins.every(fits)) continue;
    const step = convertible(g, n, lead, twins, consts);
    if (!step) continue;
    for (const t of twins) if (t) join(t.region, lead.region);
    steps.set(n, step);
    if (step.kind === "map") {
      for (const k of step.twinOutputs) {
        layouts.set(n.outputs[k], full ?? perChannel(lead, shapeOf(g, n.outputs[k])));
      }
    } else if (step.kind === "reduce" && step.keep) {
      layouts.set(n.outputs[0], perChannel(lead, shapeOf(g, n.outputs[0])));
    }
  }
  // Each region's change in node count (what merge_reshapes and dce then take).
  const served = (n: Node) => steps.has(n);
  const cost = new Map<number, number>();
  const entered = new Set<string>();
  const add = (r: number, d: number) => cost.set(root(r), (cost.get(root(r)) ?? 0) + d);
  for (const [n, s] of steps) {
    if (s.kind === "entry") {
      const v = n.outputs[0];
      add(s.region, 1); // T
      if (!uses.isGraphOutput(v) && uses.readers(v).every(served)) {
        add(s.region, -1); // the entry Transpose
        const r = plain(uses.producer(n.inputs[0]));
        if (r?.op === "Reshape" && uses.soleReader(n.inputs[0]) === n) add(s.region, -1);
      }
    } else if (s.kind === "cancel") {
      const after = plain(uses.soleReader(n.outputs[0]));
      if (after?.op === "Reshape" && after.inputs[0] === n.outputs[0]) add(s.region, -1);
    } else if (s.kind === "map") {
      for (const [k, o] of s.operands.entries()) {
        // An entered value costs its Transpose and Reshape once.
        const key = `${root(s.region)}|${n.inputs[k]}`;
        if (o.kind === "enter" && !entered.has(key)) {
          entered.add(key);
          add(s.region, 2);
        }
      }
      for (const k of s.twinOutputs) {
        const v = n.outputs[k];
        if (uses.isGraphOutput(v) || !uses.readers(v).every(served)) {
          add(s.region, layouts.get(v)!.perChannel ? 1 : 2);
        }
      }
    } else if (s.kind === "reduce" && s.keep) {
      const v = n.outputs[0];
      if (uses.isGraphOutput(v) || !uses.readers(v).every(served)) add(s.region, 1);
    }
  }
  const chosen = new Set<number>();
  for (const [r, c] of cost) if (-c >= columnsLayoutTuning.minSaving) chosen.add(r);
  return { steps, layouts, chosen, root, replaced: [] };
}

/** p then q is the identity: Transpose(Transpose(r, p), q) = r. */
function inverse(p: number[], q: number[]): boolean {
  return p.length === q.length && q.every((d, j) => p[d] === j);
}

/**
 * The layout a Transpose's output has in the twin form: a perm with p[1] = 0, rank 3 to 5,
 * r's dims constant but for at most one (the batch, written -1).
 */
function entryLayout(g: Graph, n: Node, region: number): Layout | undefined {
  const perm = n.attrs.perm as number[] | undefined;
  const r = g.types.get(n.inputs[0]);
  if (!perm || !r || perm.length !== r.shape.length || perm.length < 3 || perm.length > 5) {
    return undefined;
  }
  if (perm[1] !== 0 || typeof r.shape[0] !== "number") return undefined;
  if (r.shape.filter((d) => typeof d !== "number").length > 1) return undefined;
  const shape = r.shape.map((d) => (typeof d === "number" ? d : -1));
  return { key: `${perm}|${shape}`, perm, shape, channels: r.shape[0] as number, region };
}

/** The layout of `l`'s positions with `c` channels. */
function withChannels(l: Layout, c: number): Layout {
  const shape = [c, ...l.shape.slice(1)];
  return { key: `${l.perm}|${shape}`, perm: l.perm, shape, channels: c, region: l.region };
}

/** Twins of the same positions (any channel count) concatenate, split and gather on axis 1. */
const samePositions = (a: Layout, b: Layout) =>
  !a.perChannel && !b.perChannel && withChannels(a, 0).key === withChannels(b, 0).key;

/**
 * How a Concat, Split or Gather on the channel axis runs on twins of one positions layout
 * (a Concat's NCHW operands of those positions entered), if it can.
 */
function channelOp(
  g: Graph,
  n: Node,
  twins: (Layout | undefined)[],
  consts: Map<string, Tensor>,
): ChannelStep | undefined {
  if (n.op !== "Concat" && n.op !== "Split" && n.op !== "Gather") return undefined;
  const lead = twins.find((t) => t && !t.perChannel);
  if (!lead) return undefined;
  const rank = lead.perm.length;
  const axis = (n.attrs.axis as number | undefined) ?? 0;
  if ((axis < 0 ? axis + rank : axis) !== 1) return undefined;
  // Each output's channels, as its type has them (Split's sizes, Gather's indices, the sum).
  const outChannels: number[] = [];
  for (const o of n.outputs) {
    const shape = o ? g.types.get(o)?.shape : undefined;
    if (shape?.length !== rank || typeof shape[1] !== "number") return undefined;
    outChannels.push(shape[1]);
  }
  const map = (operands: Operand[]): ChannelStep => ({
    kind: "map",
    region: lead.region,
    layout: lead,
    operands,
    twinOutputs: outChannels.map((_, k) => k),
    outLayouts: outChannels.map((c) => withChannels(lead, c)),
  });
  if (n.op === "Concat") {
    const operands: Operand[] = [];
    for (const [k, i] of n.inputs.entries()) {
      const t = twins[k];
      if (t && !samePositions(t, lead)) return undefined;
      const entered = t ? undefined : enterable(g, i, lead);
      if (!t && !entered) return undefined;
      operands.push(entered ? { kind: "enter", layout: entered } : { kind: "twin" });
    }
    return map(operands);
  }
  // Split and Gather: the data is the only twin, the sizes or indices constant.
  if (!twins[0] || twins[0].perChannel || twins.slice(1).some((t) => t)) return undefined;
  if (n.inputs[1] && !consts.has(n.inputs[1])) return undefined;
  return map([{ kind: "twin" }, ...n.inputs.slice(1).map((): Operand => ({ kind: "same" }))]);
}

/**
 * The twin layout an NCHW value `v` takes when entered into `l`'s positions: its shape is a
 * twin's of the same positions (the batch, -1 in r, symbolic in v) with its own static channels.
 */
function enterable(g: Graph, v: string, l: Layout): Layout | undefined {
  const t = g.types.get(v);
  const rank = l.perm.length;
  if (!t || t.shape.length !== rank || typeof t.shape[1] !== "number") return undefined;
  for (let a = 0; a < rank; a++) {
    if (a === 1) continue;
    const d = l.shape[l.perm[a]], vd = t.shape[a];
    if (d === -1 ? typeof vd === "number" : vd !== d) return undefined;
  }
  return withChannels(l, t.shape[1]);
}

/** How `n` runs on its twin inputs (`l` the layout of its lead twin), if it can. */
function convertible(
  g: Graph,
  n: Node,
  l: Layout,
  twins: (Layout | undefined)[],
  consts: Map<string, Tensor>,
): Step | undefined {
  const rank = l.perm.length;
  const outRank = (k: number) => g.types.get(n.outputs[k])?.shape.length;
  const onlyFirst = !!twins[0] && twins.slice(1).every((t) => !t);
  if (n.op === "BatchNormalization") {
    if (!onlyFirst || l.perChannel || outRank(0) !== rank) return undefined;
    const operands: Operand[] = n.inputs.map((_, k) =>
      k === 0 ? { kind: "twin" } : { kind: "same" }
    );
    return { kind: "map", region: l.region, layout: l, operands, twinOutputs: [0] };
  }
  if (n.op === "ReduceSum" || n.op === "ReduceMean") {
    if (!onlyFirst || l.perChannel || (n.op === "ReduceMean" && n.inputs.length > 1)) {
      return undefined;
    }
    const axes = n.op === "ReduceSum"
      ? (n.inputs[1] ? consts.get(n.inputs[1]) : undefined)
      : n.attrs.axes as number[] | undefined;
    if (!axes) return undefined;
    const set = new Set(
      (Array.isArray(axes) ? axes : toNumbers(axes)).map((a) => (a < 0 ? a + rank : a)),
    );
    const want = Array.from({ length: rank }, (_, a) => a).filter((a) => a !== 1);
    if (set.size !== want.length || want.some((a) => !set.has(a))) return undefined;
    const keep = ((n.attrs.keepdims as number | undefined) ?? 1) !== 0;
    return { kind: "reduce", region: l.region, layout: l, keep };
  }
  if (n.op === "Reshape") {
    // A per-channel value's elements in order are its C values, as in its twin.
    const shape = n.inputs[1] ? consts.get(n.inputs[1]) : undefined;
    if (!l.perChannel || !twins[0] || twins[1] || !shape) return undefined;
    if (n.attrs.allowzero === 1 || toNumbers(shape).some((d) => d === 0)) return undefined;
    return { kind: "relabel", region: l.region, layout: l };
  }
  if (!UNARY.has(n.op) && !ELEMENTWISE.has(n.op)) return undefined;
  if (n.outputs.length !== 1 || outRank(0) !== rank) return undefined;
  if (UNARY.has(n.op) && !twins[0]) return undefined;
  const operands: Operand[] = [];
  for (let k = 0; k < n.inputs.length; k++) {
    const i = n.inputs[k];
    if (twins[k]) operands.push({ kind: "twin" });
    else if (!i) operands.push({ kind: "same" });
    else {
      const o = broadcastOperand(g, i, l, consts);
      if (!o) return undefined;
      operands.push(o);
    }
  }
  return { kind: "map", region: l.region, layout: l, operands, twinOutputs: [0] };
}

/** A value's static shape (its dims as they are; only per-channel values, all static, use it). */
function shapeOf(g: Graph, v: string): number[] {
  return (g.types.get(v)?.shape ?? []).map((d) => (typeof d === "number" ? d : -1));
}

/**
 * A non-twin operand of an elementwise op: one element (rank <= 3, read as it is) or a
 * per-channel constant (read as [1, C, 1]).
 */
function broadcastOperand(
  g: Graph,
  name: string,
  l: Layout,
  consts: Map<string, Tensor>,
): Operand | undefined {
  const t = g.types.get(name);
  if (!t || t.shape.some((d) => typeof d !== "number")) return undefined;
  const shape = t.shape as number[];
  const rank = l.perm.length;
  if (shape.length > rank) return undefined;
  if (shape.every((d) => d === 1) && shape.length <= 3) return { kind: "same" };
  const c = consts.get(name);
  if (!c) return undefined;
  const padded = [...new Array<number>(rank - shape.length).fill(1), ...shape];
  if (!padded.every((d, a) => d === 1 || (a === 1 && d === l.channels))) return undefined;
  return { kind: "channel", t: c };
}

function rewrite(g: Graph, plan: Plan, uses: Uses): void {
  const b = new GraphBuilder(g);
  const pool = constantPool(g);
  const constant = (base: string, t: Tensor) => pool.get(t, (t) => b.initializer(base, t));
  const ints = (xs: number[]) => constant("columns_layout.shape", tensor("i64", [xs.length], xs));
  const twin = new Map<string, string>();
  // NCHW values entered into the twin form: Reshape(Transpose(v, p^-1), [1, C, -1]).
  const entered = new Map<string, string>();
  const enter = (n: Node, v: string, l: Layout) => {
    let t = entered.get(v);
    if (!t) {
      const q: number[] = [];
      l.perm.forEach((d, j) => (q[d] = j));
      const [r] = add(n, "Transpose", [v], { perm: q });
      [t] = add(n, "Reshape", [r, ints([1, l.channels, -1])]);
      entered.set(v, t);
    }
    return t;
  };
  const out: Node[] = [];
  const chosen = (s: Step) => plan.chosen.has(plan.root(s.region));
  const served = (n: Node) => {
    const s = plan.steps.get(n);
    return !!s && chosen(s);
  };
  const emit = (f: () => void) => {
    const at = g.nodes.length;
    f();
    out.push(...g.nodes.splice(at));
  };
  const add = (n: Node, op: string, inputs: string[], attrs: Node["attrs"] = {}, count = 1) =>
    b.addNode(op, inputs, attrs, {
      name: `${n.name}/columns_layout/${op.toLowerCase()}`,
      spans: n.spans,
      nOutputs: count,
    });
  /**
   * The value under its old name when some reader needs NCHW: Transpose(Reshape(T, s), p), or a
   * per-channel value's Reshape to its shape.
   */
  const settle = (n: Node, v: string) => {
    if (!uses.isGraphOutput(v) && uses.readers(v).every(served)) {
      g.types.delete(v);
      return;
    }
    const l = plan.layouts.get(v)!;
    const [r] = add(n, "Reshape", [twin.get(v)!, ints(l.shape)]);
    if (l.perChannel) return rename(g, g.nodes.at(-1)!, r, v);
    const [y] = add(n, "Transpose", [r], { perm: l.perm });
    rename(g, g.nodes.at(-1)!, y, v);
  };
  for (const n of [...g.nodes]) {
    const s = plan.steps.get(n);
    if (!s || !chosen(s)) {
      out.push(n);
      continue;
    }
    const l = s.layout;
    if (s.kind === "entry") {
      out.push(n);
      emit(() =>
        twin.set(n.outputs[0], add(n, "Reshape", [n.inputs[0], ints([1, l.channels, -1])])[0])
      );
      continue;
    }
    plan.replaced.push({ ...n });
    if (s.kind === "cancel") {
      emit(() => {
        const [r] = add(n, "Reshape", [twin.get(n.inputs[0])!, ints(l.shape)]);
        rename(g, g.nodes.at(-1)!, r, n.outputs[0]);
      });
      continue;
    }
    if (s.kind === "reduce") {
      emit(() => {
        const t = twin.get(n.inputs[0])!;
        const [y] = n.op === "ReduceSum"
          ? add(n, n.op, [t, ints([0, 2])], { ...n.attrs })
          : add(n, n.op, [t], { ...n.attrs, axes: [0, 2] });
        const v = n.outputs[0];
        if (!s.keep) rename(g, g.nodes.at(-1)!, y, v);
        else {
          twin.set(v, y);
          settle(n, v);
        }
      });
      continue;
    }
    if (s.kind === "relabel") {
      emit(() => {
        const [y] = add(n, "Reshape", [twin.get(n.inputs[0])!, n.inputs[1]], { ...n.attrs });
        rename(g, g.nodes.at(-1)!, y, n.outputs[0]);
      });
      continue;
    }
    emit(() => {
      const inputs = n.inputs.map((i, k) => {
        const o = s.operands[k];
        if (o.kind === "twin") return twin.get(i)!;
        if (o.kind === "enter") return enter(n, i, o.layout);
        if (o.kind === "channel") {
          const c = o.t.data.length === 1 ? 1 : l.channels;
          return constant(`${i}.columns`, { ...o.t, shape: [1, c, 1] });
        }
        return i;
      });
      // A channel op's axis is the twin's channel axis 1 (a negative axis counted NCHW's rank).
      const attrs = s.outLayouts ? { ...n.attrs, axis: 1 } : { ...n.attrs };
      const ys = add(n, n.op, inputs, attrs, n.outputs.length);
      const made = g.nodes.at(-1)!;
      made.name = n.name; // the node it replaces goes (fuseBatchStatistics finds batch norms by name)
      n.outputs.forEach((v, k) => {
        if (!v) {
          made.outputs[k] = "";
          g.types.delete(ys[k]);
        } else if (s.twinOutputs.includes(k)) twin.set(v, ys[k]);
        else rename(g, made, ys[k], v);
      });
      for (const k of s.twinOutputs) settle(n, n.outputs[k]);
    });
  }
  g.nodes = stableTopo(out);
}

/** Node `made` writes `v` (an old value, its type kept) instead of its fresh output `fresh`. */
function rename(g: Graph, made: Node, fresh: string, v: string): void {
  made.outputs = made.outputs.map((o) => (o === fresh ? v : o));
  if (!g.types.has(v)) g.types.set(v, g.types.get(fresh)!);
  g.types.delete(fresh);
}
