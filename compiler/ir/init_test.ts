import assert from "node:assert/strict";
import {
  type InitSpec,
  initTensor,
  lazyChunks,
  lazyInitTensor,
  lazyScaled,
  pendingJob,
} from "./init.ts";

const SPECS: InitSpec[] = [
  { kind: "zeros" },
  { kind: "ones" },
  { kind: "constant", value: 0.25 },
  { kind: "normal", mean: 1, std: 0.5 },
  { kind: "uniform", low: -2, high: 3 },
  { kind: "kaiming_normal", a: 0, mode: "fan_out", nonlinearity: "relu" },
  { kind: "kaiming_uniform", a: Math.sqrt(5), mode: "fan_in", nonlinearity: "leaky_relu" },
  { kind: "xavier_normal", gain: 1 },
  { kind: "xavier_uniform", gain: 2 },
  { kind: "trunc_normal", mean: 0, std: 0.02, a: -0.03, b: 0.03 },
  { kind: "bias_default", fanIn: 27 },
];

/** Every value of a lazy tensor, read a chunk at a time. */
function chunked(t: Parameters<typeof lazyChunks>[0], chunk: number): Float32Array {
  const out: number[] = [];
  for (const c of lazyChunks(t, chunk)!) out.push(...c);
  return Float32Array.from(out);
}

Deno.test("a lazy parameter read a chunk at a time has initTensor's values and stays lazy", () => {
  // 58,800 values: seven chunks of 8192 and a partial one.
  const shape = [20, 3, 7, 140];
  for (const spec of SPECS) {
    const t = lazyInitTensor(spec, shape, "stem.conv.weight", 42);
    const want = initTensor(spec, shape, "stem.conv.weight", 42).data as Float32Array;
    assert.deepEqual(chunked(t, 8192), want, spec.kind);
    assert.ok(pendingJob(t), `${spec.kind}: still lazy`);
    assert.deepEqual(t.data, want, `${spec.kind}: drawn on read`);
    assert.equal(pendingJob(t), undefined);
    assert.equal(lazyChunks(t), undefined, "a drawn tensor has no chunks to draw");
  }
});

Deno.test("a lazily scaled parameter read in chunks scales each channel across chunk edges", () => {
  const shape = [6, 5000];
  const spec: InitSpec = { kind: "kaiming_normal", a: 0, mode: "fan_out", nonlinearity: "relu" };
  const scale = [1, -2, 0.5, 3, 0, 7];
  const t = lazyScaled(lazyInitTensor(spec, shape, "w", 1), scale, 5000)!;
  const want = initTensor(spec, shape, "w", 1).data as Float32Array;
  for (let i = 0; i < want.length; i++) want[i] *= scale[Math.floor(i / 5000)];
  assert.deepEqual(chunked(t, 4096), want);
  assert.deepEqual(t.data, want);
});

Deno.test("lazyChunks() refuses a chunk that would split fillNormal's 4096-word runs", () => {
  const t = lazyInitTensor({ kind: "normal", mean: 0, std: 1 }, [10000], "w", 0);
  assert.throws(() => lazyChunks(t, 1000), RangeError);
});
