/**
 * The elaborator's core: its state (the graph being built, the naming
 * frame, the counters behind the runaway limits), its diagnostics (with
 * notes that say which block calls led to an error), and the Ctx that
 * built-in layers and compile-time functions run against: nodes,
 * parameters (with init rules), deduplicated constants.
 */
import type * as A from "../../syntax/ast.ts";
import {
  type Dim,
  formatType,
  type Graph,
  type Node,
  type ParamInfo,
  type Span,
} from "../../ir/graph.ts";
import { GraphBuilder } from "../../ops/builder.ts";
import { ConstantPool } from "../../ir/expr.ts";
import {
  type DType,
  f32ToBf16,
  f32ToF16,
  numel,
  type Tensor,
  tensor as mkTensor,
  zeros,
} from "../../ir/tensor.ts";
import {
  type Code,
  diag,
  type Diagnostic,
  DlmError,
  error,
  type Fix,
  warning,
  withFix,
} from "../../diagnostics.ts";
import { buildGradients, GRAD_VALUE_PREFIX, gradientReach } from "../../grad/mod.ts";
import { dimEquals } from "../../ops/dims.ts";
import { ShapeError } from "../../ops/op_def.ts";
import type { Ctx, ParamOptions, PhaseDecl, TrainStage } from "../context.ts";
import { type InitSpec, lazyInitTensor } from "../../ir/init.ts";
import { Rng } from "../../ir/rng.ts";
import { Frame } from "../frame.ts";
import { type ArgIn, bindArgs } from "../signature.ts";
import { makeInit } from "../builtins/mod.ts";
import { LIMITS } from "../limits.ts";
import {
  ERROR,
  type Instance,
  Scope,
  type Sharing,
  type TensorValue,
  type Value,
} from "../values.ts";
import type { Program } from "../program.ts";
import { compileGlob } from "../glob.ts";
import { PRELUDE_PATH } from "../prelude.ts";
import { closest } from "../suggest.ts";
import { Peft } from "../peft.ts";
import type { Facts } from "../facts.ts";

export interface ElabOptions {
  seed?: number;
  mode?: "eval" | "train";
  /** Model parameter overrides (`--set classes=100`). */
  overrides?: Record<string, number | boolean | string>;
  /**
   * Fixed sizes for symbolic dims of the model's inputs (`--dim T=35`): the dim becomes that
   * number everywhere, e.g. so that training can unroll a recurrent layer over T.
   */
  dims?: Record<string, number>;
  /**
   * A side table to fill with the type of every span evaluated and the parameters each created
   * (the language server's hovers and inlay hints); left out, nothing is recorded.
   */
  facts?: Facts;
}

/** A block's `return`, thrown up to the block call that catches it. */
export class Return {
  constructor(readonly value: Value) {}
}

/** Stops elaboration (too many errors, a runaway limit); the result keeps what was built. */
export class Abort extends Error {}

/** A model `output` (or a train section's metric) waiting to become a graph output. */
export interface OutputDecl {
  name: string;
  value: Value;
  span: Span;
}

/**
 * The elaborator's state and what built-ins reach through Ctx: nodes,
 * parameters, constants, diagnostics. Each file of this folder adds a layer
 * of methods on top (see mod.ts).
 */
export abstract class ElabCore {
  /** Where nodes go: the model's graph, or a Scan body while one is being built. */
  b: GraphBuilder;
  /** The model's graph: parameters and constants always live here (bodies read them by name). */
  readonly root: GraphBuilder;
  readonly diags: Diagnostic[] = [];
  readonly mode: "eval" | "train";
  readonly seed: number;
  frame = new Frame("");
  depth = 0;
  /** Block calls being elaborated, innermost last: for notes and the recursion message. */
  calls: { name: string; span: Span }[] = [];
  iterations = 0;
  /** Items tuple and list concatenations copied so far (LIMITS.copiedItems). */
  copied = 0;
  paramElements = 0;
  readonly global: Scope;
  /**
   * Small constants of the model's graph, shared by value. Entries never
   * expire, and 0 and -0 share one, as they always have here (see
   * ConstantPoolOptions).
   */
  readonly constants = new ConstantPool(() => true, { mergeSignedZeros: true });
  /** Each `freeze` run, with the statement it came from (one statement runs once per application). */
  readonly freezeRules: {
    matches: (name: string) => boolean;
    stmt: A.FreezeStmt;
    prefix: string;
  }[] = [];
  /** Each `init T from S` run, with the level it ran at (once per application of its body). */
  readonly copyRules: { stmt: A.CopyStmt; prefix: string }[] = [];
  readonly paramIndex = new Map<string, ParamInfo>();
  /** The `X sharing S` layers being applied, innermost last (language.md 8.6). */
  readonly sharing: Sharing[] = [];
  /**
   * Parameters a sharing layer made before its source did (the source made them later, or it
   * never does: DLM0257 when the model is elaborated), with the sharing that made them.
   */
  readonly sharedFirst = new Map<string, Sharing>();
  readonly randomCounters = new Map<string, number>();
  /** Counters behind Ctx.ordinal (scan_0, scan_1, ...). */
  readonly ordinals = new Map<string, number>();
  /** The fine-tuning methods applied to the model (`with lora(...)`), when there are any. */
  peft?: Peft;
  /** Phases declared by the train section being elaborated (undefined outside one). */
  phases?: PhaseDecl[];
  /** Stages the train section's inputs come from (undefined outside a train section). */
  stages?: TrainStage[];
  /** Where each setting of a train section was last assigned (its value), for its check. */
  settingSpans = new Map<string, Span>();

  constructor(readonly program: Program, readonly opts: ElabOptions) {
    this.mode = opts.mode ?? "eval";
    this.seed = opts.seed ?? 0;
    this.b = this.root = new GraphBuilder("main");
    this.global = new Scope();
  }

  /**
   * Report an error. `fix` is the fix it knows; it is kept only when the error is reported where
   * the fix edits (an error inside a prelude block moves to the user's call, which the fix does
   * not edit).
   */
  err(code: Code, message: string, span?: Span, notes?: string[], fix?: Fix): Value {
    const here = span && `${span.file}:${span.line}:${span.col}`;
    const where = this.callNotes(span).filter((n) => !here || !n.endsWith(`used at ${here}`));
    const at = this.userSpan(span);
    this.diags.push(
      withFix(
        error(code, message, at, notes || where.length ? [...(notes ?? []), ...where] : undefined),
        at === span && fix?.edits.every((e) => e.span.file !== PRELUDE_PATH) ? fix : undefined,
      ),
    );
    if (this.diags.length > 200) {
      this.diags.push(error(...diag("DLM0315"), span));
      throw new Abort();
    }
    return ERROR;
  }

  /** "in block Residual(...) called at f.dlm:10:5" for errors inside blocks, innermost first (at most 3). */
  callNotes(span?: Span): string[] {
    if (!span || this.calls.length === 0) return [];
    // Innermost first; repeated calls from one place (recursion) collapse into one note.
    const groups: { name: string; span: Span; count: number }[] = [];
    for (let i = this.calls.length - 1; i >= 0; i--) {
      const c = this.calls[i];
      if (c.span.file === PRELUDE_PATH) continue;
      const last = groups[groups.length - 1];
      if (last && last.name === c.name && last.span === c.span) last.count++;
      else groups.push({ ...c, count: 1 });
    }
    const out = groups.slice(0, 3).map((g) =>
      `in block ${g.name}, used at ${g.span.file}:${g.span.line}:${g.span.col}${
        g.count > 1 ? ` (${g.count} nested calls)` : ""
      }`
    );
    if (groups.length > 3) out.push(`(${groups.length - 3} more enclosing block calls)`);
    return out;
  }

  /** Code inside the prelude is reported (and located in the graph) at the user's call. */
  userSpan(span?: Span): Span | undefined {
    if (!span || span.file !== PRELUDE_PATH) return span;
    for (let i = this.calls.length - 1; i >= 0; i--) {
      if (this.calls[i].span.file !== PRELUDE_PATH) return this.calls[i].span;
    }
    return span;
  }

  ctx(span: Span, argSpans: Record<string, Span>, nameBase?: string): Ctx {
    // deno-lint-ignore no-this-alias
    const self = this;
    let named = false;
    return {
      mode: this.mode,
      span,
      op(op, inputs, attrs = {}, opts = {}) {
        let name = opts.name;
        if (!name && nameBase && !named) {
          name = nameBase;
          named = true;
        }
        return self.addOp(op, inputs, attrs, span, name, opts.nOutputs, opts.domain);
      },
      param: (prefix, role, shape, init, opts) => self.param(prefix, role, shape, init, opts, span),
      constant: (t, base) => self.constant(t, base),
      scalar: (v, dtype) => self.constant(scalarTensor(dtype, v)),
      error: (code, message, sp) => self.err(code, message, sp ?? span),
      argSpan: (name) => argSpans[name] ?? span,
      initSpec: (v) => self.initSpecOf(v, span),
      seedFor: (name) => {
        // From the global seed and where the node is (its level and kind), like parameters:
        // inserting a random op elsewhere leaves this one's stream unchanged.
        const key = this.frame.child(name);
        const k = this.randomCounters.get(key) ?? 0;
        this.randomCounters.set(key, k + 1);
        return Rng.forName(this.seed, `${key}#${k}`).u32() % 2147483647;
      },
      typeOf: (v) => v.t,
      dimSource: (d) => {
        for (const i of this.root.graph.inputs) {
          const axis = i.type.shape.indexOf(d);
          if (axis >= 0) return { value: { k: "tensor", v: i.name, t: i.type }, axis };
        }
        return undefined;
      },
      producerOf: (value) => {
        const nodes = this.b.graph.nodes;
        for (let i = nodes.length - 1; i >= 0; i--) {
          if (nodes[i].outputs.includes(value)) return nodes[i];
        }
        return undefined;
      },
      refine: (v, type) => {
        const cur = this.b.graph.types.get(v.v) ?? v.t;
        const fits = cur.dtype === type.dtype && cur.shape.length === type.shape.length &&
          cur.shape.every((d, i) =>
            (typeof d === "string" && d.startsWith("?")) || d === type.shape[i]
          );
        if (!fits) {
          throw new Error(`internal: refine() of ${formatType(cur)} to ${formatType(type)}`);
        }
        this.b.graph.types.set(v.v, { dtype: type.dtype, shape: [...type.shape] });
        return { k: "tensor", v: v.v, t: { dtype: type.dtype, shape: [...type.shape] } };
      },
      needIndices: (v, need) => {
        // Back through ops that only move values, to the model input they come from.
        const g = this.root.graph;
        let name = v.v;
        for (let n = producer(g, name); n && MOVES_VALUES.has(n.op); n = producer(g, name)) {
          name = n.inputs[0];
        }
        if (!g.inputs.some((i) => i.name === name)) return;
        const needs = g.needs ??= [];
        const dup = needs.some((x) =>
          x.input === name && x.by === need.by && x.min === need.min && x.max === need.max
        );
        if (!dup) needs.push({ input: name, ...need, span: this.userSpan(span) });
      },
      dimSize: (d) => this.dimSize(d, span),
      valueOfShape: (shape) => {
        const names = [...this.root.graph.inputs.map((i) => i.name), ...this.b.graph.types.keys()];
        for (const name of names) {
          const t = this.b.typeOf(name);
          if (
            t && t.shape.length === shape.length && t.shape.every((d, k) => dimEquals(d, shape[k]))
          ) return { k: "tensor", v: name, t };
        }
        return undefined;
      },
      gradients: (y, wrt, seed) => this.gradients(y, wrt, seed, span),
      warn: (code, message, sp) => {
        this.diags.push(warning(code, message, this.userSpan(sp ?? span)));
      },
      bind: (what, sig, args) => bindArgs(what, sig, args, span, this.diags),
      prefix: this.frame.prefix,
      child: (name) => this.frame.child(name),
      apply: (layer, inputs) => this.applyInstance(layer, inputs, span),
      subgraph: (name, prefix, build) => {
        const body = new GraphBuilder(name, { outer: this.b, prefix });
        const saved = this.b;
        this.b = body;
        try {
          return { body, result: build(body) };
        } finally {
          this.b = saved;
        }
      },
      ordinal: (kind) => {
        const k = this.ordinals.get(kind) ?? 0;
        this.ordinals.set(kind, k + 1);
        return k;
      },
      paramRef: (name, what, sp) => this.paramRef(name, what, sp ?? span),
      trainableParams: () => {
        const prefix = this.frame.prefix;
        const out: { rel: string; value: TensorValue }[] = [];
        for (const p of this.root.graph.params) {
          if (!p.trainable || (prefix && !p.name.startsWith(prefix + "."))) continue;
          const t = this.root.graph.types.get(p.name)!;
          out.push({
            rel: prefix ? p.name.slice(prefix.length + 1) : p.name,
            value: { k: "tensor", v: p.name, t },
          });
        }
        return out;
      },
      phases: this.phases,
    };
  }

  addOp(
    op: string,
    inputs: string[],
    attrs: Record<string, unknown>,
    span: Span,
    name?: string,
    nOutputs?: number,
    domain?: string,
  ): TensorValue[] | undefined {
    if (this.b.graph.nodes.length >= LIMITS.nodes) {
      this.err(...diag("DLM0302", big(LIMITS.nodes)), span);
      throw new Abort();
    }
    try {
      const outs = this.b.addNode(op, inputs, attrs as Record<string, never>, {
        name: name ?? this.frame.child(op.toLowerCase()),
        nOutputs,
        spans: [this.userSpan(span)!],
        domain,
      });
      for (const o of outs) {
        const t = this.b.graph.types.get(o)!;
        // With symbolic dims, the known dims' product is the size at each value of them: over
        // the limit, the tensor is too large at any batch of one row or more (and its dims may
        // be beyond what an ONNX int64 dim of a double holds exactly, 2^53).
        const known = t.shape.filter((d): d is number => typeof d === "number");
        const symbolic = t.shape.filter((d) => typeof d !== "number").map(String);
        if (numel(known) > LIMITS.tensorElements) {
          this.err(
            ...diag(
              "DLM0303",
              `The output ${formatType(t)} of ${op}`,
              [big(numel(known)), ...symbolic].join(" x "),
              big(LIMITS.tensorElements),
            ),
            span,
          );
          return undefined;
        }
      }
      return outs.map((o) => ({ k: "tensor", v: o, t: this.b.graph.types.get(o)! }));
    } catch (e) {
      if (e instanceof ShapeError) {
        this.err(e.code, e.message, span);
        return undefined;
      }
      throw e;
    }
  }

  /** See Ctx.dimSize: Shape(v, start: k, end: k + 1) of the first value whose dim k is `d`. */
  dimSize(d: Dim, span: Span): TensorValue | undefined {
    const find = (names: Iterable<string>) => {
      for (const name of names) {
        const t = this.b.typeOf(name);
        const k = t?.shape.findIndex((x) => dimEquals(x, d)) ?? -1;
        if (k >= 0) return { name, k };
      }
      return undefined;
    };
    const at = find(this.root.graph.inputs.map((i) => i.name)) ?? find(this.b.graph.types.keys());
    if (!at) return undefined;
    return this.addOp("Shape", [at.name], { start: at.k, end: at.k + 1 }, span)?.[0];
  }

  /**
   * See Ctx.gradients: compiler/grad's reverse mode over the graph built so far, its nodes
   * named below \`grad_value_<k>\` at the call's level (so that a training step that meets one
   * without a rule knows it for a second-order gradient) and located at the call.
   */
  gradients(
    y: TensorValue,
    wrt: TensorValue[],
    seed: TensorValue | undefined,
    span: Span,
  ): TensorValue[] | undefined {
    const k = this.ordinals.get(GRAD_VALUE_PREFIX) ?? 0;
    this.ordinals.set(GRAD_VALUE_PREFIX, k + 1);
    const prefix = this.frame.child(`${GRAD_VALUE_PREFIX}_${k}`);
    const { reached, blocked } = gradientReach(this.b.graph, y.v, wrt.map((w) => w.v));
    for (const w of wrt) {
      if (reached.has(w.v)) continue;
      const stops = blocked.map((n) => `${n.op} '${n.name}'`);
      const where = stops.length ? ` (the paths stop at ${stops.slice(0, 3).join(", ")})` : "";
      this.diags.push(warning(...diag("DLM0254", `'${w.v}'`, where), this.userSpan(span)));
    }
    const before = new Set(this.b.graph.nodes);
    let grads: Map<string, string>;
    try {
      grads = buildGradients(this.b, y.v, wrt.map((w) => w.v), {
        prefix,
        seed: seed?.v,
        unroll: "on_path",
      });
    } catch (e) {
      if (!(e instanceof DlmError)) throw e;
      for (const d of e.diagnostics) this.err(d.code, d.message, d.span ?? span);
      return undefined;
    }
    const at = [this.userSpan(span)!];
    for (const n of this.b.graph.nodes) if (!before.has(n)) n.spans ??= at;
    // dy/dx has x's shape, whatever the rules' shape inference could see: a rule that broadcasts
    // against a shape read at run time (a ConstantOfShape behind randn((N, 64))) infers a dim as
    // max(?ConstantOfShape_k, N). Where such dims are all that differ, the value takes x's type,
    // as spec/language.md 5.9 says (DLM0208 against f32[N, 64] otherwise).
    return wrt.map((w) => {
      const g = grads.get(w.v)!;
      const t = this.b.typeOf(g)!;
      const unknownOnly = t.dtype === w.t.dtype && t.shape.length === w.t.shape.length &&
        t.shape.every((d, i) => dimEquals(d, w.t.shape[i]) || String(d).includes("?"));
      if (!unknownOnly) return { k: "tensor", v: g, t };
      this.b.graph.types.set(g, { dtype: w.t.dtype, shape: [...w.t.shape] });
      return { k: "tensor", v: g, t: { dtype: w.t.dtype, shape: [...w.t.shape] } };
    });
  }

  param(
    prefix: string,
    role: string,
    shape: number[],
    init: InitSpec,
    opts: ParamOptions,
    span: Span,
  ): TensorValue | undefined {
    const name = prefix ? `${prefix}.${role}` : role;
    const dtype: DType = opts.dtype ?? "f32";
    const existing = this.paramIndex.get(name);
    // The sharing layer (`X sharing S`) being applied whose source this name is below, if any.
    const sharing = this.sharing.findLast((s) =>
      s.prefix === "" || name.startsWith(s.prefix + ".")
    );
    if (existing) {
      const t = this.root.graph.types.get(name)!;
      const sameShape = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
      const first = this.sharedFirst.get(name);
      const alias = sharing ?? first;
      if (alias && (!sameShape || t.dtype !== dtype)) {
        // The source's side is the tensor the name stands for, the sharing layer's the other.
        const [mine, theirs] = sharing ? [{ dtype, shape }, t] : [t, { dtype, shape }];
        // Reported here: the source's making it is no twin to report again at the end.
        this.sharedFirst.delete(name);
        this.err(
          ...diag(
            "DLM0258",
            alias.what,
            name,
            formatType(mine),
            formatType(theirs),
            alias.source,
          ),
          alias.span,
        );
        return undefined;
      }
      if (!sameShape) {
        this.err(
          ...diag("DLM0235", prefix, name, shape.join(", "), t.shape.join(", ")),
          span,
        );
        return undefined;
      }
      if (first && !sharing) {
        // The source makes a parameter that a sharing layer applied before it made: the
        // parameter is the source's, with the source's initialiser, layer kind and place.
        this.sharedFirst.delete(name);
        const spec = opts.explicit ?? this.ruleFor(name, opts.layer, role) ?? init;
        if (dtype === "f32") {
          this.root.graph.initializers.set(name, lazyInitTensor(spec, shape, name, this.seed));
        }
        existing.layer = opts.layer;
        existing.span = span;
        existing.trainable = opts.trainable ?? true;
        const fact = this.opts.facts?.params.find((p) => p.name === name);
        if (fact) {
          fact.layer = opts.layer;
          fact.trainable = existing.trainable;
        }
      }
      return { k: "tensor", v: name, t };
    }
    const n = numel(shape);
    if (shape.some((d) => !Number.isInteger(d) || d < 0) || n > LIMITS.tensorElements) {
      this.err(
        ...diag(
          "DLM0303",
          `Parameter ${name} of shape [${shape.join(", ")}]`,
          big(n),
          big(LIMITS.tensorElements),
        ),
        span,
      );
      throw new Abort();
    }
    this.paramElements += n;
    if (this.paramElements > LIMITS.totalParamElements) {
      this.err(...diag("DLM0313", big(LIMITS.totalParamElements)), span);
      throw new Abort();
    }
    const spec = opts.explicit ?? this.ruleFor(name, opts.layer, role) ?? init;
    const t: Tensor = dtype === "f32"
      ? lazyInitTensor(spec, shape, name, this.seed)
      : zeros(dtype, shape);
    if (this.root.isUsed(name)) {
      this.err(...diag("DLM0116", "Parameter name", name), span);
      return undefined;
    }
    const v = this.root.initializer(name, t);
    const info: ParamInfo = {
      name,
      role,
      trainable: opts.trainable ?? true,
      layer: opts.layer,
      span,
    };
    this.root.graph.params.push(info);
    this.paramIndex.set(name, info);
    if (sharing) this.sharedFirst.set(name, sharing);
    this.opts.facts?.params.push({
      name,
      shape: [...shape],
      layer: opts.layer,
      trainable: info.trainable,
    });
    return { k: "tensor", v, t: { dtype, shape: [...shape] } };
  }

  /** See Ctx.paramRef: `name` below the current level, then below each enclosing one. */
  paramRef(name: string, what: string, span: Span): TensorValue | undefined {
    const levels = enclosingLevels(this.frame.prefix);
    for (const level of levels) {
      const full = level ? `${level}.${name}` : name;
      if (this.paramIndex.has(full)) {
        return { k: "tensor", v: full, t: this.root.graph.types.get(full)! };
      }
    }
    // Did you mean: the existing names as they would be written at this level or an enclosing one.
    const known = new Set<string>();
    for (const p of this.paramIndex.keys()) {
      for (const level of levels) {
        if (!level) known.add(p);
        else if (p.startsWith(level + ".")) known.add(p.slice(level.length + 1));
      }
    }
    const near = closest(name, known);
    this.err(
      ...diag(
        "DLM0215",
        what,
        "parameter",
        near
          ? `; did you mean '${near}'?`
          : known.size
          ? " created so far (see dlm params)"
          : "; no parameter exists yet where it is named",
      ),
      span,
    );
    return undefined;
  }

  ruleFor(name: string, layer: string, role: string): InitSpec | undefined {
    const rules = this.frame.rules;
    for (let i = rules.length - 1; i >= 0; i--) {
      const r = rules[i];
      if (r.prefix && !name.startsWith(r.prefix + ".")) continue;
      if (r.glob) {
        const rel = r.prefix ? name.slice(r.prefix.length + 1) : name;
        if (compileGlob(r.target).test(rel)) return r.spec;
      } else if (r.target === `${layer}.${role}`) return r.spec;
    }
    return undefined;
  }

  /**
   * A constant initializer of the model's graph, named `base` (or a fresh
   * variant); small ones are shared by value whatever their base.
   */
  constant(t: Tensor, base = "const"): TensorValue {
    const name = this.constants.get(
      t,
      (t) => this.root.initializer(this.root.isUsed(base) ? this.root.fresh(base) : base, t),
    );
    return { k: "tensor", v: name, t: { dtype: t.dtype, shape: [...t.shape] } };
  }

  initSpecOf(v: Value, span: Span): InitSpec {
    if (v.k === "init") return v.spec;
    if (v.k === "initfn") {
      const made = makeInit(this.ctx(span, {}), v.name, []);
      if (made.k === "init") return made.spec;
    }
    return { kind: "zeros" };
  }

  // Defined by the layers above (calls.ts, expressions.ts), used from below.
  abstract eval(e: A.Expr, scope: Scope): Value;
  abstract evalRhs(e: A.Expr, scope: Scope): Value;
  abstract evalCall(e: A.CallExpr, scope: Scope, lab?: { label: string; labelSpan: Span }): Value;
  abstract applyStage(input: Value, st: A.PipeStage, scope: Scope, index?: number): Value;
  abstract callValue(
    callee: Value,
    args: ArgIn[],
    span: Span,
    o: { pipeInput?: Value; label?: string; labelSpan?: Span },
  ): Value;
  abstract nameInstance(inst: Instance, label: string, span: Span): void;
  abstract sharingLayer(e: A.SharingExpr, scope: Scope): Value;
  abstract applyInstance(
    inst: Instance,
    inputs: Value[],
    span: Span,
    named?: Record<string, TensorValue>,
  ): Value;
}

/** `a.b.c` -> ["a.b.c", "a.b", "a", ""]: a level and the levels that enclose it, innermost first. */
function enclosingLevels(prefix: string): string[] {
  const out: string[] = [];
  for (let p = prefix; p; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") out.push(p);
  out.push("");
  return out;
}

/** A scalar constant of `dtype`; 16-bit floats are stored as their bits. */
export function scalarTensor(dtype: DType, v: number): Tensor {
  if (dtype === "f16") return mkTensor(dtype, [], [f32ToF16(v)]);
  if (dtype === "bf16") return mkTensor(dtype, [], [f32ToBf16(v)]);
  if (dtype === "bool") return mkTensor(dtype, [], [v ? 1 : 0]);
  return mkTensor(dtype, [], [v]);
}

/** Ops whose output holds their first input's values, only arranged otherwise. */
const MOVES_VALUES = new Set(["Identity", "Reshape", "Squeeze", "Unsqueeze", "Flatten"]);

function producer(g: Graph, value: string): Node | undefined {
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    if (g.nodes[i].outputs.includes(value)) return g.nodes[i];
  }
  return undefined;
}

/** 2,147,483,647 or, past a trillion, 1.0e+12: one format for every size limit message. */
export function big(n: number): string {
  return n < 1e12 ? n.toLocaleString("en-US") : n.toExponential(1);
}
