/**
 * What RNN, GRU and LSTM share: the layouts, directions, sequence lengths,
 * activation functions, and a time loop that calls one cell per (step, batch).
 *
 * Layout 0: X [seq, batch, in], Y [seq, dirs, batch, H], states [dirs, batch, H].
 * Layout 1: X [batch, seq, in], Y [batch, seq, dirs, H], states [batch, dirs, H].
 * A reverse direction walks t = len - 1 .. 0. Steps past a batch element's
 * sequence length leave Y at 0 and the state unchanged.
 */
import type { AttrValue } from "../../../compiler/ir/graph.ts";
import type { Tensor } from "../../../compiler/ir/tensor.ts";
import {
  attrFloat,
  attrInt,
  attrInts,
  attrString,
  attrStrings,
  finish,
  input,
  intsOf,
  kernelFail,
  kernelFailIf,
  numbers,
  scratch,
} from "../util.ts";

export type Activation = (x: number) => number;

/** Parameters that the activations named in `activations` consume, in order. */
const TAKES: Record<string, [alpha?: number, beta?: number]> = {
  affine: [1, 0],
  leakyrelu: [0.01],
  thresholdedrelu: [1],
  scaledtanh: [1, 1],
  hardsigmoid: [0.2, 0.5],
  elu: [1],
};

/** The activation functions of the attributes, or `defaults` for each direction. */
export function activations(
  attrs: Record<string, AttrValue>,
  defaults: string[],
  dirs: number,
): Activation[] {
  const names = attrStrings(attrs, "activations") ??
    Array.from({ length: dirs }, () => defaults).flat();
  const alphas = [...(attrInts(attrs, "activation_alpha") ?? [])];
  const betas = [...(attrInts(attrs, "activation_beta") ?? [])];
  return names.map((n) => {
    const key = n.toLowerCase();
    const [da, db] = TAKES[key] ?? [];
    const a = da !== undefined ? alphas.shift() ?? da : 0;
    const b = db !== undefined ? betas.shift() ?? db : 0;
    switch (key) {
      case "relu":
        return (x: number) => Math.max(0, x);
      case "tanh":
        return Math.tanh;
      case "sigmoid":
        return (x: number) => 1 / (1 + Math.exp(-x));
      case "affine":
        return (x: number) => a * x + b;
      case "leakyrelu":
        return (x: number) => (x >= 0 ? x : a * x);
      case "thresholdedrelu":
        return (x: number) => (x >= a ? x : 0);
      case "scaledtanh":
        return (x: number) => a * Math.tanh(b * x);
      case "hardsigmoid":
        return (x: number) => Math.max(0, Math.min(1, a * x + b));
      case "elu":
        return (x: number) => (x >= 0 ? x : a * Math.expm1(x));
      case "softsign":
        return (x: number) => x / (1 + Math.abs(x));
      case "softplus":
        return (x: number) => Math.log1p(Math.exp(x));
      default:
        return kernelFail(`Unknown activation "${n}"`);
    }
  });
}

/** The decoded common inputs of a recurrent op. */
export interface Recurrent {
  seq: number;
  batch: number;
  inSize: number;
  hidden: number;
  dirs: number;
  /** Direction d runs backwards in time. */
  reverse: boolean[];
  lens: number[];
  /** x(t, b) as a view of `inSize` numbers. */
  x: (t: number, b: number) => Float64Array;
  /** W[d] as rows of `inSize`, R[d] as rows of `hidden`, B[d] (or zeros). */
  W: Float64Array[];
  R: Float64Array[];
  B: Float64Array[];
  /** Clip applied to pre-activations (Infinity when absent). */
  clip: number;
  layout: number;
  dtype: Tensor["dtype"];
  /** The initial state from input `i` ([dirs, batch, H] in layout 0), zeros when absent. */
  state: (i: number) => Float64Array[];
}

/** Decode X, W, R, B, sequence_lens and the common attributes (`gates` gates per cell). */
export function recurrent(
  inputs: (Tensor | undefined)[],
  attrs: Record<string, AttrValue>,
  gates: number,
): Recurrent {
  const X = input(inputs, 0, "X"), Wt = input(inputs, 1, "W"), Rt = input(inputs, 2, "R");
  const layout = attrInt(attrs, "layout", 0);
  const [seq, batch, inSize] = layout ? [X.shape[1], X.shape[0], X.shape[2]] : X.shape;
  const direction = attrString(attrs, "direction", "forward");
  const dirs = direction === "bidirectional" ? 2 : 1;
  const hidden = attrInt(attrs, "hidden_size", Rt.shape[2]);
  kernelFailIf(
    Wt.shape[0] !== dirs || Wt.shape[1] !== gates * hidden || Wt.shape[2] !== inSize,
    `Expected W of shape [${dirs}, ${gates * hidden}, ${inSize}], found [${Wt.shape}]`,
  );
  const xv = numbers(X), wv = numbers(Wt), rv = numbers(Rt);
  const bv = inputs[3] ? numbers(inputs[3]) : undefined;
  const lens = inputs[4] ? intsOf(inputs[4]) : new Array(batch).fill(seq);
  const W = [], R = [], B = [];
  for (let d = 0; d < dirs; d++) {
    W.push(
      Float64Array.from(
        wv.subarray(d * gates * hidden * inSize, (d + 1) * gates * hidden * inSize),
      ),
    );
    R.push(
      Float64Array.from(
        rv.subarray(d * gates * hidden * hidden, (d + 1) * gates * hidden * hidden),
      ),
    );
    B.push(
      bv
        ? Float64Array.from(bv.subarray(d * 2 * gates * hidden, (d + 1) * 2 * gates * hidden))
        : new Float64Array(2 * gates * hidden),
    );
  }
  const x = (t: number, b: number) => {
    const off = layout ? (b * seq + t) * inSize : (t * batch + b) * inSize;
    return Float64Array.from(xv.subarray(off, off + inSize));
  };
  const state = (i: number) => {
    const s = inputs[i];
    const v = s ? numbers(s) : undefined;
    return Array.from({ length: dirs * batch }, (_, k) => {
      const d = Math.floor(k / batch), b = k % batch;
      const off = layout ? (b * dirs + d) * hidden : (d * batch + b) * hidden;
      return v ? Float64Array.from(v.subarray(off, off + hidden)) : new Float64Array(hidden);
    });
  };
  const clip = attrs.clip === undefined ? Infinity : attrFloat(attrs, "clip", Infinity);
  const reverse = direction === "reverse" ? [true] : dirs === 2 ? [false, true] : [false];
  return {
    seq,
    batch,
    inSize,
    hidden,
    dirs,
    reverse,
    lens,
    x,
    W,
    R,
    B,
    clip,
    layout,
    dtype: X.dtype,
    state,
  };
}

/** rows [g*H, (g+1)*H) of M (rows of `n`) times v, plus bias b[g*H..] (if given). */
export function gateMatVec(
  M: Float64Array,
  n: number,
  g: number,
  H: number,
  v: Float64Array,
  out: Float64Array,
): void {
  for (let h = 0; h < H; h++) {
    let s = 0;
    const row = (g * H + h) * n;
    for (let k = 0; k < n; k++) s += M[row + k] * v[k];
    out[h] += s;
  }
}

/**
 * Run the time loop. `cell(d, b, x, states)` returns the new states; the
 * first state is the hidden state written to Y. Returns Y and the final
 * states, shaped for the layout.
 */
export function runRecurrent(
  r: Recurrent,
  initial: Float64Array[][],
  cell: (d: number, x: Float64Array, states: Float64Array[]) => Float64Array[],
): Tensor[] {
  const { seq, batch, hidden: H, dirs } = r;
  const Y = new Float64Array(seq * dirs * batch * H);
  const states: Float64Array[][] = initial.map((s) => s.map((v) => Float64Array.from(v)));
  for (let d = 0; d < dirs; d++) {
    for (let b = 0; b < batch; b++) {
      const len = r.lens[b];
      for (let s = 0; s < len; s++) {
        const t = r.reverse[d] ? len - 1 - s : s;
        const k = d * batch + b;
        const next = cell(d, r.x(t, b), states.map((st) => st[k]));
        next.forEach((v, i) => (states[i][k] = v));
        const yOff = r.layout ? ((b * seq + t) * dirs + d) * H : ((t * dirs + d) * batch + b) * H;
        Y.set(next[0], yOff);
      }
    }
  }
  const yShape = r.layout ? [batch, seq, dirs, H] : [seq, dirs, batch, H];
  const sShape = r.layout ? [batch, dirs, H] : [dirs, batch, H];
  const pack = (list: Float64Array[]) => {
    const out = scratch(r.dtype, dirs * batch * H);
    list.forEach((v, k) => {
      const d = Math.floor(k / batch), b = k % batch;
      const off = r.layout ? (b * dirs + d) * H : (d * batch + b) * H;
      for (let h = 0; h < H; h++) out[off + h] = v[h];
    });
    return finish(r.dtype, sShape, out);
  };
  const y = scratch(r.dtype, Y.length);
  for (let i = 0; i < Y.length; i++) y[i] = Y[i];
  return [finish(r.dtype, yShape, y), ...states.map(pack)];
}
