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
export const STEP_OPTIMIZE_MAX_NODES = 2500;

/**
 * The level a session uses when none is given: "all" for a forward model,
 * "extended" for a training step of at most 2,500 nodes, "disabled" for a
 * bigger step.
 *
 * Measured with bench/ort_levels.ts (onnxruntime-node 1.30, 2 threads, on a
 * 2-core machine shared with other work: load average 2-30, so wall times
 * varied 3-6x between runs). Creation: seconds, the range over 2-10 fresh
 * processes. Run cost: CPU ms per step (or per forward) of a process whose
 * idle threads do not spin, which varied by a few percent between runs.
 * `multi` is what `dlm train` loads (8 steps per run, batch 16; GPT-2 8).
 * Results: bench/results_ort_levels.json.
 *
 * The steps as the compiler wrote them before grouped-convolution gradients
 * became single operators and step graphs were made lean (issue 19), and
 * the forward models:
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
 * The same steps as main compiles them once those changes landed (2 fresh
 * processes each, CPU ms the mean of both):
 *
 * | model (nodes)              | disabled  | basic     | extended  | all       | CPU ms d / b / e / a      |
 * | -------------------------- | --------- | --------- | --------- | --------- | ------------------------- |
 * | ResNet-18 multi (795)      | 0.09-0.21 | 0.16-0.40 | 0.15-0.21 | 0.11-0.38 | 69.0 / 70.7 / 67.9 / 67.7 |
 * | GPT-2 mini multi (670)     | 0.08-0.10 | 0.17-0.23 | 0.14-0.17 | 0.20      | 39.3 / 37.2 / 38.8 / 37.0 |
 * | MobileNetV2 multi (1,628)  | 0.19-0.34 | 0.19-0.25 | 0.22-0.38 | 0.27-0.34 | 91.1 / 82.6 / 82.2 / 83.2 |
 * | ShuffleNetV2 multi (1,862) | 0.22-0.33 | 0.25-0.36 | 0.24-0.38 | 0.23-0.47 | 34.3 / 34.9 / 35.4 / 35.6 |
 * | ResNeXt-50 multi (1,946)   | 0.13-0.19 | 0.15-0.31 | 0.27-0.47 | 0.24-0.41 | 471 / 485 / 489 / 463     |
 *
 * - A forward model: "all". Its weights are constants, so the layout
 *   optimisations (NCHWc convolutions) apply, and they make CNN inference
 *   1.8-5.9x cheaper (GPT-2: the same) for at most a few tenths of a second
 *   more at creation.
 * - A step of at most 2,500 nodes: "extended". Every level creates these in
 *   about half a second or less and the levels run within a few percent of each
 *   other, "disabled" the dearest (ResNet-18 before: 72 ms CPU a step against
 *   66 at extended; MobileNetV2 now: 91 against 82). "all" runs no cheaper,
 *   because a step's weights are inputs, not constants, so the layout pass
 *   finds little to do, and that pass is what exploded on grouped
 *   convolutions (ResNeXt-50 before: 0.9-4.2 s at extended, over 300 s at
 *   all); its graphs are also specific to the CPU.
 * - A step of more than 2,500 nodes: "disabled". Big steps were where every
 *   level above it exploded (3,738-10,111 nodes before: 2-11x longer to
 *   create at basic, up to over 300x above) and ran no cheaper, often dearer
 *   (ShuffleNetV2 43.8 ms CPU a step at disabled, 50.0 at basic). Below
 *   that, extended's creation still grows faster than the graph. The larger
 *   benchmark steps once batch norms' parameter gradients were scaled once
 *   per pack (wall times of 4 fresh processes each, interleaved; the step's
 *   fastest of 20 runs):
 *
 * | model (nodes)                 | create disabled | create extended | step disabled | step extended |
 * | ----------------------------- | --------------- | --------------- | ------------- | ------------- |
 * | ConvNeXt-Tiny multi (2,039)   | 0.20-0.26       | 0.36-0.45       | 187-212 ms    | 158-179 ms    |
 * | EfficientNet-B0 multi (2,092) | 0.36-0.48       | 0.50-0.59       | 55-61 ms      | 46-57 ms      |
 * | DenseNet-121 multi (2,930)    | 0.53-0.63       | 0.85-1.20       | 106-119 ms    | 102-113 ms    |
 *
 *   2,500 keeps "extended" for the first two, where it buys 5-15% a step for
 *   0.1-0.2 s once, and "disabled" for DenseNet-121, where it would cost
 *   0.3-0.5 s more for a few percent; it lies below the sizes where creation
 *   at extended went from seconds to minutes.
 */
export function defaultOptimizeLevel(facts: LevelFacts): OptimizeLevel {
  if (facts.kind === "forward") return "all";
  return facts.nodes <= STEP_OPTIMIZE_MAX_NODES ? "extended" : "disabled";
}
