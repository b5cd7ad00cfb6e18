/**
 * Checkpoints: the whole training state (parameters, buffers, optimiser
 * state, `step`) as one safetensors file, with the completed epoch count,
 * the seed and the history so far in its metadata, so a resumed run
 * continues exactly where the saved one stopped.
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
    return {
      state: tensors,
      epoch: Number(metadata.epoch),
      seed: Number(metadata.seed),
      history: JSON.parse(metadata.history ?? "[]"),
      losses: JSON.parse(metadata.losses ?? "[]"),
    };
  } catch {
    fail(...diag("DLM0402", `checkpoint '${path}'`, "its metadata is malformed"));
  }
}
