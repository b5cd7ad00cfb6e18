/**
 * The page <-> training worker protocol (train_worker.ts; the page side is train_panel.ts). A
 * worker of its own, so that a training run never delays the editor's checks.
 */
import type { EpochRecord } from "./train.ts";

export type TrainRequest =
  /** Compile the train section of `path` (of `model`, if it has several) and train from the start. */
  | { kind: "start"; path: string; text: string; model?: string; epochs: number; seed: number }
  | { kind: "pause" }
  | { kind: "resume" }
  /** Classify an 8x8 image of 0..16 with `weights` (safetensors), or the last ones given. */
  | { kind: "classify"; path: string; text: string; pixels: number[]; weights?: Uint8Array }
  /** Draw the samples of SAMPLERS' entry for `file` (samples.ts) with `weights`. */
  | {
    kind: "sample";
    file: string;
    text: string;
    weights: Uint8Array;
    /** What messages call the weights ("the uploaded cgan.safetensors"). */
    weightsName: string;
    seed: number;
  };

export type TrainEvent =
  | {
    kind: "ready";
    trainSize: number;
    valSize: number;
    batches: number;
    epochs: number;
    batchSize: number;
    perRun: number;
    /** Milliseconds to compile the section and open the sessions. */
    ms: number;
  }
  | {
    kind: "step";
    epoch: number;
    epochs: number;
    batch: number;
    batches: number;
    steps: number;
    /** Means over the run's steps. */
    loss: number;
    accuracy?: number;
    msPerStep: number;
    seconds: number;
  }
  /** An epoch's record, with the weights after it (safetensors). */
  | { kind: "epoch"; record: EpochRecord; weights: Uint8Array }
  | { kind: "paused" | "done"; steps: number; seconds: number; weights: Uint8Array }
  | { kind: "probs"; probs: number[]; ms: number }
  /** A sample grid: grey pixels, row-major; `range` the values mapped to black..white. */
  | {
    kind: "samples";
    file: string;
    width: number;
    height: number;
    pixels: Uint8Array;
    range: [number, number];
    /** What loading the weights noted (DLM0404, DLM0407). */
    warnings: string[];
    ms: number;
  }
  | { kind: "error"; message: string };
