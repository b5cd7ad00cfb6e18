/**
 * Test helpers for training steps: compile a one-file .dlm source's step as `dlm train` does.
 * Used by `*_test.ts` files only.
 */
import assert from "node:assert/strict";
import type { Graph } from "../ir/graph.ts";
import { compileTrain } from "./compile.ts";

/** The training step of a one-file source, parameters packed (as dlm train compiles it). */
export function packedStep(src: string): Graph {
  const c = compileTrain("m.dlm", { read: () => src, pack: true });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  return c.step!;
}
