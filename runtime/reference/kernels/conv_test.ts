import assert from "node:assert/strict";
import { runOp } from "../interpreter.ts";
import { type Tensor, tensor, toNumbers } from "../../../compiler/ir/tensor.ts";

/** Deterministic pseudo-random values in [-1, 1). */
function values(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1);
}

function rand(shape: number[], seed: number): Tensor {
  return tensor("f32", shape, values(shape.reduce((a, b) => a * b, 1), seed));
}

/** Direct 2-D convolution from the definition, no im2col. */
function naiveConv(
  x: Tensor,
  w: Tensor,
  b: Tensor | undefined,
  o: { strides: number[]; pads: number[]; dilations: number[]; group: number },
): { shape: number[]; data: number[] } {
  const [N, C, H, W] = x.shape, [M, Cg, KH, KW] = w.shape;
  const [sh, sw] = o.strides, [dh, dw] = o.dilations, [pt, pl, pb, pr] = o.pads;
  const OH = Math.floor((H + pt + pb - ((KH - 1) * dh + 1)) / sh) + 1;
  const OW = Math.floor((W + pl + pr - ((KW - 1) * dw + 1)) / sw) + 1;
  const xv = toNumbers(x), wv = toNumbers(w), bv = b ? toNumbers(b) : undefined;
  const Mg = M / o.group;
  const out: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = Math.floor(m / Mg);
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let s = bv ? bv[m] : 0;
          for (let c = 0; c < Cg; c++) {
            for (let kh = 0; kh < KH; kh++) {
              for (let kw = 0; kw < KW; kw++) {
                const ih = oh * sh + kh * dh - pt, iw = ow * sw + kw * dw - pl;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s += xv[((n * C + g * Cg + c) * H + ih) * W + iw] *
                  wv[((m * Cg + c) * KH + kh) * KW + kw];
              }
            }
          }
          out.push(s);
        }
      }
    }
  }
  return { shape: [N, M, OH, OW], data: out };
}

function assertClose(actual: Tensor, expected: { shape: number[]; data: number[] }) {
  assert.deepEqual(actual.shape, expected.shape);
  const a = toNumbers(actual);
  expected.data.forEach((v, i) => {
    assert.ok(Math.abs(a[i] - v) <= 1e-5 + 1e-5 * Math.abs(v), `element ${i}: ${a[i]} vs ${v}`);
  });
}

const CONFIGS = [
  { name: "no padding", strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 },
  { name: "asymmetric padding", strides: [1, 1], pads: [1, 0, 2, 1], dilations: [1, 1], group: 1 },
  { name: "stride 2", strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 },
  { name: "unequal strides", strides: [1, 3], pads: [0, 2, 0, 2], dilations: [1, 1], group: 1 },
  { name: "dilation 2", strides: [1, 1], pads: [2, 2, 2, 2], dilations: [2, 2], group: 1 },
  { name: "2 groups", strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 2 },
  { name: "depthwise", strides: [2, 1], pads: [1, 1, 1, 1], dilations: [1, 2], group: 6 },
];

for (const cfg of CONFIGS) {
  Deno.test(`Conv matches the direct definition with ${cfg.name}`, () => {
    const C = 6, M = 6;
    const x = rand([2, C, 7, 8], 1);
    const w = rand([M, C / cfg.group, 3, 3], 2);
    const b = rand([M], 3);
    const { name: _, ...attrs } = cfg;
    const [y] = runOp("Conv", [x, w, b], attrs);
    assertClose(y, naiveConv(x, w, b, cfg));
  });
}

Deno.test("Conv with SAME_UPPER puts the odd padding at the end, SAME_LOWER at the start", () => {
  const x = rand([1, 1, 4, 4], 4), w = rand([1, 1, 2, 2], 5);
  const base = { strides: [1, 1], dilations: [1, 1], group: 1 };
  const [upper] = runOp("Conv", [x, w], { auto_pad: "SAME_UPPER" });
  assertClose(upper, naiveConv(x, w, undefined, { ...base, pads: [0, 0, 1, 1] }));
  const [lower] = runOp("Conv", [x, w], { auto_pad: "SAME_LOWER" });
  assertClose(lower, naiveConv(x, w, undefined, { ...base, pads: [1, 1, 0, 0] }));
  const [valid] = runOp("Conv", [x, w], { auto_pad: "VALID", pads: undefined as never });
  assert.deepEqual(valid.shape, [1, 1, 3, 3]);
});

Deno.test("Conv in 1-D equals the 2-D convolution of a height-1 image", () => {
  const x = rand([1, 2, 9], 6), w = rand([3, 2, 3], 7);
  const [y] = runOp("Conv", [x, w], { strides: [2], pads: [1, 2], dilations: [2] });
  const x2 = { ...x, shape: [1, 2, 1, 9] }, w2 = { ...w, shape: [3, 2, 1, 3] };
  const want = naiveConv(x2, w2, undefined, {
    strides: [1, 2],
    pads: [0, 1, 0, 2],
    dilations: [1, 2],
    group: 1,
  });
  assertClose(y, { shape: [1, 3, want.shape[3]], data: want.data });
});

Deno.test("Conv in 3-D with a depth-1 kernel equals 2-D convolution of each slice", () => {
  const x = rand([1, 1, 2, 5, 5], 8), w = rand([1, 1, 1, 3, 3], 9);
  const [y] = runOp("Conv", [x, w], { pads: [0, 1, 1, 0, 1, 1] });
  assert.deepEqual(y.shape, [1, 1, 2, 5, 5]);
  const xv = toNumbers(x);
  for (let d = 0; d < 2; d++) {
    const slice = tensor("f32", [1, 1, 5, 5], xv.slice(d * 25, (d + 1) * 25));
    const w2 = { ...w, shape: [1, 1, 3, 3] };
    const want = naiveConv(slice, w2, undefined, {
      strides: [1, 1],
      pads: [1, 1, 1, 1],
      dilations: [1, 1],
      group: 1,
    });
    assertClose(tensor("f32", [1, 1, 5, 5], toNumbers(y).slice(d * 25, (d + 1) * 25)), want);
  }
});

Deno.test("Conv rejects weights whose channels do not match the groups", () => {
  assert.throws(
    () => runOp("Conv", [rand([1, 4, 3, 3], 1), rand([2, 3, 1, 1], 2)], { group: 2 }),
    /Conv with group=2 expects W of shape \[M, 2, \.\.\.\]/,
  );
});

Deno.test("ConvTranspose is the adjoint of Conv: <conv(x), y> = <x, convT(y)>", () => {
  const attrs = { strides: [2, 2], pads: [1, 0, 1, 1], dilations: [1, 2] };
  const x = rand([1, 2, 6, 7], 10), w = rand([3, 2, 3, 3], 11);
  const [cx] = runOp("Conv", [x, w], attrs);
  const y = rand(cx.shape, 12);
  // The output_shape pins the size the stride leaves ambiguous.
  const [ty] = runOp("ConvTranspose", [y, w], { ...attrs, output_shape: [6, 7] });
  assert.deepEqual(ty.shape, x.shape);
  const dot = (a: Tensor, b: Tensor) =>
    toNumbers(a).reduce((s, v, i) => s + v * toNumbers(b)[i], 0);
  assert.ok(Math.abs(dot(cx, y) - dot(x, ty)) < 1e-4);
});

Deno.test("Conv with a 1x1 kernel (the no-im2col path) matches the direct definition", () => {
  const x = rand([2, 4, 3, 5], 13), w = rand([6, 4, 1, 1], 14), b = rand([6], 15);
  const cfg = { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 };
  assertClose(runOp("Conv", [x, w, b])[0], naiveConv(x, w, b, cfg));
  const cfg2 = { ...cfg, group: 2 };
  const w2 = rand([6, 2, 1, 1], 16);
  assertClose(runOp("Conv", [x, w2], { group: 2 })[0], naiveConv(x, w2, undefined, cfg2));
});
