/**
 * Built-in recurrent layers: rnn, lstm and gru, with PyTorch's parameters
 * (`weight_ih_l0` [gates * hidden, input], `weight_hh_l0`, `bias_ih_l0`,
 * `bias_hh_l0`, `..._reverse` for the backward direction) and PyTorch's
 * results: `(output, h_n)`, or `(output, (h_n, c_n))` for lstm.
 *
 * Each layer of the stack lowers to one ONNX RNN/LSTM/GRU node (layout 0:
 * onnxruntime 1.x rejects layout 1 for all three, so batch-first inputs are
 * transposed around the nodes). ONNX wants W [dirs, gates * hidden, input],
 * R [dirs, gates * hidden, hidden] and B [dirs, 2 * gates * hidden] with its
 * own gate order; they are built from the PyTorch-named parameters with
 * Gather / Concat / Unsqueeze, which constant folding turns into single
 * initializers in eval graphs, while the parameters keep PyTorch's names
 * and layout (a state dict loads by name).
 */
import { formatType } from "../../ir/graph.ts";
import { table, tensor } from "../../ir/tensor.ts";
import type { Ctx } from "../context.ts";
import { num, type ParamSig } from "../signature.ts";
import { ERROR, type TensorValue, type Value } from "../values.ts";
import type { LayerDef } from "./layers.ts";
import { diag } from "../../diagnostics.ts";

interface Kind {
  /** Layer name ("lstm") and ONNX op ("LSTM"). */
  name: string;
  op: string;
  /** Gates per cell. */
  gates: number;
  /**
   * ONNX's gate k is PyTorch's gate order[k]: LSTM torch (i, f, g, o) to
   * ONNX (i, o, f, c); GRU torch (r, z, n) to ONNX (z, r, h).
   */
  order: number[];
  /** Takes a cell state (c0:, and c_n in its result). */
  cell: boolean;
}

const KINDS: Record<string, Kind> = {
  rnn: { name: "rnn", op: "RNN", gates: 1, order: [0], cell: false },
  lstm: { name: "lstm", op: "LSTM", gates: 4, order: [0, 3, 1, 2], cell: true },
  gru: { name: "gru", op: "GRU", gates: 3, order: [1, 0, 2], cell: false },
};

const NONLINEARITIES: Record<string, string> = { tanh: "Tanh", relu: "Relu" };

const T: Value = { k: "bool", v: true };
const F: Value = { k: "bool", v: false };
const one: Value = { k: "int", v: 1 };

function sig(withNonlinearity: boolean): ParamSig[] {
  return [
    { name: "hidden", type: "int" },
    { name: "layers", type: "int", default: one },
    { name: "bidirectional", type: "bool", default: F },
    ...(withNonlinearity
      ? [{ name: "nonlinearity", type: "str" as const, default: { k: "str", v: "tanh" } as Value }]
      : []),
    { name: "bias", type: "bool", default: T },
    { name: "batch_first", type: "bool", default: T },
  ];
}

const i64 = (v: number[]) => tensor("i64", [v.length], v);

/** The gate blocks of a [gates * hidden, ...] tensor reordered from PyTorch's order to ONNX's. */
function reorder(ctx: Ctx, k: Kind, hidden: number, v: TensorValue, name: string) {
  if (k.gates === 1) return v;
  // Row i of the result is row j of gate block order[i / hidden] of v.
  const rows = table(
    "i64",
    [k.order.length * hidden],
    "the gate order",
    (i) => k.order[Math.floor(i / hidden)] * hidden + (i % hidden),
  );
  const r = ctx.op("Gather", [v.v, ctx.constant(rows).v], { axis: 0 }, { name });
  return r?.[0];
}

function unsqueeze0(ctx: Ctx, v: TensorValue, name: string) {
  return ctx.op("Unsqueeze", [v.v, ctx.constant(i64([0])).v], {}, { name })?.[0];
}

/** Concat along axis 0; a single part is returned as it is. */
function concat0(ctx: Ctx, parts: TensorValue[], name: string) {
  if (parts.length === 1) return parts[0];
  return ctx.op("Concat", parts.map((p) => p.v), { axis: 0 }, { name })?.[0];
}

/** Rows [from, to) of a tensor along axis 0 (the states of one layer). */
function rows(ctx: Ctx, v: TensorValue, from: number, to: number, name: string) {
  if (from === 0 && v.t.shape[0] === to) return v;
  return ctx.op(
    "Slice",
    [v.v, ctx.constant(i64([from])).v, ctx.constant(i64([to])).v, ctx.constant(i64([0])).v],
    {},
    { name },
  )?.[0];
}

/** Check a named initial state against [layers * dirs, N, hidden]. */
function checkState(
  ctx: Ctx,
  k: Kind,
  label: string,
  s: TensorValue,
  x: TensorValue,
  n: number | string,
  want: number,
  hidden: number,
): boolean {
  const [a, b, c] = s.t.shape;
  const bad = s.t.shape.length !== 3 || a !== want || c !== hidden ||
    (typeof b === "number" && typeof n === "number" && b !== n) ||
    (typeof b === "string" && typeof n === "string" && b !== n);
  if (bad || s.t.dtype !== x.t.dtype) {
    ctx.error(
      ...diag(
        "DLM0203",
        `${k.name}()`,
        `'${label}:' of type ${x.t.dtype}[${want}, ${n}, ${hidden}] (layers * directions, batch, hidden)`,
        formatType(s.t),
      ),
    );
    return false;
  }
  return true;
}

function recurrentLayer(k: Kind): LayerDef {
  const gatesText = k.gates === 1
    ? ""
    : ` Gates in PyTorch's order (${k.cell ? "i, f, g, o" : "r, z, n"}).`;
  return {
    name: k.name,
    doc: `${
      { rnn: "Elman RNN (tanh or relu)", lstm: "LSTM", gru: "GRU" }[k.name]
    } over x [N, T, C] (batch_first, the default) or [T, N, C]; named inputs h0:${
      k.cell ? ", c0:" : ""
    } ([layers * dirs, N, hidden]) and lengths: (i32 [N]). Gives ${
      k.cell ? "(output, (h_n, c_n))" : "(output, h_n)"
    } as PyTorch: output [N, T, dirs * hidden], h_n [layers * dirs, N, hidden]. Parameters weight_ih_l0 [${
      k.gates === 1 ? "" : `${k.gates} * `
    }hidden, C], weight_hh_l0, bias_ih_l0, bias_hh_l0 (and _reverse), ~ U(-1/sqrt(hidden), 1/sqrt(hidden)).${gatesText}`,
    sig: sig(k.name === "rnn"),
    namedInputs: k.cell ? ["h0", "c0", "lengths"] : ["h0", "lengths"],
    apply(ctx, args, [x], prefix, named) {
      const hidden = num(args.hidden);
      const layers = num(args.layers, 1);
      const dirs = args.bidirectional.k === "bool" && args.bidirectional.v ? 2 : 1;
      const hasBias = args.bias.k === "bool" && args.bias.v;
      const batchFirst = args.batch_first.k === "bool" && args.batch_first.v;
      if (hidden <= 0) {
        return ctx.error(
          ...diag("DLM0210", `${k.name}()`, "a positive hidden size", hidden),
          ctx.argSpan("hidden"),
        );
      }
      if (layers <= 0) {
        return ctx.error(
          ...diag("DLM0210", `${k.name}()`, "a positive number of layers", layers),
          ctx.argSpan("layers"),
        );
      }
      let activation: string | undefined;
      if (args.nonlinearity?.k === "str") {
        activation = NONLINEARITIES[args.nonlinearity.v];
        if (!activation) {
          return ctx.error(
            ...diag(
              "DLM0214",
              `${k.name}() nonlinearity`,
              '"tanh" or "relu"',
              `${args.nonlinearity.v}`,
            ),
            ctx.argSpan("nonlinearity"),
          );
        }
      }
      const layout = batchFirst ? "[N, T, C]" : "[T, N, C]";
      if (x.t.shape.length !== 3 || !["f16", "f32", "f64"].includes(x.t.dtype)) {
        return ctx.error(
          ...diag(
            "DLM0203",
            `${k.name}()`,
            `a 3-D float input ${layout}${batchFirst ? "" : " (batch_first: false)"}`,
            formatType(x.t),
          ),
        );
      }
      const input = x.t.shape[2];
      if (typeof input !== "number") {
        return ctx.error(
          ...diag(
            "DLM0203",
            `${k.name}()`,
            "a known number of input features (dim 2)",
            formatType(x.t),
          ),
        );
      }
      const n = x.t.shape[batchFirst ? 0 : 1];
      const h0 = named.h0, c0 = named.c0;
      if (h0 && !checkState(ctx, k, "h0", h0, x, n, layers * dirs, hidden)) return ERROR;
      if (c0 && !checkState(ctx, k, "c0", c0, x, n, layers * dirs, hidden)) return ERROR;
      let lens: TensorValue | undefined = named.lengths;
      if (lens) {
        const ln = lens.t.shape[0];
        if (
          lens.t.shape.length !== 1 || !["i32", "i64"].includes(lens.t.dtype) ||
          (typeof ln === "number" && typeof n === "number" && ln !== n)
        ) {
          return ctx.error(
            ...diag(
              "DLM0203",
              `${k.name}()`,
              `'lengths:' of type i32[${n}] (one length per sequence)`,
              formatType(lens.t),
            ),
          );
        }
        // ONNX's sequence_lens is i32.
        if (lens.t.dtype === "i64") {
          lens = ctx.op("Cast", [lens.v], { to: 6 }, { name: `${prefix}.lengths` })?.[0];
          if (!lens) return ERROR;
        }
      }

      // PyTorch's U(-1/sqrt(hidden), 1/sqrt(hidden)) for every parameter.
      const bound = 1 / Math.sqrt(hidden);
      const init = { kind: "uniform" as const, low: -bound, high: bound };
      const gh = k.gates * hidden;

      let seq: TensorValue | undefined = x;
      if (batchFirst) {
        seq = ctx.op("Transpose", [x.v], { perm: [1, 0, 2] }, { name: `${prefix}.time_major` })
          ?.[0];
      }
      const hs: TensorValue[] = [], cs: TensorValue[] = [];
      for (let l = 0; l < layers; l++) {
        const inSize = l === 0 ? input : dirs * hidden;
        const ws: TensorValue[] = [], rs: TensorValue[] = [], bs: TensorValue[] = [];
        for (let d = 0; d < dirs; d++) {
          const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
          const opts = { layer: k.name };
          const wih = ctx.param(prefix, `weight_ih${sfx}`, [gh, inSize], init, opts);
          const whh = ctx.param(prefix, `weight_hh${sfx}`, [gh, hidden], init, opts);
          const bih = hasBias ? ctx.param(prefix, `bias_ih${sfx}`, [gh], init, opts) : undefined;
          const bhh = hasBias ? ctx.param(prefix, `bias_hh${sfx}`, [gh], init, opts) : undefined;
          if (!wih || !whh || (hasBias && (!bih || !bhh))) return ERROR;
          const w = reorder(ctx, k, hidden, wih, `${prefix}.W${sfx}`);
          const r = reorder(ctx, k, hidden, whh, `${prefix}.R${sfx}`);
          const w3 = w && unsqueeze0(ctx, w, `${prefix}.W${sfx}`);
          const r3 = r && unsqueeze0(ctx, r, `${prefix}.R${sfx}`);
          if (!w3 || !r3) return ERROR;
          ws.push(w3);
          rs.push(r3);
          if (bih && bhh) {
            const bi = reorder(ctx, k, hidden, bih, `${prefix}.Wb${sfx}`);
            const bh = reorder(ctx, k, hidden, bhh, `${prefix}.Rb${sfx}`);
            const b = bi && bh && concat0(ctx, [bi, bh], `${prefix}.B${sfx}`);
            const b2 = b && unsqueeze0(ctx, b, `${prefix}.B${sfx}`);
            if (!b2) return ERROR;
            bs.push(b2);
          }
        }
        const W = concat0(ctx, ws, `${prefix}.W_l${l}`);
        const R = concat0(ctx, rs, `${prefix}.R_l${l}`);
        const B = bs.length ? concat0(ctx, bs, `${prefix}.B_l${l}`) : undefined;
        const hInit = h0 && rows(ctx, h0, l * dirs, (l + 1) * dirs, `${prefix}.h0_l${l}`);
        const cInit = c0 && rows(ctx, c0, l * dirs, (l + 1) * dirs, `${prefix}.c0_l${l}`);
        if (!seq || !W || !R || (bs.length && !B) || (h0 && !hInit) || (c0 && !cInit)) {
          return ERROR;
        }
        const ins = [seq.v, W.v, R.v, B?.v ?? "", lens?.v ?? "", hInit?.v ?? ""];
        if (k.cell) ins.push(cInit?.v ?? "");
        while (ins[ins.length - 1] === "") ins.pop();
        const attrs: Record<string, string | number | string[]> = {
          hidden_size: hidden,
          direction: dirs === 2 ? "bidirectional" : "forward",
        };
        if (activation && activation !== "Tanh") attrs.activations = Array(dirs).fill(activation);
        // PyTorch applies the reset gate after the recurrent product (and its bias).
        if (k.name === "gru") attrs.linear_before_reset = 1;
        const out = ctx.op(k.op, ins, attrs, {
          name: `${prefix}.l${l}`,
          nOutputs: k.cell ? 3 : 2,
        });
        if (!out) return ERROR;
        hs.push(out[1]);
        if (k.cell) cs.push(out[2]);
        // Y [T, dirs, N, H] -> [T, N, dirs * H] (or [N, T, dirs * H] after the last layer).
        const last = l === layers - 1;
        const perm = last && batchFirst ? [2, 0, 1, 3] : [0, 2, 1, 3];
        const yt = ctx.op("Transpose", [out[0].v], { perm }, { name: `${prefix}.y_l${l}` });
        const shape = ctx.constant(i64([0, 0, dirs * hidden]));
        seq = yt && ctx.op("Reshape", [yt[0].v, shape.v], {}, { name: `${prefix}.out_l${l}` })
          ?.[0];
      }
      const hn = concat0(ctx, hs, `${prefix}.h_n`);
      const cn = k.cell ? concat0(ctx, cs, `${prefix}.c_n`) : undefined;
      if (!seq || !hn || (k.cell && !cn)) return ERROR;
      return {
        k: "tuple",
        items: [seq, cn ? { k: "tuple", items: [hn, cn] } : hn],
      };
    },
  };
}

/** rnn, lstm and gru by name. */
export const RECURRENT_LAYERS: Record<string, LayerDef> = Object.fromEntries(
  Object.values(KINDS).map((k) => {
    const def = recurrentLayer(k);
    // x, and nothing else by position: initial states and lengths come by name.
    def.inputs = 1;
    return [def.name, def];
  }),
);
