import assert from "node:assert/strict";
import { compileFile } from "../../compile.ts";
import type { Graph } from "../../ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../../ir/tensor.ts";
import { runGraph } from "../../../runtime/reference/mod.ts";
import { type Draw, drawsAsInputs } from "../../../runtime/train/draws.ts";

const FIXTURE = JSON.parse(
  Deno.readTextFileSync(
    new URL("../../../tests/fixtures/augment/torchvision.json", import.meta.url),
  ),
) as {
  x_shape: number[];
  x: number[];
  cases: { name: string; call: string; u: number[]; k: number; shape: number[]; y: number[] }[];
};

function compile(src: string, mode: "eval" | "train") {
  return compileFile("main.dlm", { read: () => src, mode });
}

function ok(src: string, mode: "eval" | "train"): Graph {
  const r = compile(src, mode);
  assert.deepEqual(r.diagnostics.map((d) => `${d.code} ${d.message}`), []);
  return r.graph!;
}

/** The graph in train mode with its draws as inputs. */
function trainGraph(src: string): { g: Graph; draws: Draw[] } {
  const g = ok(src, "train");
  return { g, draws: drawsAsInputs(g) };
}

function sizeOf(d: Draw, n: number): number[] {
  return d.type.shape.map((s) => (s === "N" ? n : s as number));
}

function model(call: string, shape = "f32[N, 3, 6, 7]"): string {
  return `model M {\n  input x: ${shape}\n  output y = ${call}\n}`;
}

for (const c of FIXTURE.cases) {
  Deno.test(`${c.name}: dlm's ${c.call} gives torchvision's pixels at the same draw`, () => {
    const { g, draws } = trainGraph(model(c.call));
    assert.equal(draws.length, 1);
    const n = FIXTURE.x_shape[0];
    assert.deepEqual(sizeOf(draws[0], n), [n, c.k]);
    const out = runGraph(g, {
      x: tensor("f32", FIXTURE.x_shape, FIXTURE.x),
      [draws[0].input]: tensor("f32", [n, c.k], c.u),
    }).outputs.y;
    assert.deepEqual(out.shape, c.shape);
    const got = toNumbers(out);
    const worst = Math.max(...got.map((v, i) => Math.abs(v - c.y[i])));
    assert.ok(worst < 2e-5, `${c.name}: largest difference ${worst}`);
  });
}

Deno.test("augmentation is no node at all in eval mode", () => {
  for (const c of FIXTURE.cases) {
    const g = ok(model(c.call).replace(/\(5, 8\)|\(5, 6\)/, "(6, 7)"), "eval");
    assert.deepEqual(g.nodes.map((n) => n.op), ["Identity"], c.call);
  }
  const g = ok(model("gaussian_noise(x, std: 0.3)"), "eval");
  assert.deepEqual(g.nodes.map((n) => n.op), ["Identity"]);
});

Deno.test("in eval mode a crop of another size is the padded image's centre, a resized crop the whole image resized", () => {
  const x = tensor("f32", [1, 1, 2, 2], [1, 2, 3, 4]);
  const crop = ok(
    model("random_crop(x, 2, padding: 1)", "f32[N, 1, 2, 2]").replace(
      "random_crop(x, 2, padding: 1)",
      "random_crop(x, 4, padding: 1)",
    ),
    "eval",
  );
  assert.deepEqual(toNumbers(runGraph(crop, { x }).outputs.y), [
    0,
    0,
    0,
    0,
    0,
    1,
    2,
    0,
    0,
    3,
    4,
    0,
    0,
    0,
    0,
    0,
  ]);
  const resized = ok(model("random_resized_crop(x, 1)", "f32[N, 1, 2, 2]"), "eval");
  assert.deepEqual(toNumbers(runGraph(resized, { x }).outputs.y), [2.5]);
});

Deno.test("each image takes its own row of the draw: a batch flips only the images whose u < p", () => {
  const { g, draws } = trainGraph(model("random_horizontal_flip(x, p: 0.5)", "f32[N, 1, 1, 3]"));
  const x = tensor("f32", [3, 1, 1, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const y = runGraph(g, { x, [draws[0].input]: tensor("f32", [3, 1], [0.2, 0.7, 0.49]) });
  assert.deepEqual(toNumbers(y.outputs.y), [3, 2, 1, 4, 5, 6, 9, 8, 7]);
});

Deno.test("gaussian_noise adds its draw, scaled, and clips to [0, 1] when asked", () => {
  const { g, draws } = trainGraph(model("gaussian_noise(x, std: 0.5, clip: true)", "f32[N, 4]"));
  assert.equal(draws[0].kind, "normal");
  assert.equal(draws[0].b, 0.5);
  const x = tensor("f32", [1, 4], [0.1, 0.5, 0.9, 0.5]);
  const z = tensor("f32", [1, 4], [-0.5, 0.25, 0.5, 0]);
  const y = toNumbers(runGraph(g, { x, [draws[0].input]: z }).outputs.y);
  assert.deepEqual(y.map((v) => +v.toFixed(5)), [0, 0.75, 1, 0.5]);
});

/** Mixup or cutmix on a batch, run on the reference interpreter with drawn inputs. */
function mixRun(call: string, x: Tensor, y: number[], seed: number) {
  const src = `model M {
  input x: f32[N, 1, 4, 4]
  input label: i64[N]
  let (m, lam) = ${call}
  output mixed = m
  output weight = lam
  output target = mix_labels(label, lam, classes: 3)
}`;
  const { g, draws } = trainGraph(src);
  const n = x.shape[0];
  const feeds: Record<string, Tensor> = { x, label: tensor("i64", [n], y) };
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) + 0.5) / 2 ** 31;
  for (const d of draws) {
    const shape = sizeOf(d, n);
    const len = shape.reduce((a, b) => a * b, 1);
    const vals = Array.from({ length: len }, () => {
      if (d.kind === "uniform") return next();
      // Box-Muller for the normal proposals.
      return Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
    });
    feeds[d.input] = tensor("f32", shape, vals);
  }
  const o = runGraph(g, feeds).outputs;
  return { mixed: toNumbers(o.mixed), lam: toNumbers(o.weight), target: toNumbers(o.target) };
}

Deno.test("mixup mixes each sample with the one before it by its own lam, and mix_labels the same way", () => {
  const n = 4;
  const x = tensor("f32", [n, 1, 4, 4], Array.from({ length: n * 16 }, (_, i) => (i * 7) % 11));
  const { mixed, lam, target } = mixRun("mixup(x, alpha: 0.4)", x, [0, 1, 2, 1], 3);
  const xs = toNumbers(x);
  assert.equal(new Set(lam.map((l) => l.toFixed(6))).size, n, "each sample its own lam");
  for (let i = 0; i < n; i++) {
    assert.ok(lam[i] >= 0 && lam[i] <= 1);
    const prev = (i + n - 1) % n;
    for (let k = 0; k < 16; k++) {
      const want = lam[i] * xs[i * 16 + k] + (1 - lam[i]) * xs[prev * 16 + k];
      assert.ok(Math.abs(mixed[i * 16 + k] - want) < 1e-5);
    }
  }
  const labels = [0, 1, 2, 1];
  for (let i = 0; i < n; i++) {
    const want = [0, 0, 0];
    want[labels[i]] += lam[i];
    want[labels[(i + n - 1) % n]] += 1 - lam[i];
    want.forEach((w, c) => assert.ok(Math.abs(target[i * 3 + c] - w) < 1e-6));
  }
});

Deno.test("cutmix pastes a box of the previous image and lam is one less the box's share", () => {
  const n = 6;
  // Image i is all i + 1, so a pixel's value says where it came from.
  const x = tensor("f32", [n, 1, 4, 4], Array.from({ length: n * 16 }, (_, i) => 1 + (i >> 4)));
  const { mixed, lam } = mixRun("cutmix(x, alpha: 1.0)", x, [0, 1, 2, 0, 1, 2], 11);
  for (let i = 0; i < n; i++) {
    const px = mixed.slice(i * 16, i * 16 + 16);
    const pasted = px.filter((v) => v === ((i + n - 1) % n) + 1).length;
    assert.equal(pasted + px.filter((v) => v === i + 1).length, 16);
    assert.ok(Math.abs(lam[i] - (1 - pasted / 16)) < 1e-6, `image ${i}: lam ${lam[i]}`);
  }
});

Deno.test("the Beta(alpha, alpha) draw has the right mean and variance", () => {
  for (const alpha of [0.4, 2]) {
    const n = 4000;
    const x = tensor("f32", [n, 1, 4, 4], new Float32Array(n * 16));
    const lam = mixRun(`mixup(x, alpha: ${alpha})`, x, new Array(n).fill(0), 5).lam;
    const mean = lam.reduce((a, b) => a + b, 0) / n;
    const v = lam.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    // Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)).
    assert.ok(Math.abs(mean - 0.5) < 0.02, `alpha ${alpha}: mean ${mean}`);
    const want = 1 / (4 * (2 * alpha + 1));
    assert.ok(Math.abs(v - want) < 0.1 * want, `alpha ${alpha}: variance ${v}, want ${want}`);
  }
});

Deno.test("in eval mode mixup and cutmix leave the batch and mix_labels the targets unmixed", () => {
  for (const fn of ["mixup", "cutmix"]) {
    const g = ok(
      `model M {
  input x: f32[N, 1, 4, 4]
  input label: i64[N]
  let (m, lam) = ${fn}(x)
  output mixed = m
  output target = mix_labels(label, lam, classes: 3)
}`,
      "eval",
    );
    const o = runGraph(g, {
      x: tensor("f32", [2, 1, 4, 4], Array.from({ length: 32 }, (_, i) => i)),
      label: tensor("i64", [2], [2, 0]),
    }).outputs;
    assert.deepEqual(toNumbers(o.mixed), Array.from({ length: 32 }, (_, i) => i));
    assert.deepEqual(toNumbers(o.target), [0, 0, 1, 1, 0, 0]);
  }
});

const BAD: [string, string][] = [
  [
    "random_crop(x, 12, padding: 1)",
    "random_crop() size needs at most the padded image's 8 x 9 (6 x 7 padded by 1), got 12 x 12",
  ],
  ["random_horizontal_flip(x, p: -0.5)", "random_horizontal_flip() p needs 0 <= p <= 1, got -0.5"],
  ["random_erasing(x, p: 1.5)", "random_erasing() p needs 0 <= p <= 1, got 1.5"],
  ["color_jitter(x, hue: 0.7)", "color_jitter() hue needs hue in [-0.5, 0.5], got 0.7"],
  [
    "color_jitter(x, hue: (-0.6, 0.1))",
    "color_jitter() hue needs hue in [-0.5, 0.5], got (-0.6, 0.1)",
  ],
  ["color_jitter(x, brightness: -1)", "color_jitter() brightness needs a number >= 0, got -1"],
  ["random_erasing(x, scale: (0.5, 0.1))", "random_erasing() scale needs lo <= hi, got (0.5, 0.1)"],
  ["random_affine(x, scale: (0.0, 1.0))", "random_affine() scale needs factors > 0, got (0, 1)"],
  [
    "random_affine(x, degrees: 400)",
    "random_affine() degrees needs angles in [-360, 360], got 400",
  ],
  [
    "random_resized_crop(x, 0)",
    "random_resized_crop() size needs an int >= 1 or a pair (h, w) of them, got int 0",
  ],
  [
    "random_resized_crop(x, (100000, 100000))",
    "random_resized_crop() size needs at most 16777216 pixels (2^24), got 100000 x 100000",
  ],
  ["mixup(x, alpha: 0.0)", "mixup() alpha needs alpha > 0, got 0"],
  ["gaussian_noise(x, std: -1.0)", "gaussian_noise() std needs std >= 0, got -1"],
];

for (const [call, message] of BAD) {
  Deno.test(`${call} is DLM0210 at the argument, naming the value and its range`, () => {
    for (const mode of ["eval", "train"] as const) {
      const r = compile(model(call), mode);
      assert.deepEqual(r.diagnostics.map((d) => `${d.code} ${d.message}`), [`DLM0210 ${message}`]);
      const span = r.diagnostics[0].span!;
      assert.equal(span.line, 3);
      assert.ok(span.col > 14, "at the argument, not the call");
    }
  });
}

Deno.test("saturation and hue need RGB images; the geometry needs images of known size", () => {
  const gray = compile(model("color_jitter(x, saturation: 0.3)", "f32[N, 1, 8, 8]"), "train");
  assert.deepEqual(gray.diagnostics.map((d) => `${d.code} ${d.message}`), [
    "DLM0210 color_jitter() saturation needs RGB images f32[N, 3, H, W], got f32[N, 1, 8, 8]",
  ]);
  const flat = compile(model("random_affine(x, degrees: 10)", "f32[N, 64]"), "train");
  assert.deepEqual(flat.diagnostics.map((d) => d.code), ["DLM0203"]);
});

Deno.test("mix_labels with lam of another batch than the target's is DLM0203 at lam, not an internal error", () => {
  // The product broadcast to max(N, M) rows, which the result's declared [N, K] could not refine.
  const src = (label: string) =>
    `model M {
  input x: f32[N, 1, 4, 4]
  input label: ${label}
  let (m, lam) = mixup(x)
  output target = mix_labels(label, lam, classes: 3)
}`;
  for (const mode of ["eval", "train"] as const) {
    const r = compile(src("i64[M]"), mode);
    assert.deepEqual(
      r.diagnostics.map((d) => `${d.code} ${d.span?.line}:${d.span?.col} ${d.message}`),
      [
        "DLM0203 5:37 mix_labels() needs lam f32[M] with a row for each of the target's M rows, got f32[N]",
      ],
    );
  }
  ok(src("i64[N]"), "train");
});
