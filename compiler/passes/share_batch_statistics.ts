/**
 * share_batch_statistics: a train-mode BatchNormalization reads batch
 * statistics computed by plain nodes, which cse then merges with the ones
 * its gradient computes. The pass keeps ONNX's meaning of the node (its
 * running variance blends the population variance). A training step splits
 * its batch norms itself, with PyTorch's running variance, before its
 * pipeline runs (compiler/train/batch_norm_state.ts, through
 * `splitAndUpdate`), so in a step the pass finds none left.
 */
import type { Graph, Node } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { ConstantPool, type Expr, type ExprGraph, exprGraph } from "../ir/expr.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { batchStatistics } from "../ops/batch_normalization.ts";
import { definePass, noteRewrite } from "./context.ts";

/** A train-mode batch norm split by `splitBatchNorm`: its batch statistics and running ones. */
export interface SplitBatchNorm {
  /** The batch norm's node name (it keeps it). */
  node: string;
  /** The batch mean, shape [C]. */
  mean: Expr;
  /** The batch's population variance, shape [C]. */
  variance: Expr;
  /** The batch norm's input and the axes its statistics reduce (all but the channel). */
  x: Expr;
  axes: number[];
  /** ONNX's momentum: the weight of the running value. */
  momentum: number;
  runMean: string;
  runVar: string;
  /** The names the node's running-statistics outputs had ("" where it had none). */
  nextMean: string;
  nextVar: string;
}

/** Is `n` a BatchNormalization of the default domain in training mode? */
export function isTrainBatchNorm(n: Node): boolean {
  return n.op === "BatchNormalization" && n.attrs.training_mode === 1 && !n.domain;
}

/**
 * A train-mode BatchNormalization computes its batch statistics inside the
 * node, and its gradient (compiler/ops/batch_normalization.ts) computes them
 * again from x. Over the axes a = [0, 2, 3, ...] (all but the channel), in
 * the form `batchStatistics` builds for both:
 *
 *   m = ReduceMean(x, a, keepdims),  mean = Reshape(m, [-1]),  xc = x - m,
 *   var = ReduceMean(xc * xc, a)
 *   BN_train(x, scale, bias, run_mean, run_var)
 *     = BN_eval(x, scale, bias, mean, var)                                      output 0
 *   next_mean = run_mean * momentum + mean * (1 - momentum)                     output 1
 *   next_var  = run_var * momentum + var * (1 - momentum)                       output 2
 *
 * (the population variance, as ONNX's rule). `splitBatchNorm` makes the node
 * an inference-mode one that reads the mean and the variance as the gradient
 * computes them (cse merges the two copies), and returns the
 * statistics; the running statistics' update is left to the caller: this
 * pass updates them per batch norm by ONNX's rule, a training step by
 * PyTorch's, per batch norm or in one chain for all where its parameters are
 * packed (compiler/train/batch_norm_state.ts), where once cse has merged the
 * copies each batch norm becomes one train-mode node again, with momentum 0
 * and its own running inputs (`fuseBatchStatistics`). onnxruntime runs that
 * node alone at about 3x the inference-mode one (17.7 against 5.6 ms for the
 * CIFAR ResNet-18's 20 at batch 16), but with its statistics it replaces five
 * nodes, and takes less time than they do (2.2 against 2.7 ms, statistics,
 * normalisation and backward of f32[16, 64, 32, 32], one thread).
 *
 * The new nodes are named `<bn>/<op>`, carry the batch norm's spans and sit
 * just before it; `pool` shares the constants of one rewrite.
 */
export function splitBatchNorm(b: GraphBuilder, bn: Node, pool: ConstantPool): SplitBatchNorm {
  const g = b.graph;
  const [x, scale, bias, runMean, runVar] = bn.inputs;
  const [y, nextMean = "", nextVar = ""] = bn.outputs;
  const start = g.nodes.length;
  const e = bnMath(b, bn, pool);
  const { mean, variance, axes } = batchStatistics(e.v(x));
  const momentum = (bn.attrs.momentum as number | undefined) ?? 0.9;
  bn.inputs = [x, scale, bias, mean.name, variance.name];
  bn.outputs = [y];
  bn.attrs = { epsilon: (bn.attrs.epsilon as number | undefined) ?? 1e-5 };
  // The statistics come before the node that reads them.
  const added = g.nodes.splice(start);
  g.nodes.splice(g.nodes.indexOf(bn), 0, ...added);
  return {
    node: bn.name,
    mean,
    variance,
    x: e.v(x),
    axes,
    momentum,
    runMean,
    runVar,
    nextMean,
    nextVar,
  };
}

/**
 * Split the train-mode batch norm `bn` (`splitBatchNorm`) and update its running statistics, each
 * update taking the name the node's output had and sitting just after the node:
 *
 *   next_mean = run_mean * momentum + mean * (1 - momentum)
 *   next_var  = run_var * momentum + var * w
 *
 * with `w` the variance's weight, by default ONNX's 1 - momentum (a training step passes
 * PyTorch's, compiler/train/batch_norm_state.ts). Nodes named `<bn>/<op>` with its spans.
 */
export function splitAndUpdate(
  b: GraphBuilder,
  bn: Node,
  pool: ConstantPool,
  varWeight?: (e: ExprGraph, s: SplitBatchNorm) => Expr,
): SplitBatchNorm {
  const g = b.graph;
  const s = splitBatchNorm(b, bn, pool);
  const at = g.nodes.length;
  const e = bnMath(b, bn, pool);
  const dtype = b.typeOf(s.runMean)!.dtype;
  const scalar = (v: number) => e.constant(tensor(dtype, [], [v]));
  const update = (run: string, batch: Expr, weight: () => Expr, name: string) => {
    if (!name) return;
    const v = e.v(run).mul(scalar(s.momentum)).add(batch.mul(weight()));
    // The update takes the name the node's output had.
    const producer = g.nodes.at(-1)!;
    g.types.set(name, g.types.get(v.name)!);
    g.types.delete(v.name);
    producer.outputs = [name];
  };
  const rest = () => scalar(1 - s.momentum);
  update(s.runMean, s.mean, rest, s.nextMean);
  update(s.runVar, s.variance, varWeight ? () => varWeight(e, s) : rest, s.nextVar);
  // After the batch norm, which the updates do not feed.
  const updates = g.nodes.splice(at);
  g.nodes.splice(g.nodes.indexOf(bn) + 1, 0, ...updates);
  return s;
}

/** The expression API over `b` for nodes named `<bn>/<op>` with the batch norm's spans. */
export function bnMath(b: GraphBuilder, bn: Node, pool: ConstantPool): ExprGraph {
  return exprGraph({
    node: (op, inputs, attrs, o) =>
      b.addNode(op, inputs, attrs, {
        ...o,
        name: `${bn.name}/${op.toLowerCase()}`,
        spans: bn.spans,
      }),
    constant: (t) => pool.get(t, (t) => b.initializer(`${bn.name}.c`, t)),
    typeOf: (name) => {
      const t = b.typeOf(name);
      if (!t) throw new Error(`internal: value ${name} has no type`);
      return t;
    },
  });
}

/** A new pool for the constants of one rewrite of `g`. */
export function constantPool(g: Graph): ConstantPool {
  return new ConstantPool((name) => g.initializers.has(name), { shareUniform: true });
}

/**
 * Conditions: train mode; a BatchNormalization of the default domain with
 * training_mode = 1. Each running statistic is updated by ONNX's rule above
 * (`[C]` values), its update
 * taking the name the node's output had.
 */
export const shareBatchStatistics = definePass(
  { id: "share_batch_statistics", modes: ["train"] },
  (g, ctx) => {
    let b: GraphBuilder | undefined;
    let pool: ConstantPool | undefined;
    let fired = 0;
    for (const bn of [...g.nodes]) {
      if (!isTrainBatchNorm(bn)) continue;
      b ??= new GraphBuilder(g);
      pool ??= constantPool(g);
      const before = { ...bn };
      splitAndUpdate(b, bn, pool);
      noteRewrite(ctx, [before]);
      fired++;
    }
    return fired > 0;
  },
);
