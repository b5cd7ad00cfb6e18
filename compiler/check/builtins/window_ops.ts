/**
 * Window attention helpers for the Swin Transformer (Liu et al., 2021):
 * the constant relative-position index of a window, the constant attention
 * mask of shifted windows, and the learned relative position bias table.
 * Everything that depends only on the window and the (concrete) feature map
 * size is computed here at compile time and becomes an initializer; the
 * window partition, cyclic shift and attention itself are written in .dlm
 * (lang-examples/swin.dlm).
 *
 * Layouts follow torchvision's swin_t: windows are numbered row-major over
 * the feature map, tokens row-major inside a window, and the table is
 * [(2 Mh - 1) (2 Mw - 1), heads].
 */
import { formatType } from "../../ir/graph.ts";
import { table, type Tensor } from "../../ir/tensor.ts";
import { dimEquals } from "../../ops/dims.ts";
import type { InitSpec } from "../../ir/init.ts";
import { expandInts, num, positivePair } from "../signature.ts";
import { ERROR, type Value } from "../values.ts";
import type { FnDef } from "./functions.ts";
import type { LayerDef } from "./layers.ts";
import { fl, withGraph } from "./util.ts";
import { diag } from "../../diagnostics.ts";
import { type Ctx } from "../context.ts";

/**
 * torchvision's relative_position_index for a window of mh x mw tokens, as
 * an [mh mw, mh mw] array (row-major): for tokens i = (hi, wi), j = (hj, wj),
 * (hi - hj + mh - 1) (2 mw - 1) + (wi - wj + mw - 1), an index into the
 * (2 mh - 1)(2 mw - 1) rows of the bias table.
 */
export function relativePositionIndex(mh: number, mw: number): Tensor {
  const n = mh * mw;
  return table("i64", [n, n], "relative_position_index()", (k) => {
    const i = Math.floor(k / n), j = k % n;
    const hi = Math.floor(i / mw), wi = i % mw;
    const hj = Math.floor(j / mw), wj = j % mw;
    return (hi - hj + mh - 1) * (2 * mw - 1) + (wi - wj + mw - 1);
  });
}

/**
 * The additive mask of shifted-window attention, [nW, mh mw, mh mw]
 * (nW = (h / mh)(w / mw) windows, row-major). After a cyclic shift by
 * (sh, sw), the map splits into up to 3 x 3 regions along the slices
 * [0, h - mh), [h - mh, h - sh), [h - sh, h) of each axis; tokens of one
 * window in different regions were not neighbours before the shift, so
 * their score gets `fill` (torchvision's -100), the rest 0. With no shift
 * every entry is 0.
 */
export function shiftedWindowMask(
  h: number,
  w: number,
  mh: number,
  mw: number,
  sh: number,
  sw: number,
  fill: number,
): Tensor {
  // Region of a coordinate along one axis: 0, 1 or 2 by the slices above.
  const region = (p: number, size: number, m: number, s: number) =>
    s === 0 ? 0 : p < size - m ? 0 : p < size - s ? 1 : 2;
  const nh = h / mh, nw = w / mw, n = mh * mw;
  const t = table("f32", [nh * nw, n, n], "shifted_window_mask()");
  const out = t.data as Float32Array;
  const ids = new Array<number>(n);
  for (let a = 0; a < nh; a++) {
    for (let b = 0; b < nw; b++) {
      for (let t = 0; t < n; t++) {
        const y = a * mh + Math.floor(t / mw), x = b * mw + (t % mw);
        ids[t] = region(y, h, mh, sh) * 3 + region(x, w, mw, sw);
      }
      const base = (a * nw + b) * n * n;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) if (ids[i] !== ids[j]) out[base + i * n + j] = fill;
      }
    }
  }
  return t;
}

/** A window size argument as [mh, mw] (an int is square), or an error message. */
/** A window (an int is square) of positive ints, or undefined after reporting DLM0210 at `arg`. */
function windowArg(ctx: Ctx, v: Value, what: string, arg: string): [number, number] | undefined {
  const m = positivePair(v);
  if (!m) {
    const [code, message] = diag(
      "DLM0210",
      what,
      "a window of 1 or 2 positive ints",
      describeInts(v),
    );
    ctx.error(code, message, ctx.argSpan(arg));
    return undefined;
  }
  return [m[0], m[1]];
}

function describeInts(v: Value): string {
  if (v.k === "int") return String(v.v);
  if (v.k === "tuple" || v.k === "list") {
    return `(${v.items.map((x) => (x.k === "int" ? String(x.v) : x.k)).join(", ")})`;
  }
  return v.k;
}

const fns: FnDef[] = [
  {
    name: "relative_position_index",
    doc:
      "The constant i64 [Mh Mw, Mh Mw] index of Swin's relative position bias for a window (an int is square): " +
      "(hi - hj + Mh - 1)(2 Mw - 1) + (wi - wj + Mw - 1) for tokens i, j, a row of the [(2Mh-1)(2Mw-1), heads] table.",
    sig: [{ name: "window", type: "ints" }],
    apply(ctx, a) {
      const m = windowArg(ctx, a.window, "relative_position_index()", "window");
      if (!m) return ERROR;
      return ctx.constant(relativePositionIndex(m[0], m[1]), "relative_position_index");
    },
  },
  {
    name: "shifted_window_mask",
    doc:
      "The constant f32 [nW, M*M, M*M] additive mask of Swin's shifted windows for a feature map (h, w) cut into " +
      "windows (row-major) after a cyclic shift: `fill` (default -100, as torchvision) between tokens from " +
      "different regions of the shifted map, 0 elsewhere; all 0 when shift is 0.",
    sig: [
      { name: "size", type: "ints" },
      { name: "window", type: "ints" },
      { name: "shift", type: "ints" },
      { name: "fill", type: "float", default: fl(-100) },
    ],
    apply(ctx, a) {
      const s = windowArg(ctx, a.size, "shifted_window_mask() size", "size");
      if (!s) return ERROR;
      const m = windowArg(ctx, a.window, "shifted_window_mask()", "window");
      if (!m) return ERROR;
      const sh = expandInts(a.shift, 2);
      if (!sh || sh.length !== 2) {
        return ctx.error(
          ...diag(
            "DLM0210",
            "shifted_window_mask()",
            "a shift of 1 or 2 ints",
            describeInts(a.shift),
          ),
          ctx.argSpan("shift"),
        );
      }
      if (s[0] % m[0] !== 0 || s[1] % m[1] !== 0) {
        return ctx.error(
          ...diag(
            "DLM0210",
            "shifted_window_mask()",
            "a size that is a multiple of the window",
            `(${s[0]}, ${s[1]}) and window (${m[0]}, ${m[1]})`,
          ),
        );
      }
      if (sh.some((x, k) => x < 0 || x >= m[k])) {
        return ctx.error(
          ...diag(
            "DLM0210",
            "shifted_window_mask()",
            "0 <= shift < window",
            `shift (${sh[0]}, ${sh[1]}) and window (${m[0]}, ${m[1]})`,
          ),
          ctx.argSpan("shift"),
        );
      }
      const mask = shiftedWindowMask(s[0], s[1], m[0], m[1], sh[0], sh[1], num(a.fill));
      return ctx.constant(mask, "attn_mask");
    },
  },
];

const TABLE_INIT: InitSpec = { kind: "trunc_normal", mean: 0, std: 0.02, a: -2, b: 2 };

const relativePositionBias: LayerDef = {
  name: "relative_position_bias",
  doc:
    "Swin's relative position bias added to window attention logits x [..., heads, M*M, M*M]: a learned table " +
    "[(2Mh-1)(2Mw-1), heads] ~ trunc_normal(std: 0.02) gathered at relative_position_index(window) and moved to " +
    "[heads, M*M, M*M]. Labelled relative_position_bias_table it is the parameter of that name at its caller's level.",
  sig: [
    { name: "window", type: "ints" },
    { name: "heads", type: "int" },
    { name: "init", type: "init", optional: true },
  ],
  apply(ctx, args, [x], prefix) {
    const m = windowArg(ctx, args.window, "relative_position_bias()", "window");
    if (!m) return ERROR;
    const heads = num(args.heads);
    if (heads < 1) {
      return ctx.error(
        ...diag("DLM0210", "relative_position_bias()", "heads >= 1", heads),
        ctx.argSpan("heads"),
      );
    }
    const n = m[0] * m[1];
    const r = x.t.shape.length;
    const want = [heads, n, n];
    if (r < 3 || !want.every((d, k) => dimEquals(x.t.shape[r - 3 + k], d))) {
      return ctx.error(
        ...diag(
          "DLM0203",
          "relative_position_bias()",
          `logits [..., ${heads}, ${n}, ${n}] (heads, window tokens)`,
          formatType(x.t),
        ),
      );
    }
    if (x.t.dtype !== "f32") {
      return ctx.error(
        ...diag("DLM0207", "relative_position_bias()", "f32 logits", formatType(x.t)),
      );
    }
    // `a.b.relative_position_bias_table` is the raw parameter `relative_position_bias_table` of `a.b`.
    const dot = prefix.lastIndexOf(".");
    const [level, leaf] = dot < 0 ? [prefix, ""] : [prefix.slice(0, dot), prefix.slice(dot + 1)];
    const rows = (2 * m[0] - 1) * (2 * m[1] - 1);
    const init = args.init ? ctx.initSpec(args.init) : TABLE_INIT;
    const table = leaf
      ? ctx.param(level, leaf, [rows, heads], init, { layer: "relative_position_bias" })
      : ctx.param(prefix, "weight", [rows, heads], init, { layer: "relative_position_bias" });
    if (!table) return ERROR;
    const idx = ctx.constant(relativePositionIndex(m[0], m[1]), "relative_position_index");
    return withGraph(ctx, (e) => {
      // table[idx] is [n, n, heads]; the logits want [heads, n, n].
      const b = e.tensor(table).op("Gather", [idx.v], { axis: 0 }).transpose([2, 0, 1]);
      return e.op1("Add", [x.v, b], {}, { name: prefix });
    }) ?? ERROR;
  },
};

/** The window functions by name. */
export const FUNCTIONS: Record<string, FnDef> = Object.fromEntries(fns.map((d) => [d.name, d]));
/** The window layers by name. */
export const LAYERS: Record<string, LayerDef> = Object.fromEntries(
  [relativePositionBias].map((d) => [d.name, d]),
);
