/**
 * Statements: inputs, outputs, let and assignments, return, if and for
 * (run at compile time: loops unroll, a branch is picked), init rules
 * (hoisted to the top of their body), freeze; then what finishes a model:
 * its outputs, frozen parameters, fine-tuning set-up.
 */
import { declareFix, diag, renameFix, tailSpan } from "../../diagnostics.ts";
import { Abort, type OutputDecl, Return } from "./core.ts";
import { isStackOverflow } from "../../syntax/mod.ts";
import { coerce } from "./types.ts";
import { IndexElab } from "./indexing.ts";
import type * as A from "../../syntax/ast.ts";
import { formatType, type Span, type TensorType } from "../../ir/graph.ts";
import { isFloat } from "../../ir/tensor.ts";
import type { TrainStage } from "../context.ts";
import { LIMITS } from "../limits.ts";
import { describe, ERROR, Scope, type TensorValue, type Value } from "../values.ts";
import { compileGlob } from "../glob.ts";
import { methodSpecs, Peft } from "../peft.ts";
import { applySubspace } from "../subspace.ts";
import { closest } from "../suggest.ts";
import { LAYERS } from "../builtins/mod.ts";
import { applyCopies } from "../copies.ts";

/** Statements of model, block and train bodies, and what finishes a model. */
export abstract class StatementElab extends IndexElab {
  hoistInits(body: A.Stmt[], scope: Scope): void {
    for (const s of body) {
      if (s.kind !== "init") continue;
      const v = this.eval(s.value, scope);
      if (v.k === "error") continue;
      if (v.k !== "init" && v.k !== "initfn") {
        this.err(
          ...diag(
            "DLM0236",
            "An init value",
            "an initialiser such as kaiming_normal() or zeros",
            describe(v),
          ),
          s.value.span,
        );
        continue;
      }
      const spec = this.initSpecOf(v, s.value.span);
      if (!s.glob && !/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/.test(s.target)) {
        this.err(...diag("DLM0124", s.target), s.span);
        continue;
      }
      // `init fc1.weight = ...` reads as the parameters of a layer labelled fc1, but the unquoted
      // form names a layer kind: a kind that no layer has would silently set nothing.
      const kind = s.target.split(".")[0];
      if (!s.glob && kind !== "param" && !(kind in LAYERS)) {
        const near = closest(kind, Object.keys(LAYERS));
        const hint = near ? ` (did you mean '${near}.${s.target.split(".")[1]}'?)` : "";
        this.err(...diag("DLM0156", s.target, kind, hint), s.span);
        continue;
      }
      this.frame.rules.push({ target: s.target, glob: s.glob, spec, prefix: this.frame.prefix });
    }
  }

  execBody(body: A.Stmt[], scope: Scope, where: { model: boolean; outputs?: OutputDecl[] }): void {
    for (const s of body) {
      try {
        this.exec(s, scope, where);
      } catch (e) {
        if (!isStackOverflow(e)) throw e;
        // The call stack ran out under this statement: block applications, or values built in a
        // loop ((((1,),),) ...), nest deeper than the compiler's recursion over them can go.
        // Reported at the innermost statement whose handler has the stack to do it.
        this.err(
          ...(this.depth > 0
            ? diag(
              "DLM0351",
              "Block applications and what they compute",
              ` (${this.depth} block calls deep here)`,
            )
            : diag("DLM0351", "Values or expressions", " here")),
          s.span,
        );
        throw new Abort();
      }
    }
  }

  exec(s: A.Stmt, scope: Scope, where: { model: boolean; outputs?: OutputDecl[] }): void {
    switch (s.kind) {
      case "input": {
        if (!where.model) {
          this.err(...diag("DLM0110", "input", "takes its inputs as parameters"), s.span);
          return;
        }
        if (s.type.kind !== "tensor_type") {
          this.err(
            ...diag(
              "DLM0236",
              `The type of input '${s.name}'`,
              "a tensor type such as f32[N, 3, 224, 224]",
              s.type.kind === "scalar_type" ? s.type.name : "a tuple type",
            ),
            s.type.span,
          );
          scope.define(s.name, ERROR);
          return;
        }
        // `input pseudo: i64[N] from kmeans(...)`: the stage is evaluated before the input exists,
        // so what it clusters cannot depend on what it makes.
        const stage = s.source ? this.stageOf(s, scope) : undefined;
        if (s.source && !stage) {
          scope.define(s.name, ERROR);
          return;
        }
        const t = this.evalInputType(s.type, scope);
        if (!t) {
          scope.define(s.name, ERROR);
          return;
        }
        if (stage && !this.checkStageType(s, t, stage)) {
          scope.define(s.name, ERROR);
          return;
        }
        if (scope.vars.has(s.name)) {
          this.err(...diag("DLM0102", s.name, ""), s.nameSpan);
        } else if (this.b.graph.inputs.some((i) => i.name === s.name)) {
          // A train section redeclaring its model's input would add a second graph input (renamed
          // `label_1`) that no data set names; the section already reads the model's by name.
          this.err(
            ...diag(
              "DLM0102",
              s.name,
              " as an input of the model; the train section reads it by name without declaring it",
            ),
            s.nameSpan,
          );
          return;
        }
        const name = this.b.input(s.name, t, s.span);
        scope.define(s.name, { k: "tensor", v: name, t });
        if (stage) this.stages!.push({ ...stage, input: name });
        this.opts.facts?.record(s.nameSpan, { k: "tensor", v: name, t });
        return;
      }
      case "output": {
        if (!where.model) {
          this.err(...diag("DLM0110", "output", "returns its result with return"), s.span);
          return;
        }
        let v: Value;
        if (s.value) v = this.evalRhs(s.value, scope);
        else {
          const found = scope.lookup(s.name);
          if (!found) {
            this.err(
              ...diag(
                "DLM0101",
                s.name,
                ": output without a value exports an existing binding",
              ),
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
            ...diag("DLM0236", `output '${s.name}'`, "a tensor", describe(v)),
            s.value?.span ?? s.span,
          );
          return;
        }
        if (s.type) {
          this.checkDeclared(
            v,
            s.type,
            scope,
            s.value?.span ?? s.span,
            `output '${s.name}'`,
            true,
            s.value,
          );
        }
        if (where.outputs!.some((o) => o.name === s.name)) {
          this.err(...diag("DLM0115", "output", s.name), s.nameSpan);
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
          this.checkDeclared(v, s.type, scope, s.value.span, `'${s.names[0]}'`, true, s.value);
        }
        if (v.k === "layer" && v.inst.prefix === undefined) {
          this.nameInstance(v.inst, s.names[0], s.nameSpan);
        }
        scope.define(s.names[0], coerce(v, s.type));
        this.opts.facts?.record(s.nameSpan, v);
        return;
      }
      case "assign": {
        const owner = scope.owner(s.name);
        const v = this.evalRhs(s.value, scope);
        if (!owner) {
          this.err(
            ...diag("DLM0107", s.name),
            s.nameSpan,
            undefined,
            declareFix(s.nameSpan, s.name),
          );
          scope.define(s.name, v);
          return;
        }
        if (owner === this.global) {
          this.err(...diag("DLM0118", s.name), s.nameSpan);
          return;
        }
        if (owner.isSetting(s.name)) this.settingSpans.set(s.name, s.value.span);
        owner.assign(s.name, v);
        return;
      }
      case "return": {
        if (where.model) {
          this.err(...diag("DLM0120", "return", "a block; a model declares outputs"), s.span);
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
            ...diag("DLM0236", "What for iterates over", "a range, list or tuple", describe(it)),
            s.iter.span,
          );
          return;
        }
        for (const item of it.items) {
          if (++this.iterations > LIMITS.iterations) {
            this.err(...diag("DLM0311", LIMITS.iterations.toLocaleString("en-US")), s.span);
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
      case "copy":
        // Applied once the model is elaborated (applyCopies), so where it runs does not matter,
        // only whether: a copy in a branch not taken, or a loop that never runs, copies nothing.
        this.copyRules.push({ stmt: s, prefix: this.frame.prefix });
        return;
      case "freeze": {
        // A label freezes everything under it; a quoted pattern matches names below this level.
        const prefix = this.frame.prefix;
        const rel = (
          name: string,
        ) => (prefix
          ? (name.startsWith(prefix + ".") ? name.slice(prefix.length + 1) : undefined)
          : name);
        const re = s.glob ? compileGlob(s.target) : undefined;
        const target = s.target;
        this.freezeRules.push({
          matches: (name) => {
            const r = rel(name);
            if (r === undefined) return false;
            return re ? re.test(r) : r === target || r.startsWith(target + ".");
          },
          stmt: s,
          prefix,
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
      this.err(...diag("DLM0238", describe(v), names.length, names.join(", ")), span);
      for (const n of names) scope.define(n, ERROR);
      return;
    }
    names.forEach((n, i) => scope.define(n, flat[i]));
  }

  condition(c: Value, span: Span): boolean | undefined {
    if (c.k === "error") return undefined;
    if (c.k === "bool") return c.v;
    if (c.k === "tensor") {
      this.err(...diag("DLM0305"), span);
      return undefined;
    }
    this.err(...diag("DLM0236", "A condition", "a bool", describe(c)), span);
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
        this.err(...diag("DLM0116", "output", o.name), o.span);
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
    // Merge records and stages name values, some of which are now outputs.
    for (const m of this.root.graph.merges ?? []) {
      m.base = renamed.get(m.base) ?? m.base;
      m.result = renamed.get(m.result) ?? m.result;
    }
    for (const st of this.stages ?? []) st.source = renamed.get(st.source) ?? st.source;
  }

  applyFreeze(): void {
    const params = this.root.graph.params;
    if (this.peft) {
      // Fine-tuning trains the methods' parameters (and top_layers' choice); the base is frozen.
      const names = params.filter((p) => !p.adapter).map((p) => p.name);
      for (const s of this.peft.specs) {
        if (s.method !== "subspace") continue;
        applySubspace(s, {
          graph: this.root.graph,
          ctx: (span) => this.ctx(span, {}),
          seed: this.seed,
          report: (code, message, span) => this.err(code, message, span),
          markAdapter: (name, method) => {
            const info = this.paramIndex.get(name);
            if (info) info.adapter = method;
          },
          merges: this.root.graph.merges ??= [],
        });
      }
      this.peft.finish(names);
      const keep = this.peft.trainable(names);
      for (const p of params) if (!p.adapter && !keep.has(p.name)) p.frozen = true;
    }
    if (this.freezeRules.length === 0) return;
    const used = new Set<A.FreezeStmt>();
    for (const p of params) {
      for (const rule of this.freezeRules) {
        if (!rule.matches(p.name)) continue;
        p.frozen = true;
        used.add(rule.stmt);
      }
    }
    // A freeze that names nothing (a typo, a renamed layer) would silently train what it meant
    // to keep: an error at the statement, unless another application of it matched.
    const reported = new Set<A.FreezeStmt>();
    for (const { stmt, prefix } of this.freezeRules) {
      if (used.has(stmt) || reported.has(stmt)) continue;
      reported.add(stmt);
      const known = params.filter((p) => !prefix || p.name.startsWith(prefix + "."))
        .flatMap((p) => {
          const rel = prefix ? p.name.slice(prefix.length + 1) : p.name;
          // The name and each of its levels (bn1.weight -> bn1), as freeze accepts them.
          const parts = rel.split(".");
          return parts.map((_, i) => parts.slice(0, i + 1).join("."));
        });
      const near = stmt.glob ? undefined : closest(stmt.target, new Set(known));
      this.err(
        ...diag(
          "DLM0215",
          `freeze ${stmt.glob ? `"${stmt.target}"` : stmt.target}`,
          "parameter",
          near ? `; did you mean '${near}'?` : " (see dlm params)",
        ),
        stmt.span,
        undefined,
        near ? renameFix(tailSpan(stmt.span, stmt.target.length), near) : undefined,
      );
    }
  }

  /** `init T from S`: checked and applied once the model is elaborated (../copies.ts). */
  applyCopies(): void {
    if (this.copyRules.length === 0) return;
    // After an error a side may lack layers its body never made: a mismatch would be no news.
    if (this.diags.some((d) => d.severity === "error")) return;
    applyCopies(this.root.graph, this.copyRules, (code, message, span, fix) => {
      this.err(code, message, span, undefined, fix);
    });
  }

  /**
   * The stage of `input NAME: T from kmeans(x, k: ...)`: only in a train section (DLM0729), a
   * `kmeans(...)` value (DLM0201), x a float [N, F] (DLM0731), `classes:` a data input (DLM0731).
   */
  stageOf(s: A.InputStmt, scope: Scope): Omit<TrainStage, "input"> | undefined {
    const src = s.source!;
    if (!this.stages) {
      this.err(...diag("DLM0729", s.name, "a model"), src.span);
      return undefined;
    }
    const v = this.eval(src, scope);
    if (v.k === "error") return undefined;
    if (v.k !== "spec" || v.kind !== "kmeans") {
      this.err(
        ...diag(
          "DLM0201",
          `input '${s.name}' from`,
          "a stage such as kmeans(features, k: 10)",
          describe(v),
        ),
        src.span,
      );
      return undefined;
    }
    const spans = v.argSpans ?? {};
    const x = v.args.x as TensorValue;
    const shape = x.t.shape;
    // F >= 1: rows of no features are all at distance 0, and any clustering of them is arbitrary.
    if (
      shape.length !== 2 || !isFloat(x.t.dtype) || typeof shape[1] !== "number" || shape[1] < 1
    ) {
      this.err(
        ...diag(
          "DLM0731",
          "its first argument",
          "a float tensor [N, F] with F known and at least 1",
          formatType(x.t),
        ),
        spans.x ?? src.span,
      );
      return undefined;
    }
    let classes: string | undefined;
    const c = v.args.classes;
    if (c?.k === "tensor") {
      if (!this.b.graph.inputs.some((i) => i.name === c.v) || c.t.dtype !== "i64") {
        this.err(
          ...diag("DLM0731", "against 'classes:'", "an i64 input of the data", formatType(c.t)),
          spans.classes ?? src.span,
        );
        return undefined;
      }
      classes = c.v;
    }
    const int = (k: string, d: number) => (v.args[k]?.k === "int" ? v.args[k].v as number : d);
    return {
      kind: "kmeans",
      source: x.v,
      k: int("k", 1),
      every: int("every", 1),
      iterations: int("iterations", 100),
      classes,
      span: v.span ?? src.span,
      kSpan: spans.k ?? src.span,
    };
  }

  /** A k-means stage makes one cluster index a row: `i64[N]`, N the clustered value's rows. */
  checkStageType(s: A.InputStmt, t: TensorType, stage: Omit<TrainStage, "input">): boolean {
    const rows = this.b.graph.types.get(stage.source)?.shape[0];
    if (t.dtype === "i64" && t.shape.length === 1 && t.shape[0] === rows) return true;
    this.err(
      ...diag(
        "DLM0730",
        s.name,
        "kmeans()",
        `i64[${rows}], a cluster index for each row of what it clusters`,
        formatType(t),
      ),
      s.type.span,
    );
    return false;
  }

  /** Evaluate the `with` methods of a derived model or a train section. */
  setUpPeft(exprs: A.Expr[], scope: Scope): void {
    if (exprs.length === 0) return;
    const values = exprs.map((e) => ({ value: this.eval(e, scope), span: e.span }));
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
