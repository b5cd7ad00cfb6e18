/**
 * The state a training step's batch norms carry from step to step, as
 * PyTorch's `BatchNorm` modules do in training mode: the running statistics
 * (`running_mean`, `running_var`) and the count of batches they have seen
 * (`num_batches_tracked`).
 *
 * A `batch_norm` compiled in train mode is one `BatchNormalization` node with
 * `training_mode` 1 per application, whose extra outputs are the running
 * statistics after it. PyTorch, per training forward of a module, updates
 * its running statistics from the batch and adds one to its counter:
 *
 *   running <- (1 - m) running + m batch          (dlm's momentum m; ONNX's is 1 - m)
 *   num_batches_tracked <- num_batches_tracked + 1
 *
 * A layer applied k times in one forward (a shared instance, 6.7 of the
 * spec) does so k times in order: its statistics pass through each
 * application's update and its counter grows by k. So, in the order the
 * nodes were built (the program's order, which is PyTorch's call order):
 * each train-mode node reads the running statistics the previous
 * application of its layer produced, the last application's are the step's
 * next values, and the counter's next value is counter + k.
 *
 * Only train-mode nodes count, as PyTorch counts only in training mode. dlm
 * has no per-layer eval mode: a train section compiles every batch norm its
 * forward applies in train mode. Frozen parameters (`freeze`, fine-tuning
 * methods) do not change the mode, as `requires_grad = False` leaves a
 * PyTorch module in training mode: their statistics and counters move.
 *
 * The batch statistics a batch norm normalises with are the batch's mean
 * and its population variance, var = mean(xc^2) over the M = N H W values
 * of a channel (xc = x - mean). PyTorch blends the unbiased variance into
 * running_var, sum(xc^2) / (M - 1) = var M / (M - 1), where ONNX's
 * BatchNormalization in training mode blends var itself; a step follows
 * PyTorch (`varianceWeight`), so dlm-trained statistics are torch's.
 */
import type { Graph, Node, ValueInfo } from "../ir/graph.ts";
import { type Expr, type ExprGraph, exprGraph } from "../ir/expr.ts";
import { type DType, numel, tensor } from "../ir/tensor.ts";
import type { GraphBuilder } from "../ops/builder.ts";
import { countOver } from "../ops/grad_util.ts";
import {
  constantPool,
  isTrainBatchNorm,
  splitAndUpdate,
  type SplitBatchNorm,
  splitBatchNorm,
} from "../passes/share_batch_statistics.ts";
import { nextName } from "./contract.ts";
import { newPack } from "./pack.ts";

/** What a step's batch norms update. */
export interface BatchNormState {
  /** Each running statistic (an input of the step) -> its value after the step. */
  buffers: Map<string, string>;
  /** Each `num_batches_tracked` -> the train-mode applications of its layer in one step. */
  counters: Map<string, number>;
}

const MEAN = "running_mean";
const COUNTER = "num_batches_tracked";

/**
 * The batch norms' state updates of a step's forward graph `g`, built in
 * train mode; chains the running statistics of a layer applied more than
 * once (rewriting the later nodes' inputs).
 */
export function batchNormState(g: Graph): BatchNormState {
  // A batch norm's parameters are `<layer>.running_mean`, ... `<layer>.num_batches_tracked`.
  const counterOf = new Map<string, string>();
  const roles = new Map(g.params.map((p) => [p.name, p.role]));
  for (const p of g.params) {
    if (p.role !== MEAN) continue;
    const counter = p.name.slice(0, p.name.length - MEAN.length) + COUNTER;
    if (roles.get(counter) === COUNTER) counterOf.set(p.name, counter);
  }
  const buffers = new Map<string, string>();
  const counters = new Map<string, number>();
  for (const n of g.nodes) {
    if (n.op !== "BatchNormalization" || n.attrs.training_mode !== 1 || n.outputs.length < 3) {
      continue;
    }
    const mean = n.inputs[3];
    for (const j of [3, 4]) {
      const running = n.inputs[j];
      // A later application reads what the earlier one left.
      const before = buffers.get(running);
      if (before !== undefined) n.inputs[j] = before;
      if (n.outputs[j - 2]) buffers.set(running, n.outputs[j - 2]);
    }
    const counter = counterOf.get(mean);
    if (counter) counters.set(counter, (counters.get(counter) ?? 0) + 1);
  }
  return { buffers, counters };
}

/**
 * The counters' next values, `counter + k`, as [value, counter] pairs. With
 * `pack` and at least two counters, they become one i64 input `pack:<k>`
 * (compiler/train/pack.ts) updated by one Add, since no node reads them;
 * else one Add each. The counters must be inputs of the step already.
 */
export function countBatches(
  b: GraphBuilder,
  counters: Map<string, number>,
  pack: boolean,
): [string, string][] {
  const names = [...counters.keys()];
  if (names.length === 0) return [];
  if (pack && names.length > 1) {
    const layout = newPack(b, names);
    const k = b.initializer(
      `${layout.name}/batches`,
      tensor("i64", [layout.size], names.map((c) => counters.get(c)!)),
    );
    const [next] = b.addNode("Add", [layout.name, k], {}, { name: `${layout.name}/count` });
    return [[next, layout.name]];
  }
  const amounts = new Map<number, string>();
  return names.map((c) => {
    const k = counters.get(c)!;
    let amount = amounts.get(k);
    if (!amount) {
      amount = b.initializer(`${COUNTER}.add${k}`, tensor("i64", [], [k]));
      amounts.set(k, amount);
    }
    const [next] = b.addNode("Add", [c, amount], {}, { name: `${c}/count` });
    return [next, c];
  });
}

/**
 * The weight of the batch's variance in PyTorch's update of running_var. With dlm's momentum
 * m' (ONNX's m = 1 - m', the weight of the running value) and var the population variance of the
 * M values per channel:
 *
 *   torch:  next = (1 - m') run + m' sum(xc^2) / (M - 1)
 *                = m run + (1 - m) var M / (M - 1)
 *                = m run + var (1 - m) / (1 - 1/M)
 *
 * so the weight is w = (1 - m) / (1 - 1/M), ONNX's 1 - m over 1 - 1/M. 1/M is what the batch
 * norm's gradient computes (`countOver`: a constant for static dims, else read from the batch's
 * size once per step, shared by cse). M = 1 is the one case PyTorch refuses ("Expected more than
 * 1 value per channel"); var is 0 there, and the denominator max(1 - 1/M, 1/M), which is
 * 1 - 1/M for every M >= 2 and 1 for M = 1, keeps the update finite: next = m run.
 */
export function varianceWeight(
  e: ExprGraph,
  inputs: readonly ValueInfo[],
  s: SplitBatchNorm,
): Expr {
  const dtype = s.variance.dtype;
  const shape = s.x.type.shape;
  if (s.axes.every((a) => typeof shape[a] === "number")) {
    const m = s.axes.reduce((n, a) => n * (shape[a] as number), 1);
    return e.scalar(staticWeight(s.momentum, m), dtype);
  }
  const inv = countOver(e, inputs, s.x, s.axes, dtype, { inverse: true });
  return inv.rsub(1).max(inv).rdiv(1 - s.momentum);
}

/** w = (1 - m) / max(1 - 1/M, 1/M) for a static M (`varianceWeight`). */
function staticWeight(momentum: number, m: number): number {
  return (1 - momentum) / Math.max(1 - 1 / m, 1 / m);
}

/**
 * Every train-mode batch norm `packRunningStatistics` left (or all, unpacked) split as
 * share_batch_statistics does, its running statistics updated per layer by PyTorch's rule
 * (`varianceWeight`), each update taking the name the node's output had: a layer applied more
 * than once (chained by `batchNormState`) updates its statistics once per application, in order.
 */
export function updateRunningStatistics(b: GraphBuilder): void {
  const g = b.graph;
  const pool = constantPool(g);
  for (const bn of [...g.nodes]) {
    if (isTrainBatchNorm(bn)) splitAndUpdate(b, bn, pool, (e, s) => varianceWeight(e, g.inputs, s));
  }
}

/**
 * The running statistics of every train-mode batch norm of a step, updated in one chain: the
 * batch norms are split as share_batch_statistics does (nodes whose extra outputs are the batch's
 * statistics), and their running means and variances become one step input per dtype, a pack
 * `pack:<k>` [m_1 .. m_k, v_1 .. v_k] (f32[2 sum C]) laid out as parameter packs are, whose next
 * value is PyTorch's rule applied once to the whole vector:
 *
 *   next = pack * momentum + concat(mean_1 .. mean_k, var_1 .. var_k) * weight
 *
 * with momentum ONNX's (a per-element constant where the batch norms differ) and weight 1 -
 * momentum on the means' elements and `varianceWeight` on the variances' (`varianceRest`). That
 * is four nodes for the step, and four more for the weights where the batch's size is known only
 * at run time, where the per-layer form takes six (nine) per batch norm: one Concat of the means
 * and variances ([C] each) and the update. The batch norms read only the batch's statistics in a step, so the pack needs
 * no Split. A batch norm applied more than once in a step (a shared layer, whose applications
 * update its statistics in turn: `batchNormState`) is left out: its statistics are not the
 * step's inputs updated once, and `updateRunningStatistics` gives it its own chain.
 * Returns the packs' next values with their output names, and the statistics packed; those are no
 * longer step inputs (nor initializers: their initial values are the pack's).
 */
export function packRunningStatistics(
  b: GraphBuilder,
): { outs: [string, string][]; packed: Set<string>; slots: StatisticsSlots[] } {
  const g = b.graph;
  const pool = constantPool(g);
  const splits: SplitBatchNorm[] = [];
  const state = new Set(g.inputs.map((i) => i.name).filter((n) => g.initializers.has(n)));
  const reads = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) reads.set(i, (reads.get(i) ?? 0) + 1);
  const once = (bn: Node) =>
    [3, 4].every((j) => state.has(bn.inputs[j]) && !reads.has(bn.outputs[j - 2] ?? ""));
  for (const bn of [...g.nodes]) {
    if (isTrainBatchNorm(bn) && once(bn)) splits.push(splitBatchNorm(b, bn, pool));
  }
  const byDtype = new Map<string, SplitBatchNorm[]>();
  for (const s of splits) {
    const dtype = g.types.get(s.runMean)!.dtype;
    byDtype.set(dtype, [...(byDtype.get(dtype) ?? []), s]);
  }
  const e = exprGraph({
    node: (op, inputs, attrs, o) =>
      b.addNode(op, inputs, attrs, { ...o, name: `stats/${op.toLowerCase()}` }),
    constant: (t) => pool.get(t, (t) => b.initializer("stats.c", t)),
    typeOf: (name) => g.types.get(name)!,
  });
  const outs: [string, string][] = [];
  const packed = new Set<string>();
  const slots: StatisticsSlots[] = [];
  for (const group of byDtype.values()) {
    // The running statistics the step updates (a batch norm's output may be unused: none then).
    const means = group.filter((s) => s.nextMean), vars = group.filter((s) => s.nextVar);
    const members = [...means.map((s) => s.runMean), ...vars.map((s) => s.runVar)];
    if (members.length === 0) continue;
    const layout = newPack(b, members);
    const name = layout.name;
    const at = new Map<string, [number, number]>();
    for (const [i, s] of means.entries()) {
      const j = vars.indexOf(s);
      if (j >= 0) at.set(s.node, [i, means.length + j]);
    }
    slots.push({ pack: name, sizes: layout.members.map((m) => numel(m.shape)), at });
    const momenta: number[] = [];
    for (const [i, m] of layout.members.entries()) {
      const s = i < means.length ? means[i] : vars[i - means.length];
      for (let k = 0; k < numel(m.shape); k++) momenta.push(s.momentum);
    }
    // The means and variances, [C] each (`batchStatistics`), in one Concat.
    const pieces: Expr[] = means.map((s) => s.mean);
    // The variances' weights (`varianceWeight`): see `varianceRest`.
    const rest = varianceRest(e, g.inputs, layout.dtype, means, vars);
    pieces.push(...rest.vars);
    const batch = pieces.length === 1 ? pieces[0] : e.op1("Concat", pieces, { axis: 0 });
    const uniform = momenta.every((m) => m === momenta[0]);
    const m = uniform
      ? e.scalar(momenta[0], layout.dtype)
      : e.constant(tensor(layout.dtype, [layout.size], momenta));
    const next = e.v(name).mul(m).add(batch.mul(rest.weight));
    outs.push([next.name, nextName(name)]);
    for (const m of members) packed.add(m);
  }
  return { outs, packed, slots };
}

/** A pack of running statistics, its members' sizes, and each batch norm's mean and variance slots. */
export interface StatisticsSlots {
  pack: string;
  sizes: number[];
  /** A batch norm's node name -> the indices of its running mean and variance among the members. */
  at: Map<string, [number, number]>;
}

/**
 * A packed step's batch norms as one train-mode node each, once its pipeline has run (cse has
 * merged the forward's statistics with the gradient's). A split batch norm (`splitBatchNorm`)
 * computes, over the axes a (all but the channel),
 *
 *   m = ReduceMean(x, a, keepdims),  mean = Reshape(m, [-1]),  var = ReduceMean((x - m)^2, a)
 *   y = BN(x; scale, B, mean, var)
 *
 * which is ONNX's BatchNormalization in training mode with momentum 0, whose running outputs are
 * then input * 0 + batch * 1, the batch's statistics:
 *
 *   y, mean, var = BN_train(x, scale, B, r_mean, r_var; momentum 0)
 *
 * one node where those were five. The running inputs' values do not matter (finite: 0 * them), but
 * their buffers do: onnxruntime's kernel aliases the running outputs to the running inputs
 * (`Alias(3, 1)`, `Alias(4, 2)`) and writes the batch's statistics into them, an initializer (a
 * shared zero) included, which then reads wrong in every later node and run. So each node reads
 * its own slots of the pack of running statistics, split by one Split for the step: fresh buffers
 * in every run that nothing else reads. A batch norm whose statistics do not have that form, or
 * that lacks a slot (its running mean or variance unused), stays split.
 *
 * Returns the number of batch norms fused; dce then drops the statistics' nodes no longer read.
 */
export function fuseBatchStatistics(b: GraphBuilder, slots: StatisticsSlots[]): number {
  const g = b.graph;
  const producer = new Map<string, Node>();
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes) {
    for (const o of n.outputs) if (o) producer.set(o, n);
    for (const i of n.inputs) if (i) readers.set(i, [...(readers.get(i) ?? []), n]);
  }
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  const order = new Map(g.nodes.map((n, i) => [n, i]));
  const removed = new Set<Node>();
  let fused = 0;
  for (const s of slots) {
    const fusable: [Node, Node, Node, number, number][] = [];
    for (const [name, [im, iv]] of s.at) {
      const bn = byName.get(name);
      const m = bn && statisticsOf(g, bn, producer);
      if (!bn || !m) continue;
      // Every reader of the statistics comes after the node that will compute them.
      const later = [m.reshape, m.variance].every((p) =>
        (readers.get(p.outputs[0]) ?? []).every((r) => r === bn || order.get(r)! > order.get(bn)!)
      );
      if (later && !removed.has(m.reshape) && !removed.has(m.variance)) {
        fusable.push([bn, m.reshape, m.variance, im, iv]);
        removed.add(m.reshape).add(m.variance);
      }
    }
    if (fusable.length === 0) continue;
    const t = g.types.get(s.pack)!;
    const sizes = b.initializer(`${s.pack}/sizes`, tensor("i64", [s.sizes.length], s.sizes));
    const parts = b.addNode("Split", [s.pack, sizes], { axis: 0 }, {
      name: `${s.pack}/split`,
      nOutputs: s.sizes.length,
    });
    for (const [i, p] of parts.entries()) g.types.set(p, { dtype: t.dtype, shape: [s.sizes[i]] });
    // The Split reads a step input only: first.
    g.nodes.unshift(g.nodes.pop()!);
    for (const [bn, reshape, variance, im, iv] of fusable) {
      const [x, scale, bias] = bn.inputs;
      bn.inputs = [x, scale, bias, parts[im], parts[iv]];
      bn.outputs = [bn.outputs[0], reshape.outputs[0], variance.outputs[0]];
      bn.attrs = {
        epsilon: (bn.attrs.epsilon as number | undefined) ?? 1e-5,
        momentum: 0,
        training_mode: 1,
      };
      fused++;
    }
  }
  g.nodes = g.nodes.filter((n) => !removed.has(n));
  return fused;
}

/**
 * The Reshape and variance ReduceMean of a split batch norm's statistics (`batchStatistics`), if
 * `bn` is an inference-mode batch norm reading them for its own input.
 */
function statisticsOf(
  g: Graph,
  bn: Node,
  producer: Map<string, Node>,
): { reshape: Node; variance: Node } | undefined {
  if (bn.op !== "BatchNormalization" || bn.domain || bn.attrs.training_mode === 1) return;
  if (bn.outputs.length !== 1) return;
  const [x, , , mean, variance] = bn.inputs;
  const rank = g.types.get(x)?.shape.length ?? 0;
  // All axes but the channel, as an attribute (opset < 18).
  const axes = JSON.stringify([0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)]);
  const over = (n: Node | undefined, keepdims: number) =>
    n?.op === "ReduceMean" && !n.domain && n.inputs.length === 1 &&
    JSON.stringify(n.attrs.axes) === axes && (n.attrs.keepdims ?? 1) === keepdims;
  const reshape = producer.get(mean), v = producer.get(variance);
  if (reshape?.op !== "Reshape" || !over(v, 0)) return;
  const kept = producer.get(reshape.inputs[0]);
  const sq = producer.get(v!.inputs[0]);
  const xc = sq?.op === "Mul" && sq.inputs[0] === sq.inputs[1]
    ? producer.get(sq.inputs[0])
    : undefined;
  if (
    !over(kept, 1) || kept!.inputs[0] !== x || xc?.op !== "Sub" || xc.inputs[0] !== x ||
    xc.inputs[1] !== kept!.outputs[0]
  ) return;
  return { reshape, variance: v! };
}
/**
 * The weights of a packed chain's batch statistics, [1 - m_i per mean element, w_i per variance
 * element] with w_i = (1 - m_i) / max(1 - 1/M_i, 1/M_i) (`varianceWeight`), and the variances as
 * the chain concatenates them:
 *
 * - M_i all static: the weights are one constant (a scalar where they are all equal);
 * - M_i = n S_i, every batch norm's symbolic dims the same (the batch N of a step; n their
 *   product, S_i the static rest): 1/M_i = (1/n) (1/S_i) is one Mul of the step's 1/n by a
 *   constant vector, and the weights are (1 - m) / max(1 - 1/M, 1/M) on that vector (with
 *   1/M = 0 on the means' elements, whose weight is then 1 - m): four nodes for the step, not
 *   four per layer;
 * - otherwise each variance is scaled by its own w_i before the chain (whose weight there is 1).
 */
function varianceRest(
  e: ExprGraph,
  inputs: readonly ValueInfo[],
  dtype: DType,
  means: SplitBatchNorm[],
  vars: SplitBatchNorm[],
): { weight: Expr; vars: Expr[] } {
  const channels = (s: SplitBatchNorm) => numel(s.variance.type.shape as number[]);
  const meanRest = means.flatMap((s) => new Array<number>(channels(s)).fill(1 - s.momentum));
  const symbolic = (s: SplitBatchNorm) =>
    s.axes.filter((a) => typeof s.x.type.shape[a] !== "number");
  const key = (s: SplitBatchNorm) => symbolic(s).map((a) => s.x.type.shape[a]).sort().join();
  const staticPart = (s: SplitBatchNorm) =>
    s.axes.reduce(
      (n, a) => typeof s.x.type.shape[a] === "number" ? n * (s.x.type.shape[a] as number) : n,
      1,
    );
  const vector = (xs: number[]) =>
    xs.length > 0 && xs.every((x) => x === xs[0])
      ? e.scalar(xs[0], dtype)
      : e.constant(tensor(dtype, [xs.length], xs));
  if (vars.every((s) => symbolic(s).length === 0)) {
    const varRest = vars.flatMap((s) =>
      new Array<number>(channels(s)).fill(staticWeight(s.momentum, staticPart(s)))
    );
    return { weight: vector([...meanRest, ...varRest]), vars: vars.map((s) => s.variance) };
  }
  if (vars.every((s) => key(s) === key(vars[0]))) {
    // 1/S_i on the variances' elements and 0 on the means', whose weight is then
    // (1 - m) / max(1 - 0, 0) = 1 - m exactly: no Concat of two weight vectors.
    const invN = countOver(e, inputs, vars[0].x, symbolic(vars[0]), dtype, { inverse: true });
    const invS = [
      ...meanRest.map(() => 0),
      ...vars.flatMap((s) => new Array<number>(channels(s)).fill(1 / staticPart(s))),
    ];
    const invM = invN.mul(e.constant(tensor(dtype, [invS.length], invS)));
    const num = [
      ...meanRest,
      ...vars.flatMap((s) => new Array<number>(channels(s)).fill(1 - s.momentum)),
    ];
    const weight = vector(num).div(invM.rsub(1).max(invM));
    return { weight, vars: vars.map((s) => s.variance) };
  }
  const ones = vars.flatMap((s) => new Array<number>(channels(s)).fill(1));
  return {
    weight: vector([...meanRest, ...ones]),
    vars: vars.map((s) => s.variance.mul(varianceWeight(e, inputs, s))),
  };
}
