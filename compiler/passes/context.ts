/**
 * What a pass is and what it receives: a pass is declared with `definePass`
 * under a stable name and the modes it runs in; it receives the mode the
 * graph is compiled for, and a hook through which it tells the pass manager
 * about each rewrite it makes (for `--explain-passes`).
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
  mode: Mode;
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

/** What a graph is compiled for; every pass declares the modes it runs in. */
export type Mode = "eval" | "train";

/** Both modes, the default of a pass's declaration. */
export const MODES: readonly Mode[] = ["eval", "train"];

/** A rewrite of `g` in place that says whether it changed anything. */
export type PassFn = (g: Graph, ctx: PassContext) => boolean;

/**
 * A declared graph pass: called like its rewrite (`dce(g, ctx)`), and
 * carrying the stable name that pipelines insert by and reports print,
 * and the modes it runs in. Declared with `definePass`.
 */
export interface Pass extends PassFn {
  /** The stable name, snake_case like the pass's file: "fold_batch_norm". */
  readonly id: string;
  /** The modes the pass runs in; in another mode it changes nothing. */
  readonly modes: readonly Mode[];
}

/** What `definePass` takes besides the rewrite. */
export interface PassDecl {
  /** The stable name (reports, `--explain-passes`, insertion points): the file's name. */
  id: string;
  /** The modes the pass runs in (default both). */
  modes?: readonly Mode[];
}

/**
 * Declare a pass: `run` under a stable name, returning `false` (no change)
 * in a mode it does not run in.
 *
 * @example
 * ```ts
 * // fold_batch_norm.ts: reported as "fold_batch_norm", and a no-op in train mode.
 * export const foldBatchNorm = definePass(
 *   { id: "fold_batch_norm", modes: ["eval"] },
 *   (g, ctx) => fold(g, ctx),
 * );
 * ```
 */
export function definePass(decl: PassDecl, run: PassFn): Pass {
  const modes = decl.modes ?? MODES;
  const pass = (g: Graph, ctx: PassContext) => modes.includes(ctx.mode) && run(g, ctx);
  return Object.assign(pass, { id: decl.id, modes });
}

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
