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

/** Training steps of more nodes than this get level "disabled" (see `defaultOptimizeLevel`). */
export const STEP_OPTIMIZE_MAX_NODES = 2000;

/**
 * The level a session uses when none is given: "all" for a forward model,
 * "extended" for a training step of at most 2,000 nodes, "disabled" for a
 * bigger step.
 *
 * Measured with bench/ort_levels.ts (onnxruntime-node 1.30, 2 threads, on a
 * 2-core machine shared with other work: load average 4-30, so wall times
 * varied 3-6x between runs). Creation: seconds, the range over 2-10 fresh
 * processes. Run cost: CPU ms per step (or per forward) of a process whose
 * idle threads do not spin, which varied by a few percent between runs.
 * `multi` is what `dlm train` loads (8 steps per run, batch 16; GPT-2 8).
 *
 * | model (nodes)              | disabled  | basic     | extended  | all       | CPU ms d / b / e / a      |
 * | -------------------------- | --------- | --------- | --------- | --------- | ------------------------- |
 * | ResNet-18 multi (1,263)    | 0.21-0.68 | 0.10-0.52 | 0.25-0.93 | 0.37-0.87 | 71.6 / 71.2 / 66.3 / 66.8 |
 * | GPT-2 mini multi (734)     | 0.08-0.45 | 0.07-0.70 | 0.11-0.49 | 0.08-0.98 | 38.8 / 36.1 / 35.5 / 35.6 |
 * | ResNeXt-50 multi (3,738)   | 0.47-1.03 | 0.83-2.5  | 0.92-4.2  | > 300     | 498 / 515 / 509 / -       |
 * | ShuffleNetV2 multi (5,702) | 2.3-3.8   | 7.7-16    | 26-39     | 30-43     | 43.8 / 50.0 / 51.3 / 49.2 |
 * | MobileNetV2 multi (10,111) | 22        | 244       | > 300     | > 300     | (fastest run 235 / 252 ms) |
 * | ResNet-18 forward (49)     | 0.05-0.14 | 0.05-0.25 | 0.05-0.27 | 0.06-0.29 | 13.3 / 14.0 / 14.0 / 6.0  |
 * | GPT-2 mini forward (234)   | 0.05-0.07 | 0.04-0.21 | 0.05-0.13 | 0.05-0.13 | 9.0 / 9.0 / 9.0 / 8.75    |
 * | MobileNetV2 forward (100)  | 0.04-0.11 | 0.04-0.14 | 0.06-0.14 | 0.08-0.37 | 14.8 / 15.5 / 16.0 / 2.5  |
 * | ShuffleNetV2 forward (173) | 0.04-0.45 | 0.04-0.37 | 0.06-0.57 | 0.07-0.56 | 6.75 / 6.5 / 6.75 / 3.0  |
 * | ResNeXt-50 forward (122)   | 0.12-0.31 | 0.15-0.18 | 0.12-0.22 | 0.19-0.23 | 46.5 / 48.5 / 46.3 / 25.3 |
 *
 * - A forward model: "all". Its weights are constants, so the layout
 *   optimisations (NCHWc convolutions) apply, and they make CNN inference
 *   1.8-5.9x cheaper (GPT-2: the same) for at most a few tenths of a second
 *   more at creation.
 * - A step of today's ungrouped models (ResNet-18, GPT-2): "extended". It
 *   runs about 7% cheaper than "disabled" or "basic" for at most a few
 *   tenths of a second more at creation; "all" runs no cheaper, because a
 *   step's weights are inputs, not constants, so the layout pass finds
 *   little to do, and that pass is what explodes on grouped convolutions
 *   (ResNeXt-50: 0.9-4.2 s at extended, over 300 s at all).
 * - A step of more than 2,000 nodes: "disabled". Today's grouped-convolution
 *   steps (3,738-10,111 nodes: a Conv per group in the weight gradients)
 *   take 2-11x longer to create at "basic" and more above, and run no
 *   cheaper, often dearer (ShuffleNetV2 43.8 ms CPU a step at disabled, 50.0
 *   at basic). 2,000 nodes lies between the ungrouped steps (at most 1,263)
 *   and the grouped ones (at least 3,738). Once grouped-convolution
 *   gradients are single operators, those steps shrink under the bound and
 *   get "extended": re-measure them then (`deno task bench:ort --only
 *   mobilenet_v2 --kinds multi --cpu`).
 */
export function defaultOptimizeLevel(facts: LevelFacts): OptimizeLevel {
  if (facts.kind === "forward") return "all";
  return facts.nodes <= STEP_OPTIMIZE_MAX_NODES ? "extended" : "disabled";
}
