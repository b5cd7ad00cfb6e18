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
import type { Ctx, ParamOptions } from "./context.ts";
import { INIT_NAMES, type InitSpec, lazyInitTensor, type Nonlinearity, Rng } from "./init.ts";
import { Frame } from "./frame.ts";
import { type ArgIn, type ArgType, bindArgs, num } from "./signature.ts";
import { FUNCTIONS, LAYERS } from "./builtins/mod.ts";
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
import { METHOD_ARGS, methodSpecs, Peft } from "./peft.ts";

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

/** Limits that turn runaway programs into diagnostics instead of hangs. */
export const LIMITS = {
  depth: 200,
  iterations: 1_000_000,
  // Real networks have thousands of nodes (GPT-2: ~3k; an unrolled RNN: tens of thousands).
  nodes: 250_000,
  rangeLength: 1_000_000,
  tensorElements: 2 ** 31 - 1,
  totalParamElements: 4 * 2 ** 30,
};

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
  scanCount = 0;
  /** The fine-tuning methods applied to the model (`with lora(...)`), when there are any. */
  peft?: Peft;
  /** Phases declared by the train section being elaborated (undefined outside one). */
  phases?: { name: string; loss: Value; optimizer: Value; params?: string; span: Span }[];

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
    if (name in FUNCTIONS || name in SCALAR_FNS) return { k: "fn", name };
    if (INIT_FNS.has(name)) return { k: "initfn", name };
    if (this.program.models.has(name)) {
      return this.err(
        "DLM0209",
        `'${name}' is a model; use a block to reuse layers inside another model`,
        span,
      );
    }
    const known = [
      ...scopeNames(scope),
      ...this.program.blocks.keys(),
      ...Object.keys(LAYERS),
      ...Object.keys(FUNCTIONS),
      ...Object.keys(SCALAR_FNS),
      ...INIT_FNS,
    ];
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
        const scalar = SCALAR_FNS[callee.name];
        if (scalar && (!(callee.name in FUNCTIONS) || all.every((a) => a.value.k !== "tensor"))) {
          return scalar(this, all, span);
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
        return this.makeInit(callee.name, args, span);
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

  // ------------------------------------------------------------------ scan

  /**
   * `scan(cell, init, xs, axis: 1, reverse: false)`: run a recurrent cell
   * over time. The cell is a layer applied as cell(state..., x_t...) that
   * returns (new_state, y_t); the state may be a tensor or a tuple (h, c),
   * xs a tensor or a tuple of tensors scanned along `axis`. The result is
   * (final_state, ys) with the y_t stacked along `axis`. Over a known
   * length the loop is unrolled; over a symbolic one (T) it becomes one
   * ONNX Scan whose body is the cell, reading the cell's weights from the
   * outer graph, so one file serves every sequence length.
   */
  scanFn(args: ArgIn[], span: Span): Value {
    const sig = [
      { name: "cell", type: "any" as const },
      { name: "init", type: "any" as const },
      { name: "xs", type: "any" as const, optional: true },
      { name: "axis", type: "int" as const, default: { k: "int", v: 1 } as Value },
      { name: "steps", type: "int" as const, optional: true },
      { name: "reverse", type: "bool" as const, default: { k: "bool", v: false } as Value },
    ];
    const a = bindArgs("scan", sig, args, span, this.diags);
    if (!a) return ERROR;
    const sp = (k: string) => a.__spans?.[k] ?? span;
    let cell = a.cell;
    if (cell.k === "blockdef" && cell.decl.config.length === 0) {
      cell = {
        k: "layer",
        inst: { kind: "block", name: cell.decl.name, span, decl: cell.decl, config: new Map() },
      };
    }
    if (cell.k !== "layer") {
      return this.err(
        "DLM0201",
        `scan() needs a layer to run at each step (such as Cell(64)), got ${describe(a.cell)}`,
        sp("cell"),
      );
    }
    const tensors = (v: Value, what: string, where: Span): TensorValue[] | undefined => {
      const items = v.k === "tuple" || v.k === "list" ? v.items : [v];
      if (items.length === 0 || items.some((x) => x.k !== "tensor")) {
        this.err(
          "DLM0201",
          `scan() needs ${what} to be a tensor or a tuple of tensors, got ${describe(v)}`,
          where,
        );
        return undefined;
      }
      return items as TensorValue[];
    };
    const state0 = tensors(a.init, "the initial state", sp("init"));
    if (!state0) return ERROR;
    if (!a.xs) return this.scanSteps(cell.inst, a, state0, span);
    const xs = tensors(a.xs, "the sequence", sp("xs"));
    if (!xs) return ERROR;
    const stateIsTuple = a.init.k === "tuple" || a.init.k === "list";
    const xsIsTuple = a.xs.k === "tuple" || a.xs.k === "list";
    const axisIn = (a.axis as { v: number }).v;
    const reverse = (a.reverse as { v: boolean }).v;
    const rank = xs[0].t.shape.length;
    const axis = axisIn < 0 ? axisIn + rank : axisIn;
    if (axis < 0 || axis >= rank || xs.some((x) => x.t.shape.length !== rank)) {
      return this.err(
        "DLM0210",
        `scan() axis ${axisIn} does not fit the sequence ${formatType(xs[0].t)}`,
        sp("axis"),
      );
    }
    const steps = xs[0].t.shape[axis];
    if (xs.some((x) => x.t.shape[axis] !== steps)) {
      return this.err(
        "DLM0203",
        `scan() needs sequences of one length along axis ${axis}, got ${
          xs.map((x) => formatType(x.t)).join(" and ")
        }`,
        sp("xs"),
      );
    }
    const inst = cell.inst;
    // Split the cell's result into (new state tensors, per-step output tensors).
    const unpack = (
      out: Value,
    ): { ns: TensorValue[]; ys: TensorValue[]; ysTuple: boolean } | undefined => {
      if (out.k === "error") return undefined;
      if (out.k !== "tuple" || out.items.length !== 2) {
        this.err(
          "DLM0201",
          `scan()'s cell must return (new_state, output), got ${describe(out)}`,
          span,
        );
        return undefined;
      }
      const ns = tensors(out.items[0], "the cell's new state", span);
      const ys = tensors(out.items[1], "the cell's output", span);
      if (!ns || !ys) return undefined;
      if (ns.length !== state0.length) {
        this.err(
          "DLM0203",
          `scan()'s cell returns ${ns.length} state tensor(s) but the state has ${state0.length}`,
          span,
        );
        return undefined;
      }
      for (let i = 0; i < ns.length; i++) {
        const want = state0[i].t, got = ns[i].t;
        if (
          want.dtype !== got.dtype || want.shape.length !== got.shape.length ||
          want.shape.some((d, j) => d !== got.shape[j])
        ) {
          this.err(
            "DLM0203",
            `scan()'s cell returns a state ${formatType(got)} for a state ${
              formatType(want)
            }: the state must keep its type`,
            span,
          );
          return undefined;
        }
      }
      return { ns, ys, ysTuple: out.items[1].k === "tuple" || out.items[1].k === "list" };
    };
    const pack = (
      ts: TensorValue[],
      tuple: boolean,
    ): Value => (tuple ? { k: "tuple", items: ts } : ts[0]);
    if (typeof steps === "number") {
      // Unrolled: one application of the cell per step, sharing its weights.
      if (steps === 0) return this.err("DLM0210", "scan() over an empty sequence", sp("xs"));
      let state = state0;
      const per: TensorValue[][] = new Array(steps);
      let ysTuple = false;
      for (let q = 0; q < steps; q++) {
        const t = reverse ? steps - 1 - q : q;
        const index = this.constant(mkTensor("i64", [], [t]));
        const elems: TensorValue[] = [];
        for (const x of xs) {
          const g = this.addOp("Gather", [x.v, index.v], { axis }, span);
          if (!g) return ERROR;
          elems.push(g[0]);
        }
        const r = unpack(this.applyInstance(inst, [...state, ...elems], span));
        if (!r) return ERROR;
        state = r.ns;
        per[t] = r.ys;
        ysTuple = r.ysTuple;
      }
      const axesC = this.constant(mkTensor("i64", [1], [axis]));
      const stacked: TensorValue[] = [];
      for (let j = 0; j < per[0].length; j++) {
        const parts: string[] = [];
        for (let t = 0; t < steps; t++) {
          const u = this.addOp("Unsqueeze", [per[t][j].v, axesC.v], {}, span);
          if (!u) return ERROR;
          parts.push(u[0].v);
        }
        const c = parts.length === 1 ? undefined : this.addOp("Concat", parts, { axis }, span);
        if (parts.length > 1 && !c) return ERROR;
        stacked.push(c ? c[0] : { k: "tensor", v: parts[0], t: this.b.graph.types.get(parts[0])! });
      }
      void xsIsTuple;
      return { k: "tuple", items: [pack(state, stateIsTuple), pack(stacked, ysTuple)] };
    }
    // Symbolic length: an ONNX Scan whose body is the cell.
    const k = this.scanCount++;
    const prefix = `${this.frame.child(`scan_${k}`)}/`;
    const sub = new GraphBuilder(prefix.slice(0, -1), { outer: this.b, prefix });
    const bodyState = state0.map((st, i): TensorValue => {
      const n = sub.input(`state${i}`, st.t);
      return { k: "tensor", v: n, t: st.t };
    });
    const bodyX = xs.map((x, j): TensorValue => {
      const t = { dtype: x.t.dtype, shape: x.t.shape.filter((_, d) => d !== axis) };
      return { k: "tensor", v: sub.input(`x${j}`, t), t };
    });
    const saved = this.b;
    this.b = sub;
    let r: ReturnType<typeof unpack>;
    try {
      r = unpack(this.applyInstance(inst, [...bodyState, ...bodyX], span));
    } finally {
      this.b = saved;
    }
    if (!r) return ERROR;
    // Body outputs, renaming as they go (one value may be both state and output).
    const renamed = new Map<string, string>();
    [...r.ns, ...r.ys].forEach((v, i) => {
      const from = renamed.get(v.v) ?? v.v;
      const before = sub.graph.outputs.length;
      sub.output(from, `${prefix}out${i}`, span);
      const added = sub.graph.outputs[before].name;
      if (!sub.graph.nodes.some((n) => n.op === "Identity" && n.outputs[0] === added)) {
        renamed.set(v.v, added);
      }
    });
    const m = xs.length, nOut = r.ns.length + r.ys.length;
    const attrs: Record<string, unknown> = {
      body: sub.graph,
      num_scan_inputs: m,
      scan_input_axes: Array(m).fill(axis),
      scan_output_axes: Array(r.ys.length).fill(axis),
    };
    if (reverse) {
      attrs.scan_input_directions = Array(m).fill(1);
      attrs.scan_output_directions = Array(r.ys.length).fill(1);
    }
    const outs = this.addOp(
      "Scan",
      [...state0.map((x) => x.v), ...xs.map((x) => x.v)],
      attrs,
      span,
      this.frame.child(`scan_${k}`),
      nOut,
    );
    if (!outs) return ERROR;
    return {
      k: "tuple",
      items: [
        pack(outs.slice(0, r.ns.length), stateIsTuple),
        pack(outs.slice(r.ns.length), r.ysTuple),
      ],
    };
  }

  /**
   * `scan(cell, init, steps: L)` with no sequence: the cell runs L times on
   * its state alone (greedy decoding feeds each step's prediction back
   * through the state). Unrolled; L must be known.
   */
  scanSteps(inst: Instance, a: Record<string, Value>, state0: TensorValue[], span: Span): Value {
    const steps = a.steps;
    if (!steps || steps.k !== "int" || steps.v <= 0) {
      return this.err(
        "DLM0206",
        "scan() without a sequence needs steps: a positive int (how many times to run the cell)",
        span,
      );
    }
    const stateIsTuple = a.init.k === "tuple" || a.init.k === "list";
    let state = state0;
    const per: Value[] = [];
    for (let t = 0; t < steps.v; t++) {
      const out = this.applyInstance(inst, [...state], span);
      if (out.k === "error") return ERROR;
      if (out.k !== "tuple" || out.items.length !== 2) {
        return this.err(
          "DLM0201",
          `scan()'s cell must return (new_state, output), got ${describe(out)}`,
          span,
        );
      }
      const ns = out.items[0];
      const nsList = ns.k === "tuple" || ns.k === "list" ? ns.items : [ns];
      if (
        nsList.length !== state0.length ||
        nsList.some((x, i) => x.k !== "tensor" || formatType(x.t) !== formatType(state0[i].t))
      ) {
        return this.err(
          "DLM0203",
          `scan()'s cell returns a new state ${describe(ns)} for a state of ${
            state0.map((x) => formatType(x.t)).join(", ")
          }: the state must keep its type`,
          span,
        );
      }
      state = nsList as TensorValue[];
      per.push(out.items[1]);
    }
    const axis = (a.axis as { v: number }).v;
    const ysTuple = per[0].k === "tuple";
    const cols = ysTuple ? (per[0] as { items: Value[] }).items.length : 1;
    const stacked: TensorValue[] = [];
    for (let j = 0; j < cols; j++) {
      const parts: string[] = [];
      for (const y of per) {
        const v = ysTuple ? (y as { items: Value[] }).items[j] : y;
        if (v.k !== "tensor") {
          return this.err(
            "DLM0201",
            `scan()'s cell output must be tensors, got ${describe(v)}`,
            span,
          );
        }
        const r = v.t.shape.length + 1;
        const ax = axis < 0 ? axis + r : axis;
        const u = this.addOp(
          "Unsqueeze",
          [v.v, this.constant(mkTensor("i64", [1], [ax])).v],
          {},
          span,
        );
        if (!u) return ERROR;
        parts.push(u[0].v);
      }
      const r0 = parts.length === 1 ? undefined : this.addOp("Concat", parts, { axis }, span);
      if (parts.length > 1 && !r0) return ERROR;
      stacked.push(r0 ? r0[0] : { k: "tensor", v: parts[0], t: this.b.graph.types.get(parts[0])! });
    }
    const pack = (
      ts: TensorValue[],
      tuple: boolean,
    ): Value => (tuple ? { k: "tuple", items: ts } : ts[0]);
    return { k: "tuple", items: [pack(state, stateIsTuple), pack(stacked, ysTuple)] };
  }

  /**
   * `params("*.weight")`: the trainable parameters whose names match, as a
   * tuple of tensors (for regularisers: l2_penalty(params("*.weight"))).
   */
  paramsFn(args: ArgIn[], span: Span): Value {
    const a = bindArgs(
      "params",
      [{ name: "pattern", type: "str", default: { k: "str", v: "*" } }],
      args,
      span,
      this.diags,
    );
    if (!a) return ERROR;
    const re = globToRegExp((a.pattern as { v: string }).v);
    const items: Value[] = this.root.graph.params
      .filter((p) => p.trainable && re.test(p.name))
      .map((p) => ({ k: "tensor", v: p.name, t: this.root.graph.types.get(p.name)! }));
    if (items.length === 0) {
      return this.err(
        "DLM0210",
        `params("${(a.pattern as { v: string }).v}") matches no trainable parameter`,
        a.__spans?.pattern ?? span,
      );
    }
    return { k: "tuple", items };
  }

  // --------------------------------------------------------------- phases

  /**
   * `phase("disc", loss: d_loss, optimizer: adam(lr: 2e-4), params: "disc.*")`
   * in a train section: one optimisation step of an iteration. Phases run
   * in order within one training step; a later phase sees the parameters
   * earlier phases updated (a GAN's discriminator, then generator, step).
   */
  phaseFn(args: ArgIn[], span: Span): Value {
    if (!this.phases) return this.err("DLM0210", "phase() belongs in a train section", span);
    const a = bindArgs(
      "phase",
      [
        { name: "name", type: "str" },
        { name: "loss", type: "tensor" },
        { name: "optimizer", type: "any" },
        { name: "params", type: "str", optional: true },
      ],
      args,
      span,
      this.diags,
    );
    if (!a) return ERROR;
    const name = (a.name as { v: string }).v;
    if (this.phases.some((p) => p.name === name)) {
      return this.err("DLM0102", `phase '${name}' is declared twice`, span);
    }
    if (a.optimizer.k !== "spec") {
      return this.err(
        "DLM0201",
        `phase() needs an optimizer such as adam(lr: 2e-4), got ${describe(a.optimizer)}`,
        a.__spans?.optimizer ?? span,
      );
    }
    this.phases.push({
      name,
      loss: a.loss,
      optimizer: a.optimizer,
      params: a.params?.k === "str" ? a.params.v : undefined,
      span,
    });
    return NONE;
  }

  // ------------------------------------------------- raw parameters, constants

  /**
   * `param(shape, name: "table", init: normal(std: 0.02))`: a learned tensor
   * declared in .dlm (a class token, a bias table), named `name` at the
   * current level (`features.1.0.attn.table`). Applying the enclosing block
   * twice shares it, as any parameter.
   */
  paramFn(args: ArgIn[], span: Span): Value {
    const a = bindArgs(
      "param",
      [
        { name: "shape", type: "ints" },
        { name: "name", type: "str" },
        { name: "init", type: "init", optional: true },
      ],
      args,
      span,
      this.diags,
    );
    if (!a) return ERROR;
    const shape = a.shape.k === "int"
      ? [a.shape.v]
      : (a.shape as { items: { v: number }[] }).items.map((x) => x.v);
    const name = (a.name as { v: string }).v;
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_0-9]+)*$/.test(name)) {
      return this.err(
        "DLM0210",
        `param() needs a name made of letters, digits and _ (dots for levels), got "${name}"`,
        a.__spans?.name ?? span,
      );
    }
    if (shape.some((d) => d < 0)) {
      return this.err(
        "DLM0210",
        `param() needs non-negative dims, got (${shape.join(", ")})`,
        a.__spans?.shape ?? span,
      );
    }
    const init = a.init
      ? this.initSpecOf(a.init, span)
      : ({ kind: "normal", mean: 0, std: 1 } as InitSpec);
    const dot = name.lastIndexOf(".");
    const prefix = dot < 0 ? this.frame.prefix : this.frame.child(name.slice(0, dot));
    const role = dot < 0 ? name : name.slice(dot + 1);
    const v = this.param(prefix, role, shape, init, {
      layer: "param",
      explicit: a.init ? init : undefined,
    }, span);
    return v ?? ERROR;
  }

  /**
   * `tensor([[1, 2], [3, 4]], dtype: "f32")`: a constant tensor from
   * compile-time numbers (nested lists or tuples of one shape).
   */
  tensorFn(args: ArgIn[], span: Span): Value {
    const a = bindArgs(
      "tensor",
      [
        { name: "values", type: "any" },
        { name: "dtype", type: "str", default: { k: "str", v: "f32" } },
      ],
      args,
      span,
      this.diags,
    );
    if (!a) return ERROR;
    const dtype = (a.dtype as { v: string }).v;
    if (!DTYPES.has(dtype)) {
      return this.err(
        "DLM0210",
        `tensor() needs a dtype such as "f32" or "i64", got "${dtype}"`,
        a.__spans?.dtype ?? span,
      );
    }
    const flat: number[] = [];
    const shapeOf = (v: Value, depth: number, shape: number[]): boolean => {
      if (v.k === "int" || v.k === "float" || v.k === "bool") {
        if (depth !== shape.length) return false;
        flat.push(v.k === "bool" ? (v.v ? 1 : 0) : v.v);
        return true;
      }
      if (v.k !== "tuple" && v.k !== "list") return false;
      if (shape.length === depth) shape.push(v.items.length);
      else if (shape[depth] !== v.items.length) return false;
      return v.items.every((x) => shapeOf(x, depth + 1, shape));
    };
    const shape: number[] = [];
    if (!shapeOf(a.values, 0, shape)) {
      return this.err(
        "DLM0201",
        `tensor() needs numbers, or nested lists of numbers of one shape, got ${
          describe(a.values)
        }`,
        a.__spans?.values ?? span,
      );
    }
    if (flat.length > LIMITS.rangeLength) {
      return this.err(
        "DLM0303",
        `tensor() of ${flat.length} values; the limit is ${LIMITS.rangeLength}`,
        span,
      );
    }
    if (!isFloat(dtype as DType) && flat.some((x) => !Number.isInteger(x))) {
      return this.err(
        "DLM0207",
        `tensor() of dtype ${dtype} needs whole numbers`,
        a.__spans?.values ?? span,
      );
    }
    const values = dtype === "f16"
      ? flat.map(f32ToF16)
      : dtype === "bf16"
      ? flat.map(f32ToBf16)
      : flat;
    return this.constant(mkTensor(dtype as DType, shape, values));
  }

  // ----------------------------------------------------------- initialisers

  makeInit(name: string, args: ArgIn[], span: Span): Value {
    const sig = INIT_SIGS[canonicalInit(name)];
    const bound = bindArgs(name, sig, args, span, this.diags);
    if (!bound) return ERROR;
    const choices: Record<string, string[]> = {
      mode: ["fan_in", "fan_out"],
      nonlinearity: ["relu", "leaky_relu", "linear", "tanh", "sigmoid", "selu"],
    };
    for (const [k, allowed] of Object.entries(choices)) {
      const v = bound[k];
      if (v?.k === "str" && !allowed.includes(v.v)) {
        return this.err(
          "DLM0210",
          `${name}() ${k} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got "${v.v}"`,
          bound.__spans?.[k] ?? span,
        );
      }
    }
    return { k: "init", name, spec: buildInit(canonicalInit(name), bound) };
  }

  initSpecOf(v: Value, span: Span): InitSpec {
    if (v.k === "init") return v.spec;
    if (v.k === "initfn") {
      const made = this.makeInit(v.name, [], span);
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

/**
 * Capitalised names in a tensor type introduce symbolic dims (N, C, H);
 * other names must already be bound (classes, width), so a typo such as
 * f32[N, clases] is an unknown name, not a new dim.
 */
export function isSymbolName(name: string): boolean {
  return /^[A-Z]/.test(name);
}

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

// ------------------------------------------------------ compile-time functions

/**
 * A training-setting constructor (`adam(lr: 1e-3)`): named arguments of the
 * given types, all optional (defaults are the builders' PyTorch defaults).
 */
function specFn(kind: string, params: [string, ArgType][]): ScalarFn {
  return (e, args, span) => {
    const bound = bindArgs(
      kind,
      params.map(([name, type]) => ({ name, type, optional: true })),
      args,
      span,
      e.diags,
    );
    if (!bound) return ERROR;
    const out: Record<string, Value> = {};
    for (const [name] of params) if (bound[name] !== undefined) out[name] = bound[name];
    return { k: "spec", kind, args: out };
  };
}

type ScalarFn = (e: Elaborator, args: ArgIn[], span: Span) => Value;

function numArgs(
  e: Elaborator,
  name: string,
  args: ArgIn[],
  span: Span,
  n?: number,
): number[] | undefined {
  if (n !== undefined && args.length !== n) {
    e.err(
      "DLM0202",
      `${name}() takes ${n} argument${n === 1 ? "" : "s"}, got ${args.length}`,
      span,
    );
    return undefined;
  }
  const out: number[] = [];
  for (const a of args) {
    if (a.value.k === "error") return undefined;
    if (!isNumber(a.value)) {
      e.err("DLM0201", `${name}() expects numbers, got ${describe(a.value)}`, a.span);
      return undefined;
    }
    out.push(a.value.v);
  }
  return out;
}

/** min/max of numbers given as arguments or as one tuple/list; int when every item is. */
function extremum(name: string, f: (...xs: number[]) => number): ScalarFn {
  return (e, args, span) => {
    const items = args.length === 1 && (args[0].value.k === "tuple" || args[0].value.k === "list")
      ? args[0].value.items.map((value) => ({ value, span }))
      : args;
    const xs = numArgs(e, name, items, span);
    if (!xs || xs.length === 0) {
      return xs ? e.err("DLM0206", `${name}() needs at least one number`, span) : ERROR;
    }
    const allInt = items.every((a) => a.value.k === "int");
    return { k: allInt ? "int" : "float", v: f(...xs) };
  };
}

function numFn(name: string, f: (x: number) => number, intResult = false): ScalarFn {
  return (e, args, span) => {
    const xs = numArgs(e, name, args, span, 1);
    if (!xs) return ERROR;
    const v = f(xs[0]);
    if (Number.isNaN(v)) return e.err("DLM0210", `${name}(${xs[0]}) is not a number`, span);
    return intResult || (args[0].value.k === "int" && Number.isInteger(v) && name === "abs")
      ? { k: "int", v }
      : { k: "float", v };
  };
}

export const SCALAR_FNS: Record<string, ScalarFn> = {
  scan: (e, args, span) => e.scanFn(args, span),
  param: (e, args, span) => e.paramFn(args, span),
  phase: (e, args, span) => e.phaseFn(args, span),
  params: (e, args, span) => e.paramsFn(args, span),
  sgd: specFn("sgd", [
    ["lr", "number"],
    ["momentum", "number"],
    ["dampening", "number"],
    ["nesterov", "bool"],
    ["weight_decay", "number"],
    ["no_decay", "str"],
  ]),
  adam: specFn("adam", [
    ["lr", "number"],
    ["beta1", "number"],
    ["beta2", "number"],
    ["eps", "number"],
    ["weight_decay", "number"],
    ["no_decay", "str"],
  ]),
  adamw: specFn("adamw", [
    ["lr", "number"],
    ["beta1", "number"],
    ["beta2", "number"],
    ["eps", "number"],
    ["weight_decay", "number"],
    ["no_decay", "str"],
  ]),
  adagrad: specFn("adagrad", [["lr", "number"], ["lr_decay", "number"], ["eps", "number"], [
    "weight_decay",
    "number",
  ], ["no_decay", "str"]]),
  rmsprop: specFn("rmsprop", [
    ["lr", "number"],
    ["alpha", "number"],
    ["eps", "number"],
    ["momentum", "number"],
    ["centered", "bool"],
    ["weight_decay", "number"],
    ["no_decay", "str"],
  ]),
  step_lr: specFn("step_lr", [["step_size", "int"], ["gamma", "number"], ["warmup", "int"]]),
  exponential_lr: specFn("exponential_lr", [["gamma", "number"], ["warmup", "int"]]),
  cosine_lr: specFn("cosine_lr", [["t_max", "int"], ["eta_min", "number"], ["warmup", "int"]]),
  clip_norm: specFn("clip_norm", [["max_norm", "number"]]),
  moving_average: specFn("moving_average", [["target", "str"], ["source", "str"], [
    "decay",
    "number",
  ]]),
  clip_value: specFn("clip_value", [["value", "number"]]),
  // Fine-tuning methods for `with` (compiler/check/peft.ts).
  ...Object.fromEntries(
    Object.entries(METHOD_ARGS).map(([k, ps]) => [k, specFn(k, ps as [string, ArgType][])]),
  ),
  tensor: (e, args, span) => e.tensorFn(args, span),
  training: (e, args, span) =>
    args.length
      ? e.err("DLM0202", "training() takes no arguments", span)
      : { k: "bool", v: e.mode === "train" },
  min: extremum("min", Math.min),
  max: extremum("max", Math.max),
  abs: numFn("abs", Math.abs),
  sqrt: numFn("sqrt", Math.sqrt),
  exp: numFn("exp", Math.exp),
  log: numFn("log", Math.log),
  floor: numFn("floor", Math.floor, true),
  ceil: numFn("ceil", Math.ceil, true),
  round: numFn("round", Math.round, true),
  int: numFn("int", Math.trunc, true),
  float: numFn("float", (x) => x),
  len: (e, args, span) => {
    if (args.length !== 1) {
      return e.err("DLM0202", `len() takes 1 argument, got ${args.length}`, span);
    }
    const v = args[0].value;
    if (v.k === "tuple" || v.k === "list") return { k: "int", v: v.items.length };
    if (v.k === "str") return { k: "int", v: v.v.length };
    if (v.k === "error") return v;
    return e.err(
      "DLM0201",
      `len() needs a tuple, list or string, got ${describe(v)}`,
      args[0].span,
    );
  },
  range: (e, args, span) => {
    const xs = numArgs(e, "range", args, span);
    if (!xs) return ERROR;
    if (xs.length < 1 || xs.length > 3 || !args.every((a) => a.value.k === "int")) {
      return e.err(
        "DLM0201",
        "range() takes 1 to 3 ints: range(end), range(start, end), range(start, end, step)",
        span,
      );
    }
    const [start, end, step] = xs.length === 1 ? [0, xs[0], 1] : [xs[0], xs[1], xs[2] ?? 1];
    if (step === 0) return e.err("DLM0210", "range() step must not be 0", span);
    const n = Math.max(0, Math.ceil((end - start) / step));
    if (n > LIMITS.rangeLength) {
      return e.err("DLM0302", `range() of ${n} elements; the limit is ${LIMITS.rangeLength}`, span);
    }
    return {
      k: "list",
      items: Array.from({ length: n }, (_, i) => ({ k: "int", v: start + i * step })),
    };
  },
  enumerate: (e, args, span) => {
    const v = args[0]?.value;
    if (args.length !== 1 || !v || (v.k !== "tuple" && v.k !== "list")) {
      return v?.k === "error" ? v : e.err("DLM0201", "enumerate() takes one list or tuple", span);
    }
    return {
      k: "list",
      items: v.items.map((x, i) => ({ k: "tuple", items: [{ k: "int", v: i }, x] })),
    };
  },
  zip: (e, args) => {
    const lists: Value[][] = [];
    for (const a of args) {
      if (a.value.k === "error") return ERROR;
      if (a.value.k !== "tuple" && a.value.k !== "list") {
        return e.err("DLM0201", `zip() takes lists or tuples, got ${describe(a.value)}`, a.span);
      }
      lists.push(a.value.items);
    }
    const n = Math.min(...lists.map((l) => l.length));
    return {
      k: "list",
      items: Array.from({ length: n }, (_, i) => ({ k: "tuple", items: lists.map((l) => l[i]) })),
    };
  },
  assert: (e, args, span) => {
    const c = args[0]?.value;
    if (!c || c.k === "error") return c ?? e.err("DLM0202", "assert() needs a condition", span);
    if (c.k !== "bool") {
      return e.err("DLM0201", `assert() needs a bool, got ${describe(c)}`, args[0].span);
    }
    if (!c.v) {
      const msg = args[1]?.value.k === "str" ? args[1].value.v : "assertion failed";
      return e.err("DLM0306", msg, span);
    }
    return NONE;
  },
};

// -------------------------------------------------------------- init specs

/** The initialisers callable in .dlm (a set of init.ts's INIT_NAMES). */
export const INIT_FNS = new Set<string>(INIT_NAMES);

function canonicalInit(name: string): string {
  return name === "kaiming" ? "kaiming_normal" : name === "xavier" ? "xavier_uniform" : name;
}

const fl = (v: number): Value => ({ k: "float", v });
const KAIMING_SIG = [
  { name: "mode", type: "str" as const, default: { k: "str", v: "fan_in" } as Value },
  { name: "nonlinearity", type: "str" as const, default: { k: "str", v: "relu" } as Value },
  { name: "a", type: "float" as const, default: fl(0) },
];
const INIT_SIGS: Record<string, import("./signature.ts").ParamSig[]> = {
  zeros: [],
  ones: [],
  constant: [{ name: "value", type: "float" }],
  normal: [{ name: "mean", type: "float", default: fl(0) }, {
    name: "std",
    type: "float",
    default: fl(1),
  }],
  uniform: [{ name: "low", type: "float", default: fl(0) }, {
    name: "high",
    type: "float",
    default: fl(1),
  }],
  kaiming_normal: KAIMING_SIG,
  kaiming_uniform: KAIMING_SIG,
  xavier_normal: [{ name: "gain", type: "float", default: fl(1) }],
  xavier_uniform: [{ name: "gain", type: "float", default: fl(1) }],
  trunc_normal: [
    { name: "mean", type: "float", default: fl(0) },
    { name: "std", type: "float", default: fl(1) },
    { name: "a", type: "float", default: fl(-2) },
    { name: "b", type: "float", default: fl(2) },
  ],
};

function buildInit(name: string, a: Record<string, Value>): InitSpec {
  const s = (k: string) => (a[k] as { v: string }).v;
  switch (name) {
    case "zeros":
      return { kind: "zeros" };
    case "ones":
      return { kind: "ones" };
    case "constant":
      return { kind: "constant", value: num(a.value) };
    case "normal":
      return { kind: "normal", mean: num(a.mean), std: num(a.std) };
    case "uniform":
      return { kind: "uniform", low: num(a.low), high: num(a.high) };
    case "kaiming_normal":
    case "kaiming_uniform":
      return {
        kind: name,
        a: num(a.a),
        mode: s("mode") === "fan_out" ? "fan_out" : "fan_in",
        nonlinearity: s("nonlinearity") as Nonlinearity,
      };
    case "xavier_normal":
    case "xavier_uniform":
      return { kind: name, gain: num(a.gain, 1) };
    default:
      return {
        kind: "trunc_normal",
        mean: num(a.mean),
        std: num(a.std, 1),
        a: num(a.a, -2),
        b: num(a.b, 2),
      };
  }
}
