import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Rng } from "./rng.ts";

/** A short digest of a float array's bytes. */
function digest(d: Float32Array): string {
  const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  return createHash("sha256").update(bytes).digest("hex").slice(0, 16);
}

// The values below were recorded from the generator before it moved to ir/rng.ts; every
// example's initial weights depend on them (tools/replay_baseline.json pins those too).
Deno.test("Rng gives the recorded words, uniforms and normals for a seed and a name", () => {
  assert.equal(new Rng(1).u32(), 2442144158);
  assert.equal(Rng.forName(0, "x").uniform(), 0.241452194750309);
  assert.equal(Rng.forName(3, "n").normal(), 0.25468925686092425);
});

Deno.test("fillNormal() gives the recorded values over several 4096-word chunks", () => {
  const a = new Float32Array(10000);
  Rng.forName(7, "w").fillNormal(a, 0.5, 2);
  assert.deepEqual([...a.slice(0, 3)], [
    -0.2823053002357483,
    0.4932384192943573,
    -0.009404673241078854,
  ]);
  assert.equal(digest(a), "d185f0eeade8ea64");
});

Deno.test("fillUniform() gives the values of uniform() in a loop", () => {
  const b = new Float32Array(5000);
  Rng.forName(7, "u").fillUniform(b, -1, 3);
  assert.equal(digest(b), "cfc30e0ff514cf87");
  const r = Rng.forName(7, "u");
  const loop = Float32Array.from({ length: 5000 }, () => -1 + 4 * r.uniform());
  assert.deepEqual(b, loop);
});

Deno.test("fillNormal() split at a multiple of 4096 continues the same stream", () => {
  const whole = new Float32Array(9000);
  Rng.forName(1, "s").fillNormal(whole, 0, 1);
  const parts = new Float32Array(9000);
  const r = Rng.forName(1, "s");
  r.fillNormal(parts.subarray(0, 8192), 0, 1);
  r.fillNormal(parts.subarray(8192), 0, 1);
  assert.deepEqual(parts, whole);
});
