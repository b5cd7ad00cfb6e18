import assert from "node:assert/strict";
import { compileFile } from "../../compile.ts";
import { cloneGraph, formatType, type Graph } from "../../ir/graph.ts";
import { type Tensor, tensor } from "../../ir/tensor.ts";
import { emitModel } from "../../onnx/emit.ts";
import { compileTrain } from "../../train/mod.ts";
import { runGraph } from "../../../runtime/reference/mod.ts";
import { createSession } from "../../../runtime/ort/mod.ts";
import { diffGraph, formatDiff } from "../../../runtime/diff/diff.ts";
import { diffTrain, formatTrainDiff } from "../../../runtime/diff/train_diff.ts";
import { batchSizes, drawFeeds, drawsAsInputs } from "../../../runtime/train/draws.ts";
import { loadCheckpoint, train } from "../../../runtime/train/mod.ts";
import { Dataset, loadDigits } from "../../../runtime/data/mod.ts";

function compile(src: string, seed = 0) {
  return compileFile("main.dlm", {
    read: (p) => (p === "main.dlm" ? src : new Error("no file")),
    seed,
  });
}

function ok(src: string, seed = 0): Graph {
  const r = compile(src, seed);
  assert.deepEqual(r.diagnostics.map((d) => `${d.code} ${d.message}`), []);
  return r.graph!;
}

const ALL = `model M {
  input x: f32[N, 8]
  input p: f32[N, 16]
  output a = randn((N, 16), mean: 1.0, std: 2.0)
  output b = rand((N, 16), low: -1.0, high: 3.0)
  output c = randint(-3, 7, (N, 16))
  output d = bernoulli(p)
  output e = bernoulli(0.25, (N, 16), dtype: "bool")
  output f = randperm((N, 6))
  output g = randn(3000)
  output h = randint(0, 4, (3, N), dtype: "i32")
}`;

Deno.test("random tensors take shapes of ints and symbolic dims, typed exactly", () => {
  const g = ok(ALL);
  assert.deepEqual(g.outputs.map((o) => formatType(g.types.get(o.name)!)), [
    "f32[N, 16]",
    "f32[N, 16]",
    "i64[N, 16]",
    "f32[N, 16]",
    "bool[N, 16]",
    "i64[N, 6]",
    "f32[3000]",
    "i32[3, N]",
  ]);
});

Deno.test("a static shape is one RandomNormal node; a symbolic one, a Like op over its shape", () => {
  const ops = (src: string) =>
    ok(`model M {\n  input x: f32[N, 8]\n  ${src}\n}`).nodes.map((n) => n.op);
  assert.deepEqual(ops("output y = randn((4, 16))"), ["RandomNormal"]);
  assert.deepEqual(ops("output y = randn((N, 16))"), [
    "Shape",
    "Concat",
    "ConstantOfShape",
    "RandomNormalLike",
  ]);
  assert.deepEqual(ops("output y = randn((N, 8), std: 2.0)"), ["RandomNormalLike"]);
  assert.deepEqual(ops("output y = bernoulli(sigmoid(x))"), [
    "Sigmoid",
    "RandomUniformLike",
    "Less",
    "Cast",
  ]);
  assert.deepEqual(ops("output y = randperm(5)"), ["RandomUniform", "TopK"]);
});

const ROWS = 4000;
const P = tensor(
  "f32",
  [ROWS, 16],
  Array.from({ length: ROWS * 16 }, (_, i) => (i % 16) / 16),
);
const FEEDS = { x: tensor("f32", [ROWS, 8], new Float32Array(ROWS * 8)), p: P };

/** The model's outputs drawn three ways: the reference's kernels, onnxruntime's own, fed draws. */
async function samples(): Promise<Record<string, Record<string, Tensor>>> {
  const g = ok(ALL, 7);
  const reference = runGraph(g, FEEDS).outputs;
  const session = await createSession(emitModel(g).model, { backend: "node" });
  let ort: Record<string, Tensor>;
  try {
    ort = await session.run(FEEDS);
  } finally {
    await session.release();
  }
  const fed = cloneGraph(g);
  const draws = drawsAsInputs(fed);
  assert.equal(draws.length, 8);
  const drawn = runGraph(fed, {
    ...FEEDS,
    ...drawFeeds(draws, batchSizes(fed.inputs, FEEDS), 11, [3]),
  }).outputs;
  return { reference, ort, drawn };
}

const SAMPLES = samples();

function moments(xs: ArrayLike<number>): { mean: number; variance: number } {
  let s = 0, s2 = 0;
  for (let i = 0; i < xs.length; i++) s += Number(xs[i]);
  const mean = s / xs.length;
  for (let i = 0; i < xs.length; i++) s2 += (Number(xs[i]) - mean) ** 2;
  return { mean, variance: s2 / xs.length };
}

function near(got: number, want: number, tol: number, what: string) {
  assert.ok(Math.abs(got - want) <= tol, `${what}: ${got}, expected ${want} ± ${tol}`);
}

for (const way of ["reference", "ort", "drawn"]) {
  Deno.test(`randn and rand have their mean, variance and range (${way})`, async () => {
    const o = (await SAMPLES)[way];
    // 64,000 draws: the standard error of the mean is std / 253.
    const a = moments(o.a.data as Float32Array);
    near(a.mean, 1, 0.05, "randn mean");
    near(Math.sqrt(a.variance), 2, 0.05, "randn std");
    const g = moments(o.g.data as Float32Array);
    near(g.mean, 0, 0.08, "randn(3000) mean");
    near(Math.sqrt(g.variance), 1, 0.06, "randn(3000) std");
    const b = o.b.data as Float32Array;
    assert.ok(b.every((v) => v >= -1 && v < 3), "rand in [-1, 3)");
    const bm = moments(b);
    near(bm.mean, 1, 0.05, "rand mean");
    near(bm.variance, 16 / 12, 0.05, "rand variance");
  });

  Deno.test(`randint draws every integer of [low, high) equally often (${way})`, async () => {
    const o = (await SAMPLES)[way];
    const c = [...(o.c.data as BigInt64Array)].map(Number);
    assert.equal(o.c.dtype, "i64");
    assert.ok(c.every((v) => Number.isInteger(v) && v >= -3 && v < 7), "randint in [-3, 7)");
    for (let v = -3; v < 7; v++) {
      near(c.filter((x) => x === v).length / c.length, 0.1, 0.01, `P(randint = ${v})`);
    }
    assert.equal(o.h.dtype, "i32");
    const h = [...(o.h.data as Int32Array)];
    assert.deepEqual([...new Set(h)].sort(), [0, 1, 2, 3]);
  });

  Deno.test(`bernoulli is 1 with probability p (${way})`, async () => {
    const o = (await SAMPLES)[way];
    const d = o.d.data as Float32Array;
    assert.ok(d.every((v) => v === 0 || v === 1));
    for (const col of [0, 4, 12, 15]) {
      let ones = 0;
      for (let r = 0; r < ROWS; r++) ones += d[r * 16 + col];
      near(ones / ROWS, col / 16, 0.03, `bernoulli(p = ${col / 16})`);
    }
    assert.equal(o.e.dtype, "bool");
    near(moments(o.e.data as Uint8Array).mean, 0.25, 0.01, "bernoulli(0.25)");
  });

  Deno.test(`randperm gives each row a permutation, every position uniform (${way})`, async () => {
    const o = (await SAMPLES)[way];
    const f = [...(o.f.data as BigInt64Array)].map(Number);
    const count = Array.from({ length: 6 }, () => Array(6).fill(0));
    for (let r = 0; r < ROWS; r++) {
      const row = f.slice(r * 6, r * 6 + 6);
      assert.deepEqual([...row].sort(), [0, 1, 2, 3, 4, 5], `row ${r}: ${row}`);
      row.forEach((v, k) => count[k][v]++);
    }
    for (let k = 0; k < 6; k++) {
      for (let v = 0; v < 6; v++) near(count[k][v] / ROWS, 1 / 6, 0.03, `P(perm[${k}] = ${v})`);
    }
  });
}

Deno.test("dlm diff shares every random tensor's draw: the reference and onnxruntime agree", async () => {
  const g = ok(ALL);
  const feeds = { x: FEEDS.x, p: P };
  const opts = { rtol: 0, atol: 0, backend: "node" as const };
  const r = await diffGraph(g, feeds, opts);
  assert.equal(r.sharedDraws, 8);
  assert.ok(r.ok, formatDiff(r, opts));
});

Deno.test("a train step feeds each random tensor's draw; both runtimes train alike", async () => {
  const src = `model M {
  input x: f32[N, 8]
  input label: i64[N]
  let noisy = x + randn((N, 8), std: 0.1) + rand((N, 8), low: -0.1, high: 0.1)
  let h = (noisy * bernoulli(0.8, (N, 8))) |> fc1: linear(8) |> tanh
  let jitter = cast(randperm((N, 8)), "f32") + cast(randint(0, 5, (N, 8)), "f32")
  let logits = (h * bernoulli(sigmoid(h)) + 0.01 * jitter) |> fc2: linear(3)
  output logits
}

train M {
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.1)
}`;
  const c = compileTrain("main.dlm", {
    read: (p) => (p === "main.dlm" ? src : new Error("no file")),
  });
  assert.deepEqual(c.diagnostics, []);
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 4 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
  assert.equal(r.sharedMasks, 6);
  // Every draw is an input: none is left to a runtime's own generator.
  const fed = cloneGraph(c.step!);
  drawsAsInputs(fed);
  assert.deepEqual(fed.nodes.filter((n) => n.op.startsWith("Random")), []);
});

Deno.test("random tensors report bad arguments at the argument", () => {
  const r = compile(`model M {
  input x: f32[N, 8]
  input k: i64[N, 8]
  output a = randn((N, "x"))
  output b = rand((N, 2), low: 1.0, high: 1.0)
  output c = randint(5, 5, (N, 2))
  output d = randn((N, 2), dtype: "i64")
  output e = bernoulli(k)
  output f = bernoulli(1.5, (N, 2))
  output g = bernoulli(0.5)
  output h = randperm(-1)
}`);
  assert.deepEqual(
    r.diagnostics.map((d) => `${d.code} ${d.span?.line}`),
    [
      "DLM0201 4",
      "DLM0210 5",
      "DLM0210 6",
      "DLM0214 7",
      "DLM0207 8",
      "DLM0210 9",
      "DLM0223 10",
      "DLM0201 11",
    ],
  );
});

Deno.test("a dim a block's type bound from an expression (2 * N) sizes a random tensor too", async () => {
  const g = ok(`block Noisy()(x: f32[B, D]) {
  return x + randn((B, D))
}
model M {
  input x: f32[N, 8]
  let both = concat(x, x, axis: 0)
  output y = both |> Noisy()
  output p = randperm((2, both.shape[0]))
}`);
  assert.deepEqual(g.outputs.map((o) => formatType(g.types.get(o.name)!)), [
    "f32[2 * N, 8]",
    "i64[2, 2 * N]",
  ]);
  const x = tensor("f32", [3, 8], new Float32Array(24));
  const { outputs } = runGraph(g, { x });
  assert.deepEqual(outputs.y.shape, [6, 8]);
  assert.deepEqual(outputs.p.shape, [2, 6]);
  for (let r = 0; r < 2; r++) {
    const row = [...(outputs.p.data as BigInt64Array).slice(r * 6, r * 6 + 6)].map(Number);
    assert.deepEqual(row.sort(), [0, 1, 2, 3, 4, 5]);
  }
  const opts = { rtol: 0, atol: 0, backend: "node" as const };
  const r = await diffGraph(g, { x }, opts);
  assert.equal(r.sharedDraws, 2);
  assert.ok(r.ok, formatDiff(r, opts));
});

Deno.test("a run whose loss draws random tensors resumes bit for bit", async () => {
  const src = `model M {
  input image: f32[N, 64]
  let noisy = image + randn((N, 64), std: 0.5) * cast(bernoulli(0.5, (N, 1)), "f32")
  let order = cast(randperm((N, 4)), "f32") + cast(randint(0, 3, (N, 4)), "f32") + rand((4,))
  output logits: f32[N, 10] = concat(noisy, 0.1 * order, axis: 1) |> fc1: linear(16) |> relu
    |> fc2: linear(10)
}
train M {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = adam(lr: 0.01)
}`;
  const c = compileTrain("m.dlm", { read: (p) => (p === "m.dlm" ? src : new Error("no")) });
  assert.deepEqual(c.diagnostics, []);
  const data = new Dataset(loadDigits()).take([...Array(48).keys()]);
  const dir = Deno.makeTempDirSync();
  try {
    const opts = { step: c.step!, data, batchSize: 16, seed: 3, backend: "node" as const };
    const full = await train({ ...opts, epochs: 2 });
    await train({ ...opts, epochs: 1, outDir: dir });
    const resumed = await train({
      ...opts,
      epochs: 2,
      resume: loadCheckpoint(`${dir}/checkpoint.safetensors`),
    });
    assert.deepEqual(resumed.losses, full.losses);
    const bytes = (w: Map<string, Tensor>) =>
      [...w].map(([k, t]) => [k, [...new Uint8Array((t.data as Float32Array).buffer)]]);
    assert.deepEqual(bytes(resumed.weights), bytes(full.weights));
    // The draws matter: another seed trains otherwise.
    const other = await train({ ...opts, seed: 4, epochs: 1 });
    assert.notDeepEqual(other.losses, full.losses.slice(0, 3));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a random shape naming a dim of an input whose type is in error is a located error, not an internal one", () => {
  // `f32[N, typo]` fails, so no value has N, though the name N exists (a fuzzer's mutant).
  const c = compile(`model M {
  input x: f32[N, typo]
  output r = randint(0, 5, (N,))
}`);
  const codes = c.diagnostics.map((d) => `${d.code} ${d.span?.line}`);
  assert.ok(codes.includes("DLM0232 3"), `${codes}`);
  assert.ok(
    c.diagnostics.some((d) => /randint\(\) cannot know the size of N/.test(d.message)),
    c.diagnostics.map((d) => d.message).join("\n"),
  );
});
