/**
 * Random tensors of a given shape, as torch's `randn(N, 16)`: the shape may
 * mix ints and symbolic dims. A static shape is one RandomNormal or
 * RandomUniform node; a shape with a symbolic dim is the `*Like` op over a
 * value of that shape when there is one (randn((N, 8)) beside an input
 * f32[N, 8]), else over a ConstantOfShape of the shape computed at run time
 * (each symbolic dim a Shape slice of a value that has it, then one Concat),
 * typed exactly.
 * Every draw is a RandomNormal/RandomUniform(Like) node, so training, `dlm
 * diff` and resume feed it as an input (runtime/train/draws.ts) like
 * `randn_like`'s:
 *
 *   randint(lo, hi, s)  = lo + min(trunc(U[0, hi - lo)), hi - lo - 1)
 *                         (trunc = floor on non-negatives; the min guards a
 *                         float rounding up to hi - lo)
 *   bernoulli(p)        = U[0, 1) < p          (P(u < p) = p)
 *   randperm((.., L))   = the indices of TopK(U[0, 1)^(.., L), L) along
 *                         the last axis: argsort of i.i.d. noise, every
 *                         ordering equally likely, so a uniform permutation.
 */
import { diag } from "../../diagnostics.ts";
import { type Dim, formatType } from "../../ir/graph.ts";
import { type DType, DTYPES, isFloat, tensor } from "../../ir/tensor.ts";
import type { Ctx } from "../context.ts";
import { num } from "../signature.ts";
import { describe, ERROR, type TensorValue, type Value } from "../values.ts";
import type { FnDef } from "./functions.ts";
import { fl, withGraph } from "./util.ts";

const FLOATS = ["f32", "f64", "f16"];
const INTS = ["i64", "i32"];

/** A shape argument (an int, or a tuple or list of ints and symbolic dims) as dims. */
function shapeOf(ctx: Ctx, v: Value, what: string, arg = "shape"): Dim[] | undefined {
  const items = v.k === "tuple" || v.k === "list" ? v.items : [v];
  const out: Dim[] = [];
  for (const it of items) {
    if (it.k === "int" && it.v >= 0) out.push(it.v);
    else if (it.k === "dim") out.push(it.v);
    else {
      ctx.error(
        ...diag("DLM0201", `${what}()`, "a shape of ints >= 0 and symbolic dims", describe(it)),
        ctx.argSpan(arg),
      );
      return undefined;
    }
  }
  return out;
}

/** The `dtype:` argument, one of `allowed`, or undefined after a diagnostic. */
function dtypeOf(ctx: Ctx, v: Value, what: string, allowed: string[]): DType | undefined {
  const d = (v as { v: string }).v;
  if (!allowed.includes(d)) {
    ctx.error(
      ...diag("DLM0214", `${what}() dtype`, allowed.map((a) => `"${a}"`).join(", "), d),
      ctx.argSpan("dtype"),
    );
    return undefined;
  }
  return d as DType;
}

/** The shape as an i64[rank] value computed at run time (a constant when it is static). */
function shapeValue(ctx: Ctx, shape: Dim[], what: string): TensorValue | undefined {
  if (shape.every((d) => typeof d === "number")) {
    return ctx.constant(tensor("i64", [shape.length], shape as number[]));
  }
  const parts: TensorValue[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length) parts.push(ctx.constant(tensor("i64", [run.length], run)));
    run = [];
  };
  for (const d of shape) {
    if (typeof d === "number") {
      run.push(d);
      continue;
    }
    flush();
    // A symbolic dim the program can name is some value's: an input's, or the value a block
    // parameter's type bound it from. Not when that input's own type was in error
    // (`f32[N, typo]` still names N): then no value has it, and the shape cannot be computed.
    const size = ctx.dimSize(d);
    if (!size) {
      ctx.error(
        ...diag("DLM0232", `${what}()`, `know the size of ${d}: no input or value has it`),
        ctx.argSpan("shape"),
      );
      return undefined;
    }
    parts.push(size);
  }
  flush();
  if (parts.length === 1) return parts[0];
  return ctx.op("Concat", parts.map((p) => p.v), { axis: 0 })?.[0];
}

/**
 * Noise of `shape` and `dtype`: `op` is "RandomNormal" or "RandomUniform", `attrs` its
 * mean/scale or low/high.
 */
export function noise(
  ctx: Ctx,
  op: "RandomNormal" | "RandomUniform",
  shape: Dim[],
  dtype: DType,
  attrs: Record<string, number>,
  what: string,
  like?: TensorValue,
): TensorValue | undefined {
  const seed = ctx.seedFor(what);
  if (like) {
    return ctx.op(`${op}Like`, [like.v], { ...attrs, dtype: DTYPES[dtype].onnx, seed })?.[0];
  }
  if (shape.every((d) => typeof d === "number")) {
    return ctx.op(op, [], { ...attrs, shape: shape as number[], dtype: DTYPES[dtype].onnx, seed })
      ?.[0];
  }
  // A value of that very shape is the Like op's input: one node, no shape to compute.
  const same = ctx.valueOfShape(shape);
  if (same) {
    return ctx.op(`${op}Like`, [same.v], { ...attrs, dtype: DTYPES[dtype].onnx, seed })?.[0];
  }
  const s = shapeValue(ctx, shape, what);
  if (!s) return undefined;
  const zeros = ctx.op("ConstantOfShape", [s.v], { value: tensor(dtype, [1], [0]) })?.[0];
  if (!zeros) return undefined;
  const typed = ctx.refine(zeros, { dtype, shape: [...shape] });
  return ctx.op(`${op}Like`, [typed.v], { ...attrs, seed })?.[0];
}

const defs: FnDef[] = [
  {
    name: "randn",
    doc: "Normal noise N(mean, std²) of a shape of ints and symbolic dims, as torch.randn: " +
      'randn((N, 16)), randn((N, 16), mean: 0.0, std: 1.0, dtype: "f32"). In training and ' +
      "`dlm diff` each step's draw is fed as an input.",
    sig: [
      { name: "shape", type: "any" },
      { name: "mean", type: "float", default: fl(0) },
      { name: "std", type: "float", default: fl(1) },
      { name: "dtype", type: "str", default: { k: "str", v: "f32" } },
    ],
    apply(ctx, a) {
      const shape = shapeOf(ctx, a.shape, "randn");
      const dtype = dtypeOf(ctx, a.dtype, "randn", FLOATS);
      if (!shape || !dtype) return ERROR;
      const std = num(a.std);
      if (!(std >= 0)) {
        return ctx.error(...diag("DLM0210", "randn()", "std >= 0", std), ctx.argSpan("std"));
      }
      return noise(ctx, "RandomNormal", shape, dtype, { mean: num(a.mean), scale: std }, "randn") ??
        ERROR;
    },
  },
  {
    name: "rand",
    doc: "Uniform noise U[low, high) (default [0, 1)) of a shape of ints and symbolic dims, as " +
      'torch.rand: rand((N, 16)), rand((N, 16), low: -1.0, high: 1.0, dtype: "f32").',
    sig: [
      { name: "shape", type: "any" },
      { name: "low", type: "float", default: fl(0) },
      { name: "high", type: "float", default: fl(1) },
      { name: "dtype", type: "str", default: { k: "str", v: "f32" } },
    ],
    apply(ctx, a) {
      const shape = shapeOf(ctx, a.shape, "rand");
      const dtype = dtypeOf(ctx, a.dtype, "rand", FLOATS);
      if (!shape || !dtype) return ERROR;
      const low = num(a.low), high = num(a.high);
      if (!(low < high)) {
        return ctx.error(
          ...diag("DLM0210", "rand()", "low < high", `low ${low} and high ${high}`),
          ctx.argSpan("high"),
        );
      }
      return noise(ctx, "RandomUniform", shape, dtype, { low, high }, "rand") ?? ERROR;
    },
  },
  {
    name: "randint",
    doc: "Integers drawn uniformly from [low, high) of a shape of ints and symbolic dims, as " +
      'torch.randint: randint(0, 10, (N, 4)) is i64[N, 4]; dtype: "i32" for i32; high - low at most 2^24.',
    sig: [
      { name: "low", type: "int" },
      { name: "high", type: "int" },
      { name: "shape", type: "any" },
      { name: "dtype", type: "str", default: { k: "str", v: "i64" } },
    ],
    apply(ctx, a) {
      const shape = shapeOf(ctx, a.shape, "randint");
      const dtype = dtypeOf(ctx, a.dtype, "randint", INTS);
      if (!shape || !dtype) return ERROR;
      const low = num(a.low), high = num(a.high);
      const span = high - low;
      // f32 holds every integer below 2^24 exactly, so trunc(U[0, span)) reaches each value.
      if (!(span >= 1 && span <= 2 ** 24)) {
        return ctx.error(
          ...diag(
            "DLM0210",
            "randint()",
            "low < high with high - low <= 2^24",
            `low ${low} and high ${high}`,
          ),
          ctx.argSpan("high"),
        );
      }
      const u = noise(ctx, "RandomUniform", shape, "f32", { low: 0, high: span }, "randint");
      if (!u) return ERROR;
      return withGraph(ctx, (e) => {
        let k = e.tensor(u).cast(dtype);
        k = k.min(e.scalar(span - 1, dtype));
        return low === 0 ? k : k.add(e.scalar(low, dtype));
      }) ?? ERROR;
    },
  },
  {
    name: "bernoulli",
    doc: "1 with probability p, else 0, as torch.bernoulli: bernoulli(probs) has probs' shape " +
      'and dtype; bernoulli(0.3, (N, 16)) draws f32[N, 16]; dtype: "bool" for a mask.',
    sig: [
      { name: "p", type: "tensor_or_number" },
      { name: "shape", type: "any", optional: true },
      { name: "dtype", type: "str", optional: true },
    ],
    apply(ctx, a) {
      const p = a.p;
      let shape: Dim[] | undefined;
      let base: DType = "f32";
      if (p.k === "tensor") {
        if (!isFloat(p.t.dtype)) {
          return ctx.error(
            ...diag("DLM0207", "bernoulli()", "a floating-point p", formatType(p.t)),
            ctx.argSpan("p"),
          );
        }
        if (a.shape) {
          return ctx.error(
            ...diag("DLM0210", "bernoulli() of a tensor p", "no shape (it is p's)", "a shape"),
            ctx.argSpan("shape"),
          );
        }
        shape = [...p.t.shape];
        base = p.t.dtype;
      } else {
        const pv = num(p);
        if (!(pv >= 0 && pv <= 1)) {
          return ctx.error(...diag("DLM0210", "bernoulli()", "0 <= p <= 1", pv), ctx.argSpan("p"));
        }
        if (!a.shape) {
          return ctx.error(
            ...diag("DLM0223", "bernoulli() of a number p", "a shape: bernoulli(0.5, (N, 16))"),
          );
        }
        shape = shapeOf(ctx, a.shape, "bernoulli");
        if (!shape) return ERROR;
      }
      const dtype = a.dtype ? dtypeOf(ctx, a.dtype, "bernoulli", [...FLOATS, "bool"]) : base;
      if (!dtype) return ERROR;
      const uDtype = p.k === "tensor" && p.t.dtype !== "f16" ? p.t.dtype : "f32";
      // A tensor p is the noise's shape itself: RandomUniformLike(p), no shape to compute.
      const like = p.k === "tensor" ? p : undefined;
      const u = noise(ctx, "RandomUniform", shape, uDtype, { low: 0, high: 1 }, "bernoulli", like);
      if (!u) return ERROR;
      return withGraph(ctx, (e) => {
        const pv = p.k !== "tensor"
          ? e.scalar(num(p), uDtype)
          : p.t.dtype === uDtype
          ? e.tensor(p)
          : e.tensor(p).cast(uDtype);
        const mask = e.tensor(u).less(pv);
        return dtype === "bool" ? mask : mask.cast(dtype);
      }) ?? ERROR;
    },
  },
  {
    name: "randperm",
    doc: "Random permutations of 0..L-1 along the last axis, as torch.randperm per row: " +
      "randperm(8) is i64[8], randperm((N, L)) is i64[N, L] with each row a permutation " +
      "(argsort of uniform noise).",
    sig: [{ name: "shape", type: "any" }],
    apply(ctx, a) {
      const shape = shapeOf(ctx, a.shape, "randperm");
      if (!shape) return ERROR;
      if (shape.length === 0) {
        return ctx.error(
          ...diag("DLM0210", "randperm()", "a shape of rank >= 1", "()"),
          ctx.argSpan("shape"),
        );
      }
      const u = noise(ctx, "RandomUniform", shape, "f32", { low: 0, high: 1 }, "randperm");
      if (!u) return ERROR;
      const last = shape[shape.length - 1];
      const k = typeof last === "number"
        ? ctx.constant(tensor("i64", [1], [last]))
        : ctx.dimSize(last);
      if (!k) return ERROR;
      const r = ctx.op("TopK", [u.v, k.v], { axis: -1, largest: 1, sorted: 1 }, { nOutputs: 2 });
      if (!r) return ERROR;
      return typeof last === "number" ? r[1] : ctx.refine(r[1], { dtype: "i64", shape });
    },
  },
];

export const FUNCTIONS: Record<string, FnDef> = Object.fromEntries(defs.map((d) => [d.name, d]));
