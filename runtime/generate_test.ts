import assert from "node:assert/strict";
import { Rng } from "../compiler/ir/rng.ts";
import type { ValueInfo } from "../compiler/ir/graph.ts";
import { DlmError } from "../compiler/diagnostics.ts";
import { cacheInputs, emptyCache, pickToken } from "./generate.ts";

const f32 = (name: string, shape: (number | string)[]): ValueInfo => ({
  name,
  type: { dtype: "f32", shape },
});

Deno.test("greedy picking takes the first largest logit", () => {
  assert.equal(pickToken([0.1, 3, -1, 3], 0, 0, new Rng(0)), 1);
});

Deno.test("top-1 sampling at any temperature is the argmax", () => {
  const rng = new Rng(7);
  for (let i = 0; i < 20; i++) assert.equal(pickToken([0.5, 2, 1.9, -4], 5, 1, rng), 1);
});

Deno.test("top-k sampling draws only among the k largest logits", () => {
  const rng = new Rng(3);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(pickToken([0, 5, 4, -1, 4.5], 10, 3, rng));
  assert.deepEqual([...seen].sort(), [1, 2, 4]);
});

Deno.test("sampling follows softmax(logits / T) in frequency", () => {
  // Logits ln 1 and ln 3 at T = 1 give probabilities 1/4 and 3/4.
  const rng = new Rng(11);
  let ones = 0;
  const n = 4000;
  for (let i = 0; i < n; i++) ones += pickToken([0, Math.log(3)], 1, 0, rng);
  assert.ok(Math.abs(ones / n - 0.75) < 0.03, `frequency ${ones / n}`);
});

Deno.test("top-p sampling draws from the nucleus, renormalised", () => {
  // Probabilities 0.5, 0.3, 0.15, 0.05 (logits their logs, T = 1). With p = 0.7
  // the nucleus is the first two (0.5 < 0.7 <= 0.8): draws 5/8 and 3/8.
  const logits = [0.5, 0.3, 0.15, 0.05].map(Math.log);
  const rng = new Rng(19);
  const counts = [0, 0, 0, 0];
  const n = 4000;
  for (let i = 0; i < n; i++) counts[pickToken(logits, 1, 0, rng, 0.7)]++;
  assert.equal(counts[2] + counts[3], 0);
  assert.ok(Math.abs(counts[0] / n - 5 / 8) < 0.03, `${counts}`);
  // Either side of the boundary at 0.8: two tokens, then three.
  const seen = (p: number) => {
    const r = new Rng(2);
    return new Set([...Array(500)].map(() => pickToken(logits, 1, 0, r, p))).size;
  };
  assert.equal(seen(0.79), 2);
  assert.equal(seen(0.81), 3);
  // The most likely token always stays, however small p is; p = 1 is all of them.
  assert.equal(seen(1e-9), 1);
  assert.equal(seen(1), 4);
  // With top-k too, the nucleus is taken within the k.
  const r = new Rng(4);
  for (let i = 0; i < 200; i++) assert.ok(pickToken(logits, 1, 1, r, 0.99) === 0);
});

Deno.test("the same seed gives the same draws", () => {
  const draw = (seed: number) => {
    const rng = new Rng(seed);
    return [...Array(10)].map(() => pickToken([1, 2, 3, 2, 1], 1.5, 0, rng));
  };
  assert.deepEqual(draw(5), draw(5));
});

Deno.test("cache inputs pair each past input with its present output", () => {
  const inputs = [f32("ids", ["N", "T"]), f32("past_key", [2, "N", 4, "P", 8])];
  const slots = cacheInputs(inputs, ["logits", "present_key"]);
  assert.deepEqual(slots.map((s) => [s.input.name, s.output]), [["past_key", "present_key"]]);
  const dotted = cacheInputs([f32("past.0.key", ["N", 4, "P", 8])], ["present.0.key"]);
  assert.equal(dotted[0].output, "present.0.key");
});

Deno.test("a cache input without its present output is not the model generation expects", () => {
  assert.throws(
    () => cacheInputs([f32("past_value", ["N", "P", 8])], ["logits"]),
    (e: unknown) =>
      e instanceof DlmError && e.diagnostics[0].code === "DLM0422" &&
      /'present_value'/.test(e.diagnostics[0].message),
  );
});

Deno.test("the empty cache has 0 positions and the batch size for the other symbolic dims", () => {
  const [slot] = cacheInputs([f32("past_key", [2, "N", 4, "P", 8])], ["present_key"]);
  const t = emptyCache(slot, 3);
  assert.deepEqual(t.shape, [2, 3, 4, 0, 8]);
  assert.equal(t.data.length, 0);
});
