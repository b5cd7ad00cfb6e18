/**
 * Parameter-efficient fine-tuning, applied while a model is elaborated:
 * `model GPT2LoRA = GPT2Small with lora(rank: 8, targets: "h.*.attn.c_attn")`
 * or `train GPT2Small with lora(...) { ... }`.
 *
 * - `lora`: a low-rank update (alpha/r) B A beside a linear or convolution
 *   layer (Hu et al.); B starts at zero, so the model starts equal to its base.
 *   A layer is linear or convolution because its built-in declaration says
 *   so (`like:` in LayerDef), not because of its name.
 * - `ia3`: a learned vector scaling a layer's output (or, for the layers
 *   matching `feedforward:`, its input), starting at one (Liu et al.).
 * - `adapter`: a bottleneck (down-projection, activation, up-projection,
 *   residual) after a block (Houlsby et al.); the up-projection starts at zero.
 * - `prefix_tuning`: learned keys and values prepended to an attention's
 *   own (Li and Liang), at every call under a target of a function declared
 *   `attention: true` (FnDef), such as `scaled_dot_product_attention`.
 * - `top_layers`: trains the last k of a stack of numbered layers.
 * - `also_train`: base parameters that train as well (a new classifier head).
 * - `subspace`: every selected parameter becomes theta0 + P z, one trainable
 *   z of d numbers and a fixed random P (Li et al.; ./subspace.ts).
 *
 * Everything of the base model is frozen; the methods' parameters are the
 * trainable ones. The graph always holds the unmerged form; each LoRA and
 * IA3 application is recorded in `Graph.merges`, so that after weights are
 * loaded `mergeAdapters` (compiler/passes/merge_adapters.ts) can fold them
 * into the base weights.
 */
import { formatType, type MergeRecord, type Span } from "../ir/graph.ts";
import type { Expr } from "../ir/expr.ts";
import { tensor, zeros as zeroTensor } from "../ir/tensor.ts";
import type { Ctx } from "./context.ts";
import { compileGlob, type NamePattern } from "./glob.ts";
import type { InitSpec } from "../ir/init.ts";
import { describe, ERROR, type TensorValue, type Value } from "./values.ts";
import { withGraph, withGraphs } from "./builtins/util.ts";
import { FUNCTIONS } from "./builtins/functions.ts";
import { type Code, diag } from "../diagnostics.ts";
import { PROJECTIONS, type SubspaceSpec } from "./subspace.ts";

export interface LoraSpec {
  method: "lora";
  name: string;
  rank: number;
  alpha: number;
  dropout: number;
  std: number;
  targets: string;
  re: NamePattern;
  /** `parts: (true, false, true)`: the output splits into equal parts; only true ones adapt. */
  parts?: boolean[];
  span: Span;
}

export interface Ia3Spec {
  method: "ia3";
  name: string;
  targets: string;
  re: NamePattern;
  feedforward?: NamePattern;
  /** As lora's: only these equal parts of the output are scaled (k and v of a fused q/k/v). */
  parts?: boolean[];
  span: Span;
}

export interface AdapterSpec {
  method: "adapter";
  name: string;
  size: number;
  activation: string;
  targets: string;
  re: NamePattern;
  span: Span;
}

export interface PrefixSpec {
  method: "prefix_tuning";
  name: string;
  length: number;
  std: number;
  targets: string;
  re: NamePattern;
  span: Span;
}

export interface TopLayersSpec {
  method: "top_layers";
  k: number;
  layers: string;
  also?: NamePattern;
  span: Span;
}

/** `also_train(targets: "fc.*")`: base parameters that train too (a new head). */
export interface AlsoTrainSpec {
  method: "also_train";
  targets: string;
  re: NamePattern;
  span: Span;
}

export type MethodSpec =
  | LoraSpec
  | Ia3Spec
  | AdapterSpec
  | PrefixSpec
  | TopLayersSpec
  | AlsoTrainSpec
  | SubspaceSpec;

/** The spec kinds `with` accepts, and the arguments each takes (for COMPILE_FNS). */
export const METHOD_ARGS: Record<string, [string, "int" | "number" | "str" | "any"][]> = {
  lora: [
    ["rank", "int"],
    ["alpha", "number"],
    ["dropout", "number"],
    ["targets", "str"],
    ["name", "str"],
    ["std", "number"],
    ["parts", "any"],
  ],
  ia3: [["targets", "str"], ["feedforward", "str"], ["parts", "any"], ["name", "str"]],
  adapter: [["size", "int"], ["targets", "str"], ["activation", "str"], ["name", "str"]],
  prefix_tuning: [["length", "int"], ["targets", "str"], ["name", "str"], ["std", "number"]],
  top_layers: [["k", "int"], ["layers", "str"], ["also", "str"]],
  also_train: [["targets", "str"]],
  subspace: [["d", "int"], ["targets", "str"], ["projection", "str"], ["name", "str"]],
};

type Report = (code: Code, message: string, span: Span) => void;

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Turn the evaluated `with` expressions into method specs, reporting bad ones. */
export function methodSpecs(values: { value: Value; span: Span }[], report: Report): MethodSpec[] {
  const out: MethodSpec[] = [];
  for (const { value: v, span } of values) {
    if (v.k === "error") continue;
    if (v.k !== "spec" || !(v.kind in METHOD_ARGS)) {
      report(
        ...diag(
          "DLM0201",
          "'with'",
          `fine-tuning methods (${Object.keys(METHOD_ARGS).join(", ")})`,
          describe(v),
        ),
        span,
      );
      continue;
    }
    const a = v.args;
    const str = (k: string) => (a[k]?.k === "str" ? a[k].v as string : undefined);
    const numv = (k: string) =>
      a[k]?.k === "int" || a[k]?.k === "float" ? a[k].v as number : undefined;
    const need = (k: string): boolean => {
      if (a[k] !== undefined) return true;
      report(...diag("DLM0223", `${v.kind}()`, `'${k}:'`), span);
      return false;
    };
    const name = str("name") ?? "default";
    if (!NAME_RE.test(name)) {
      report(...diag("DLM0123", v.kind, "", name), span);
      continue;
    }
    const positive = (k: string, x: number | undefined): boolean => {
      if (x !== undefined && x > 0) return true;
      report(...diag("DLM0210", `${v.kind}()`, `a positive '${k}'`, `${x}`), span);
      return false;
    };
    switch (v.kind) {
      case "lora": {
        if (!need("rank") || !need("targets")) continue;
        const rank = numv("rank")!;
        if (!positive("rank", rank)) continue;
        const alpha = numv("alpha") ?? rank;
        const dropout = numv("dropout") ?? 0;
        if (dropout < 0 || dropout >= 1) {
          report(...diag("DLM0210", "lora()", "0 <= dropout < 1", dropout), span);
          continue;
        }
        const std = numv("std") ?? 1 / rank;
        const parts = partsOf(v.kind, a.parts, span, report);
        if (parts === null) continue;
        const targets = str("targets")!;
        out.push({
          method: "lora",
          name,
          rank,
          alpha,
          dropout,
          std,
          targets,
          re: compileGlob(targets),
          parts,
          span,
        });
        break;
      }
      case "ia3": {
        if (!need("targets")) continue;
        const ff = str("feedforward");
        const parts = partsOf(v.kind, a.parts, span, report);
        if (parts === null) continue;
        if (parts && ff) {
          report(
            ...diag(
              "DLM0210",
              "ia3()",
              "parts: (outputs to scale) or feedforward: (layers that scale their input), not both; use two ia3()s",
              "both",
            ),
            span,
          );
          continue;
        }
        out.push({
          method: "ia3",
          name,
          targets: str("targets")!,
          re: compileGlob(str("targets")!),
          feedforward: ff ? compileGlob(ff) : undefined,
          parts,
          span,
        });
        break;
      }
      case "adapter": {
        if (!need("size") || !need("targets")) continue;
        const size = numv("size")!;
        if (!positive("size", size)) continue;
        const activation = str("activation") ?? "relu";
        if (!ACTIVATIONS.includes(activation)) {
          report(
            ...diag(
              "DLM0214",
              "adapter() activation",
              `one of ${ACTIVATIONS.join(", ")}`,
              activation,
            ),
            span,
          );
          continue;
        }
        out.push({
          method: "adapter",
          name,
          size,
          activation,
          targets: str("targets")!,
          re: compileGlob(str("targets")!),
          span,
        });
        break;
      }
      case "prefix_tuning": {
        if (!need("length") || !need("targets")) continue;
        const length = numv("length")!;
        if (!positive("length", length)) continue;
        out.push({
          method: "prefix_tuning",
          name,
          length,
          std: numv("std") ?? 0.02,
          targets: str("targets")!,
          re: compileGlob(str("targets")!),
          span,
        });
        break;
      }
      case "also_train": {
        if (!need("targets")) continue;
        out.push({
          method: "also_train",
          targets: str("targets")!,
          re: compileGlob(str("targets")!),
          span,
        });
        break;
      }
      case "subspace": {
        if (!need("d")) continue;
        const d = numv("d")!;
        if (!positive("d", d)) continue;
        const projection = str("projection") ?? "auto";
        if (!(PROJECTIONS as readonly string[]).includes(projection)) {
          report(
            ...diag(
              "DLM0214",
              "subspace() projection",
              `one of ${PROJECTIONS.join(", ")}`,
              projection,
            ),
            span,
          );
          continue;
        }
        const targets = str("targets") ?? "*";
        out.push({
          method: "subspace",
          name,
          d,
          targets,
          re: compileGlob(targets),
          projection: projection as SubspaceSpec["projection"],
          span,
        });
        break;
      }
      case "top_layers": {
        if (!need("k") || !need("layers")) continue;
        const k = numv("k")!;
        if (!positive("k", k)) continue;
        const also = str("also");
        out.push({
          method: "top_layers",
          k,
          layers: str("layers")!,
          also: also ? compileGlob(also) : undefined,
          span,
        });
        break;
      }
    }
  }
  return out;
}

const ACTIVATIONS = ["relu", "gelu", "gelu_tanh", "silu", "tanh"];

/** `parts: (true, false, true)`: undefined when absent, null (reported) when malformed. */
function partsOf(
  method: string,
  p: Value | undefined,
  span: Span,
  report: Report,
): boolean[] | undefined | null {
  if (!p) return undefined;
  if (
    (p.k !== "tuple" && p.k !== "list") || p.items.length < 1 ||
    p.items.some((x) => x.k !== "bool")
  ) {
    report(...diag("DLM0201", `${method}()`, "a tuple of bools for 'parts'", describe(p)), span);
    return null;
  }
  const parts = p.items.map((x) => (x as { v: boolean }).v);
  if (!parts.some((x) => x)) {
    report(...diag("DLM0210", `${method}() parts:`, "at least one true", describe(p)), span);
    return null;
  }
  return parts;
}

/**
 * What the methods need of a layer's built-in declaration (LayerDef): its
 * name, for messages and merge records, and what it is. LoRA and IA3 adapt
 * a layer because it declares itself linear-like or conv-like, whatever it
 * is called.
 */
export interface AdaptableLayer {
  readonly name: string;
  readonly like?: "linear" | "conv";
}

/** What the elaborator gives the methods: a Ctx at a span, and where parameters are recorded. */
export interface PeftHost {
  readonly mode: "eval" | "train";
  ctx(span: Span): Ctx;
  report: Report;
  /** Mark a parameter as created by a method (`lora:qv`), with the role `dlm params` shows. */
  markAdapter(name: string, method: string, role?: string): void;
  merges: MergeRecord[];
}

/** The methods applied to one model, and the hooks the elaborator calls. */
export class Peft {
  /** Targets each method matched, for "matches no layer" errors at the end. */
  readonly hits = new Map<MethodSpec, number>();

  constructor(readonly specs: MethodSpec[], readonly host: PeftHost) {
    for (const s of specs) this.hits.set(s, 0);
  }

  /** IA3 on the input of a feed-forward layer: x * l before the layer. */
  beforeLayer(
    layer: AdaptableLayer,
    prefix: string,
    inputs: TensorValue[],
    span: Span,
  ): TensorValue[] {
    if (!layer.like || inputs.length !== 1) return inputs;
    let x = inputs[0];
    for (const s of this.specs) {
      if (s.method !== "ia3" || !s.re.test(prefix) || !s.feedforward?.test(prefix)) continue;
      this.hit(s);
      const ctx = this.host.ctx(span);
      const axis = layer.like === "linear" ? x.t.shape.length - 1 : 1;
      const n = x.t.shape[axis];
      if (typeof n !== "number") {
        ctx.error(...diag("DLM0203", "ia3()", `a known input width at ${prefix}`, formatType(x.t)));
        continue;
      }
      const shape = layer.like === "linear" ? [n] : [n, ...Array(x.t.shape.length - 2).fill(1)];
      const l = this.param(ctx, `${prefix}.ia3_l`, s.name, shape, { kind: "ones" }, s);
      const name = `${prefix}.ia3.${s.name}`;
      const y = l && withGraph(ctx, (e) => e.tensor(x).op("Mul", [l.v], {}, { name }));
      if (!y) continue;
      this.host.merges.push({
        method: "ia3_in",
        adapter: s.name,
        layer: layer.name,
        weight: `${prefix}.weight`,
        vector: l!.v,
        base: x.v,
        result: y.v,
      });
      x = y;
    }
    return [x];
  }

  /** LoRA and IA3 on a layer's output. */
  afterLayer(
    layer: AdaptableLayer,
    prefix: string,
    inputs: TensorValue[],
    args: Record<string, Value>,
    out: Value,
    span: Span,
  ): Value {
    if (out.k !== "tensor" || !layer.like) return out;
    let y: TensorValue = out;
    for (const s of this.specs) {
      if (!(s.method === "lora" || s.method === "ia3") || !s.re.test(prefix)) continue;
      if (s.method === "ia3" && s.feedforward?.test(prefix)) continue;
      this.hit(s);
      const ctx = this.host.ctx(span);
      const r = s.method === "lora"
        ? (layer.like === "linear"
          ? this.loraLinear(ctx, s, prefix, inputs[0], y)
          : this.loraConv(ctx, s, layer.name, prefix, inputs[0], args, y))
        : this.ia3Out(ctx, s, layer, prefix, y);
      if (!r) return ERROR;
      y = r;
    }
    return y;
  }

  /** Bottleneck adapters after a block or labelled group whose name matches. */
  afterBlock(prefix: string, out: Value, span: Span): Value {
    let y = out;
    for (const s of this.specs) {
      if (s.method !== "adapter" || !prefix || !s.re.test(prefix)) continue;
      this.hit(s);
      const ctx = this.host.ctx(span);
      if (y.k !== "tensor") {
        if (y.k === "error") return y;
        return ctx.error(
          ...diag("DLM0236", `What adapter() adapts at '${prefix}'`, "one tensor", describe(y)),
        );
      }
      const r = this.bottleneck(ctx, s, prefix, y);
      if (!r) return ERROR;
      y = r;
    }
    return y;
  }

  /**
   * Prefix tuning: learned keys and values before an attention's own, with
   * its masks widened so that every query sees the prefix.
   */
  attention(level: string, a: Record<string, Value>, span: Span): Record<string, Value> {
    let args = a;
    for (const s of this.specs) {
      if (s.method !== "prefix_tuning" || !s.re.test(level)) continue;
      this.hit(s);
      const r = this.prefix(this.host.ctx(span), s, level, args);
      if (!r) return { ...args, q: ERROR };
      args = r;
    }
    return args;
  }

  /** Report methods whose targets matched nothing: most likely a typo in the pattern. */
  finish(paramNames: string[]): void {
    for (const s of this.specs) {
      if (s.method === "also_train") {
        if (!paramNames.some((n) => s.re.test(n))) {
          this.host.report(
            ...diag(
              "DLM0215",
              `also_train(targets: "${s.targets}")`,
              "parameter",
              " (see dlm params)",
            ),
            s.span,
          );
        }
      } else if (s.method === "top_layers") {
        if (this.topLayerNames(paramNames, s).size === 0) {
          this.host.report(
            ...diag(
              "DLM0215",
              `top_layers(layers: "${s.layers}")`,
              `parameter named ${s.layers}.<i>.*`,
              "",
            ),
            s.span,
          );
        }
      } else if (s.method === "subspace") {
        // Reported where it is applied, over the parameters (./subspace.ts).
      } else if (this.hits.get(s) === 0) {
        const what = s.method === "prefix_tuning"
          ? "scaled_dot_product_attention under it"
          : s.method === "adapter"
          ? "block or labelled group"
          : "linear or convolution layer";
        this.host.report(
          ...diag(
            "DLM0215",
            `${s.method}(targets: "${s.targets}")`,
            what,
            "; targets are matched against names such as h.0.attn.c_attn (see dlm params)",
          ),
          s.span,
        );
      }
    }
  }

  /**
   * Which parameters stay trainable: those the methods created and those
   * top_layers selects. Everything else is frozen.
   */
  trainable(paramNames: string[]): Set<string> {
    const keep = new Set<string>();
    for (const s of this.specs) {
      if (s.method === "top_layers") {
        for (const n of this.topLayerNames(paramNames, s)) keep.add(n);
      }
      if (s.method === "also_train") { for (const n of paramNames) if (s.re.test(n)) keep.add(n); }
    }
    return keep;
  }

  topLayerNames(paramNames: string[], s: TopLayersSpec): Set<string> {
    const prefix = `${s.layers}.`;
    const indices = new Set<number>();
    for (const n of paramNames) {
      if (!n.startsWith(prefix)) continue;
      const m = /^(\d+)\./.exec(n.slice(prefix.length));
      if (m) indices.add(Number(m[1]));
    }
    const top = new Set([...indices].sort((x, y) => x - y).slice(-s.k));
    const out = new Set<string>();
    for (const n of paramNames) {
      const m = n.startsWith(prefix) ? /^(\d+)\./.exec(n.slice(prefix.length)) : null;
      if ((m && top.has(Number(m[1]))) || s.also?.test(n)) out.add(n);
    }
    return out;
  }

  // ---------------------------------------------------------------- methods

  hit(s: MethodSpec): void {
    this.hits.set(s, (this.hits.get(s) ?? 0) + 1);
  }

  param(
    ctx: Ctx,
    prefix: string,
    role: string,
    shape: number[],
    init: InitSpec,
    s: MethodSpec,
  ): TensorValue | undefined {
    const p = ctx.param(prefix, role, shape, init, { layer: s.method, explicit: init });
    // An IA3 vector is named after its adapter (`L.ia3_l.<name>`); its role is a scale.
    if (p) {
      this.host.markAdapter(
        p.v,
        `${s.method}:${"name" in s ? s.name : ""}`,
        s.method === "ia3" ? "scale" : undefined,
      );
    }
    return p;
  }

  /** Dropout on the adapter's input, in train mode only (the built-in's train-mode node). */
  dropout(ctx: Ctx, x: TensorValue, p: number): TensorValue | undefined {
    if (p === 0 || this.host.mode === "eval") return x;
    const r = FUNCTIONS.dropout.apply(ctx, { x, p: { k: "float", v: p } });
    return r.k === "tensor" ? r : undefined;
  }

  loraLinear(
    ctx: Ctx,
    s: LoraSpec,
    prefix: string,
    x: TensorValue,
    base: TensorValue,
  ): TensorValue | undefined {
    const inF = x.t.shape[x.t.shape.length - 1];
    const outF = base.t.shape[base.t.shape.length - 1];
    if (typeof inF !== "number" || typeof outF !== "number") return undefined;
    const parts = s.parts ?? [true];
    if (outF % parts.length !== 0) {
      ctx.error(
        ...diag(
          "DLM0232",
          "lora() parts:",
          `split ${prefix}'s ${outF} outputs into ${parts.length} equal parts`,
        ),
        s.span,
      );
      return undefined;
    }
    const k = parts.filter((p) => p).length;
    const partOut = outF / parts.length;
    const r = s.rank;
    const a = this.param(ctx, `${prefix}.lora_A.${s.name}`, "weight", [k * r, inF], {
      kind: "normal",
      mean: 0,
      std: s.std,
    }, s);
    const b = this.param(ctx, `${prefix}.lora_B.${s.name}`, "weight", [k * partOut, r], {
      kind: "zeros",
    }, s);
    if (!a || !b) return undefined;
    const scale = s.alpha / r;
    const base_ = `${prefix}.lora.${s.name}`;
    // The full update matrix [out, k*r] in weight space: B's blocks placed at their parts.
    const bFull = !s.parts ? b : withGraph(ctx, (e) => {
      const zeros = (shape: number[], base?: string) =>
        e.tensor(ctx.constant(zeroTensor(b.t.dtype, shape), base));
      const rows: Expr[] = [];
      let m = 0;
      for (const on of parts) {
        if (!on) {
          rows.push(zeros([partOut, k * r], `${base_}.zeros`));
          continue;
        }
        const bm = e.tensor(b).op("Slice", [
          e.ints([m * partOut]),
          e.ints([(m + 1) * partOut]),
          e.ints([0]),
        ]);
        const cols: Expr[] = [];
        if (m > 0) cols.push(zeros([partOut, m * r]));
        cols.push(bm);
        if (m < k - 1) cols.push(zeros([partOut, (k - 1 - m) * r]));
        rows.push(cols.length === 1 ? bm : e.op1("Concat", cols, { axis: 1 }));
        m++;
      }
      return e.op1("Concat", rows, { axis: 0 }, { name: `${base_}.B_full` });
    });
    const bs = bFull && scaled(ctx, bFull, scale);
    const xd = bs && this.dropout(ctx, x, s.dropout);
    if (!bs || !xd) return undefined;
    const delta = withGraph(ctx, (e) => {
      if (x.t.shape.length === 2) {
        const u = e.tensor(xd).op("Gemm", [a.v], { transB: 1 }, { name: `${base_}.A` });
        return u.op("Gemm", [bs.v, base.v], { transB: 1 }, { name: base_ });
      }
      const at = e.tensor(a).transpose([1, 0]);
      const bt = e.tensor(bs).transpose([1, 0]);
      const u = e.tensor(xd).op("MatMul", [at], {}, { name: `${base_}.A` });
      const d = u.op("MatMul", [bt], {}, { name: `${base_}.B` });
      return e.tensor(base).op("Add", [d], {}, { name: base_ });
    });
    if (!delta) return undefined;
    this.host.merges.push({
      method: "lora",
      adapter: s.name,
      layer: "linear",
      weight: `${prefix}.weight`,
      a: a.v,
      b: b.v,
      scale,
      parts,
      base: base.v,
      result: delta.v,
    });
    return delta;
  }

  loraConv(
    ctx: Ctx,
    s: LoraSpec,
    layer: string,
    prefix: string,
    x: TensorValue,
    args: Record<string, Value>,
    base: TensorValue,
  ): TensorValue | undefined {
    if (s.parts) {
      ctx.error(
        ...diag("DLM0801", "lora() parts:", `${prefix}, a ${layer}`, "it is for linear layers"),
        s.span,
      );
      return undefined;
    }
    const groups = args.groups?.k === "int" ? args.groups.v : 1;
    if (groups !== 1) {
      ctx.error(
        ...diag(
          "DLM0801",
          "lora()",
          prefix,
          `grouped convolutions (groups: ${groups}) are not supported`,
        ),
        s.span,
      );
      return undefined;
    }
    // The base Conv node: its attributes give A's kernel, stride, pads and dilations.
    const conv = ctx.producerOf(base.v);
    if (!conv || conv.op !== "Conv") {
      ctx.error(
        ...diag("DLM0801", "lora()", prefix, "only convolutions (not transposed) adapt"),
        s.span,
      );
      return undefined;
    }
    const outC = base.t.shape[1], inC = x.t.shape[1];
    const kernel = conv.attrs.kernel_shape as number[] | undefined;
    if (typeof outC !== "number" || typeof inC !== "number" || !kernel) return undefined;
    const r = s.rank;
    const a = this.param(ctx, `${prefix}.lora_A.${s.name}`, "weight", [r, inC, ...kernel], {
      kind: "normal",
      mean: 0,
      std: s.std,
    }, s);
    const b = this.param(ctx, `${prefix}.lora_B.${s.name}`, "weight", [
      outC,
      r,
      ...kernel.map(() => 1),
    ], {
      kind: "zeros",
    }, s);
    if (!a || !b) return undefined;
    const scale = s.alpha / r;
    const name = `${prefix}.lora.${s.name}`;
    const xd = this.dropout(ctx, x, s.dropout);
    const attrs = { ...conv.attrs } as Record<string, number | number[] | string>;
    const y = xd && withGraph(ctx, (e) => {
      const u = e.tensor(xd).op("Conv", [a.v], attrs, { name: `${name}.A` });
      const bs = e.tensor(b).mul(scale);
      const d = u.op("Conv", [bs], {}, { name: `${name}.B` });
      return e.tensor(base).op("Add", [d], {}, { name });
    });
    if (!y) return undefined;
    this.host.merges.push({
      method: "lora",
      adapter: s.name,
      layer,
      weight: conv.inputs[1],
      a: a.v,
      b: b.v,
      scale,
      parts: [true],
      base: base.v,
      result: y.v,
    });
    return y;
  }

  ia3Out(
    ctx: Ctx,
    s: Ia3Spec,
    layer: AdaptableLayer,
    prefix: string,
    y: TensorValue,
  ): TensorValue | undefined {
    const linear = layer.like === "linear";
    const axis = linear ? y.t.shape.length - 1 : 1;
    const n = y.t.shape[axis];
    if (typeof n !== "number") return undefined;
    const parts = s.parts ?? [true];
    if (s.parts && (!linear || n % parts.length !== 0)) {
      ctx.error(
        ...diag(
          "DLM0801",
          "ia3() parts:",
          `${prefix}, a ${layer.name} with ${n} outputs`,
          "it splits a linear layer's outputs into equal parts",
        ),
        s.span,
      );
      return undefined;
    }
    const part = n / parts.length, k = parts.filter((p) => p).length;
    const shape = linear ? [k * part] : [n, ...Array(y.t.shape.length - 2).fill(1)];
    const l = this.param(ctx, `${prefix}.ia3_l`, s.name, shape, { kind: "ones" }, s);
    if (!l) return undefined;
    const out = withGraph(ctx, (e) => {
      // With parts, the full scale vector: l's pieces where enabled, ones elsewhere.
      let full = e.tensor(l);
      if (s.parts) {
        const pieces: Expr[] = [];
        let m = 0;
        for (const on of parts) {
          if (!on) {
            pieces.push(e.constant(tensor(l.t.dtype, [part], new Array(part).fill(1))));
            continue;
          }
          const bounds = [e.ints([m * part]), e.ints([(m + 1) * part]), e.ints([0])];
          pieces.push(e.tensor(l).op("Slice", bounds));
          m++;
        }
        full = e.op1("Concat", pieces, { axis: 0 }, { name: `${prefix}.ia3_l.${s.name}.full` });
      }
      return e.tensor(y).op("Mul", [full], {}, { name: `${prefix}.ia3.${s.name}` });
    });
    if (!out) return undefined;
    const producer = ctx.producerOf(y.v);
    this.host.merges.push({
      method: "ia3_out",
      adapter: s.name,
      layer: layer.name,
      weight: `${prefix}.weight`,
      bias: producer?.inputs.find((i) => i === `${prefix}.bias`),
      vector: l.v,
      parts,
      base: y.v,
      result: out.v,
    });
    return out;
  }

  bottleneck(ctx: Ctx, s: AdapterSpec, prefix: string, y: TensorValue): TensorValue | undefined {
    const d = y.t.shape[y.t.shape.length - 1];
    if (typeof d !== "number") {
      ctx.error(
        ...diag("DLM0203", `adapter() at '${prefix}'`, "a known last dim", formatType(y.t)),
      );
      return undefined;
    }
    const base = `${prefix}.adapters.${s.name}`;
    const lin = (
      x: TensorValue,
      name: string,
      outF: number,
      inF: number,
      zero: boolean,
    ): TensorValue | undefined => {
      const bound = 1 / Math.sqrt(inF);
      const w = this.param(
        ctx,
        `${base}.${name}`,
        "weight",
        [outF, inF],
        zero ? { kind: "zeros" } : {
          kind: "kaiming_uniform",
          a: Math.sqrt(5),
          mode: "fan_in",
          nonlinearity: "leaky_relu",
        },
        s,
      );
      const b = this.param(
        ctx,
        `${base}.${name}`,
        "bias",
        [outF],
        zero ? { kind: "zeros" } : { kind: "uniform", low: -bound, high: bound },
        s,
      );
      if (!w || !b) return undefined;
      return withGraph(ctx, (e) => {
        const opts = { name: `${base}.${name}` };
        if (x.t.shape.length === 2) return e.op1("Gemm", [x.v, w.v, b.v], { transB: 1 }, opts);
        return e.tensor(x).matmul(e.tensor(w).transpose([1, 0])).op("Add", [b.v], {}, opts);
      });
    };
    const down = lin(y, "down", s.size, d, false);
    const act = down && activation(ctx, s.activation, down);
    const up = act && lin(act, "up", d, s.size, true);
    return up && withGraph(ctx, (e) => e.tensor(y).op("Add", [up.v], {}, { name: base }));
  }

  prefix(
    ctx: Ctx,
    s: PrefixSpec,
    level: string,
    a: Record<string, Value>,
  ): Record<string, Value> | undefined {
    const q = a.q as TensorValue, k = a.k as TensorValue, v = a.v as TensorValue;
    if (q.k !== "tensor" || k.k !== "tensor" || v.k !== "tensor") return undefined;
    const rk = k.t.shape.length;
    const inner = k.t.shape.slice(1, rk - 2);
    const dk = k.t.shape[rk - 1], dv = v.t.shape[v.t.shape.length - 1];
    if (
      rk < 3 || v.t.shape.length !== rk || [...inner, dk, dv].some((x) => typeof x !== "number")
    ) {
      ctx.error(
        ...diag(
          "DLM0203",
          `prefix_tuning() at '${level}'`,
          "keys and values [N, ..., S, d] with known dims after N",
          `k ${formatType(k.t)} and v ${formatType(v.t)}`,
        ),
        s.span,
      );
      return undefined;
    }
    const P = s.length;
    const base = `${level}.prefix.${s.name}`;
    const init: InitSpec = { kind: "normal", mean: 0, std: s.std };
    const pk = this.param(ctx, base, "key", [...inner as number[], P, dk as number], init, s);
    const pv = this.param(ctx, base, "value", [...inner as number[], P, dv as number], init, s);
    if (!pk || !pv) return undefined;
    // [N] ++ pk's shape: the batch dim from k.
    const kv = withGraphs(ctx, (e) => {
      const nDim = e.tensor(k).op("Shape", [], { start: 0, end: 1 });
      const shapeK = e.op1("Concat", [nDim, e.ints([...inner as number[], P, dk as number])], {
        axis: 0,
      });
      const shapeV = e.op1("Concat", [nDim, e.ints([...inner as number[], P, dv as number])], {
        axis: 0,
      });
      const batch = k.t.shape[0];
      const typed = (x: Expr, d: number) =>
        e.refine(x, { dtype: k.t.dtype, shape: [batch, ...inner, P, d] });
      const ek = typed(e.tensor(pk).expand(shapeK), dk as number);
      const ev = typed(e.tensor(pv).expand(shapeV), dv as number);
      const axis = { axis: rk - 2 };
      return [
        e.op1("Concat", [ek, k.v], axis, { name: `${base}.keys` }),
        e.op1("Concat", [ev, v.v], axis, { name: `${base}.values` }),
      ];
    });
    if (!kv) return undefined;
    const [k2, v2] = kv;
    const out: Record<string, Value> = { ...a, k: k2, v: v2 };
    const causal = a.causal?.k === "bool" && a.causal.v;
    // The masks: the prefix is visible to every query; a causal mask shifts by P.
    let mask: TensorValue | undefined = a.mask && a.mask.k === "tensor" ? a.mask : undefined;
    if (mask) {
      const m = mask;
      mask = withGraph(ctx, (e) => {
        const lead = e.tensor(m).op("Shape", [], { start: 0, end: m.t.shape.length - 1 });
        const shp = e.op1("Concat", [lead, e.ints([P])], { axis: 0 });
        const fill = m.t.dtype === "bool"
          ? e.constant(tensor("bool", [], [1]))
          : e.scalar(0, m.t.dtype);
        const pad = e.refine(fill.expand(shp), {
          dtype: m.t.dtype,
          shape: [...m.t.shape.slice(0, -1), P],
        });
        return e.op1("Concat", [pad, m.v], { axis: -1 }, { name: `${base}.mask` });
      });
      if (!mask) return undefined;
    }
    if (causal) {
      // Query i sees the P prefix positions and keys 0..i: key position j - P <= i.
      // The constants are made in this order (not where they are first used) so
      // that their names stay those of earlier versions.
      const c = withGraph(ctx, (e) => {
        const i64 = (x: number) => e.constant(tensor("i64", [], [x]));
        const length = (x: TensorValue) =>
          e.tensor(x).op("Shape", [], { start: rk - 2, end: rk - 1 });
        const tq = length(q);
        const tk = length(k2);
        const one = e.ints([1]);
        const zero = i64(0);
        const sq = tq.op("Squeeze");
        const sk = tk.op("Squeeze");
        const step = i64(1);
        const rq0 = e.op1("Range", [zero, sq, step]);
        const rk0 = e.op1("Range", [zero, sk, step]);
        // The positions' lengths are q's and the widened k's: say so for the shape checker.
        const rq = e.refine(rq0, { dtype: "i64", shape: [q.t.shape[rk - 2]] });
        const rkk = e.refine(rk0, { dtype: "i64", shape: [k2.t.shape[rk - 2]] });
        const row = rkk.sub(i64(P)).unsqueeze([0]);
        const col = rq.unsqueeze(one);
        return row.op("LessOrEqual", [col], {}, { name: `${base}.causal` });
      });
      if (!c) return undefined;
      if (mask && mask.t.dtype === "bool") {
        const m = mask;
        mask = withGraph(ctx, (e) => e.tensor(m).and(c.v));
      } else if (mask) {
        // An additive mask: + 0 where the key is visible, + the lowest float elsewhere.
        const m = mask;
        mask = withGraph(ctx, (e) => {
          const low = e.scalar(-3.4028234663852886e38, m.t.dtype);
          return e.tensor(m).add(e.tensor(c).where(0, low));
        });
      } else mask = c;
      if (!mask) return undefined;
      out.causal = { k: "bool", v: false };
    }
    if (mask) out.mask = mask;
    return out;
  }
}

/** t * k: LoRA's update scaled by alpha / r (k a scalar of t's dtype). */
function scaled(ctx: Ctx, t: TensorValue, k: number): TensorValue | undefined {
  return withGraph(ctx, (e) => e.tensor(t).mul(k));
}

function activation(ctx: Ctx, kind: string, x: TensorValue): TensorValue | undefined {
  switch (kind) {
    case "relu":
      return withGraph(ctx, (e) => e.tensor(x).relu());
    case "tanh":
      return withGraph(ctx, (e) => e.tensor(x).tanh());
    case "silu":
      return withGraph(ctx, (e) => {
        const v = e.tensor(x);
        return v.mul(v.sigmoid());
      });
    default: {
      // gelu / gelu_tanh through the built-in, which knows the exact formula.
      const approximate: Value = { k: "str", v: kind === "gelu_tanh" ? "tanh" : "none" };
      const r = FUNCTIONS.gelu.apply(ctx, { x, approximate });
      return r.k === "tensor" ? r : undefined;
    }
  }
}
