import assert from "node:assert/strict";
import { compileTrain } from "./compile.ts";
import type { Diagnostic } from "../diagnostics.ts";

/** Compile a model and its train section from source. */
function train(model: string, section: string) {
  const src = `model M {\n  input x: f32[N, 4]\n${model}\n}\ntrain M {\n${section}\n}\n`;
  return compileTrain("m.dlm", { read: (p) => (p === "m.dlm" ? src : new Error("no file")) });
}

const show = (ds: Diagnostic[]) =>
  ds.map((d) => `${d.severity} ${d.code} ${d.message}${(d.notes ?? []).map((n) => ` [${n}]`)}`);

Deno.test("a loss that reaches no trainable parameter is a warning at the loss, naming where the gradient stops", () => {
  const c = train(
    "  output y = x |> fc: linear(1)",
    `  input t: f32[N, 1]
  loss = mse(floor(y * 1048576.0) / 1048576.0, t)
  optimizer = sgd(lr: 0.1)`,
  );
  assert.ok(c.step, "it still compiles: a warning, not an error");
  assert.deepEqual(show(c.diagnostics), [
    "warning DLM0250 The loss does not reach any of the 2 parameters it trains: their gradients are " +
    "zero and training leaves them as they are [the gradient stops at Floor at m.dlm:7:14]",
  ]);
  // At the loss's expression.
  const s = c.diagnostics[0].span!;
  assert.deepEqual([s.line, s.col], [7, 10]);
});

Deno.test("a loss that does not depend on the parameters at all says so", () => {
  const c = train(
    "  output y = x |> fc: linear(1)",
    `  input t: f32[N, 1]
  loss = mse(t * 2.0, t)
  optimizer = sgd(lr: 0.1)`,
  );
  assert.deepEqual(show(c.diagnostics), [
    "warning DLM0250 The loss does not reach any of the 2 parameters it trains: their gradients are " +
    "zero and training leaves them as they are [it does not depend on them]",
  ]);
});

Deno.test("a loss that reaches some parameters names the others", () => {
  const c = train(
    "  output y = x |> fc: linear(1)\n  output z = x |> aux: linear(2)",
    `  input t: f32[N, 1]
  loss = mse(y, t)
  optimizer = sgd(lr: 0.1)`,
  );
  assert.deepEqual(show(c.diagnostics), [
    "warning DLM0251 The loss does not reach 2 of the 4 parameters it trains, whose gradients are " +
    "zero: aux.weight, aux.bias",
  ]);
});

Deno.test("frozen parameters and those a phase leaves to another are not the loss's to reach", () => {
  // aux is frozen; gen's loss reaches disc too, but its phase trains only gen.
  const c = train(
    `  freeze aux
  output z = x |> aux: linear(2)
  output g = x |> gen: linear(4)
  let disc = linear(1)
  output d = g |> disc
  output r = x |> disc`,
    `  phase("disc", loss: reduce_mean(r) - reduce_mean(d), optimizer: sgd(), params: "disc.*")
  phase("gen", loss: reduce_mean(d), optimizer: sgd(), params: "gen.*")`,
  );
  assert.ok(c.step);
  assert.deepEqual(show(c.diagnostics), []);
});

Deno.test("a phase whose loss reaches none of its parameters is named in the warning", () => {
  const c = train(
    "  output g = x |> gen: linear(4)\n  output d = g |> disc: linear(1)",
    `  phase("disc", loss: reduce_mean(d), optimizer: sgd(), params: "disc.*")
  phase("gen", loss: reduce_mean(cast(argmax(d, axis: 1), "f32")), optimizer: sgd(), params: "gen.*")`,
  );
  assert.deepEqual(show(c.diagnostics).map((s) => s.split(" [")[0]), [
    "warning DLM0250 The loss of phase 'gen' does not reach any of the 2 parameters it trains: their " +
    "gradients are zero and training leaves them as they are",
  ]);
});

Deno.test("a train section's settings do not hide the functions of their names", () => {
  // clip = ... sets gradient clipping; clip(...) is the tensor function, before and after.
  const c = train(
    "  output y = x |> fc: linear(1)",
    `  input t: f32[N, 1]
  let lo = clip(y, 0.0, 1.0)
  clip = clip_norm(1.0)
  loss = mse(lo, t) + reduce_mean(y |> clip(0.0, 2.0))
  optimizer = sgd(lr: 0.1)`,
  );
  assert.deepEqual(show(c.diagnostics), []);
  assert.ok(c.step!.nodes.filter((n) => n.op === "Clip").length >= 2);
  // The setting still took effect: the step clips the gradients' global norm.
  assert.ok(c.step!.nodes.some((n) => n.op === "ReduceSumSquare"));
  // A setting that is no function is still not callable.
  const bad = train(
    "  output y = x |> fc: linear(1)",
    `  input t: f32[N, 1]
  loss = mse(y, t)
  optimizer = sgd(lr: 0.1)
  output z = loss(3)`,
  );
  assert.deepEqual(bad.diagnostics.map((d) => `${d.code} ${d.message}`), [
    "DLM0209 tensor f32[] is not callable",
  ]);
});
