/**
 * What the elaborator learned about the source, kept for editors: for each
 * source span it evaluated (an expression, a pipe stage, a `let`'s name), the
 * types of the values it gave, and the parameters created while it ran. The
 * language service (compiler/service/) answers hovers and inlay hints from
 * this table; it is filled only when `ElabOptions.facts` asks for it, so a
 * compile pays nothing for it.
 *
 * A span can run more than once (a block applied three times, a loop
 * unrolled): each distinct type is kept, up to MAX_TYPES, in the order seen.
 */
import type { Span } from "../ir/graph.ts";
import { formatType } from "../ir/graph.ts";
import { describe, type Value } from "./values.ts";

/** A parameter the elaborator created: its full name, shape and owning layer. */
export interface ParamFact {
  name: string;
  shape: number[];
  layer?: string;
  trainable: boolean;
}

/** What one source span evaluated to. */
export interface SpanFact {
  span: Span;
  /** Distinct descriptions of its values (`f32[N, 64, 56, 56]`, `int 3`, `layer conv2d`). */
  types: string[];
  /** How many times it ran. */
  runs: number;
  /** Parameters created by its first run, as a range of `Facts.params`. */
  params?: [number, number];
}

/** Distinct types kept per span. */
export const MAX_TYPES = 4;

/** The span → type side table (see the module comment). */
export class Facts {
  readonly params: ParamFact[] = [];
  /** Parameters per application of each block, from its first application. */
  readonly blockParams = new Map<string, number>();
  /** By the span object itself: an AST node's span is one object however often it runs. */
  readonly #byRef = new Map<Span, SpanFact & { last?: Value }>();
  #byKey?: Map<string, SpanFact>;

  /** The description a hover shows: a tensor's type alone, anything else as `describe` says. */
  static typeOf(v: Value): string {
    return v.k === "tensor" ? formatType(v.t) : describe(v);
  }

  /** Record that `span` evaluated to `v`; `from` is `params.length` before it ran. */
  record(span: Span, v: Value, from?: number): void {
    if (v.k === "error") return;
    let f = this.#byRef.get(span);
    if (!f) {
      f = { span, types: [], runs: 0 };
      if (from !== undefined && this.params.length > from) f.params = [from, this.params.length];
      this.#byRef.set(span, f);
      this.#byKey = undefined;
    }
    f.runs++;
    // Describing a value costs more than the rest of recording it: the same value (a name read
    // again in a loop) is described once.
    if (f.types.length < MAX_TYPES && f.last !== v) {
      f.last = v;
      const t = Facts.typeOf(v);
      if (!f.types.includes(t)) f.types.push(t);
    }
  }

  /** The facts by `spanKey` of their spans (built when first asked after a change). */
  get bySpan(): ReadonlyMap<string, SpanFact> {
    if (!this.#byKey) {
      this.#byKey = new Map();
      for (const f of this.#byRef.values()) {
        const k = spanKey(f.span);
        const prev = this.#byKey.get(k);
        // Two nodes with one span (a pipe stage and its target): the first recorded stands.
        if (!prev) this.#byKey.set(k, f);
      }
    }
    return this.#byKey;
  }

  /** The facts of spans in `file`. */
  inFile(file: string): SpanFact[] {
    return [...this.#byRef.values()].filter((f) => f.span.file === file);
  }
}

export function spanKey(s: Span): string {
  return `${s.file}:${s.line}:${s.col}:${s.endLine}:${s.endCol}`;
}

/** Elements of a list of parameters. */
export function countParams(ps: readonly ParamFact[]): number {
  let n = 0;
  for (const p of ps) n += p.shape.reduce((a, b) => a * b, 1);
  return n;
}
