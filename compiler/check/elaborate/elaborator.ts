/**
 * The entry points: a model, or a model with its `train` section, run
 * from the top (globals, parameters, body, outputs), giving the graph and
 * the diagnostics.
 */
import { Abort, type ElabOptions, type OutputDecl } from "./core.ts";
import { coerce } from "./types.ts";
import { CallElab } from "./calls.ts";
import type * as A from "../../syntax/ast.ts";
import { formatType, type Graph, type Span } from "../../ir/graph.ts";
import { isFloat } from "../../ir/tensor.ts";
import { diag, type Diagnostic, error } from "../../diagnostics.ts";
import { resetFreshDims } from "../../ops/mod.ts";
import { describe, ERROR, NONE, Scope, type Value } from "../values.ts";
import type { Program } from "../program.ts";
import type { TrainStage } from "../context.ts";

export type { TrainStage };
import {
  describeSetting,
  describeSettingValue,
  SECTION_SETTINGS,
  settingProblem,
} from "../builtins/train_rules.ts";

export interface ElabResult {
  graph: Graph;
  diagnostics: Diagnostic[];
}

/** Settings a `train` section may assign: the loss, and those declared in train_rules.ts. */
export const TRAIN_SETTINGS: readonly string[] = ["loss", ...SECTION_SETTINGS.map((s) => s.name)];

/** One optimisation step of an iteration: `phase("disc", loss: d_loss, optimizer: adam(), params: "disc.*")`. */
export interface TrainPhase {
  name: string;
  /** The graph output holding this phase's loss (`phase:<name>`). */
  loss: string;
  optimizer: Value;
  /** Name glob of the parameters this phase trains (default: all). */
  params?: string;
  /** The `phase(...)` call, where errors about the phase are reported. */
  span: Span;
}

export interface TrainElabResult extends ElabResult {
  /** Phases in order, when the section declares any. */
  phases: TrainPhase[];
  /** Stages that compute inputs between epochs (`input x: T from kmeans(...)`). */
  stages: TrainStage[];
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

/** Elaborate model `model` of a loaded program into a graph. */
export function elaborate(
  program: Program,
  model: A.ModelDecl,
  opts: ElabOptions = {},
): ElabResult {
  const e = new Elaborator(program, opts);
  return e.run(model);
}

class Elaborator extends CallElab {
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
    this.stages = [];
    const phases: TrainPhase[] = [];
    try {
      this.defineGlobals();
      const scope = new Scope(this.global);
      this.bindModelParams(model, scope);
      // The methods see the model's parameters: `with subspace(d: d)` under --set d=...
      this.setUpPeft([...(model.with ?? []), ...train.with], scope);
      this.hoistInits(model.body, scope);
      const outputs: OutputDecl[] = [];
      this.execBody(model.body, scope, { model: true, outputs });
      // The section sees the model's bindings (its outputs by name).
      const ts = scope.nested();
      for (const k of TRAIN_SETTINGS) ts.defineSetting(k, NONE);
      const extra: OutputDecl[] = [];
      this.hoistInits(train.body, ts);
      this.execBody(train.body, ts, { model: true, outputs: extra });
      for (const k of TRAIN_SETTINGS) {
        const v = ts.vars.get(k)!;
        if (v.k !== "none") settings.set(k, v);
      }
      this.checkSettings(settings, train);
      // Phases: each loss becomes an output `phase:<name>` (renamed safely with the others).
      for (const ph of this.phases) {
        outputs.push({ name: `phase:${ph.name}`, value: ph.loss, span: ph.span });
        phases.push({
          name: ph.name,
          loss: `phase:${ph.name}`,
          optimizer: ph.optimizer,
          params: ph.params,
          span: ph.span,
        });
      }
      if (this.phases.length && !settings.get("loss")) settings.set("loss", this.phases[0].loss);
      this.rolloutOutputs(settings, outputs, train);
      const l = settings.get("loss");
      if (!l) {
        this.err(
          ...diag("DLM0223", `train ${train.model}`, "a loss: loss = cross_entropy(logits, label)"),
          train.nameSpan,
        );
      } else if (l.k === "tensor") {
        if (l.t.shape.length !== 0 || !isFloat(l.t.dtype)) {
          this.err(
            ...diag(
              "DLM0234",
              "The loss",
              "a float scalar",
              "it",
              `${formatType(l.t)}; reduce it (mean or sum)`,
            ),
            train.nameSpan,
          );
        } else outputs.push({ name: "loss", value: l, span: train.nameSpan });
      } else if (l.k !== "error") {
        this.err(
          ...diag("DLM0234", "The loss", "a float scalar", "it", describe(l)),
          train.nameSpan,
        );
      }
      for (const m of extra) {
        // Every phase's loss is reported as the metric `<phase>_loss` (train/compile.ts).
        const ph = this.phases.find((p) => `${p.name}_loss` === m.name);
        if (ph) {
          this.err(
            ...diag(
              "DLM0102",
              m.name,
              ` as the loss that phase '${ph.name}' reports (line ${ph.span.line}); name this output otherwise`,
            ),
            m.span,
          );
          continue;
        }
        if (m.value.k === "tensor" && m.value.t.shape.length !== 0) {
          this.err(
            ...diag("DLM0234", "A metric", "a scalar", `'${m.name}'`, formatType(m.value.t)),
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
      this.checkSharing();
      this.applyFreeze();
      this.applyCopies();
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
    }
    return {
      graph: this.b.graph,
      diagnostics: this.diags,
      loss,
      metrics,
      settings,
      phases,
      stages: this.stages,
    };
  }

  /**
   * Every setting a section assigns has its declared type and range (train_rules.ts): a wrong
   * one is DLM0201 or DLM0210 at the value assigned, at check time rather than when training.
   */
  /**
   * `updates = minibatches(epochs:, count:, over: (...))`: each tensor of `over` becomes the output
   * `rollout:<i>`, so that the training compiler finds it after the passes rename values. They
   * must have an axis 0 to slice (DLM0706); phases, which are updates of their own, do not combine
   * with it (DLM0705).
   */
  private rolloutOutputs(
    settings: Map<string, Value>,
    outputs: OutputDecl[],
    train: A.TrainDecl,
  ): void {
    const v = settings.get("updates");
    if (v?.k !== "spec") return;
    if (this.phases?.length) {
      this.err(...diag("DLM0705"), v.span ?? train.nameSpan);
      return;
    }
    const over = v.args.over;
    const items = over === undefined
      ? []
      : over.k === "tensor"
      ? [over]
      : over.k === "tuple" || over.k === "list"
      ? over.items
      : [over];
    if (items.length === 0) {
      this.err(...diag("DLM0706", "over: is left out"), v.span ?? train.nameSpan);
      return;
    }
    items.forEach((t, i) => {
      if (t.k !== "tensor" || t.t.shape.length === 0) {
        const what = t.k === "tensor" ? `a scalar ${formatType(t.t)}` : describe(t);
        this.err(...diag("DLM0706", `over: item ${i + 1} is ${what}`), v.span ?? train.nameSpan);
        return;
      }
      outputs.push({ name: `rollout:${i}`, value: t, span: v.span ?? train.nameSpan });
    });
  }

  private checkSettings(settings: Map<string, Value>, train: A.TrainDecl): void {
    for (const decl of SECTION_SETTINGS) {
      const v = settings.get(decl.name);
      if (!v) continue;
      const problem = settingProblem(decl, v);
      if (!problem) continue;
      const span = this.settingSpans.get(decl.name) ?? train.nameSpan;
      const what = `The setting '${decl.name}'`;
      const shown = describeSettingValue(v);
      if (problem === "type") {
        this.err(...diag("DLM0201", what, describeSetting(decl), shown), span);
      } else this.err(...diag("DLM0210", what, describeSetting(decl), shown), span);
      settings.delete(decl.name);
    }
  }

  run(model: A.ModelDecl): ElabResult {
    this.b.graph.name = model.name;
    resetFreshDims();
    try {
      this.defineGlobals();
      const scope = new Scope(this.global);
      this.bindModelParams(model, scope);
      this.setUpPeft(model.with ?? [], scope);
      this.hoistInits(model.body, scope);
      const outputs: OutputDecl[] = [];
      this.execBody(model.body, scope, { model: true, outputs });
      if (outputs.length === 0 && !this.diags.some((d) => d.severity === "error")) {
        this.diags.push(error(...diag("DLM0112", model.name), model.nameSpan));
      }
      this.finishOutputs(outputs);
      this.checkSharing();
      this.applyFreeze();
      this.applyCopies();
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
    }
    return { graph: this.b.graph, diagnostics: this.diags };
  }

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
          ...diag(
            "DLM0223",
            `Model ${model.name}`,
            `a value for '${p.name}' (give it a default, or pass --set ${p.name}=...)`,
          ),
          p.span,
        );
        v = ERROR;
      }
      if (p.type && !this.checkDeclared(v, p.type, scope, p.span, `model parameter '${p.name}'`)) {
        v = ERROR;
      }
      scope.define(p.name, coerce(v, p.type));
      this.opts.facts?.record(p.span, v);
    }
    for (const k of given.keys()) {
      const names = model.params.map((p) => p.name).join(", ") || "none";
      this.err(...diag("DLM0205", `Model ${model.name}`, k, "", names), model.nameSpan);
    }
  }
}
