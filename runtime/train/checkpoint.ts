/**
 * Checkpoints: the whole training state (parameters, buffers, optimiser
 * state, `step`) as one safetensors file, with the completed epoch count,
 * the seed, the number of steps run and the history so far in its metadata,
 * so a resumed run continues exactly where the saved one stopped: the seed
 * and the epoch give the next epoch's shuffle, the seed and each step's
 * number its random draws (dropout masks, drop-path noise: draws.ts), and the
 * state the rest.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import type { Tensor } from "../../compiler/ir/tensor.ts";
import { readSafetensors, writeSafetensors } from "../formats/mod.ts";
import { readFileOrFail, writeFileAtomic } from "../fs.ts";
import type { EpochRecord } from "./history.ts";

const FORMAT = "dlm-checkpoint-1";

/** The checkpoint's name in a training run's output folder (`dlm train --out DIR`). */
export const CHECKPOINT_FILE = "checkpoint.safetensors";

/** What a checkpoint holds. */
export interface Checkpoint {
  state: Map<string, Tensor>;
  /** Epochs completed. */
  epoch: number;
  seed: number;
  /** Steps run in all (the key of the next step's random draws). */
  steps: number;
  history: EpochRecord[];
  /** Per-step losses so far. */
  losses: number[];
}

/** Write a checkpoint atomically (DLM0409 on failure). */
export function saveCheckpoint(path: string, c: Checkpoint): void {
  const bytes = writeSafetensors([...c.state], {
    format: FORMAT,
    epoch: String(c.epoch),
    seed: String(c.seed),
    steps: String(c.steps),
    history: JSON.stringify(c.history),
    losses: JSON.stringify(c.losses),
  });
  writeFileAtomic(path, bytes);
}

/** Read a checkpoint; a safetensors file without dlm's metadata raises DLM0402. */
export function loadCheckpoint(path: string): Checkpoint {
  const { tensors, metadata } = readSafetensors(readFileOrFail(path, "checkpoint"), path);
  if (metadata.format !== FORMAT) {
    fail(
      ...diag(
        "DLM0402",
        `checkpoint '${path}'`,
        `expected a dlm training checkpoint (metadata format '${FORMAT}'), found ${
          metadata.format ? `format '${metadata.format}'` : "no format"
        }`,
      ),
    );
  }
  try {
    const losses = JSON.parse(metadata.losses ?? "[]");
    const c = {
      state: tensors,
      epoch: Number(metadata.epoch),
      seed: Number(metadata.seed),
      // Before the count was kept, one loss was recorded per step.
      steps: metadata.steps !== undefined ? Number(metadata.steps) : losses.length,
      history: JSON.parse(metadata.history ?? "[]"),
      losses,
    };
    if (
      ![c.epoch, c.steps].every(Number.isInteger) || !Number.isFinite(c.seed) ||
      !Array.isArray(c.losses)
    ) {
      throw new Error("malformed");
    }
    return c;
  } catch {
    fail(...diag("DLM0402", `checkpoint '${path}'`, "its metadata is malformed"));
  }
}
