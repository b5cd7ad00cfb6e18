import assert from "node:assert/strict";
import { Rng, scaleValues } from "./rng.ts";
import { OUT_VALUES } from "./rng_kernel.ts";

/** Are two arrays equal byte for byte (so -0 and NaN payloads count too)? */
function sameBytes(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

// Lengths around the 4096-word chunk and the kernel's OUT_VALUES piece, where the two could part.
const LENGTHS = [0, 1, 7, 4095, 4096, 4097, 8191, OUT_VALUES - 1, OUT_VALUES, OUT_VALUES + 1];
LENGTHS.push(3 * OUT_VALUES + 4096 * 5 + 123);

Deno.test("the kernel's fillNormal gives fillNormalTs's bytes and leaves the stream where it does", () => {
  const params: [number, number][] = [[0, 1], [0.5, 2], [-3, 0.01], [0, 1e-30], [1e30, 7]];
  let seed = 0;
  for (const n of LENGTHS) {
    for (const [mean, std] of params) {
      const name = `w${seed++}`;
      const a = new Float32Array(n), b = new Float32Array(n);
      const ra = Rng.forName(seed, name), rb = Rng.forName(seed, name);
      ra.fillNormal(a, mean, std);
      rb.fillNormalTs(b, mean, std);
      assert.ok(sameBytes(a, b), `n=${n} mean=${mean} std=${std}`);
      assert.equal(ra.u32(), rb.u32(), `stream after n=${n}`);
    }
  }
});

Deno.test("the kernel's slow path (about 3% of draws) matches on ten million draws", () => {
  // Enough draws that the rare base strip (iz = 0, its own loop) is taken many times.
  const n = 10_000_000;
  const a = new Float32Array(n), b = new Float32Array(n);
  Rng.forName(11, "many").fillNormal(a, 0, 1);
  Rng.forName(11, "many").fillNormalTs(b, 0, 1);
  assert.ok(sameBytes(a, b));
  // The tail beyond the base strip's edge (|z| > 3.4426) is reached.
  assert.ok(a.some((v) => Math.abs(v) > 3.45));
});

Deno.test("the kernel's fillUniform gives fillUniformTs's bytes", () => {
  let seed = 0;
  for (const n of LENGTHS) {
    for (const [low, high] of [[0, 1], [-1, 3], [-0.02, 0.02], [5, 5]]) {
      const a = new Float32Array(n), b = new Float32Array(n);
      const ra = Rng.forName(seed, "u"), rb = Rng.forName(seed++, "u");
      ra.fillUniform(a, low, high);
      rb.fillUniformTs(b, low, high);
      assert.ok(sameBytes(a, b), `n=${n} [${low}, ${high})`);
      assert.equal(ra.u32(), rb.u32());
    }
  }
});

Deno.test("Float64Array fills stay on the TypeScript path: the f64 values the f32 ones round", () => {
  const a = new Float32Array(9000), b = new Float64Array(9000);
  Rng.forName(2, "d").fillNormal(a, 0.1, 3);
  Rng.forName(2, "d").fillNormal(b, 0.1, 3);
  assert.ok(sameBytes(a, Float32Array.from(b)));
});

Deno.test("scaleValues() in the kernel's memory rounds each product as a Float32Array store does", () => {
  const n = 3 * OUT_VALUES + 77;
  const ks = [0.9999950000374997, -3, 0, 1e-40, 7.1];
  const a = new Float32Array(n), b = new Float32Array(n);
  // Through a fill's `then`: each piece scaled where the kernel drew it, by runs of 1000 values.
  Rng.forName(5, "s").fillNormal(a, 0, 0.02, (v, base) => {
    for (let i = 0; i < v.length;) {
      const c = Math.floor((base + i) / 1000), to = Math.min(v.length, (c + 1) * 1000 - base);
      scaleValues(v.subarray(i, to), ks[c % ks.length]);
      i = to;
    }
  });
  Rng.forName(5, "s").fillNormalTs(b, 0, 0.02);
  for (let i = 0; i < n; i++) b[i] *= ks[Math.floor(i / 1000) % ks.length];
  assert.ok(sameBytes(a, b));
});

Deno.test("a fill's `then` needs f32 values", () => {
  assert.throws(() => new Rng(1).fillNormal(new Float64Array(4), 0, 1, () => {}), TypeError);
});
