/**
 * What every pass receives: the mode the graph is compiled for, and a hook
 * through which a pass tells the pass manager about each rewrite it makes
 * (for `--explain-passes`).
 */
import type { Graph, Node, Span } from "../ir/graph.ts";

/** One rewrite a pass made: the nodes it replaced or removed, and their source spans. */
export interface Rewrite {
  /** Names of the nodes the rewrite replaced or removed. */
  nodes: string[];
  /** Their op types, in the same order. */
  ops: string[];
  /** Their source spans, concatenated and de-duplicated. */
  spans: Span[];
}

/** Everything the pass manager records about one run of one pass. */
export interface PassRun {
  pass: string;
  /** 1-based round of the fixpoint loop. */
  round: number;
  changed: boolean;
  /** Number of rewrites (each a `Rewrite` below). */
  fired: number;
  rewrites: Rewrite[];
  nodesBefore: number;
  nodesAfter: number;
  initializersBefore: number;
  initializersAfter: number;
}

/** The log of a pipeline run, printable with `formatPassReport`. */
export interface PassReport {
  runs: PassRun[];
  /** Rounds of the fixpoint loop that ran. */
  rounds: number;
  /** False when the round limit stopped a pipeline that was still changing the graph. */
  converged: boolean;
}

export interface PassContext {
  /** "eval": inference graph (dropout off, batch norm uses running statistics). */
  mode: "eval" | "train";
  /**
   * Training graphs: initializers listed in `params` are variables, not
   * constants (they change every step), and are kept even when unused.
   */
  keepParams?: boolean;
  /** Run the IR verifier after every pass (tests turn this on). */
  verify?: boolean;
  /** Filled by `runPasses` when present. */
  report?: PassReport;
  /** Most rounds of the fixpoint loop (default 8). */
  maxRounds?: number;
  /** Set by the pass manager while a pass runs; passes report through `noteRewrite`. */
  onRewrite?: (rewrite: Rewrite) => void;
}

/** A graph pass: rewrites `g` in place and says whether it changed anything. */
export type Pass = (g: Graph, ctx: PassContext) => boolean;

/** Concatenate the spans of `nodes`, dropping repeats (same file and range). */
export function mergeSpans(...nodes: (Node | undefined)[]): Span[] | undefined {
  const seen = new Set<string>();
  const out: Span[] = [];
  for (const n of nodes) {
    for (const s of n?.spans ?? []) {
      const k = `${s.file}\u0000${s.line}:${s.col}-${s.endLine}:${s.endCol}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(s);
    }
  }
  return out.length ? out : undefined;
}

/** Tell the pass manager (if listening) that `replaced` were rewritten or removed. */
export function noteRewrite(ctx: PassContext, replaced: Node[]): void {
  ctx.onRewrite?.({
    nodes: replaced.map((n) => n.name),
    ops: replaced.map((n) => n.op),
    spans: mergeSpans(...replaced) ?? [],
  });
}
