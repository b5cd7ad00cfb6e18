/**
 * Calls: a function runs (a built-in, or a compile-time function such as
 * scan), a layer or block with its configuration makes an instance, an
 * instance applied to tensors adds its nodes under its name (a label, a
 * let, or an automatic conv2d_0). Blocks run their bodies in a new frame
 * (recursion bounded by LIMITS.depth); fine-tuning methods wrap layers
 * and blocks as they are applied.
 */
import { Abort, Return, scalarTensor } from "./core.ts";
import { TooLarge } from "../../ir/tensor.ts";
import { argTypeOf, coerce } from "./types.ts";
import { ExpressionElab } from "./expressions.ts";
import type * as A from "../../syntax/ast.ts";
import { diag } from "../../diagnostics.ts";
import type { Span } from "../../ir/graph.ts";
import { Frame } from "../frame.ts";
import { type ArgIn, bindArgs, type Bound, type ParamSig } from "../signature.ts";
import { isFloat } from "../../ir/tensor.ts";
import { makeInit } from "../builtins/mod.ts";
import { COMPILE_FNS, FUNCTIONS, LAYERS } from "../names.ts";
import { LIMITS } from "../limits.ts";
import {
  describe,
  ERROR,
  type Instance,
  Scope,
  type Sharing,
  type TensorValue,
  type Value,
} from "../values.ts";
import { countParams, type Facts } from "../facts.ts";

/** Calls and instances: a call makes or applies a layer, a block or a function. */
export abstract class CallElab extends ExpressionElab {
  /**
   * The built-in layer that owns each level's own parameters (`_: layer_norm(axis: 1)` in a
   * block: PyTorch's `class LayerNorm2d(nn.LayerNorm)`, whose parameters are `norm.weight`), by
   * the frame of the application that makes the level, and where it was labelled. By frame, not
   * by prefix: a block instance applied again (a shared layer, or one sharing it, 8.6) runs its
   * body in a new frame of the same prefix, and its `_:` layer is the same layer again.
   */
  private spliced = new Map<Frame, { inst: Instance; span: Span }>();

  nameInstance(inst: Instance, label: string, span: Span): void {
    if (inst.prefix !== undefined) {
      this.err(...diag("DLM0117", inst.prefix), span);
      return;
    }
    if (label === "_") {
      if (inst.kind === "builtin") {
        // The layer's parameters are the level's own: `prefix.weight`. One layer per level, or
        // two would share (or clash over) `weight`.
        const level = this.frame.prefix;
        const prev = this.spliced.get(this.frame);
        if (prev && prev.inst !== inst) {
          this.err(
            ...diag("DLM0129", level ? `'${level}'` : "the model's top level", prev.span.line),
            span,
          );
          inst.prefix = this.frame.child(`_#${span.line}:${span.col}`);
          return;
        }
        this.spliced.set(this.frame, { inst, span });
      }
      inst.inline = true;
      inst.prefix = this.frame.prefix;
      return;
    }
    const prev = this.frame.labels.get(label);
    if (prev) {
      this.err(...diag("DLM0106", label, prev.line), span);
      // Carry on under a private name so the duplicate does not also look like a shared layer.
      inst.prefix = this.frame.child(`${label}#${span.line}:${span.col}`);
      return;
    }
    this.frame.labels.set(label, span);
    inst.prefix = this.frame.child(label);
  }

  /**
   * `X sharing S` (language.md 8.6): X must make a new layer (a built-in layer or a block with
   * its configuration, neither named nor applied yet) and S must be a layer instance; the result
   * is X's layer under S's prefix, so that every parameter X makes is the one of that name below
   * S: the same tensor in the forward pass and in the gradient. Which of X's parameters S has is
   * known only once both were applied: checkSharing() reports those S never made.
   */
  sharingLayer(e: A.SharingExpr, scope: Scope): Value {
    let layer = this.eval(e.layer, scope);
    // A layer or block named without its configuration (`Features sharing net`) is configured
    // with its defaults, as a label on it would be.
    if (layer.k === "layerdef" || layer.k === "blockdef") {
      layer = this.callValue(layer, [], e.layer.span, {});
    }
    const source = this.eval(e.source, scope);
    if (layer.k === "error" || source.k === "error") return ERROR;
    if (layer.k !== "layer" || layer.inst.prefix !== undefined || layer.inst.shares) {
      const what = layer.k !== "layer"
        ? describe(layer)
        : layer.inst.shares
        ? `layer ${layer.inst.name}, which already shares '${layer.inst.shares.source}'`
        : `layer ${layer.inst.name} '${layer.inst.prefix}', which has a name of its own`;
      return this.err(
        ...diag(
          "DLM0259",
          "left side",
          "a new layer (a built-in layer or a block with its configuration, not yet named)",
          what,
        ),
        e.layer.span,
      );
    }
    if (source.k !== "layer") {
      return this.err(
        ...diag(
          "DLM0259",
          "right side",
          "a layer instance (a let-bound or labelled layer, or a layer argument)",
          describe(source),
        ),
        e.source.span,
      );
    }
    // An instance not named yet takes its automatic name now, which its parameters will have.
    this.autoName(source.inst);
    const src = source.inst.shares ?? {
      prefix: source.inst.prefix!,
      inline: source.inst.inline ?? false,
    };
    const shares: Sharing = {
      prefix: src.prefix,
      inline: src.inline,
      span: e.span,
      what: `${layer.inst.name}(...) sharing ${sourceText(e.source) ?? src.prefix}`,
      source: src.prefix || "the model's top level",
    };
    const inst: Instance = { ...layer.inst, prefix: src.prefix, inline: src.inline, shares };
    return { k: "layer", inst };
  }

  /**
   * Apply a sharing layer: its parameters' names are its source's (the prefix), and each one is
   * checked against its twin as it is made (core.ts param()). Applied inside its own source, the
   * source's parameters are still being made: DLM0261.
   */
  applySharing(inst: Instance, inputs: Value[], span: Span, named: Record<string, TensorValue>) {
    const sh = inst.shares!;
    const here = this.frame.prefix;
    if (!sh.inline && (here === sh.prefix || here.startsWith(sh.prefix + "."))) {
      return this.err(...diag("DLM0261", sh.what, sh.prefix), sh.span);
    }
    this.sharing.push(sh);
    try {
      return this.applyInstance({ ...inst, shares: undefined }, inputs, span, named);
    } finally {
      this.sharing.pop();
    }
  }

  /**
   * After elaboration: a parameter a sharing layer made that its source never made is DLM0257,
   * once per `sharing`, at its first such name.
   */
  checkSharing(): void {
    // After an error a source may lack layers its body never made: a missing twin is no news.
    if (this.sharedFirst.size === 0 || this.diags.some((d) => d.severity === "error")) return;
    const bySharing = new Map<Span, { sh: Sharing; names: string[] }>();
    for (const [name, sh] of this.sharedFirst) {
      const entry = bySharing.get(sh.span) ?? { sh, names: [] };
      entry.names.push(name);
      bySharing.set(sh.span, entry);
    }
    for (const { sh, names } of bySharing.values()) {
      const more = names.length - 1;
      // A source that is never applied itself makes no parameters: say so rather than list them.
      const own = [...this.paramIndex.keys()].some((n) =>
        (sh.prefix === "" || n.startsWith(sh.prefix + ".")) && !this.sharedFirst.has(n)
      );
      this.err(
        ...diag(
          "DLM0257",
          sh.what,
          names[0],
          sh.source,
          !own
            ? ` ('${sh.source}' is never applied, so it makes no parameters)`
            : more
            ? ` (and ${more} more name${more === 1 ? "" : "s"} without one)`
            : "",
        ),
        sh.span,
      );
    }
  }

  autoName(inst: Instance): void {
    if (inst.prefix !== undefined) return;
    let name: string;
    do name = this.frame.auto(inst.name); while (this.frame.labels.has(name));
    this.frame.labels.set(name, inst.span);
    inst.prefix = this.frame.child(name);
  }

  /**
   * Run a built-in applied at `span`. A constant it would compute past the limit is DLM0350
   * here: `table()` (compiler/ir/tensor.ts), the one way built-ins allocate the constants they
   * compute, throws TooLarge before allocating.
   */
  builtin(span: Span, run: () => Value): Value {
    try {
      return run();
    } catch (e) {
      if (e instanceof TooLarge) return this.err(...diag("DLM0350", ...e.args), span);
      throw e;
    }
  }

  evalArgs(args: A.Arg[], scope: Scope): ArgIn[] {
    return args.map((a) => ({ name: a.name, value: this.eval(a.value, scope), span: a.span }));
  }

  evalCall(e: A.CallExpr, scope: Scope, lab?: { label: string; labelSpan: Span }): Value {
    const callee = this.evalCallee(e.callee, scope);
    const args = this.evalArgs(e.args, scope);
    return this.callValue(callee, args, e.span, lab ?? {});
  }

  /** Apply one `|> stage` to `input`. `index` numbers unlabelled stages inside a labelled group. */
  applyStage(input: Value, st: A.PipeStage, scope: Scope, index?: number): Value {
    const facts = this.opts.facts;
    if (!facts) return this.applyStageOnce(input, st, scope, index);
    const from = facts.params.length;
    const v = this.applyStageOnce(input, st, scope, index);
    facts.record(st.span, v, from);
    if (st.target.span !== st.span) facts.record(st.target.span, v, from);
    return v;
  }

  applyStageOnce(input: Value, st: A.PipeStage, scope: Scope, index?: number): Value {
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
      const callee = this.evalCallee(tg.callee, scope);
      const args = this.evalArgs(tg.args, scope);
      return this.callValue(callee, args, tg.span, { pipeInput: input, label, labelSpan });
    }
    const v = this.evalCallee(tg, scope);
    return this.callValue(v, [], tg.span, { pipeInput: input, label, labelSpan });
  }

  /**
   * A number where a function expects a tensor (`maximum(x, 0.8)`, `where(c, x, 0.0)`) becomes a
   * rank-0 constant of the dtype of the tensors it goes with: the first tensor argument that is not
   * bool (a condition's dtype says nothing about the values), else f32 if a number is a float and
   * i64 if all are ints, torch's defaults. A fractional number beside an integer tensor is DLM0207, as for an
   * operator; with no tensor argument at all it is DLM0201, as a number was before: a function of
   * numbers only is not a tensor function.
   */
  liftNumbers(
    what: string,
    sig: ParamSig[],
    bound: Bound,
    args: ArgIn[],
    span: Span,
  ): Bound | undefined {
    /** Where the argument `v` was written (a variadic parameter's span is its first item's). */
    const at = (v: Value, p: ParamSig) =>
      args.find((a) => a.value === v)?.span ?? bound.__spans?.[p.name] ?? span;
    const slots = sig.filter((p) => p.type === "tensor" || p.type === "tensors");
    const values = (p: ParamSig): Value[] => {
      const v = bound[p.name];
      if (!v) return [];
      return p.type === "tensors" && (v.k === "tuple" || v.k === "list") ? v.items : [v];
    };
    const all = slots.flatMap(values);
    const isNum = (v: Value) => v.k === "int" || v.k === "float";
    if (!all.some(isNum)) return bound;
    const tensors = all.filter((v): v is TensorValue => v.k === "tensor");
    if (tensors.length === 0) {
      const p = slots.find((p) => values(p).some(isNum))!;
      this.err(
        ...diag(
          "DLM0201",
          `${what}()`,
          `a tensor for '${p.name}'`,
          describe(values(p).find(isNum)!) +
            (slots.length > 1 || p.type === "tensors"
              ? " (a number stands for a tensor only beside a tensor argument, whose dtype it takes)"
              : ""),
        ),
        at(values(p).find(isNum)!, p),
      );
      return undefined;
    }
    const ref = tensors.find((v) => v.t.dtype !== "bool")?.t.dtype ??
      (all.some((v) => v.k === "float") ? "f32" : "i64");
    const lift = (v: Value, p: ParamSig): Value | undefined => {
      if (v.k !== "int" && v.k !== "float") return v;
      const dtype = ref;
      if (!isFloat(dtype) && !Number.isInteger(v.v)) {
        this.err(
          ...diag(
            "DLM0207",
            `${what}() of ${dtype} tensors`,
            "an integer (convert the tensor with cast() first)",
            v.v,
          ),
          at(v, p),
        );
        return undefined;
      }
      return this.constant(scalarTensor(dtype, v.v));
    };
    const out: Bound = { ...bound };
    for (const p of slots) {
      const v = bound[p.name];
      if (!v) continue;
      if (p.type === "tensors" && (v.k === "tuple" || v.k === "list")) {
        const items = v.items.map((x) => lift(x, p));
        if (items.some((x) => x === undefined)) return undefined;
        out[p.name] = { ...v, items: items as Value[] };
      } else {
        const x = lift(v, p);
        if (!x) return undefined;
        out[p.name] = x;
      }
    }
    return out;
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
          return this.builtin(span, () => scalar(this.ctx(span, {}), all));
        }
        const def = FUNCTIONS[callee.name];
        let bound = bindArgs(callee.name, def.sig, all, span, this.diags, pipeArgs.length, true);
        if (!bound) return ERROR;
        bound = this.liftNumbers(callee.name, def.sig, bound, all, span);
        if (!bound) return ERROR;
        if (this.peft && def.attention) {
          bound = { ...bound, ...this.peft.attention(this.frame.prefix, bound, span) };
          if (bound.q.k === "error") return ERROR;
        }
        const nameBase = this.frame.child(o.label ?? callee.name);
        return this.builtin(
          span,
          () => def.apply(this.ctx(span, bound.__spans ?? {}, nameBase), bound),
        );
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
            return this.err(...diag("DLM0216", d.name, a.name), a.span);
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
            return this.err(...diag("DLM0217", callee.inst.name, which, a.name), a.span);
          }
          if (a.value.k === "error") return ERROR;
          if (a.value.k !== "tensor") {
            return this.err(
              ...diag(
                "DLM0201",
                `${callee.inst.name}()`,
                `a tensor for '${a.name}:'`,
                describe(a.value),
              ),
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
          return this.err(...diag("DLM0225", callee.name), span);
        }
        return makeInit(this.ctx(span, {}), callee.name, args);
      }
      default:
        return this.err(...diag("DLM0209", describe(callee)), span);
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
      this.opts.facts?.record(p.span, v);
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
    if (inst.shares) return this.applySharing(inst, inputs, span, named);
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
            ...diag("DLM0219", inst.name, `${want} tensor${hi > 1 ? "s" : ""}`, inputs.length),
            span,
          );
        }
        for (const v of inputs) {
          if (v.k !== "tensor") {
            return this.err(
              ...diag("DLM0201", `${inst.name}()`, "to be applied to a tensor", describe(v)),
              span,
            );
          }
        }
        const saved = this.frame;
        const spans = (inst.args as { __spans?: Record<string, Span> }).__spans ?? {};
        try {
          const xs = this.peft
            ? this.peft.beforeLayer(def, prefix, inputs as TensorValue[], span)
            : inputs as TensorValue[];
          const out = this.builtin(
            span,
            () => def.apply(this.ctx(span, spans), inst.args!, xs, prefix, named),
          );
          return this.peft ? this.peft.afterLayer(def, prefix, xs, inst.args!, out, span) : out;
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
      this.err(...diag("DLM0301", LIMITS.depth, d.name), span, [
        `the innermost calls are ${tail} -> ${d.name}`,
      ]);
      throw new Abort();
    }
    if (inputs.length !== d.inputs.length) {
      return this.err(
        ...diag(
          "DLM0220",
          d.name,
          `${d.inputs.length} input${d.inputs.length === 1 ? "" : "s"}`,
          d.inputs.map((p) => p.name).join(", "),
          inputs.length,
        ),
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
      this.opts.facts?.record(p.span, v);
    }
    const saved = this.frame;
    const savedRules = saved.rules.length;
    const facts = this.opts.facts;
    const paramsFrom = facts?.params.length ?? 0;
    if (!inst.inline) this.frame = new Frame(inst.prefix!, saved);
    this.depth++;
    this.calls.push({ name: d.name, span });
    try {
      const before = this.diags.length;
      this.hoistInits(d.body, scope);
      this.execBody(d.body, scope, { model: false });
      // After an error inside the body (a skipped branch), a missing return is no news.
      if (this.diags.length > before) return ERROR;
      // A body that ends with an expression meant it as the value: the fix returns it.
      const last = d.body.at(-1);
      const fix = last?.kind === "expr"
        ? {
          title: "Return the last expression",
          edits: [{
            span: { ...last.span, endLine: last.span.line, endCol: last.span.col },
            newText: "return ",
          }],
        }
        : undefined;
      return this.err(...diag("DLM0211", d.name), d.nameSpan, undefined, fix);
    } catch (r) {
      if (!(r instanceof Return)) throw r;
      const v = r.value;
      if (d.returnType && v.k !== "error") {
        if (!this.checkDeclared(v, d.returnType, scope, span, `${d.name}'s result`)) return ERROR;
      }
      return v;
    } finally {
      if (facts && !facts.blockParams.has(d.name)) {
        facts.blockParams.set(d.name, countParamsFrom(facts, paramsFrom));
      }
      this.depth--;
      this.calls.pop();
      this.frame = saved;
      // An inline (_) block shares its caller's level, but its init rules end with it.
      saved.rules.length = savedRules;
    }
  }
}

/** Elements of the parameters recorded since index `from`. */
function countParamsFrom(facts: Facts, from: number): number {
  return countParams(facts.params.slice(from));
}

function spread(v: Value): Value[] {
  return v.k === "tuple" ? v.items : [v];
}

/** `policy`, `model.policy`: the source of a sharing as written, when it is a dotted name. */
function sourceText(e: A.Expr): string | undefined {
  if (e.kind === "name") return e.name;
  if (e.kind === "member") {
    const t = sourceText(e.target);
    return t === undefined ? undefined : `${t}.${e.name}`;
  }
  return undefined;
}
