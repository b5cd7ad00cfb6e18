import assert from "node:assert/strict";
import { tensor } from "../../compiler/ir/tensor.ts";
import { nearestClassMean } from "./probe.ts";

Deno.test("nearestClassMean assigns each held-out row the class of the nearest normalised mean", () => {
  // Class 0 points along x, class 1 along y; lengths differ (the readout is by direction).
  const f = tensor("f32", [6, 2], [1, 0.1, 5, -0.2, 0.2, 1, -0.1, 3, 9, 0.5, 0.4, 2]);
  const labels = [0, 0, 1, 1, 0, 1];
  assert.equal(nearestClassMean(f, labels, [0, 1, 2, 3], [4, 5]), 1);
  // Wrong labels on the held-out rows: every prediction misses.
  assert.equal(nearestClassMean(f, [0, 0, 1, 1, 1, 0], [0, 1, 2, 3], [4, 5]), 0);
  // Means fitted with the classes swapped: every held-out row goes to the other class.
  assert.equal(nearestClassMean(f, [1, 1, 0, 0, 0, 1], [0, 1, 2, 3], [4, 5]), 0);
});
