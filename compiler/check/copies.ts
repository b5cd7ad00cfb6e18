/**
 * Copies of sub-models: `init ref from policy` makes every parameter and buffer under `ref` start
 * as the value of its twin under `policy`, the parameter of the same name below the label (DPO's
 * frozen reference model, a DQN target network, MoCo's key encoder, as torch's
 * `key.load_state_dict(query.state_dict())` or `copy.deepcopy(policy)` would).
 *
 * The rule is checked when the model has been elaborated, as `freeze` is: both sides must name
 * parameters, the same names below each (a twin for every parameter, both ways) with the same
 * dtype and shape, the two sides must not overlap, a parameter is the target of one copy at
 * most, and copies must not form a cycle (`init a from b` and `init b from a`).
 *
 * A copy's initial value is its source's initial value, the very tensor (lazy until drawn), so
 * the two are equal byte for byte in the ONNX initialisers and in `--save-weights`. Each target
 * records its source (`ParamInfo.copyOf`): loading weights (runtime/weights.ts) copies the
 * source's loaded value into a target that no file provides, after every file is read.
 * Parameters a fine-tuning method adds are not the model's own and are never copied.
 */
import { type Code, diag, type Fix, renameFix } from "../diagnostics.ts";
import { formatType, type Graph, type ParamInfo, type Span } from "../ir/graph.ts";
import type * as A from "../syntax/ast.ts";
import { closest } from "./suggest.ts";

/** One run of an `init T from S` statement, at the level (full name) where it ran. */
export interface CopyRule {
  stmt: A.CopyStmt;
  prefix: string;
}

export type CopyReport = (code: Code, message: string, span: Span, fix?: Fix) => void;

/**
 * Check the copies of `rules` against the graph's parameters and apply them: each target gets
 * its source's initial tensor and `copyOf`. Problems go to `report`; a rule with one applies
 * nothing.
 */
export function applyCopies(graph: Graph, rules: readonly CopyRule[], report: CopyReport): void {
  const params = graph.params.filter((p) => !p.adapter);
  const sourceOf = new Map<string, { source: string; stmt: A.CopyStmt }>();
  const done = new Set<string>();
  for (const { stmt, prefix } of rules) {
    // A statement of an inline block applied twice at one level runs twice with the same names.
    const key = `${prefix}\u0000${stmt.span.file}:${stmt.span.line}:${stmt.span.col}`;
    if (done.has(key)) continue;
    done.add(key);
    const what = `init ${stmt.target} from ${stmt.source}`;
    const pattern = [stmt.target, stmt.source].findIndex((n) => /[*?{}]/.test(n));
    if (pattern >= 0) {
      report(...diag("DLM0143", what), pattern === 0 ? stmt.targetSpan : stmt.sourceSpan);
      continue;
    }
    const full = (n: string) => (prefix ? `${prefix}.${n}` : n);
    const target = full(stmt.target), source = full(stmt.source);
    if (
      target === source || target.startsWith(source + ".") || source.startsWith(target + ".")
    ) {
      report(...diag("DLM0141", what, stmt.target, stmt.source), stmt.span);
      continue;
    }
    const t = below(params, target), s = below(params, source);
    let missing = false;
    for (
      const [side, found, span] of [
        [stmt.target, t, stmt.targetSpan],
        [stmt.source, s, stmt.sourceSpan],
      ] as const
    ) {
      if (found.size > 0) continue;
      missing = true;
      const near = closest(side, levelNames(params, prefix));
      report(
        ...diag(
          "DLM0215",
          `'${side}' in ${what}`,
          "parameter",
          near ? `; did you mean '${near}'?` : " (see dlm params)",
        ),
        span,
        // A side written as a string ("ref.h.0") keeps its quotes.
        near === undefined
          ? undefined
          : renameFix(span, span.endCol - span.col === side.length + 2 ? `"${near}"` : near),
      );
    }
    if (missing) continue;
    // The first name without a twin, in definition order, and how many more there are.
    const unmatched: [string, string][] = [];
    for (const [rest, p] of s) if (!t.has(rest)) unmatched.push([p.name, target + rest]);
    for (const [rest, p] of t) if (!s.has(rest)) unmatched.push([p.name, source + rest]);
    if (unmatched.length) {
      const more = unmatched.length - 1;
      report(
        ...diag(
          "DLM0271",
          what,
          unmatched[0][0],
          unmatched[0][1],
          more ? ` (and ${more} more name${more === 1 ? "" : "s"} without one)` : "",
        ),
        stmt.span,
      );
      continue;
    }
    let mismatch = false;
    for (const [rest, p] of t) {
      const q = s.get(rest)!;
      const tt = graph.types.get(p.name), st = graph.types.get(q.name);
      if (!tt || !st) continue;
      if (tt.dtype !== st.dtype || tt.shape.join() !== st.shape.join()) {
        report(
          ...diag("DLM0270", what, p.name, formatType(tt), q.name, formatType(st)),
          stmt.span,
        );
        mismatch = true;
        break;
      }
    }
    if (mismatch) continue;
    for (const [rest, p] of t) {
      const before = sourceOf.get(p.name);
      if (before) {
        report(
          ...diag(
            "DLM0140",
            p.name,
            before.source,
            where(before.stmt.span),
            source + rest,
            where(stmt.span),
          ),
          stmt.span,
        );
        continue;
      }
      sourceOf.set(p.name, { source: source + rest, stmt });
    }
  }
  // A chain (a from b, b from c) is fine; a cycle gives no first values.
  const cyclic = new Set<string>();
  for (const start of sourceOf.keys()) {
    const path = [start];
    let at = sourceOf.get(start)?.source;
    while (at !== undefined && !path.includes(at) && !cyclic.has(at)) {
      path.push(at);
      at = sourceOf.get(at)?.source;
    }
    if (at === undefined || cyclic.has(at) || at !== start) continue;
    for (const n of path) cyclic.add(n);
    report(
      ...diag("DLM0142", [...path, start].join(" <- ")),
      sourceOf.get(start)!.stmt.span,
    );
  }
  const info = new Map(params.map((p) => [p.name, p]));
  for (const [name, { source }] of sourceOf) {
    if (cyclic.has(name)) continue;
    let first = source;
    while (sourceOf.has(first)) first = sourceOf.get(first)!.source;
    const tensor = graph.initializers.get(first);
    if (!tensor) continue;
    graph.initializers.set(name, tensor);
    info.get(name)!.copyOf = source;
  }
}

/** The parameters at or below `level`, by the rest of their name ("" for `level` itself). */
function below(params: readonly ParamInfo[], level: string): Map<string, ParamInfo> {
  const out = new Map<string, ParamInfo>();
  for (const p of params) {
    if (p.name === level) out.set("", p);
    else if (p.name.startsWith(level + ".")) out.set(p.name.slice(level.length), p);
  }
  return out;
}

/** Every name a copy could be written with at `prefix`: each parameter and each of its levels. */
function levelNames(params: readonly ParamInfo[], prefix: string): Set<string> {
  const out = new Set<string>();
  for (const p of params) {
    if (prefix && !p.name.startsWith(prefix + ".")) continue;
    const parts = (prefix ? p.name.slice(prefix.length + 1) : p.name).split(".");
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join("."));
  }
  return out;
}

function where(s: Span): string {
  return `line ${s.line}`;
}
