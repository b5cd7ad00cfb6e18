/**
 * Built-in layers: the primitives that own parameters. Each is configured by
 * its first call (`conv2d(64, kernel: 3)`) and applied to tensors by its
 * second (or by a pipe). Parameter names and layouts follow PyTorch
 * (`weight` [out, in, kH, kW], `bias`, `running_mean`, ...), so state dicts
 * saved as safetensors load by name.
 */
import { formatType } from "../../ir/graph.ts";
import { type DType, f32ToBf16, f32ToF16, table, type Tensor, tensor } from "../../ir/tensor.ts";
import type { Ctx } from "../context.ts";
import { TORCH_DEFAULT_WEIGHT } from "../init.ts";
import type { InitSpec } from "../../ir/init.ts";
import { expandInts, num, type ParamSig } from "../signature.ts";
import { ERROR, type TensorValue, type Value } from "../values.ts";
import { i } from "./util.ts";
import { diag } from "../../diagnostics.ts";

export interface LayerDef {
  name: string;
  doc: string;
  sig: ParamSig[];
  /**
   * Tensor inputs it takes when applied: a count (default 1) or [min, max]
   * (a recurrent layer takes x, then optional initial states).
   */
  inputs?: number | [number, number];
  /**
   * Optional tensors passed by name when the layer is applied, e.g.
   * `lstm(64)(x, h0: h, c0: c)`; they arrive in `named`.
   */
  namedInputs?: string[];
  /**
   * What the layer is, for fine-tuning: "linear" (y = x W^T + b over the
   * last axis, parameters `<name>.weight` [out, in] and `<name>.bias`) or
   * "conv" (one Conv node, channels on axis 1, weight [out, in / groups,
   * k...]). LoRA and IA3 adapt exactly the layers that declare one, and
   * merge their updates into that weight.
   */
  like?: "linear" | "conv";
  apply(
    ctx: Ctx,
    args: Record<string, Value>,
    inputs: TensorValue[],
    prefix: string,
    named: Record<string, TensorValue>,
  ): Value;
}

const T: Value = { k: "bool", v: true };
const f = (v: number): Value => ({ k: "float", v });

/** A dimension the layer needs as a concrete number (channels, features). */
function concreteDim(
  ctx: Ctx,
  x: TensorValue,
  axis: number,
  what: string,
  layer: string,
): number | undefined {
  const r = x.t.shape.length;
  const a = axis < 0 ? r + axis : axis;
  const d = x.t.shape[a];
  if (typeof d === "number") return d;
  ctx.error(...diag("DLM0203", layer, `a known ${what} (dim ${a})`, formatType(x.t)));
  return undefined;
}

/** A constant tensor of the input's float type filled with `v` (16-bit floats as their bits). */
function filled(dtype: DType, shape: number[], v: number, what: string): Tensor {
  const bits = dtype === "f16" ? f32ToF16(v) : dtype === "bf16" ? f32ToBf16(v) : v;
  const t = table(dtype, shape, what);
  (t.data as Float32Array).fill(bits);
  return t;
}

function biasInit(fanIn: number): InitSpec {
  return { kind: "bias_default", fanIn };
}

/** An explicit `bias_init:` from the call, which beats init rules as `init:` does. */
function biasExplicit(ctx: Ctx, args: Record<string, Value>): InitSpec | undefined {
  return args.bias_init ? ctx.initSpec(args.bias_init) : undefined;
}

function weightInit(ctx: Ctx, args: Record<string, Value>): InitSpec | undefined {
  return args.init ? ctx.initSpec(args.init) : undefined;
}

const linear: LayerDef = {
  name: "linear",
  like: "linear",
  doc: "Fully connected layer y = x W^T + b over the last dim; weight [out, in].",
  sig: [
    { name: "out", type: "int" },
    { name: "bias", type: "bool", default: T },
    { name: "init", type: "init", optional: true },
    { name: "bias_init", type: "init", optional: true },
  ],
  apply(ctx, args, [x], prefix) {
    const out = num(args.out);
    if (out <= 0) {
      return ctx.error(
        ...diag("DLM0210", "linear()", "a positive number of outputs", out),
        ctx.argSpan("out"),
      );
    }
    if (x.t.shape.length < 1) {
      return ctx.error(...diag("DLM0203", "linear()", "at least a 1-D input", formatType(x.t)));
    }
    const inF = concreteDim(ctx, x, -1, "number of input features", "linear()");
    if (inF === undefined) return ERROR;
    const w = ctx.param(prefix, "weight", [out, inF], TORCH_DEFAULT_WEIGHT, {
      layer: "linear",
      explicit: weightInit(ctx, args),
    });
    const b = args.bias.k === "bool" && args.bias.v
      ? ctx.param(prefix, "bias", [out], biasInit(inF), {
        layer: "linear",
        explicit: biasExplicit(ctx, args),
      })
      : undefined;
    if (!w) return ERROR;
    if (x.t.shape.length === 2) {
      const r = ctx.op("Gemm", [x.v, w.v, b?.v ?? ""], { transB: 1 }, { name: prefix });
      return r ? r[0] : ERROR;
    }
    // Higher rank: MatMul with the transposed weight (constant folding turns it into one initializer).
    const wt = ctx.op("Transpose", [w.v], { perm: [1, 0] }, { name: `${prefix}.weight_t` });
    if (!wt) return ERROR;
    const mm = ctx.op("MatMul", [x.v, wt[0].v], {}, { name: b ? `${prefix}.matmul` : prefix });
    if (!mm || !b) return mm ? mm[0] : ERROR;
    const r = ctx.op("Add", [mm[0].v, b.v], {}, { name: prefix });
    return r ? r[0] : ERROR;
  },
};

function convLayer(name: string, dims: number, transpose: boolean): LayerDef {
  return {
    name,
    // A transposed convolution's weight is [in, out / groups, k...]: LoRA's form does not fit it.
    like: transpose ? undefined : "conv",
    doc: transpose
      ? `${dims}-D transposed convolution; weight [in, out / groups, k...].`
      : `${dims}-D convolution; weight [out, in / groups, k...]; pad may be "same".`,
    sig: [
      { name: "out", type: "int" },
      { name: "kernel", type: "ints" },
      { name: "stride", type: "ints", default: i(1) },
      { name: "pad", type: "ints_or_str", default: i(0) },
      { name: "dilation", type: "ints", default: i(1) },
      { name: "groups", type: "int", default: i(1) },
      { name: "bias", type: "bool", default: T },
      ...(transpose ? [{ name: "output_pad", type: "ints" as const, default: i(0) }] : []),
      { name: "init", type: "init", optional: true },
      { name: "bias_init", type: "init", optional: true },
    ],
    apply(ctx, args, [x], prefix) {
      const rank = x.t.shape.length;
      if (rank !== dims + 2) {
        return ctx.error(
          ...diag(
            "DLM0203",
            `${name}()`,
            `a ${dims + 2}-D input [N, C, ${["L", "H, W", "D, H, W"][dims - 1]}]`,
            formatType(x.t),
          ),
        );
      }
      const out = num(args.out);
      const groups = num(args.groups, 1);
      const k = expandInts(args.kernel, dims);
      const s = expandInts(args.stride, dims);
      const d = expandInts(args.dilation, dims);
      for (const [label, vals] of [["kernel", k], ["stride", s], ["dilation", d]] as const) {
        if (vals.length !== dims || vals.some((v) => v <= 0)) {
          return ctx.error(
            ...diag(
              "DLM0210",
              `${name}()`,
              `${dims} positive ${label} size${dims > 1 ? "s" : ""}`,
              `(${vals.join(", ")})`,
            ),
            ctx.argSpan(label),
          );
        }
      }
      if (out <= 0) {
        return ctx.error(
          ...diag("DLM0210", `${name}()`, "a positive number of output channels", out),
          ctx.argSpan("out"),
        );
      }
      const cin = concreteDim(ctx, x, 1, "number of input channels", `${name}()`);
      if (cin === undefined) return ERROR;
      if (cin % groups !== 0 || out % groups !== 0) {
        return ctx.error(
          ...diag(
            "DLM0203",
            `${name}() with groups ${groups}`,
            `input and output channels divisible by ${groups}`,
            `${cin} and ${out}`,
          ),
          ctx.argSpan("groups"),
        );
      }
      let pads: number[];
      if (args.pad.k === "str") {
        if (args.pad.v !== "same" && args.pad.v !== "valid") {
          return ctx.error(
            ...diag("DLM0214", `${name}() pad`, 'an int, a tuple, "same" or "valid"', args.pad.v),
            ctx.argSpan("pad"),
          );
        }
        if (args.pad.v === "valid") pads = Array(2 * dims).fill(0);
        else {
          if (s.some((v) => v !== 1)) {
            return ctx.error(
              ...diag("DLM0210", `${name}() pad "same"`, "stride 1", `stride (${s.join(", ")})`),
              ctx.argSpan("pad"),
            );
          }
          // PyTorch's "same": total (k - 1) * d, the extra one at the end.
          const tot = k.map((kk, j) => (kk - 1) * d[j]);
          pads = [...tot.map((t) => Math.floor(t / 2)), ...tot.map((t) => t - Math.floor(t / 2))];
        }
      } else {
        const p = expandInts(args.pad, dims);
        if (p.length === 2 * dims) pads = p;
        else if (p.length === dims) pads = [...p, ...p];
        else {return ctx.error(
            ...diag("DLM0210", `${name}() pad`, `1, ${dims} or ${2 * dims} values`, p.length),
            ctx.argSpan("pad"),
          );}
      }
      if (!transpose) {
        // Say it in the layer's words before the Conv shape rule does in ONNX's.
        for (let j = 0; j < dims; j++) {
          const size = x.t.shape[2 + j];
          if (typeof size !== "number") continue;
          const padded = size + pads[j] + pads[j + dims];
          const span = d[j] * (k[j] - 1) + 1;
          if (padded < span) {
            const withPad = padded === size ? "" : ` (${padded} with padding)`;
            const dil = d[j] > 1 ? ` with dilation ${d[j]} spans ${span}` : "";
            return ctx.error(
              ...diag(
                "DLM0230",
                `${name}() kernel ${k[j]}${dil}`,
                `the input ${formatType(x.t)}: dim ${2 + j} is ${size}${withPad}`,
              ),
              ctx.argSpan("kernel"),
            );
          }
        }
      }
      const wshape = transpose ? [cin, out / groups, ...k] : [out, cin / groups, ...k];
      const fanIn = wshape[1] * k.reduce((a, b) => a * b, 1);
      const w = ctx.param(prefix, "weight", wshape, TORCH_DEFAULT_WEIGHT, {
        layer: name,
        explicit: weightInit(ctx, args),
      });
      const b = args.bias.k === "bool" && args.bias.v
        ? ctx.param(prefix, "bias", [out], biasInit(fanIn), {
          layer: name,
          explicit: biasExplicit(ctx, args),
        })
        : undefined;
      if (!w) return ERROR;
      const attrs: Record<string, number[] | number> = {
        kernel_shape: k,
        strides: s,
        pads,
        dilations: d,
        group: groups,
      };
      if (transpose) {
        const op = expandInts(args.output_pad ?? i(0), dims);
        if (op.some((v) => v !== 0)) attrs.output_padding = op;
      }
      const r = ctx.op(transpose ? "ConvTranspose" : "Conv", [x.v, w.v, b?.v ?? ""], attrs, {
        name: prefix,
      });
      return r ? r[0] : ERROR;
    },
  };
}

const batchNorm: LayerDef = {
  name: "batch_norm",
  doc:
    "Batch normalisation over dim 1 (any rank >= 2); running statistics and `num_batches_tracked` as buffers, which a training step updates as PyTorch's training mode does.",
  sig: [
    { name: "eps", type: "float", default: f(1e-5) },
    { name: "momentum", type: "float", default: f(0.1) },
    { name: "affine", type: "bool", default: T },
  ],
  apply(ctx, args, [x], prefix) {
    if (x.t.shape.length < 2) {
      return ctx.error(
        ...diag("DLM0203", "batch_norm()", "an input of rank >= 2 [N, C, ...]", formatType(x.t)),
      );
    }
    const c = concreteDim(ctx, x, 1, "number of channels", "batch_norm()");
    if (c === undefined) return ERROR;
    const affine = args.affine.k === "bool" && args.affine.v;
    const w = ctx.param(prefix, "weight", [c], { kind: "ones" }, {
      layer: "batch_norm",
      trainable: affine,
    });
    const b = ctx.param(prefix, "bias", [c], { kind: "zeros" }, {
      layer: "batch_norm",
      trainable: affine,
    });
    const m = ctx.param(prefix, "running_mean", [c], { kind: "zeros" }, {
      layer: "batch_norm",
      trainable: false,
    });
    const v = ctx.param(prefix, "running_var", [c], { kind: "ones" }, {
      layer: "batch_norm",
      trainable: false,
    });
    ctx.param(prefix, "num_batches_tracked", [], { kind: "zeros" }, {
      layer: "batch_norm",
      trainable: false,
      dtype: "i64",
    });
    if (!w || !b || !m || !v) return ERROR;
    // ONNX momentum weights the old running value; PyTorch's weights the new batch value.
    const attrs = { epsilon: num(args.eps), momentum: 1 - num(args.momentum) };
    if (ctx.mode === "train") {
      // ONNX requires the updated running statistics as outputs in training mode.
      const r = ctx.op("BatchNormalization", [x.v, w.v, b.v, m.v, v.v], {
        ...attrs,
        training_mode: 1,
      }, { name: prefix, nOutputs: 3 });
      return r ? r[0] : ERROR;
    }
    const r = ctx.op("BatchNormalization", [x.v, w.v, b.v, m.v, v.v], attrs, { name: prefix });
    return r ? r[0] : ERROR;
  },
};

const layerNorm: LayerDef = {
  name: "layer_norm",
  doc:
    "Layer normalisation over `dims` dims (default 1) starting at `axis` (default: the last ones); " +
    "weight and bias of those dims' shape unless affine: false. axis: 1 normalises the channels of " +
    "[N, C, H, W], as torchvision's LayerNorm2d (ConvNeXt).",
  sig: [
    { name: "eps", type: "float", default: f(1e-5) },
    { name: "dims", type: "int", default: i(1) },
    { name: "affine", type: "bool", default: T },
    { name: "axis", type: "int", optional: true },
  ],
  apply(ctx, args, [x], prefix) {
    const nd = num(args.dims, 1);
    const r = x.t.shape.length;
    if (nd < 1 || nd > r) {
      return ctx.error(
        ...diag("DLM0210", "layer_norm()", `dims between 1 and the input rank ${r}`, nd),
        ctx.argSpan("dims"),
      );
    }
    const given = args.axis ? num(args.axis) : r - nd;
    const first = given < 0 ? given + r : given;
    if (first < 0 || first + nd > r) {
      return ctx.error(
        ...diag(
          "DLM0213",
          `layer_norm(dims: ${nd})`,
          given,
          `${formatType(x.t)} (the normalised dims must lie inside it)`,
        ),
        ctx.argSpan("axis"),
      );
    }
    const shape: number[] = [];
    for (let a = first; a < first + nd; a++) {
      const d = concreteDim(ctx, x, a, "normalised dim", "layer_norm()");
      if (d === undefined) return ERROR;
      shape.push(d);
    }
    // Without affine, the scale is a constant 1 (LayerNormalization requires one) and no bias.
    const affine = args.affine.k === "bool" && args.affine.v;
    const w = affine
      ? ctx.param(prefix, "weight", shape, { kind: "ones" }, { layer: "layer_norm" })
      : ctx.constant(filled(x.t.dtype, shape, 1, "layer_norm()'s scale"));
    const b = affine
      ? ctx.param(prefix, "bias", shape, { kind: "zeros" }, { layer: "layer_norm" })
      : undefined;
    if (!w || (affine && !b)) return ERROR;
    const norm = (v: string, name: string | undefined) =>
      ctx.op(
        "LayerNormalization",
        [v, w.v, b?.v ?? ""],
        { axis: -nd, epsilon: num(args.eps) },
        { name, nOutputs: 1 },
      )?.[0];
    if (first + nd === r) return norm(x.v, prefix) ?? ERROR;
    // Dims inside the tensor (the channels of [N, C, H, W]): LayerNormalization normalises the
    // trailing dims, so move them to the end and back, as torchvision's LayerNorm2d permutes
    // [N, C, H, W] to [N, H, W, C] around F.layer_norm.
    const moved = [...Array(r).keys()].filter((a) => a < first || a >= first + nd);
    const perm = [...moved, ...[...Array(nd).keys()].map((k) => first + k)];
    const back = perm.map((_, a) => perm.indexOf(a));
    const sub = (s: string) => (prefix ? `${prefix}.${s}` : undefined);
    const inT = ctx.op("Transpose", [x.v], { perm }, { name: sub("to_last") })?.[0];
    const y = inT && norm(inT.v, prefix);
    const out = y && ctx.op("Transpose", [y.v], { perm: back }, { name: sub("from_last") });
    return out ? out[0] : ERROR;
  },
};

const instanceNorm: LayerDef = {
  name: "instance_norm",
  doc:
    "Instance normalisation over the spatial dims; per-channel scale and bias with affine: true (PyTorch's default is false).",
  sig: [{ name: "eps", type: "float", default: f(1e-5) }, {
    name: "affine",
    type: "bool",
    default: { k: "bool", v: false },
  }],
  apply(ctx, args, [x], prefix) {
    if (x.t.shape.length < 3) {
      return ctx.error(
        ...diag("DLM0203", "instance_norm()", "an input [N, C, ...spatial]", formatType(x.t)),
      );
    }
    const c = concreteDim(ctx, x, 1, "number of channels", "instance_norm()");
    if (c === undefined) return ERROR;
    // InstanceNormalization always takes a scale and a bias: constants when not affine.
    const affine = args.affine.k === "bool" && args.affine.v;
    const w = affine
      ? ctx.param(prefix, "weight", [c], { kind: "ones" }, { layer: "instance_norm" })
      : ctx.constant(filled(x.t.dtype, [c], 1, "instance_norm()'s scale"));
    const b = affine
      ? ctx.param(prefix, "bias", [c], { kind: "zeros" }, { layer: "instance_norm" })
      : ctx.constant(filled(x.t.dtype, [c], 0, "instance_norm()'s bias"));
    if (!w || !b) return ERROR;
    const out = ctx.op("InstanceNormalization", [x.v, w.v, b.v], { epsilon: num(args.eps) }, {
      name: prefix,
    });
    return out ? out[0] : ERROR;
  },
};

/**
 * Group normalisation (Wu and He, 2018), torch.nn.GroupNorm: the C channels of [N, C, ...] fall
 * into `groups` groups of C / G consecutive channels, and each sample's group is normalised over
 * its channels and spatial positions together, y = (x - mean) / sqrt(var + eps) (the population
 * variance), then scaled and shifted per channel. A group is exactly what InstanceNormalization
 * normalises once the tensor is viewed as [N, G, (C / G) * spatial]: one "channel" per group, its
 * channels and positions as one spatial axis. So: Reshape to [N, G, -1], InstanceNormalization
 * with a constant scale 1 and shift 0 per group, Reshape back to the input's shape, then the
 * per-channel affine map as Mul and Add by weight and bias viewed as [C, 1, ...]. Every piece has
 * its gradient rule, so the layer trains and grad() sees through it with no rule of its own.
 */
const groupNorm: LayerDef = {
  name: "group_norm",
  doc:
    "Group normalisation (torch.nn.GroupNorm): the channels (dim 1) of [N, C, ...] in `groups` " +
    "groups, each sample's group normalised over its channels and positions; per-channel weight " +
    "and bias unless affine: false.",
  sig: [
    { name: "groups", type: "int" },
    { name: "eps", type: "float", default: f(1e-5) },
    { name: "affine", type: "bool", default: T },
  ],
  apply(ctx, args, [x], prefix) {
    const r = x.t.shape.length;
    if (r < 2) {
      return ctx.error(
        ...diag("DLM0203", "group_norm()", "an input [N, C, ...spatial]", formatType(x.t)),
      );
    }
    const c = concreteDim(ctx, x, 1, "number of channels", "group_norm()");
    if (c === undefined) return ERROR;
    const g = num(args.groups);
    if (g < 1 || c % g !== 0) {
      return ctx.error(
        ...diag("DLM0210", "group_norm()", `groups dividing the ${c} channels`, g),
        ctx.argSpan("groups"),
      );
    }
    const sub = (s: string) => (prefix ? `${prefix}.${s}` : undefined);
    const grouped = ctx.op(
      "Reshape",
      [
        x.v,
        ctx.constant(tensor("i64", [3], [0, g, -1])).v,
      ],
      {},
      { name: sub("groups") },
    )?.[0];
    if (!grouped) return ERROR;
    const normed = ctx.op(
      "InstanceNormalization",
      [
        grouped.v,
        ctx.constant(filled(x.t.dtype, [g], 1, "group_norm()'s group scale")).v,
        ctx.constant(filled(x.t.dtype, [g], 0, "group_norm()'s group shift")).v,
      ],
      { epsilon: num(args.eps) },
      { name: prefix },
    )?.[0];
    if (!normed) return ERROR;
    // Back to the input's shape: its dims as constants when all are known, else read at run time.
    const known = x.t.shape.every((d, a) => a === 0 || typeof d === "number");
    const shape = known
      ? ctx.constant(tensor("i64", [r], x.t.shape.map((d, a) => (a === 0 ? 0 : d as number))))
      : ctx.op("Shape", [x.v], {}, { name: sub("shape") })?.[0];
    const back = shape && ctx.op("Reshape", [normed.v, shape.v], {}, { name: sub("ungroup") })?.[0];
    if (!back) return ERROR;
    const y = ctx.refine(back, x.t);
    const affine = args.affine.k === "bool" && args.affine.v;
    if (!affine) return y;
    const w = ctx.param(prefix, "weight", [c], { kind: "ones" }, { layer: "group_norm" });
    const b = ctx.param(prefix, "bias", [c], { kind: "zeros" }, { layer: "group_norm" });
    if (!w || !b) return ERROR;
    const perChannel = ctx.constant(tensor("i64", [r - 1], [c, ...Array(r - 2).fill(1)]));
    const ws = ctx.op("Reshape", [w.v, perChannel.v], {}, { name: sub("weight_view") })?.[0];
    const bs = ctx.op("Reshape", [b.v, perChannel.v], {}, { name: sub("bias_view") })?.[0];
    const scaled = ws && ctx.op("Mul", [y.v, ws.v], {}, { name: sub("scale") })?.[0];
    const out = scaled && bs && ctx.op("Add", [scaled.v, bs.v], {}, { name: sub("shift") });
    return out ? out[0] : ERROR;
  },
};

const embedding: LayerDef = {
  name: "embedding",
  doc: "Lookup table: integer ids [...] to vectors [..., dim]; weight [num, dim] ~ N(0, 1).",
  sig: [
    { name: "num", type: "int" },
    { name: "dim", type: "int" },
    { name: "init", type: "init", optional: true },
  ],
  apply(ctx, args, [x], prefix) {
    if (x.t.dtype !== "i64" && x.t.dtype !== "i32") {
      return ctx.error(...diag("DLM0207", "embedding()", "integer ids", formatType(x.t)));
    }
    // A table of no rows has no id to look up (every id is out of range, and its gradient's
    // scatter had no row to add to: an internal error); of no columns, no vector to give.
    for (const arg of ["num", "dim"] as const) {
      if (num(args[arg]) <= 0) {
        return ctx.error(
          ...diag(
            "DLM0210",
            "embedding()",
            arg === "num" ? "a positive number of ids" : "a positive dim",
            num(args[arg]),
          ),
          ctx.argSpan(arg),
        );
      }
    }
    const w = ctx.param(prefix, "weight", [num(args.num), num(args.dim)], {
      kind: "normal",
      mean: 0,
      std: 1,
    }, {
      layer: "embedding",
      explicit: weightInit(ctx, args),
    });
    if (!w) return ERROR;
    const rows = num(args.num);
    ctx.needIndices(x, {
      what: "id",
      by: `embedding '${prefix}' (${rows} ids)`,
      min: 0,
      max: rows - 1,
    });
    const out = ctx.op("Gather", [w.v, x.v], { axis: 0 }, { name: prefix });
    return out ? out[0] : ERROR;
  },
};

const prelu: LayerDef = {
  name: "prelu",
  doc: "Parametric ReLU with one slope per channel (dim 1), initialised to 0.25.",
  sig: [{ name: "channels", type: "int", default: i(0) }],
  apply(ctx, args, [x], prefix) {
    let c = num(args.channels);
    if (c === 0) {
      const d = x.t.shape.length >= 2 ? concreteDim(ctx, x, 1, "number of channels", "prelu()") : 1;
      if (d === undefined) return ERROR;
      c = d;
    }
    const extra = Math.max(0, x.t.shape.length - 2);
    const w = ctx.param(prefix, "weight", [c], { kind: "constant", value: 0.25 }, {
      layer: "prelu",
    });
    if (!w) return ERROR;
    // Broadcast [C] over [N, C, ...]: reshape the slope to [C, 1, ...].
    const shape = ctx.constant(tensor("i64", [extra + 1], [c, ...Array(extra).fill(1)]));
    const ws = ctx.op("Reshape", [w.v, shape.v], {}, { name: `${prefix}.slope` });
    if (!ws) return ERROR;
    const out = ctx.op("PRelu", [x.v, ws[0].v], {}, { name: prefix });
    return out ? out[0] : ERROR;
  },
};

export const LAYERS: Record<string, LayerDef> = Object.fromEntries(
  [
    linear,
    convLayer("conv1d", 1, false),
    convLayer("conv2d", 2, false),
    convLayer("conv3d", 3, false),
    convLayer("conv_transpose1d", 1, true),
    convLayer("conv_transpose2d", 2, true),
    convLayer("conv_transpose3d", 3, true),
    batchNorm,
    layerNorm,
    instanceNorm,
    groupNorm,
    embedding,
    prelu,
  ].map((d) => [d.name, d]),
);
