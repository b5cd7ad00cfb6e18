/**
 * Training through recurrent layers: before differentiation, every RNN, GRU
 * and LSTM node is replaced by the same computation written with plain ops
 * (MatMul, Sigmoid, Tanh, Mul, Add, Slice, Squeeze, Concat), unrolled over the
 * sequence. Those ops have gradient rules, so backpropagation through time
 * falls out of the ordinary autodiff, and the training step stays plain ONNX.
 * The evaluation model keeps the single fused node.
 *
 * Semantics follow the ONNX operators (opset 14) as the reference kernels
 * implement them: gate orders i,o,f,c (LSTM) and z,r,h (GRU), both
 * `linear_before_reset` forms, Tanh/Relu/Sigmoid activations, forward,
 * reverse and bidirectional directions, `sequence_lens` (a sequence's
 * outputs past its length are zero and its final state is the state at its
 * last step) and initial states. Unrolling needs a known sequence length;
 * peepholes, `clip`, `input_forget` and `layout` 1 are not expanded (dlm's
 * layers never emit them) and get a diagnostic.
 */
import type { GraphBuilder } from "../ops/builder.ts";
import type { Node, Span } from "../ir/graph.ts";
import { type DType, tensor } from "../ir/tensor.ts";
import { diag, DlmError, error } from "../diagnostics.ts";

const RECURRENT = new Set(["RNN", "GRU", "LSTM"]);

const isRecurrent = (n: Node) => !n.domain && RECURRENT.has(n.op);

/**
 * Replace every RNN/GRU/LSTM node of `b.graph` by its unrolled form, in place
 * (node order stays topological; the original output names are kept).
 * Returns the number of nodes expanded.
 */
export function expandRecurrent(b: GraphBuilder): number {
  const g = b.graph;
  if (!g.nodes.some(isRecurrent)) return 0;
  const old = g.nodes;
  g.nodes = [];
  let count = 0;
  for (const n of old) {
    if (!isRecurrent(n)) {
      g.nodes.push(n);
      continue;
    }
    const outs = new Unroller(b, n).run();
    n.outputs.forEach((o, k) => {
      if (!o) return;
      // The node's output keeps its name (later nodes and graph outputs read it).
      const [tmp] = b.addNode("Identity", [outs[k]], {}, { name: `${n.name}.out`, spans: n.spans });
      g.nodes[g.nodes.length - 1].outputs = [o];
      g.types.delete(tmp);
    });
    count++;
  }
  return count;
}

class Unroller {
  readonly b: GraphBuilder;
  readonly n: Node;
  readonly spans?: Span[];
  readonly dtype: DType;
  #consts = new Map<string, string>();

  constructor(b: GraphBuilder, n: Node) {
    this.b = b;
    this.n = n;
    this.spans = n.spans;
    this.dtype = b.typeOf(n.inputs[0])!.dtype;
  }

  fail(msg: string, needsDim?: string): never {
    const d = error(...diag("DLM0417", `${this.n.op} node '${this.n.name}'`, msg), this.spans?.[0]);
    if (needsDim) d.needsDim = needsDim;
    throw new DlmError(d);
  }

  op(op: string, inputs: string[], attrs: Record<string, number | number[]> = {}): string {
    return this.b.addNode(op, inputs, attrs, {
      name: `${this.n.name}.${op.toLowerCase()}`,
      spans: this.spans,
    })[0];
  }

  i64(v: number[] | number): string {
    const key = `i:${JSON.stringify(v)}`;
    let name = this.#consts.get(key);
    if (!name) {
      const t = Array.isArray(v) ? tensor("i64", [v.length], v) : tensor("i64", [], [v]);
      name = this.b.initializer(`${this.n.name}.const`, t);
      this.#consts.set(key, name);
    }
    return name;
  }

  scalar(v: number): string {
    const key = `f:${v}`;
    let name = this.#consts.get(key);
    if (!name) {
      name = this.b.initializer(`${this.n.name}.const`, tensor(this.dtype, [], [v]));
      this.#consts.set(key, name);
    }
    return name;
  }

  /** x[index] along axis 0 (the axis removed); Slice and Squeeze differentiate with symbolic dims. */
  pick(x: string, index: number): string {
    const s = this.op("Slice", [x, this.i64([index]), this.i64([index + 1]), this.i64([0])]);
    return this.op("Squeeze", [s, this.i64([0])]);
  }

  /** Columns [from, to) of the last axis. */
  cols(x: string, from: number, to: number): string {
    return this.op("Slice", [x, this.i64([from]), this.i64([to]), this.i64([-1])]);
  }

  add(a: string | undefined, b: string | undefined): string | undefined {
    if (!a) return b;
    if (!b) return a;
    return this.op("Add", [a, b]);
  }

  mul(a: string | undefined, b: string | undefined): string | undefined {
    return a && b ? this.op("Mul", [a, b]) : undefined;
  }

  act(name: string, x: string): string {
    switch (name) {
      case "Sigmoid":
      case "Tanh":
      case "Relu":
        return this.op(name, [x]);
      default:
        this.fail(`activation ${name} is not supported for training`);
    }
  }

  run(): string[] {
    const n = this.n, a = n.attrs;
    const x = n.inputs[0];
    const xt = this.b.typeOf(x)!;
    if ((a.layout ?? 0) !== 0) this.fail("layout 1 is not supported");
    if (a.clip !== undefined) this.fail("clip is not supported");
    if (n.op === "LSTM" && (a.input_forget ?? 0) !== 0) this.fail("input_forget is not supported");
    if (n.op === "LSTM" && n.inputs[7]) this.fail("peepholes are not supported");
    const T = xt.shape[0];
    if (typeof T !== "number") {
      this.fail(
        `training unrolls it over time, which needs a known sequence length (the input is [${
          xt.shape.join(", ")
        }]); ${
          /^[A-Za-z_]\w*$/.test(String(T))
            ? `fix it with --dim ${T}=<length>, or declare the input with a fixed length`
            : "declare the input with a fixed length"
        }`,
        /^[A-Za-z_]\w*$/.test(String(T)) ? String(T) : undefined,
      );
    }
    const gates = n.op === "LSTM" ? 4 : n.op === "GRU" ? 3 : 1;
    const hidden = this.b.typeOf(n.inputs[2])!.shape[2] as number;
    const direction = (a.direction as string | undefined) ?? "forward";
    const dirs = direction === "bidirectional" ? 2 : 1;
    const perDir = gates === 4 ? 3 : gates === 3 ? 2 : 1;
    const defaults = gates === 4
      ? ["Sigmoid", "Tanh", "Tanh"]
      : gates === 3
      ? ["Sigmoid", "Tanh"]
      : ["Tanh"];
    const acts = (a.activations as unknown as string[] | undefined) ?? [];
    const [W, R, B, lens, h0, c0] = [1, 2, 3, 4, 5, 6].map((k) => n.inputs[k] || undefined);

    // mask[t]: 1 for sequences still running at step t, as [N, 1].
    let masks: string[] | undefined;
    if (lens) {
      const l64 = this.op("Cast", [lens], { to: 7 });
      const to = { f16: 10, f32: 1, f64: 11 }[this.dtype as "f32"] ?? 1;
      masks = Array.from({ length: T }, (_, t) => {
        const m = this.op("Cast", [this.op("Less", [this.i64(t), l64])], { to });
        return this.op("Unsqueeze", [m, this.i64([1])]);
      });
    }

    const ys: string[][] = [], hs: string[] = [], cs: string[] = [];
    for (let d = 0; d < dirs; d++) {
      const act = (k: number) => acts[d * perDir + k] ?? defaults[k];
      const gh = gates * hidden;
      const w = this.op("Transpose", [this.pick(W!, d)], { perm: [1, 0] }); // [C, gH]
      const r = this.op("Transpose", [this.pick(R!, d)], { perm: [1, 0] }); // [H, gH]
      const bd = B && this.pick(B, d);
      const wb = bd && this.cols(bd, 0, gh), rb = bd && this.cols(bd, gh, 2 * gh);
      // The input projection of every step at once: [T, N, gH].
      let xw = this.op("MatMul", [x, w]);
      // LSTM and RNN add both biases to it; GRU keeps the recurrent one apart (reset gate).
      xw = this.add(xw, gates === 3 ? wb : this.add(wb, rb))!;
      let h = h0 && this.pick(h0, d);
      let c = c0 && this.pick(c0, d);
      const y: string[] = new Array(T);
      const order = d === 1 || direction === "reverse"
        ? Array.from({ length: T }, (_, i) => T - 1 - i)
        : Array.from({ length: T }, (_, i) => i);
      for (const t of order) {
        const xg = this.pick(xw, t); // [N, gH]
        const hr = h && this.op("MatMul", [h, r]); // [N, gH]
        let hNew: string, cNew: string | undefined;
        if (gates === 1) {
          hNew = this.act(act(0), this.add(xg, hr)!);
        } else if (gates === 4) {
          const z = this.add(xg, hr)!;
          const part = (k: number) => this.cols(z, k * hidden, (k + 1) * hidden);
          const i = this.act(act(0), part(0));
          const o = this.act(act(0), part(1));
          const f = this.act(act(0), part(2));
          const cc = this.act(act(1), part(3));
          cNew = this.add(this.mul(f, c), this.mul(i, cc))!;
          hNew = this.mul(o, this.act(act(2), cNew))!;
        } else {
          const xpart = (k: number) => this.cols(xg, k * hidden, (k + 1) * hidden);
          const rpart = (v: string | undefined, k: number) =>
            v && this.cols(v, k * hidden, (k + 1) * hidden);
          const hrb = this.add(hr, rb); // H R^T + Rb, [N, 3H] (or Rb alone when H is zero)
          const zg = this.act(act(0), this.add(xpart(0), rpart(hrb, 0))!);
          const rg = this.act(act(0), this.add(xpart(1), rpart(hrb, 1))!);
          let cand: string;
          if (a.linear_before_reset) {
            cand = this.add(xpart(2), this.mul(rg, rpart(hrb, 2)))!;
          } else {
            const rh = this.mul(rg, h);
            const rhr = rh && this.op("MatMul", [rh, this.cols(r, 2 * hidden, 3 * hidden)]);
            cand = this.add(this.add(xpart(2), rhr), rb && this.cols(rb, 2 * hidden, 3 * hidden))!;
          }
          const hc = this.act(act(1), cand);
          // H' = (1 - z) * h~ + z * H
          const one = this.op("Sub", [this.scalar(1), zg]);
          hNew = this.add(this.mul(one, hc), this.mul(zg, h))!;
        }
        if (masks) {
          // Past a sequence's end: output zero, state unchanged.
          const m = masks[t];
          const keep = this.op("Sub", [this.scalar(1), m]);
          y[t] = this.op("Mul", [hNew, m]);
          hNew = this.add(y[t], this.mul(keep, h))!;
          if (cNew) cNew = this.add(this.op("Mul", [cNew, m]), this.mul(keep, c))!;
        } else {
          y[t] = hNew;
        }
        h = hNew;
        c = cNew;
      }
      ys.push(y);
      hs.push(h!);
      if (gates === 4) cs.push(c!);
    }
    // Y [T, dirs, N, H], Y_h and Y_c [dirs, N, H].
    const steps = Array.from({ length: T }, (_, t) => {
      const perDirection = ys.map((y) => this.op("Unsqueeze", [y[t], this.i64([0, 1])]));
      return perDirection.length === 1
        ? perDirection[0]
        : this.op("Concat", perDirection, { axis: 1 });
    });
    const Y = steps.length === 1 ? steps[0] : this.op("Concat", steps, { axis: 0 });
    const stack = (vs: string[]) => {
      const u = vs.map((v) => this.op("Unsqueeze", [v, this.i64([0])]));
      return u.length === 1 ? u[0] : this.op("Concat", u, { axis: 0 });
    };
    const out = [Y, stack(hs)];
    if (gates === 4) out.push(stack(cs));
    return out;
  }
}
