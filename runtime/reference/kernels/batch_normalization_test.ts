import assert from "node:assert/strict";
import { runOp } from "../interpreter.ts";
import { tensor, toNumbers } from "../../../compiler/ir/tensor.ts";

const close = (a: number[], b: number[], tol = 1e-5) =>
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol, `element ${i}: ${v} vs ${b[i]}`));

// N=2, C=2, 2 spatial: channel 0 holds 1..4, channel 1 holds 10, 20, 30, 40.
const x = tensor("f32", [2, 2, 2], [1, 2, 10, 20, 3, 4, 30, 40]);
const scale = tensor("f32", [2], [2, 0.5]);
const bias = tensor("f32", [2], [1, -1]);
const mean = tensor("f32", [2], [2, 20]);
const variance = tensor("f32", [2], [4, 100]);

Deno.test("BatchNormalization in inference uses the running statistics", () => {
  const [y] = runOp("BatchNormalization", [x, scale, bias, mean, variance], { epsilon: 0 });
  // channel 0: 2 * (x - 2) / 2 + 1; channel 1: 0.5 * (x - 20) / 10 - 1.
  close(toNumbers(y), [0, 1, -1.5, -1, 2, 3, -0.5, 0]);
});

Deno.test("BatchNormalization in training mode normalizes by the batch and updates the running stats", () => {
  const [y, runMean, runVar] = runOp(
    "BatchNormalization",
    [x, scale, bias, mean, variance],
    { epsilon: 0, momentum: 0.9, training_mode: 1 },
    { outputs: 3 },
  );
  // Batch mean 2.5 and 25, population variance 1.25 and 125.
  const s0 = Math.sqrt(1.25), s1 = Math.sqrt(125);
  close(toNumbers(y), [
    2 * (1 - 2.5) / s0 + 1,
    2 * (2 - 2.5) / s0 + 1,
    0.5 * (10 - 25) / s1 - 1,
    0.5 * (20 - 25) / s1 - 1,
    2 * (3 - 2.5) / s0 + 1,
    2 * (4 - 2.5) / s0 + 1,
    0.5 * (30 - 25) / s1 - 1,
    0.5 * (40 - 25) / s1 - 1,
  ]);
  close(toNumbers(runMean), [2 * 0.9 + 2.5 * 0.1, 20 * 0.9 + 25 * 0.1]);
  close(toNumbers(runVar), [4 * 0.9 + 1.25 * 0.1, 100 * 0.9 + 125 * 0.1], 1e-4);
});

Deno.test("BatchNormalization applies epsilon inside the square root", () => {
  const ones = tensor("f32", [1], [1]), zero = tensor("f32", [1], [0]);
  const [y] = runOp("BatchNormalization", [tensor("f32", [1, 1], [3]), ones, zero, zero, zero], {
    epsilon: 0.25,
  });
  close(toNumbers(y), [3 / 0.5]);
});
