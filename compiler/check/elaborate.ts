/**
 * The elaborator: checks a model and builds its graph in one walk. It runs
 * the .dlm program at compile time — loops unroll, conditionals pick a
 * branch, recursion expands — while tensors stay symbolic IR values whose
 * shapes are inferred node by node through the op registry. Every error is a
 * diagnostic at the user's span; after one, the failing expression yields
 * the poison value and elaboration goes on, so independent errors are all
 * reported in one run.
 */
import type { Dim, Graph, ParamInfo, Span, TensorType } from "../ir/graph.ts";
import { formatType } from "../ir/graph.ts";
import { GraphBuilder } from "../ir/builder.ts";
import {
  type DType,
  f32ToBf16,
  f32ToF16,
  isFloat,
  numel,
  type Tensor,
  tensor as mkTensor,
  TENSOR_DTYPES,
  zeros,
} from "../ir/tensor.ts";
import { type Code, type Diagnostic, error } from "../diagnostics.ts";
import { ShapeError } from "../ops/registry.ts";
import { resetFreshDims } from "../ops/mod.ts";
import type * as A from "../syntax/ast.ts";
import type { Ctx, ParamOptions, PhaseDecl } from "./context.ts";
import { type InitSpec, lazyInitTensor, Rng } from "./init.ts";
import { Frame } from "./frame.ts";
import { type ArgIn, type ArgType, bindArgs } from "./signature.ts";
import { makeInit } from "./builtins/mod.ts";
import {
  COMPILE_FNS,
  FUNCTIONS,
  INIT_FNS,
  isSymbolName,
  LAYERS,
  predefinedNames,
} from "./names.ts";
import { LIMITS } from "./limits.ts";
import {
  describe,
  dimValue,
  equalValues,
  ERROR,
  type Instance,
  isNumber,
  NONE,
  Scope,
  show,
  type TensorValue,
  type Value,
} from "./values.ts";
import type { Program } from "./program.ts";
import { globToRegExp } from "./glob.ts";
import { PRELUDE_PATH } from "./prelude.ts";
import { closest } from "./suggest.ts";
import { methodSpecs, Peft } from "./peft.ts";

export { LIMITS } from "./limits.ts";
export { COMPILE_FNS, INIT_FNS, isSymbolName } from "./names.ts";

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
}

const DTYPES = new Set<string>(TENSOR_DTYPES);

class Return {
  constructor(readonly value: Value) {}
}

class Abort extends Error {}

interface OutputDecl {
  name: string;
  value: Value;
  span: Span;
}

export interface ElabResult {
  graph: Graph;
  diagnostics: Diagnostic[];
}

/** Elaborate model `model` of a loaded program into a graph. */
/** Settings a `train` section may assign. */
export const TRAIN_SETTINGS = [
  "loss",
  "optimizer",
  "schedule",
  "clip",
  "epochs",
  "batch_size",
  "val_split",
  "early_stop",
  "patience",
  "ema",
] as const;

/** One optimisation step of an iteration: `phase("disc", loss: d_loss, optimizer: adam(), params: "disc.*")`. */
export interface TrainPhase {
  name: string;
  /** The graph output holding this phase's loss (`phase:<name>`). */
  loss: string;
  optimizer: Value;
  /** Name glob of the parameters this phase trains (default: all). */
  params?: string;
}

export interface TrainElabResult extends ElabResult {
  /** Phases in order, when the section declares any. */
  phases: TrainPhase[];
  /** The graph output holding the loss ("loss"), when the section has a valid one. */
  loss?: string;
  /** Metric names (graph outputs `metric:<name>`). */
  metrics: string[];
  settings: Map<string, Value>;
}

/** Elaborate a model with its `train` section (see Elaborator.runTrain). */
export function elaborateTrain(
  program: Program,
  model: A.ModelDecl,
  train: A.TrainDecl,
  opts: ElabOptions = {},
): TrainElabResult {
  return new Elaborator(program, opts).runTrain(model, train);
}

export function elaborate(
  program: Program,
  model: A.ModelDecl,
  opts: ElabOptions = {},
): ElabResult {
  const e = new Elaborator(program, opts);
  return e.run(model);
}

class Elaborator {
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
  paramElements = 0;
  readonly global: Scope;
  readonly constCache = new Map<string, string>();
  readonly freezeRules: ((name: string) => boolean)[] = [];
  readonly paramIndex = new Map<string, ParamInfo>();
  readonly randomCounters = new Map<string, number>();
  /** Counters behind Ctx.ordinal (scan_0, scan_1, ...). */
  readonly ordinals = new Map<string, number>();
  /** The fine-tuning methods applied to the model (`with lora(...)`), when there are any. */
  peft?: Peft;
  /** Phases declared by the train section being elaborated (undefined outside one). */
  phases?: PhaseDecl[];

  constructor(readonly program: Program, readonly opts: ElabOptions) {
    this.mode = opts.mode ?? "eval";
    this.seed = opts.seed ?? 0;
    this.b = this.root = new GraphBuilder("main");
    this.global = new Scope();
  }

  /**
   * A model and its `train` section: the model's forward graph (in the
   * mode asked for), then the section's inputs (targets), its `loss`, its
   * `output`s (metrics, named `metric:<name>`) and its settings
   * (optimizer, schedule, clip, epochs, batch_size, ...).
   */
  runTrain(model: A.ModelDecl, train: A.TrainDecl): TrainElabResult {
    this.b.graph.name = model.name;
    resetFreshDims();
    const settings = new Map<string, Value>();
    let loss: string | undefined;
    const metrics: string[] = [];
    this.phases = [];
    const phases: TrainPhase[] = [];
    try {
      this.defineGlobals();
      this.setUpPeft([...(model.with ?? []), ...train.with]);
      const scope = new Scope(this.global);
      this.bindModelParams(model, scope);
      this.hoistInits(model.body, scope);
      const outputs: OutputDecl[] = [];
      this.execBody(model.body, scope, { model: true, outputs });
      // The section sees the model's bindings (its outputs by name).
      const ts = scope.nested();
      for (const k of TRAIN_SETTINGS) ts.define(k, NONE);
      const extra: OutputDecl[] = [];
      this.hoistInits(train.body, ts);
      this.execBody(train.body, ts, { model: true, outputs: extra });
      for (const k of TRAIN_SETTINGS) {
        const v = ts.vars.get(k)!;
        if (v.k !== "none") settings.set(k, v);
      }
      // Phases: each loss becomes an output `phase:<name>` (renamed safely with the others).
      for (const ph of this.phases) {
        outputs.push({ name: `phase:${ph.name}`, value: ph.loss, span: ph.span });
        phases.push({
          name: ph.name,
          loss: `phase:${ph.name}`,
          optimizer: ph.optimizer,
          params: ph.params,
        });
      }
      if (this.phases.length && !settings.get("loss")) settings.set("loss", this.phases[0].loss);
      const l = settings.get("loss");
      if (!l) {
        this.err(
          "DLM0206",
          `train ${train.model} needs a loss: loss = cross_entropy(logits, label)`,
          train.nameSpan,
        );
      } else if (l.k === "tensor") {
        if (l.t.shape.length !== 0 || !isFloat(l.t.dtype)) {
          this.err(
            "DLM0203",
            `The loss must be a float scalar, but it is ${
              formatType(l.t)
            }; reduce it (mean or sum)`,
            train.nameSpan,
          );
        } else outputs.push({ name: "loss", value: l, span: train.nameSpan });
      } else if (l.k !== "error") {
        this.err("DLM0201", `The loss must be a tensor, got ${describe(l)}`, train.nameSpan);
      }
      for (const m of extra) {
        if (m.value.k === "tensor" && m.value.t.shape.length !== 0) {
          this.err(
            "DLM0203",
            `A metric must be a scalar, but '${m.name}' is ${formatType(m.value.t)}`,
            m.span,
          );
          continue;
        }
        outputs.push({ name: `metric:${m.name}`, value: m.value, span: m.span });
      }
      this.finishOutputs(outputs);
      if (outputs.some((o) => o.name === "loss")) loss = "loss";
      for (const m of extra) {
        if (this.b.graph.outputs.some((o) => o.name === `metric:${m.name}`)) metrics.push(m.name);
      }
      this.applyFreeze();
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
    }
    return { graph: this.b.graph, diagnostics: this.diags, loss, metrics, settings, phases };
  }

  run(model: A.ModelDecl): ElabResult {
    this.b.graph.name = model.name;
    resetFreshDims();
    try {
      this.defineGlobals();
      this.setUpPeft(model.with ?? []);
      const scope = new Scope(this.global);
      this.bindModelParams(model, scope);
      this.hoistInits(model.body, scope);
      const outputs: OutputDecl[] = [];
      this.execBody(model.body, scope, { model: true, outputs });
      if (outputs.length === 0 && !this.diags.some((d) => d.severity === "error")) {
        this.diags.push(error("DLM0210", `Model ${model.name} declares no output`, model.nameSpan));
      }
      this.finishOutputs(outputs);
      this.applyFreeze();
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
    }
    return { graph: this.b.graph, diagnostics: this.diags };
  }

  // ----------------------------------------------------------------- set-up

  defineGlobals(): void {
    for (const c of this.program.consts) {
      const v = this.eval(c.value, this.global);
      if (c.type) this.checkDeclared(v, c.type, this.global, c.value.span, `'${c.name}'`);
      this.global.define(c.name, coerce(v, c.type));
    }
  }

  bindModelParams(model: A.ModelDecl, scope: Scope): void {
    const given = new Map(Object.entries(this.opts.overrides ?? {}));
    for (const p of model.params) {
      let v: Value;
      if (given.has(p.name)) {
        const raw = given.get(p.name)!;
        const wantsFloat = p.type?.kind === "scalar_type" && p.type.name === "float";
        v = typeof raw === "number"
          ? (Number.isInteger(raw) && !wantsFloat ? { k: "int", v: raw } : { k: "float", v: raw })
          : typeof raw === "boolean"
          ? { k: "bool", v: raw }
          : { k: "str", v: raw };
        given.delete(p.name);
      } else if (p.default) {
        v = this.eval(p.default, scope);
      } else {
        this.err(
          "DLM0206",
          `Model ${model.name} needs a value for '${p.name}' (give it a default, or pass --set ${p.name}=...)`,
          p.span,
        );
        v = ERROR;
      }
      if (p.type && !this.checkDeclared(v, p.type, scope, p.span, `model parameter '${p.name}'`)) {
        v = ERROR;
      }
      scope.define(p.name, coerce(v, p.type));
    }
    for (const k of given.keys()) {
      const names = model.params.map((p) => p.name).join(", ") || "none";
      this.err(
        "DLM0205",
        `Model ${model.name} has no parameter '${k}'; its parameters are: ${names}`,
        model.nameSpan,
      );
    }
  }

  // ------------------------------------------------------------ diagnostics

  err(code: Code, message: string, span?: Span, notes?: string[]): Value {
    const here = span && `${span.file}:${span.line}:${span.col}`;
    const where = this.callNotes(span).filter((n) => !here || !n.endsWith(`used at ${here}`));
    this.diags.push(
      error(
        code,
        message,
        this.userSpan(span),
        notes || where.length ? [...(notes ?? []), ...where] : undefined,
      ),
    );
    if (this.diags.length > 200) {
      this.diags.push(error(code, "Too many errors; stopping here", span));
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

  // ------------------------------------------------------------- statements

  hoistInits(body: A.Stmt[], scope: Scope): void {
    for (const s of body) {
      if (s.kind !== "init") continue;
      const v = this.eval(s.value, scope);
      if (v.k === "error") continue;
      if (v.k !== "init" && v.k !== "initfn") {
        this.err(
          "DLM0201",
          `init expects an initialiser such as kaiming_normal() or zeros, got ${describe(v)}`,
          s.value.span,
        );
        continue;
      }
      const spec = this.initSpecOf(v, s.value.span);
      if (!s.glob && !/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/.test(s.target)) {
        this.err(
          "DLM0210",
          `init target '${s.target}' must be layer.role (e.g. conv2d.weight) or a quoted name pattern`,
          s.span,
        );
        continue;
      }
      this.frame.rules.push({ target: s.target, glob: s.glob, spec, prefix: this.frame.prefix });
    }
  }

  execBody(body: A.Stmt[], scope: Scope, where: { model: boolean; outputs?: OutputDecl[] }): void {
    for (const s of body) this.exec(s, scope, where);
  }

  exec(s: A.Stmt, scope: Scope, where: { model: boolean; outputs?: OutputDecl[] }): void {
    switch (s.kind) {
      case "input": {
        if (!where.model) {
          this.err(
            "DLM0210",
            "input declarations belong in a model; a block takes its inputs as parameters",
            s.span,
          );
          return;
        }
        if (s.type.kind !== "tensor_type") {
          this.err(
            "DLM0201",
            `input '${s.name}' needs a tensor type such as f32[N, 3, 224, 224]`,
            s.type.span,
          );
          scope.define(s.name, ERROR);
          return;
        }
        const t = this.evalInputType(s.type, scope);
        if (!t) {
          scope.define(s.name, ERROR);
          return;
        }
        if (scope.vars.has(s.name)) {
          this.err("DLM0102", `'${s.name}' is already defined`, s.nameSpan);
        }
        const name = this.b.input(s.name, t, s.span);
        scope.define(s.name, { k: "tensor", v: name, t });
        return;
      }
      case "output": {
        if (!where.model) {
          this.err(
            "DLM0210",
            "output declarations belong in a model; a block returns its result with return",
            s.span,
          );
          return;
        }
        let v: Value;
        if (s.value) v = this.evalRhs(s.value, scope);
        else {
          const found = scope.lookup(s.name);
          if (!found) {
            this.err(
              "DLM0101",
              `Unknown name '${s.name}': output without a value exports an existing binding`,
              s.nameSpan,
            );
            return;
          }
          v = found;
        }
        if (v.k === "error") {
          scope.define(s.name, ERROR);
          return;
        }
        if (v.k !== "tensor") {
          this.err(
            "DLM0201",
            `output '${s.name}' must be a tensor, got ${describe(v)}`,
            s.value?.span ?? s.span,
          );
          return;
        }
        if (s.type) {
          this.checkDeclared(v, s.type, scope, s.value?.span ?? s.span, `output '${s.name}'`);
        }
        if (where.outputs!.some((o) => o.name === s.name)) {
          this.err("DLM0102", `output '${s.name}' is declared twice`, s.nameSpan);
        }
        where.outputs!.push({ name: s.name, value: v, span: s.span });
        scope.define(s.name, v);
        return;
      }
      case "let": {
        const v = this.evalRhs(s.value, scope);
        if (s.destructure) {
          this.destructure(s.names, v, scope, s.span);
          return;
        }
        if (s.type && v.k !== "error") {
          this.checkDeclared(v, s.type, scope, s.value.span, `'${s.names[0]}'`);
        }
        if (v.k === "layer" && v.inst.prefix === undefined) {
          this.nameInstance(v.inst, s.names[0], s.nameSpan);
        }
        scope.define(s.names[0], coerce(v, s.type));
        return;
      }
      case "assign": {
        const owner = scope.owner(s.name);
        const v = this.evalRhs(s.value, scope);
        if (!owner) {
          this.err(
            "DLM0107",
            `'${s.name}' is not declared; declare it first with let ${s.name} = ...`,
            s.nameSpan,
          );
          scope.define(s.name, v);
          return;
        }
        if (owner === this.global) {
          this.err(
            "DLM0107",
            `'${s.name}' is a top-level constant and cannot be reassigned; bind a new name with let`,
            s.nameSpan,
          );
          return;
        }
        owner.define(s.name, v);
        return;
      }
      case "return": {
        if (where.model) {
          this.err("DLM0210", "return belongs in a block; a model declares outputs", s.span);
          return;
        }
        throw new Return(this.eval(s.value, scope));
      }
      case "if": {
        const c = this.eval(s.cond, scope);
        const b = this.condition(c, s.cond.span);
        if (b === undefined) return;
        const branch = b ? s.then : s.else;
        if (branch) this.execBody(branch, scope.nested(), where);
        return;
      }
      case "for": {
        const it = this.eval(s.iter, scope);
        if (it.k === "error") return;
        if (it.k !== "tuple" && it.k !== "list") {
          this.err(
            "DLM0201",
            `for needs a range, list or tuple to iterate over, got ${describe(it)}`,
            s.iter.span,
          );
          return;
        }
        for (const item of it.items) {
          if (++this.iterations > LIMITS.iterations) {
            this.err(
              "DLM0302",
              `Loops run more than ${
                LIMITS.iterations.toLocaleString("en-US")
              } iterations in all; the limit keeps compile times bounded`,
              s.span,
            );
            throw new Abort();
          }
          const inner = scope.nested();
          if (s.destructure) this.destructure(s.names, item, inner, s.span);
          else inner.define(s.names[0], item);
          this.execBody(s.body, inner, where);
        }
        return;
      }
      case "init":
        return; // hoisted
      case "freeze": {
        // A label freezes everything under it; a quoted pattern matches names below this level.
        const prefix = this.frame.prefix;
        const rel = (
          name: string,
        ) => (prefix
          ? (name.startsWith(prefix + ".") ? name.slice(prefix.length + 1) : undefined)
          : name);
        const re = s.glob ? globToRegExp(s.target) : undefined;
        const target = s.target;
        this.freezeRules.push((name) => {
          const r = rel(name);
          if (r === undefined) return false;
          return re ? re.test(r) : r === target || r.startsWith(target + ".");
        });
        return;
      }
      case "expr": {
        this.eval(s.expr, scope);
        return;
      }
    }
  }

  destructure(names: string[], v: Value, scope: Scope, span: Span): void {
    if (v.k === "error") {
      for (const n of names) scope.define(n, ERROR);
      return;
    }
    const flat = flattenTuple(v, names.length);
    if (!flat) {
      this.err(
        "DLM0201",
        `Cannot unpack ${describe(v)} into ${names.length} names (${names.join(", ")})`,
        span,
      );
      for (const n of names) scope.define(n, ERROR);
      return;
    }
    names.forEach((n, i) => scope.define(n, flat[i]));
  }

  condition(c: Value, span: Span): boolean | undefined {
    if (c.k === "error") return undefined;
    if (c.k === "bool") return c.v;
    if (c.k === "tensor") {
      this.err(
        "DLM0305",
        "if needs a condition known at compile time; for a choice at run time use where(cond, a, b)",
        span,
      );
      return undefined;
    }
    this.err("DLM0201", `if needs a bool, got ${describe(c)}`, span);
    return undefined;
  }

  finishOutputs(outputs: OutputDecl[]): void {
    const renamed = new Map<string, string>();
    for (const o of outputs) {
      if (o.value.k !== "tensor") continue;
      const v = renamed.get(o.value.v) ?? o.value.v;
      if (this.b.graph.types.get(v) === undefined) continue;
      const before = new Set(this.b.graph.outputs.map((x) => x.name));
      if (before.has(o.name)) continue; // a duplicate output, reported as DLM0102 already
      try {
        this.b.output(v, o.name, o.span);
      } catch {
        this.err(
          "DLM0102",
          `output '${o.name}' clashes with another value of the same name`,
          o.span,
        );
        continue;
      }
      const added = this.b.graph.outputs.find((x) => !before.has(x.name));
      if (
        added &&
        !this.b.graph.nodes.some((n) =>
          n.op === "Identity" && n.outputs[0] === added.name && n.inputs[0] === v
        )
      ) {
        renamed.set(v, added.name);
      }
    }
    // Merge records name values, some of which are now outputs.
    for (const m of this.root.graph.merges ?? []) {
      m.base = renamed.get(m.base) ?? m.base;
      m.result = renamed.get(m.result) ?? m.result;
    }
  }

  applyFreeze(): void {
    const params = this.root.graph.params;
    if (this.peft) {
      // Fine-tuning trains the methods' parameters (and top_layers' choice); the base is frozen.
      const names = params.filter((p) => !p.adapter).map((p) => p.name);
      this.peft.finish(names);
      const keep = this.peft.trainable(names);
      for (const p of params) if (!p.adapter && !keep.has(p.name)) p.frozen = true;
    }
    if (this.freezeRules.length === 0) return;
    for (const p of params) {
      if (this.freezeRules.some((rule) => rule(p.name))) p.frozen = true;
    }
  }

  /** Evaluate the `with` methods of a derived model or a train section. */
  setUpPeft(exprs: A.Expr[]): void {
    if (exprs.length === 0) return;
    const values = exprs.map((e) => ({ value: this.eval(e, this.global), span: e.span }));
    const specs = methodSpecs(values, (code, message, span) => this.err(code, message, span));
    if (specs.length === 0) return;
    const merges = this.root.graph.merges ??= [];
    this.peft = new Peft(specs, {
      mode: this.mode,
      ctx: (span) => this.ctx(span, {}),
      report: (code, message, span) => this.err(code, message, span),
      markAdapter: (name, method, role) => {
        const info = this.paramIndex.get(name);
        if (!info) return;
        info.adapter = method;
        if (role) info.role = role;
      },
      merges,
    });
  }

  // ------------------------------------------------------------ expressions

  /** Right-hand sides may carry a label: `let c = conv1: conv2d(64)(x)`. */
  evalRhs(e: A.Expr, scope: Scope): Value {
    return this.eval(e, scope);
  }

  eval(e: A.Expr, scope: Scope): Value {
    switch (e.kind) {
      case "num":
        return e.isInt ? { k: "int", v: e.value } : { k: "float", v: e.value };
      case "str": {
        let s = "";
        for (const p of e.parts) {
          if (typeof p === "string") s += p;
          else {
            const v = this.eval(p, scope);
            if (v.k === "error") return ERROR;
            s += show(v);
          }
        }
        return { k: "str", v: s };
      }
      case "bool":
        return { k: "bool", v: e.value };
      case "name":
        return this.lookup(e.name, scope, e.span);
      case "tuple":
      case "list": {
        const items = e.items.map((x) => this.eval(x, scope));
        if (items.some((x) => x.k === "error")) return ERROR;
        return { k: e.kind, items };
      }
      case "unary":
        return this.unary(e, this.eval(e.operand, scope));
      case "binary": {
        if (e.op === "&&" || e.op === "||") {
          const l = this.eval(e.left, scope);
          if (l.k === "bool" && ((e.op === "&&" && !l.v) || (e.op === "||" && l.v))) return l;
          return this.binary(e, l, this.eval(e.right, scope));
        }
        return this.binary(e, this.eval(e.left, scope), this.eval(e.right, scope));
      }
      case "call":
        return this.evalCall(e, scope);
      case "index":
        return this.index(e, scope);
      case "member":
        return this.member(e, scope);
      case "pipe": {
        let v = this.eval(e.head, scope);
        for (const st of e.stages) {
          if (v.k === "error") return ERROR;
          v = this.applyStage(v, st, scope);
        }
        return v;
      }
      case "labeled": {
        const label = this.evalLabel(e.label, scope);
        if (label === undefined) return ERROR;
        if (e.value.kind === "group") {
          const inst: Instance = {
            kind: "seq",
            name: "seq",
            span: e.value.span,
            group: e.value,
            scope,
          };
          this.nameInstance(inst, label, e.label.span);
          return { k: "layer", inst };
        }
        if (e.value.kind === "call") {
          return this.evalCall(e.value, scope, { label, labelSpan: e.label.span });
        }
        const v = this.eval(e.value, scope);
        if (v.k === "layer" && v.inst.prefix === undefined) {
          this.nameInstance(v.inst, label, e.label.span);
          return v;
        }
        if (v.k === "layerdef" || v.k === "blockdef") {
          return this.callValue(v, [], e.span, { label, labelSpan: e.label.span });
        }
        if (v.k === "error") return v;
        return this.err(
          "DLM0201",
          `A label names a layer, but '${label}' labels ${describe(v)}`,
          e.label.span,
        );
      }
      case "ifexpr": {
        const c = this.condition(this.eval(e.cond, scope), e.cond.span);
        if (c === undefined) return ERROR;
        return this.eval(c ? e.then : e.else, scope);
      }
      case "range": {
        const a = this.eval(e.start, scope);
        const b = this.eval(e.end, scope);
        if (a.k === "error" || b.k === "error") return ERROR;
        if (a.k !== "int" || b.k !== "int") {
          return this.err(
            "DLM0201",
            `A range needs int bounds, got ${describe(a)} and ${describe(b)}`,
            e.span,
          );
        }
        const end = e.inclusive ? b.v + 1 : b.v;
        const n = Math.max(0, end - a.v);
        if (n > LIMITS.rangeLength) {
          return this.err(
            "DLM0302",
            `Range ${a.v}..${b.v} has ${n.toLocaleString("en-US")} elements; the limit is ${
              LIMITS.rangeLength.toLocaleString("en-US")
            }`,
            e.span,
          );
        }
        return {
          k: "list",
          items: Array.from({ length: n }, (_, i) => ({ k: "int", v: a.v + i })),
        };
      }
    }
  }

  lookup(name: string, scope: Scope, span: Span): Value {
    const v = scope.lookup(name);
    if (v !== undefined) return v;
    const block = this.program.blocks.get(name);
    if (block) return { k: "blockdef", decl: block };
    if (name in LAYERS) return { k: "layerdef", name };
    if (name in FUNCTIONS || name in COMPILE_FNS) return { k: "fn", name };
    if (INIT_FNS.has(name)) return { k: "initfn", name };
    if (this.program.models.has(name)) {
      return this.err(
        "DLM0209",
        `'${name}' is a model; use a block to reuse layers inside another model`,
        span,
      );
    }
    const known = [...scopeNames(scope), ...this.program.blocks.keys(), ...predefinedNames()];
    const near = closest(name, known);
    return this.err(
      "DLM0101",
      `Unknown name '${name}'${near ? `; did you mean '${near}'?` : ""}`,
      span,
    );
  }

  evalLabel(l: A.Label, scope: Scope): string | undefined {
    let s = "";
    for (const p of l.parts) {
      if (typeof p === "string") s += p;
      else {
        const v = this.eval(p, scope);
        if (v.k === "error") return undefined;
        s += show(v);
      }
    }
    if (s !== "_" && !/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(s)) {
      this.err(
        "DLM0210",
        `Label '${s}' must be made of letters, digits and _ (dots separate levels)`,
        l.span,
      );
      return undefined;
    }
    return s;
  }

  nameInstance(inst: Instance, label: string, span: Span): void {
    if (inst.prefix !== undefined) {
      this.err(
        "DLM0106",
        `This layer is already named '${inst.prefix}'; a layer instance has one name`,
        span,
      );
      return;
    }
    if (label === "_") {
      if (inst.kind === "builtin") {
        this.err(
          "DLM0210",
          "The label _ splices a block's names into this level; a built-in layer needs a real name",
          span,
        );
        return;
      }
      inst.inline = true;
      inst.prefix = this.frame.prefix;
      return;
    }
    const prev = this.frame.labels.get(label);
    if (prev) {
      this.err(
        "DLM0106",
        `Label '${label}' is already used in this scope (at line ${prev.line}); to share weights, bind the layer with let and call it twice`,
        span,
      );
      // Carry on under a private name so the duplicate does not also look like a shared layer.
      inst.prefix = this.frame.child(`${label}#${span.line}:${span.col}`);
      return;
    }
    this.frame.labels.set(label, span);
    inst.prefix = this.frame.child(label);
  }

  autoName(inst: Instance): void {
    if (inst.prefix !== undefined) return;
    let name: string;
    do name = this.frame.auto(inst.name); while (this.frame.labels.has(name));
    this.frame.labels.set(name, inst.span);
    inst.prefix = this.frame.child(name);
  }

  evalArgs(args: A.Arg[], scope: Scope): ArgIn[] {
    return args.map((a) => ({ name: a.name, value: this.eval(a.value, scope), span: a.span }));
  }

  evalCall(e: A.CallExpr, scope: Scope, lab?: { label: string; labelSpan: Span }): Value {
    const callee = this.eval(e.callee, scope);
    const args = this.evalArgs(e.args, scope);
    return this.callValue(callee, args, e.span, lab ?? {});
  }

  /** Apply one `|> stage` to `input`. `index` numbers unlabelled stages inside a labelled group. */
  applyStage(input: Value, st: A.PipeStage, scope: Scope, index?: number): Value {
    let label: string | undefined;
    if (st.label) {
      label = this.evalLabel(st.label, scope);
      if (label === undefined) return ERROR;
    } else if (index !== undefined) label = String(index);
    const labelSpan = st.label?.span ?? st.span;
    const tg = st.target;
    if (tg.kind === "group") {
      if (label === undefined) {
        let v = input;
        for (const s of tg.stages) {
          if (v.k === "error") return ERROR;
          v = this.applyStage(v, s, scope);
        }
        return v;
      }
      const inst: Instance = { kind: "seq", name: "seq", span: tg.span, group: tg, scope };
      this.nameInstance(inst, label, labelSpan);
      return this.applyInstance(inst, [input], st.span);
    }
    if (tg.kind === "call") {
      const callee = this.eval(tg.callee, scope);
      const args = this.evalArgs(tg.args, scope);
      return this.callValue(callee, args, tg.span, { pipeInput: input, label, labelSpan });
    }
    const v = this.eval(tg, scope);
    return this.callValue(v, [], tg.span, { pipeInput: input, label, labelSpan });
  }

  callValue(
    callee: Value,
    args: ArgIn[],
    span: Span,
    o: { pipeInput?: Value; label?: string; labelSpan?: Span },
  ): Value {
    if (callee.k === "error" || o.pipeInput?.k === "error") return ERROR;
    // An argument that already failed was reported; going on would report a confusing follow-on
    // error (e.g. cast(<error>, "f32") read as cast of the string).
    if (args.some((a) => a.value.k === "error")) return ERROR;
    const pipeArgs: ArgIn[] = o.pipeInput
      ? spread(o.pipeInput).map((v) => ({ value: v, span }))
      : [];
    switch (callee.k) {
      case "fn": {
        const all = [...pipeArgs, ...args];
        const scalar = COMPILE_FNS[callee.name];
        if (scalar && (!(callee.name in FUNCTIONS) || all.every((a) => a.value.k !== "tensor"))) {
          return scalar(this.ctx(span, {}), all);
        }
        const def = FUNCTIONS[callee.name];
        let bound = bindArgs(callee.name, def.sig, all, span, this.diags, pipeArgs.length);
        if (!bound) return ERROR;
        if (this.peft && callee.name === "scaled_dot_product_attention") {
          bound = { ...bound, ...this.peft.attention(this.frame.prefix, bound, span) };
          if (bound.q.k === "error") return ERROR;
        }
        const nameBase = this.frame.child(o.label ?? callee.name);
        return def.apply(this.ctx(span, bound.__spans ?? {}, nameBase), bound);
      }
      case "layerdef": {
        const def = LAYERS[callee.name];
        const bound = bindArgs(callee.name, def.sig, args, span, this.diags);
        if (!bound) return ERROR;
        const inst: Instance = { kind: "builtin", name: callee.name, span, args: bound };
        if (o.label) this.nameInstance(inst, o.label, o.labelSpan ?? span);
        if (o.pipeInput) return this.applyInstance(inst, pipeArgs.map((a) => a.value), span);
        return { k: "layer", inst };
      }
      case "blockdef": {
        const d = callee.decl;
        const inst: Instance = { kind: "block", name: d.name, span, decl: d };
        if (d.config.length > 0) {
          const cfg = this.bindBlockConfig(d, args, span);
          if (!cfg) return ERROR;
          inst.config = cfg;
          if (o.label) this.nameInstance(inst, o.label, o.labelSpan ?? span);
          if (o.pipeInput) return this.applyInstance(inst, pipeArgs.map((a) => a.value), span);
          return { k: "layer", inst };
        }
        inst.config = new Map();
        if (o.label) this.nameInstance(inst, o.label, o.labelSpan ?? span);
        // `Tower()` with nothing to apply to is an instance, ready to be bound and shared.
        if (!o.pipeInput && args.length === 0) return { k: "layer", inst };
        for (const a of args) {
          if (a.name) {
            return this.err(
              "DLM0205",
              `Block ${d.name} takes its inputs by position, not by name '${a.name}'`,
              a.span,
            );
          }
        }
        return this.applyInstance(inst, [...pipeArgs, ...args].map((a) => a.value), span);
      }
      case "layer": {
        if (o.label) this.nameInstance(callee.inst, o.label, o.labelSpan ?? span);
        const allowed = callee.inst.kind === "builtin"
          ? LAYERS[callee.inst.name].namedInputs ?? []
          : [];
        const named: Record<string, TensorValue> = {};
        for (const a of args) {
          if (!a.name) continue;
          if (!allowed.includes(a.name)) {
            const which = allowed.length
              ? `; it takes ${allowed.map((n) => `${n}:`).join(", ")} by name`
              : "";
            return this.err(
              "DLM0205",
              `${callee.inst.name} is applied to tensors by position${which}; '${a.name}:' is not one of them`,
              a.span,
            );
          }
          if (a.value.k === "error") return ERROR;
          if (a.value.k !== "tensor") {
            return this.err(
              "DLM0201",
              `'${a.name}:' must be a tensor, got ${describe(a.value)}`,
              a.span,
            );
          }
          named[a.name] = a.value;
        }
        const positional = [...pipeArgs, ...args.filter((a) => !a.name)].map((a) => a.value);
        return this.applyInstance(callee.inst, positional, span, named);
      }
      case "initfn": {
        if (o.pipeInput) {
          return this.err(
            "DLM0209",
            `${callee.name} is an initialiser and cannot be applied to a tensor`,
            span,
          );
        }
        return makeInit(this.ctx(span, {}), callee.name, args);
      }
      default:
        return this.err("DLM0209", `${describe(callee)} is not callable`, span);
    }
  }

  bindBlockConfig(d: A.BlockDecl, args: ArgIn[], span: Span): Map<string, Value> | undefined {
    const sig = d.config.map((p) => ({
      name: p.name,
      type: argTypeOf(p.type),
      optional: p.default !== undefined,
    }));
    const bound = bindArgs(d.name, sig, args, span, this.diags);
    if (!bound) return undefined;
    const cfg = new Map<string, Value>();
    const scope = new Scope(this.global);
    for (const p of d.config) {
      let v = bound[p.name] as Value | undefined;
      if (v === undefined) v = this.eval(p.default!, scope);
      if (
        p.type && v.k !== "error" &&
        !this.checkDeclared(
          v,
          p.type,
          scope,
          bound.__spans?.[p.name] ?? span,
          `${d.name}'s '${p.name}'`,
        )
      ) {
        return undefined;
      }
      v = coerce(v, p.type);
      scope.define(p.name, v);
      cfg.set(p.name, v);
    }
    return cfg;
  }

  applyInstance(
    inst: Instance,
    inputs: Value[],
    span: Span,
    named: Record<string, TensorValue> = {},
  ): Value {
    if (inputs.some((v) => v.k === "error")) return ERROR;
    this.autoName(inst);
    const prefix = inst.prefix!;
    switch (inst.kind) {
      case "builtin": {
        const def = LAYERS[inst.name];
        const [lo, hi] = Array.isArray(def.inputs)
          ? def.inputs
          : [def.inputs ?? 1, def.inputs ?? 1];
        if (inputs.length < lo || inputs.length > hi) {
          const want = lo === hi ? `${lo}` : `${lo} to ${hi}`;
          return this.err(
            "DLM0202",
            `${inst.name}() is applied to ${want} tensor${hi > 1 ? "s" : ""}, got ${inputs.length}`,
            span,
          );
        }
        for (const v of inputs) {
          if (v.k !== "tensor") {
            return this.err(
              "DLM0201",
              `${inst.name}() is applied to a tensor, got ${describe(v)}`,
              span,
            );
          }
        }
        const saved = this.frame;
        const spans = (inst.args as { __spans?: Record<string, Span> }).__spans ?? {};
        try {
          const xs = this.peft
            ? this.peft.beforeLayer(inst.name, prefix, inputs as TensorValue[], span)
            : inputs as TensorValue[];
          const out = def.apply(this.ctx(span, spans), inst.args!, xs, prefix, named);
          return this.peft
            ? this.peft.afterLayer(inst.name, prefix, xs, inst.args!, out, span)
            : out;
        } finally {
          this.frame = saved;
        }
      }
      case "seq": {
        const saved = this.frame;
        if (!inst.inline) this.frame = new Frame(prefix, saved);
        try {
          let v: Value = inputs.length === 1 ? inputs[0] : { k: "tuple", items: inputs };
          inst.group!.stages.forEach((st, k) => {
            if (v.k !== "error") v = this.applyStage(v, st, inst.scope!, k);
          });
          return this.peft && !inst.inline ? this.peft.afterBlock(prefix, v, span) : v;
        } finally {
          this.frame = saved;
        }
      }
      case "block": {
        const v = this.applyBlock(inst, inputs, span);
        return this.peft && !inst.inline ? this.peft.afterBlock(prefix, v, span) : v;
      }
    }
  }

  applyBlock(inst: Instance, inputs: Value[], span: Span): Value {
    const d = inst.decl!;
    if (this.depth >= LIMITS.depth) {
      const tail = this.calls.slice(-4).map((c) => c.name).join(" -> ");
      this.err(
        "DLM0301",
        `Recursion is deeper than ${LIMITS.depth} block calls: ${d.name} never reaches a base case`,
        span,
        [`the innermost calls are ${tail} -> ${d.name}`],
      );
      throw new Abort();
    }
    if (inputs.length !== d.inputs.length) {
      return this.err(
        "DLM0202",
        `Block ${d.name} takes ${d.inputs.length} input${d.inputs.length === 1 ? "" : "s"} (${
          d.inputs.map((p) => p.name).join(", ")
        }), got ${inputs.length}`,
        span,
      );
    }
    const scope = new Scope(this.global);
    for (const [k, v] of inst.config ?? []) scope.define(k, v);
    for (let i = 0; i < d.inputs.length; i++) {
      const p = d.inputs[i];
      const v = inputs[i];
      if (p.type) {
        if (!this.checkDeclared(v, p.type, scope, span, `${d.name}'s input '${p.name}'`, true)) {
          return ERROR;
        }
      }
      scope.define(p.name, v);
    }
    const saved = this.frame;
    const savedRules = saved.rules.length;
    if (!inst.inline) this.frame = new Frame(inst.prefix!, saved);
    this.depth++;
    this.calls.push({ name: d.name, span });
    try {
      const before = this.diags.length;
      this.hoistInits(d.body, scope);
      this.execBody(d.body, scope, { model: false });
      // After an error inside the body (a skipped branch), a missing return is no news.
      if (this.diags.length > before) return ERROR;
      return this.err("DLM0211", `Block ${d.name} ends without returning a value`, d.nameSpan);
    } catch (r) {
      if (!(r instanceof Return)) throw r;
      const v = r.value;
      if (d.returnType && v.k !== "error") {
        if (!this.checkDeclared(v, d.returnType, scope, span, `${d.name}'s result`)) return ERROR;
      }
      return v;
    } finally {
      this.depth--;
      this.calls.pop();
      this.frame = saved;
      // An inline (_) block shares its caller's level, but its init rules end with it.
      saved.rules.length = savedRules;
    }
  }

  // --------------------------------------------------------------- builtins

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
        return self.addOp(op, inputs, attrs, span, name, opts.nOutputs);
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
      bind: (what, sig, args) => bindArgs(what, sig, args, span, this.diags),
      get prefix() {
        return self.frame.prefix;
      },
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
      trainableParams: () =>
        this.root.graph.params.filter((p) => p.trainable).map((p) => ({
          k: "tensor",
          v: p.name,
          t: this.root.graph.types.get(p.name)!,
        })),
      get phases() {
        return self.phases;
      },
    };
  }

  addOp(
    op: string,
    inputs: string[],
    attrs: Record<string, unknown>,
    span: Span,
    name?: string,
    nOutputs?: number,
  ): TensorValue[] | undefined {
    if (this.b.graph.nodes.length >= LIMITS.nodes) {
      this.err(
        "DLM0302",
        `The graph has more than ${
          big(LIMITS.nodes)
        } nodes; is a loop or a recursion running away?`,
        span,
      );
      throw new Abort();
    }
    try {
      const outs = this.b.addNode(op, inputs, attrs as Record<string, never>, {
        name: name ?? this.frame.child(op.toLowerCase()),
        nOutputs,
        spans: [this.userSpan(span)!],
      });
      for (const o of outs) {
        const t = this.b.graph.types.get(o)!;
        if (
          t.shape.every((d) => typeof d === "number") &&
          numel(t.shape as number[]) > LIMITS.tensorElements
        ) {
          this.err(
            "DLM0303",
            `${op} would make a tensor ${formatType(t)} of ${
              big(numel(t.shape as number[]))
            } elements; the limit is ${big(LIMITS.tensorElements)}`,
            span,
          );
          return undefined;
        }
      }
      return outs.map((o) => ({ k: "tensor", v: o, t: this.b.graph.types.get(o)! }));
    } catch (e) {
      if (e instanceof ShapeError) {
        this.err(e.message.startsWith("Cannot broadcast") ? "DLM0204" : "DLM0203", e.message, span);
        return undefined;
      }
      throw e;
    }
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
    if (existing) {
      const t = this.root.graph.types.get(name)!;
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        this.err(
          "DLM0203",
          `Shared layer '${prefix}' needs ${name} of shape [${
            shape.join(", ")
          }] here, but it was created as [${
            t.shape.join(", ")
          }]; a layer applied twice needs inputs of the same size`,
          span,
        );
        return undefined;
      }
      return { k: "tensor", v: name, t };
    }
    const n = numel(shape);
    if (shape.some((d) => !Number.isInteger(d) || d < 0) || n > LIMITS.tensorElements) {
      this.err(
        "DLM0303",
        `Parameter ${name} of shape [${shape.join(", ")}] has ${
          big(n)
        } elements; the limit per tensor is ${big(LIMITS.tensorElements)}`,
        span,
      );
      throw new Abort();
    }
    this.paramElements += n;
    if (this.paramElements > LIMITS.totalParamElements) {
      this.err(
        "DLM0303",
        `The model has more than ${big(LIMITS.totalParamElements)} parameter elements`,
        span,
      );
      throw new Abort();
    }
    const spec = opts.explicit ?? this.ruleFor(name, opts.layer, role) ?? init;
    const t: Tensor = dtype === "f32"
      ? lazyInitTensor(spec, shape, name, this.seed)
      : zeros(dtype, shape);
    if (this.root.isUsed(name)) {
      this.err(
        "DLM0106",
        `Parameter name '${name}' clashes with another value of the same name`,
        span,
      );
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
    return { k: "tensor", v, t: { dtype, shape: [...shape] } };
  }

  ruleFor(name: string, layer: string, role: string): InitSpec | undefined {
    const rules = this.frame.rules;
    for (let i = rules.length - 1; i >= 0; i--) {
      const r = rules[i];
      if (r.prefix && !name.startsWith(r.prefix + ".")) continue;
      if (r.glob) {
        const rel = r.prefix ? name.slice(r.prefix.length + 1) : name;
        if (globToRegExp(r.target).test(rel)) return r.spec;
      } else if (r.target === `${layer}.${role}`) return r.spec;
    }
    return undefined;
  }

  constant(t: Tensor, base = "const"): TensorValue {
    const small = t.data.length <= 16 && t.dtype !== "str";
    const key = small
      ? `${t.dtype}[${t.shape}]:${Array.from(t.data as ArrayLike<number | bigint>).join(",")}`
      : "";
    const hit = small ? this.constCache.get(key) : undefined;
    if (hit) return { k: "tensor", v: hit, t: this.root.graph.types.get(hit)! };
    const name = this.root.initializer(this.root.isUsed(base) ? this.root.fresh(base) : base, t);
    if (small) this.constCache.set(key, name);
    return { k: "tensor", v: name, t: { dtype: t.dtype, shape: [...t.shape] } };
  }

  // ----------------------------------------------------------- initialisers

  initSpecOf(v: Value, span: Span): InitSpec {
    if (v.k === "init") return v.spec;
    if (v.k === "initfn") {
      const made = makeInit(this.ctx(span, {}), v.name, []);
      if (made.k === "init") return made.spec;
    }
    return { kind: "zeros" };
  }

  // ------------------------------------------------------------------ types

  /** The type of a model input: unbound capitalised or unknown names become symbolic dims. */
  evalInputType(te: A.TensorTypeExpr, scope: Scope): TensorType | undefined {
    if (!DTYPES.has(te.dtype)) {
      this.err(
        "DLM0201",
        `Unknown element type '${te.dtype}'; use one of ${[...DTYPES].join(", ")}`,
        te.span,
      );
      return undefined;
    }
    const shape: Dim[] = [];
    for (const d of te.dims) {
      if (d.kind === "dim_any" || d.kind === "dim_rest") {
        this.err(
          "DLM0210",
          "Model inputs need every dim named or sized; _ and ... are for block parameters",
          d.span,
        );
        return undefined;
      }
      if (
        d.kind === "name" && isSymbolName(d.name) && scope.lookup(d.name) === undefined
      ) {
        const fixed = this.opts.dims?.[d.name];
        if (fixed !== undefined) {
          scope.define(d.name, { k: "int", v: fixed });
          shape.push(fixed);
          continue;
        }
        scope.define(d.name, { k: "dim", v: d.name });
        shape.push(d.name);
        continue;
      }
      const v = this.eval(d, scope);
      if (v.k === "int") {
        if (v.v < 0) {
          this.err("DLM0210", `A dim must not be negative, got ${v.v}`, d.span);
          return undefined;
        }
        shape.push(v.v);
      } else if (v.k === "dim") shape.push(v.v);
      else {
        if (v.k !== "error") {
          this.err(
            "DLM0201",
            `A dim must be an int or a symbolic name, got ${describe(v)}`,
            d.span,
          );
        }
        return undefined;
      }
    }
    if (
      shape.every((d) => typeof d === "number") && numel(shape as number[]) > LIMITS.tensorElements
    ) {
      this.err(
        "DLM0303",
        `Input ${te.dtype}[${shape.join(", ")}] has ${
          big(numel(shape as number[]))
        } elements; the limit is ${big(LIMITS.tensorElements)}`,
        te.span,
      );
      return undefined;
    }
    return { dtype: te.dtype as DType, shape };
  }

  /**
   * Check `v` against a declared type; with `bind`, unbound dim names become
   * bound to the actual dims (block parameters such as x: f32[N, C, H, W]).
   */
  checkDeclared(
    v: Value,
    te: A.TypeExpr,
    scope: Scope,
    span: Span,
    what = "value",
    bind = true,
  ): boolean {
    if (v.k === "error") return false;
    switch (te.kind) {
      case "scalar_type": {
        const ok = te.name === "tensor"
          ? v.k === "tensor"
          : te.name === "float"
          ? isNumber(v)
          : te.name === "int"
          ? v.k === "int"
          : te.name === "bool"
          ? v.k === "bool"
          : v.k === "str";
        if (!ok) {
          this.err(
            "DLM0201",
            `${what} must be ${te.name === "int" ? "an" : "a"} ${te.name}, got ${describe(v)}`,
            span,
          );
        }
        return ok;
      }
      case "tuple_type": {
        if ((v.k !== "tuple" && v.k !== "list") || v.items.length !== te.items.length) {
          this.err(
            "DLM0201",
            `${what} must be a tuple of ${te.items.length}, got ${describe(v)}`,
            span,
          );
          return false;
        }
        return te.items.every((t, i) => this.checkDeclared(v.items[i], t, scope, span, what, bind));
      }
      case "tensor_type": {
        if (v.k !== "tensor") {
          this.err(
            "DLM0201",
            `${what} must be a tensor ${te.dtype}[...], got ${describe(v)}`,
            span,
          );
          return false;
        }
        const problem = this.matchTensorType(v.t, te, scope, bind);
        if (problem === null) return false;
        if (problem) {
          this.err(
            "DLM0208",
            `${what} is declared ${typeText(te)} but is ${formatType(v.t)}: ${problem}`,
            span,
          );
          return false;
        }
        return true;
      }
    }
  }

  matchTensorType(
    t: TensorType,
    te: A.TensorTypeExpr,
    scope: Scope,
    bind: boolean,
  ): string | undefined | null {
    if (te.dtype !== t.dtype) return `element type ${t.dtype} is not ${te.dtype}`;
    const rest = te.dims.findIndex((d) => d.kind === "dim_rest");
    const pattern = te.dims;
    const r = t.shape.length;
    if (rest < 0 && pattern.length !== r) return `its rank is ${r}, expected ${pattern.length}`;
    if (rest >= 0 && r < pattern.length - 1) {
      return `its rank is ${r}, expected at least ${pattern.length - 1}`;
    }
    for (let i = 0; i < pattern.length; i++) {
      if (i === rest) continue;
      const axis = rest >= 0 && i > rest ? r - (pattern.length - i) : i;
      const d = pattern[i];
      const actual = t.shape[axis];
      if (d.kind === "dim_any" || d.kind === "dim_rest") continue;
      if (
        d.kind === "name" && isSymbolName(d.name) && scope.lookup(d.name) === undefined
      ) {
        if (bind) scope.define(d.name, dimValue(actual));
        continue;
      }
      const v = this.eval(d, scope);
      if (v.k === "error") return null; // the dim expression already reported its error
      const want: Dim | undefined = v.k === "int" ? v.v : v.k === "dim" ? v.v : undefined;
      if (want === undefined) return `dim ${axis} is declared as ${describe(v)}`;
      if (want !== actual) {
        const bound = d.kind === "name" ? ` (${d.name} = ${want})` : "";
        return `dim ${axis} is ${actual}, expected ${want}${bound}`;
      }
    }
    return undefined;
  }

  // -------------------------------------------------------------- operators

  unary(e: A.UnaryExpr, v: Value): Value {
    if (v.k === "error") return v;
    if (e.op === "!") {
      if (v.k === "bool") return { k: "bool", v: !v.v };
      if (v.k === "tensor") return this.tensorOp("Not", [v], e.span);
    } else {
      if (isNumber(v)) return { k: v.k, v: e.op === "-" ? -v.v : v.v };
      if (v.k === "tensor") return e.op === "-" ? this.tensorOp("Neg", [v], e.span) : v;
    }
    return this.err("DLM0201", `Operator ${e.op} does not apply to ${describe(v)}`, e.span);
  }

  binary(e: A.BinaryExpr, l: Value, r: Value): Value {
    if (l.k === "error" || r.k === "error") return ERROR;
    const op = e.op;
    if (l.k === "tensor" || r.k === "tensor") return this.tensorBinary(e, l, r);
    if (isNumber(l) && isNumber(r)) return this.numBinary(e, l, r);
    if (op === "==" || op === "!=") {
      if ((l.k === "dim" || r.k === "dim") && !equalValues(l, r)) {
        if ((l.k === "dim" || l.k === "int") && (r.k === "dim" || r.k === "int")) {
          return this.err(
            "DLM0305",
            `Cannot compare ${describe(l)} with ${
              describe(r)
            } at compile time: a symbolic dim is only known at run time`,
            e.span,
          );
        }
      }
      const eq = equalValues(l, r);
      return { k: "bool", v: op === "==" ? eq : !eq };
    }
    if (l.k === "bool" && r.k === "bool" && (op === "&&" || op === "||")) {
      return { k: "bool", v: op === "&&" ? l.v && r.v : l.v || r.v };
    }
    if (l.k === "str" && r.k === "str" && op === "+") return { k: "str", v: l.v + r.v };
    if ((l.k === "tuple" || l.k === "list") && l.k === r.k && op === "+") {
      return { k: l.k, items: [...l.items, ...r.items] };
    }
    if (l.k === "dim" || r.k === "dim") {
      return this.err(
        "DLM0305",
        `${describe(l)} ${op} ${
          describe(r)
        } needs the symbolic dim's value, which is only known at run time`,
        e.span,
      );
    }
    return this.err(
      "DLM0201",
      `Operator ${op} does not apply to ${describe(l)} and ${describe(r)}`,
      e.opSpan,
    );
  }

  numBinary(
    e: A.BinaryExpr,
    l: { k: "int" | "float"; v: number },
    r: { k: "int" | "float"; v: number },
  ): Value {
    const ints = l.k === "int" && r.k === "int";
    const a = l.v, b = r.v;
    const n = (v: number): Value => {
      if (ints && Number.isInteger(v)) {
        if (!Number.isSafeInteger(v)) {
          return this.err("DLM0210", `Integer overflow: ${a} ${e.op} ${b} is beyond 2^53`, e.span);
        }
        return { k: "int", v };
      }
      return { k: "float", v };
    };
    switch (e.op) {
      case "+":
        return n(a + b);
      case "-":
        return n(a - b);
      case "*":
        return n(a * b);
      case "/":
        if (b === 0) return this.err("DLM0304", `Division by zero: ${a} / ${b}`, e.span);
        return { k: "float", v: a / b };
      case "%":
        if (b === 0) return this.err("DLM0304", `Division by zero: ${a} % ${b}`, e.span);
        return n(a - b * Math.floor(a / b));
      case "**":
        return ints && b >= 0 ? n(a ** b) : { k: "float", v: a ** b };
      case "==":
        return { k: "bool", v: a === b };
      case "!=":
        return { k: "bool", v: a !== b };
      case "<":
        return { k: "bool", v: a < b };
      case "<=":
        return { k: "bool", v: a <= b };
      case ">":
        return { k: "bool", v: a > b };
      case ">=":
        return { k: "bool", v: a >= b };
      default:
        return this.err("DLM0201", `Operator ${e.op} does not apply to numbers`, e.opSpan);
    }
  }

  tensorBinary(e: A.BinaryExpr, l: Value, r: Value): Value {
    const ref = (l.k === "tensor" ? l : r) as TensorValue;
    const lift = (v: Value): TensorValue | undefined => {
      if (v.k === "tensor") return v;
      if (isNumber(v)) {
        if (!isFloat(ref.t.dtype) && !Number.isInteger(v.v)) {
          this.err(
            "DLM0207",
            `Cannot combine ${
              formatType(ref.t)
            } with the non-integer ${v.v}; convert the tensor with cast() first`,
            e.span,
          );
          return undefined;
        }
        return this.constant(scalarTensor(ref.t.dtype, v.v));
      }
      if (v.k === "bool") return this.constant(mkTensor("bool", [], [v.v ? 1 : 0]));
      return undefined;
    };
    const a = lift(l), b = lift(r);
    if ((!a && isNumber(l)) || (!b && isNumber(r))) return ERROR; // reported by lift
    if (!a || !b) {
      return this.err(
        "DLM0201",
        `Operator ${e.op} does not apply to ${describe(l)} and ${describe(r)}`,
        e.opSpan,
      );
    }
    if (a.t.dtype !== b.t.dtype) {
      return this.err(
        "DLM0207",
        `Operator ${e.op} needs tensors of one element type, got ${formatType(a.t)} and ${
          formatType(b.t)
        }; convert with cast()`,
        e.span,
      );
    }
    const OPS: Record<string, string> = {
      "+": "Add",
      "-": "Sub",
      "*": "Mul",
      "/": "Div",
      "**": "Pow",
      "@": "MatMul",
      "%": "Mod",
      "==": "Equal",
      "<": "Less",
      "<=": "LessOrEqual",
      ">": "Greater",
      ">=": "GreaterOrEqual",
      "&&": "And",
      "||": "Or",
    };
    if (e.op === "!=") {
      const eq = this.tensorOp("Equal", [a, b], e.span);
      return eq.k === "tensor" ? this.tensorOp("Not", [eq], e.span) : eq;
    }
    const op = OPS[e.op];
    if (!op) return this.err("DLM0201", `Operator ${e.op} does not apply to tensors`, e.opSpan);
    return this.tensorOp(
      op,
      [a, b],
      e.span,
      op === "Mod" && a.t.dtype.startsWith("f") ? { fmod: 1 } : {},
    );
  }

  tensorOp(op: string, xs: TensorValue[], span: Span, attrs: Record<string, unknown> = {}): Value {
    const r = this.addOp(op, xs.map((x) => x.v), attrs, span);
    return r ? r[0] : ERROR;
  }

  index(e: A.IndexExpr, scope: Scope): Value {
    const t = this.eval(e.target, scope);
    if (t.k === "error") return t;
    if (t.k === "tuple" || t.k === "list") {
      if (e.indices.length !== 1 || e.indices[0].kind === "slice") {
        return this.err("DLM0201", `A ${t.k} takes one int index`, e.span);
      }
      const i = this.eval(e.indices[0] as A.Expr, scope);
      if (i.k !== "int") {
        return i.k === "error" ? i : this.err(
          "DLM0201",
          `A ${t.k} index must be an int, got ${describe(i)}`,
          e.indices[0].span,
        );
      }
      const k = i.v < 0 ? t.items.length + i.v : i.v;
      if (k < 0 || k >= t.items.length) {
        return this.err(
          "DLM0210",
          `Index ${i.v} is out of range for a ${t.k} of ${t.items.length}`,
          e.indices[0].span,
        );
      }
      return t.items[k];
    }
    if (t.k !== "tensor") return this.err("DLM0201", `Cannot index ${describe(t)}`, e.span);
    const rank = t.t.shape.length;
    if (e.indices.length > rank) {
      return this.err("DLM0210", `${e.indices.length} indices for ${formatType(t.t)}`, e.span);
    }
    const starts: number[] = [],
      ends: number[] = [],
      axes: number[] = [],
      steps: number[] = [],
      squeeze: number[] = [];
    const intOf = (x: A.Expr | undefined, dflt: number): number | undefined => {
      if (!x) return dflt;
      const v = this.eval(x, scope);
      if (v.k === "int") return v.v;
      if (v.k !== "error") {
        this.err("DLM0201", `A slice bound must be an int, got ${describe(v)}`, x.span);
      }
      return undefined;
    };
    for (let ax = 0; ax < e.indices.length; ax++) {
      const ix = e.indices[ax];
      if (ix.kind === "slice") {
        const step = intOf(ix.step, 1);
        if (step === undefined) return ERROR;
        if (step === 0) return this.err("DLM0210", "A slice step must not be 0", ix.span);
        const big = 2 ** 53 - 1;
        const s = intOf(ix.start, step > 0 ? 0 : -1);
        const en = intOf(ix.end, step > 0 ? big : -big);
        if (s === undefined || en === undefined) return ERROR;
        if (!ix.start && !ix.end && step === 1) continue;
        starts.push(s), ends.push(en), axes.push(ax), steps.push(step);
      } else {
        const i = intOf(ix, 0);
        if (i === undefined) return ERROR;
        const d = t.t.shape[ax];
        if (typeof d === "number" && (i >= d || i < -d)) {
          return this.err(
            "DLM0210",
            `Index ${i} is out of range for dim ${ax} of ${formatType(t.t)}`,
            ix.span,
          );
        }
        starts.push(i),
          ends.push(i === -1 ? 2 ** 53 - 1 : i + 1),
          axes.push(ax),
          steps.push(1),
          squeeze.push(ax);
      }
    }
    let v: Value = t;
    if (axes.length) {
      const c = (xs: number[]) => this.constant(mkTensor("i64", [xs.length], xs)).v;
      const r = this.addOp("Slice", [t.v, c(starts), c(ends), c(axes), c(steps)], {}, e.span);
      if (!r) return ERROR;
      v = r[0];
    }
    if (squeeze.length && v.k === "tensor") {
      const r = this.addOp(
        "Squeeze",
        [v.v, this.constant(mkTensor("i64", [squeeze.length], squeeze)).v],
        {},
        e.span,
      );
      if (!r) return ERROR;
      v = r[0];
    }
    return v;
  }

  member(e: A.MemberExpr, scope: Scope): Value {
    const t = this.eval(e.target, scope);
    if (t.k === "error") return t;
    if (t.k === "tensor") {
      switch (e.name) {
        case "shape":
          return { k: "tuple", items: t.t.shape.map(dimValue) };
        case "rank":
          return { k: "int", v: t.t.shape.length };
        case "dtype":
          return { k: "str", v: t.t.dtype };
        case "T": {
          const r = t.t.shape.length;
          if (r < 2) {
            return this.err(
              "DLM0210",
              `.T needs a tensor of rank >= 2, got ${formatType(t.t)}`,
              e.span,
            );
          }
          const perm = [...Array(r).keys()];
          [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
          const out = this.addOp("Transpose", [t.v], { perm }, e.span);
          return out ? out[0] : ERROR;
        }
      }
      return this.err(
        "DLM0101",
        `A tensor has no member '${e.name}'; it has shape, rank, dtype and T`,
        e.nameSpan,
      );
    }
    if ((t.k === "tuple" || t.k === "list") && e.name === "length") {
      return { k: "int", v: t.items.length };
    }
    return this.err("DLM0101", `${describe(t)} has no member '${e.name}'`, e.nameSpan);
  }
}

// ------------------------------------------------------------------ helpers

/** A scalar constant of `dtype`; 16-bit floats are stored as their bits. */
function scalarTensor(dtype: DType, v: number): Tensor {
  if (dtype === "f16") return mkTensor(dtype, [], [f32ToF16(v)]);
  if (dtype === "bf16") return mkTensor(dtype, [], [f32ToBf16(v)]);
  if (dtype === "bool") return mkTensor(dtype, [], [v ? 1 : 0]);
  return mkTensor(dtype, [], [v]);
}

/** 2,147,483,647 or, past a trillion, 1.0e+12: one format for every size limit message. */
function big(n: number): string {
  return n < 1e12 ? n.toLocaleString("en-US") : n.toExponential(1);
}

function spread(v: Value): Value[] {
  return v.k === "tuple" ? v.items : [v];
}

function flattenTuple(v: Value, n: number): Value[] | undefined {
  if (v.k !== "tuple" && v.k !== "list") return undefined;
  const out: Value[] = [];
  const walk = (x: Value) => {
    if ((x.k === "tuple" || x.k === "list") && out.length + x.items.length <= n && x !== v) {
      for (const y of x.items) out.push(y);
    } else out.push(x);
  };
  if (v.items.length === n) return v.items;
  for (const x of v.items) walk(x);
  return out.length === n ? out : undefined;
}

function argTypeOf(te?: A.TypeExpr): ArgType {
  if (!te) return "any";
  if (te.kind === "tensor_type") return "tensor";
  if (te.kind === "tuple_type") return "any";
  switch (te.name) {
    case "int":
      return "int";
    case "float":
      return "number";
    case "bool":
      return "bool";
    case "str":
      return "str";
    default:
      return "tensor";
  }
}

function coerce(v: Value, te?: A.TypeExpr): Value {
  if (te?.kind === "scalar_type" && te.name === "float" && v.k === "int") {
    return { k: "float", v: v.v };
  }
  return v;
}

function typeText(te: A.TensorTypeExpr): string {
  const dims = te.dims.map((d) => {
    if (d.kind === "dim_any") return "_";
    if (d.kind === "dim_rest") return "...";
    if (d.kind === "name") return d.name;
    if (d.kind === "num") return String(d.value);
    return "?";
  });
  return `${te.dtype}[${dims.join(", ")}]`;
}

function scopeNames(s: Scope): string[] {
  const out: string[] = [];
  for (let c: Scope | undefined = s; c; c = c.parent) out.push(...c.vars.keys());
  return out;
}
