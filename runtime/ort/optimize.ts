/**
 * onnxruntime's graph optimisation levels, and the level dlm uses when none
 * is given. The figures that chose the default are in the comment of
 * `defaultOptimizeLevel`; bench/ort_levels.ts measures them again.
 */

/** onnxruntime's graph optimisation levels, cheapest first. */
export const OPTIMIZE_LEVELS = ["disabled", "basic", "extended", "all"] as const;

/** One of onnxruntime's graph optimisation levels. */
export type OptimizeLevel = typeof OPTIMIZE_LEVELS[number];

/** Whether `s` names a level. */
export function isOptimizeLevel(s: string): s is OptimizeLevel {
  return (OPTIMIZE_LEVELS as readonly string[]).includes(s);
}

/** What a session is for: it decides the default level. */
export type ModelKind = "step" | "forward";

/** What the default level is chosen from. */
export interface LevelFacts {
  kind: ModelKind;
  /** Nodes of the model, subgraphs (a multi-step Scan's body) included. */
  nodes: number;
}

/**
 * The level a session uses when none is given.
 *
 * PLACEHOLDER: chosen from bench/ort_levels.ts's figures (filled in below).
 */
export function defaultOptimizeLevel(_facts: LevelFacts): OptimizeLevel {
  return "all";
}
