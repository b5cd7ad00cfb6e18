/**
 * Test helper: check an op's gradient rule against central finite
 * differences through the reference interpreter, as Caffe's
 * GradientChecker does. A one-node graph is built, the loss is
 * L = sum_k sum(out_k * w_k) with fixed random weights w_k, the backward
 * graph comes from `buildGradients`, and each analytic dL/dx_i is compared
 * with (L(x + eps e_i) - L(x - eps e_i)) / (2 eps).
 */
import type { AttrValue, Graph } from "../ir/graph.ts";
import { cloneGraph } from "../ir/graph.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { isFloat, type Tensor, tensor } from "../ir/tensor.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { buildGradients } from "./autodiff.ts";

/** One gradient check: an op applied to given inputs. */
export interface GradCase {
  /** Test label (defaults to the op). */
  name?: string;
  op: string;
  inputs: (Tensor | undefined)[];
  attrs?: Record<string, AttrValue>;
  /** Number of node outputs (default: all the shape rule gives). */
  nOutputs?: number;
  /** Outputs that enter the loss (default: every float output). */
  lossOutputs?: number[];
  /** Inputs to differentiate (default: every float input not in `constant`). */
  wrt?: number[];
  /** Inputs that are compile-time constants (shapes, axes, indices); integer inputs always are. */
  constant?: number[];
  /** Finite-difference step (default 1e-6 for f64, 1e-2 for f32). */
  eps?: number;
  rtol?: number;
  atol?: number;
}

/** A deterministic pseudo-random generator (xorshift32) in [0, 1). */
export function rng(seed = 1): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** A tensor of uniform values in [lo, hi). */
export function rand(
  shape: number[],
  opts: { dtype?: "f32" | "f64"; lo?: number; hi?: number; seed?: number } = {},
): Tensor {
  const { dtype = "f64", lo = -1, hi = 1, seed = 7 } = opts;
  const r = rng(seed + shape.reduce((a, b) => a * 31 + b, 17));
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(dtype, shape, Array.from({ length: n }, () => lo + (hi - lo) * r()));
}

/** What `gradCheck` found: the worst relative error per checked input. */
export interface GradCheckResult {
  graph: Graph;
  worst: { input: number; index: number; analytic: number; numeric: number }[];
}

/**
 * Compare analytic and numeric gradients of `c`; throws an Error naming the
 * first element out of tolerance.
 */
export function gradCheck(c: GradCase): GradCheckResult {
  const b = new GraphBuilder("grad_check");
  const constant = new Set(c.constant ?? []);
  const names: string[] = [];
  const feeds: Record<string, Tensor> = {};
  const wrt: number[] = [];
  c.inputs.forEach((t, i) => {
    if (!t) return names.push("");
    const isConst = constant.has(i) || !isFloat(t.dtype);
    if (isConst) return names.push(b.initializer(`in${i}`, t));
    const name = b.input(`in${i}`, { dtype: t.dtype, shape: [...t.shape] });
    feeds[name] = t;
    names.push(name);
    if (!c.wrt || c.wrt.includes(i)) wrt.push(i);
  });
  const outs = b.addNode(c.op, names, c.attrs ?? {}, { nOutputs: c.nOutputs });
  const lossOuts = c.lossOutputs ?? outs.map((_, k) => k).filter((k) => {
    const t = b.typeOf(outs[k])!;
    return isFloat(t.dtype);
  });
  let loss = "";
  for (const k of lossOuts) {
    const t = b.typeOf(outs[k])!;
    const shape = t.shape as number[];
    const w = b.initializer(`w${k}`, rand(shape, { dtype: t.dtype as "f64", seed: 100 + k }));
    const prod = b.addNode("Mul", [outs[k], w])[0];
    const s = b.addNode("ReduceSum", [prod], { keepdims: 0 })[0];
    loss = loss ? b.addNode("Add", [loss, s])[0] : s;
  }
  b.output(loss, "loss");
  const forward = cloneGraph(b.graph);
  const grads = buildGradients(b, "loss", wrt.map((i) => names[i]));
  for (const i of wrt) b.output(grads.get(names[i])!, `grad${i}`);
  const { outputs } = runGraph(b.graph, feeds);

  const lossAt = (f: Record<string, Tensor>): number =>
    runGraph(forward, f).outputs.loss.data[0] as number;
  const worst: GradCheckResult["worst"] = [];
  for (const i of wrt) {
    const x = c.inputs[i]!;
    const f64 = x.dtype === "f64";
    const eps = c.eps ?? (f64 ? 1e-6 : 1e-2);
    const rtol = c.rtol ?? (f64 ? 1e-4 : 2e-2);
    const atol = c.atol ?? (f64 ? 1e-6 : 2e-3);
    const analytic = outputs[`grad${i}`];
    if (analytic.data.length !== x.data.length) {
      throw new Error(
        `${
          c.name ?? c.op
        }: gradient of input ${i} has shape [${analytic.shape}], expected [${x.shape}]`,
      );
    }
    let w = { input: i, index: -1, analytic: 0, numeric: 0 };
    let wErr = -1;
    for (let e = 0; e < x.data.length; e++) {
      const at = (delta: number) => {
        const data = (x.data as Float64Array).slice();
        data[e] += delta;
        return lossAt({ ...feeds, [names[i]]: { ...x, data } });
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      const a = analytic.data[e] as number;
      const err = Math.abs(a - numeric) - rtol * Math.abs(numeric);
      if (err > atol) {
        throw new Error(
          `${
            c.name ?? c.op
          }: d loss / d input ${i} element ${e} is ${a} by the rule but ${numeric} by finite differences`,
        );
      }
      if (err > wErr) [wErr, w] = [err, { input: i, index: e, analytic: a, numeric }];
    }
    worst.push(w);
  }
  return { graph: b.graph, worst };
}
