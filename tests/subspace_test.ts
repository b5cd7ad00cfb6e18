/**
 * Intrinsic-dimension subspace training (`subspace(d:)`, compiler/check/subspace.ts): the model
 * starts equal to its base; the dense and the fastfood projections are the matrices they claim
 * (the fastfood graph against H G Pi H B built here by hand, with unit columns); merged and
 * unmerged emissions agree and the merged one is the base's graph; training moves z alone; and
 * d larger than the parameters it spans is a located DLM0725.
 */
import assert from "node:assert/strict";
import { compileFile } from "../compiler/compile.ts";
import type { Graph } from "../compiler/ir/graph.ts";
import { numel, type Tensor, tensor } from "../compiler/ir/tensor.ts";
import { Rng } from "../compiler/ir/rng.ts";
import { fastfoodFactors } from "../compiler/check/subspace.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { writeSafetensors } from "../runtime/formats/mod.ts";
import { buildGraph } from "../cli/pipeline.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";
import { findAll, parseXml, textOf } from "../compiler/viz/xml_wellformed.ts";
import { dlm } from "./cli_testing.ts";

const SRC = `
model Mlp(hidden: int = 6, d: int = 5) {
  input x: f32[N, 4]
  output logits: f32[N, 3] = x |> fc1: linear(hidden) |> relu |> fc2: linear(3)
}
model Dense = Mlp with subspace(d: d, projection: "dense")
model Fast = Mlp with subspace(d: d, projection: "fastfood")
model Head = Mlp with subspace(d: 2, targets: "fc2.*")
train Fast {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = adam(lr: 0.05)
}
`;
// fc1: 6x4 + 6, fc2: 3x6 + 3 = 51 values.
const D = 51;

function withFile(src: string, fn: (file: string, dir: string) => Promise<void> | void) {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "dlm_subspace_" });
    try {
      Deno.writeTextFileSync(`${dir}/m.dlm`, src);
      await fn(`${dir}/m.dlm`, dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

const IMAGE = { x: tensor("f32", [2, 4], [0.1, -0.4, 0.7, 0.2, -0.3, 0.5, 0.9, -0.8]) };

function maxAbsDiff(a: Tensor, b: Tensor): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) {
    m = Math.max(m, Math.abs((a.data[i] as number) - (b.data[i] as number)));
  }
  return m;
}

/** The values every parameter of `g` takes (theta0 + P z) with z as given, by running the graph. */
function thetaOf(g: Graph, z: Float32Array): Float32Array {
  const sub = structuredClone({ ...g, initializers: undefined }) as unknown as Graph;
  sub.initializers = new Map(g.initializers);
  sub.initializers.set("subspace.default.z", tensor("f32", [z.length], z));
  const merges = g.merges!.filter((m) => m.method === "subspace");
  sub.outputs = merges.map((m) => ({ name: m.result, type: g.types.get(m.result)! }));
  const r = runGraph(sub, IMAGE).outputs;
  const out: number[] = [];
  for (const m of merges) out.push(...(r[m.result].data as Float32Array));
  return new Float32Array(out);
}

/** The projection P (D x d) the graph computes: column k is theta(e_k) - theta(0). */
function projectionOf(g: Graph, d: number): Float32Array[] {
  const base = thetaOf(g, new Float32Array(d));
  return Array.from({ length: d }, (_, k) => {
    const e = new Float32Array(d);
    e[k] = 1;
    return thetaOf(g, e).map((v, i) => v - base[i]);
  });
}

Deno.test(
  "subspace() starts equal to its base and trains one vector z of d numbers",
  withFile(SRC, (file) => {
    const base = compileFile(file, { model: "Mlp" }).graph!;
    for (const model of ["Dense", "Fast"]) {
      const c = compileFile(file, { model });
      assert.deepEqual(c.diagnostics.filter((x) => x.severity === "error"), []);
      const g = c.graph!;
      const y = runGraph(g, IMAGE).outputs.logits;
      assert.ok(maxAbsDiff(y, runGraph(base, IMAGE).outputs.logits) < 1e-6, model);
      const trainable = g.params.filter((p) => p.trainable && !p.frozen);
      assert.deepEqual(trainable.map((p) => [p.name, p.adapter]), [[
        "subspace.default.z",
        "subspace:default",
      ]]);
      assert.deepEqual(g.types.get("subspace.default.z")!.shape, [5]);
    }
    // targets: select parameters by name; only they move with z.
    const h = compileFile(file, { model: "Head" }).graph!;
    assert.deepEqual(h.merges!.map((m) => m.weight), ["fc2.weight", "fc2.bias"]);
  }),
);

Deno.test(
  "the dense projection has entries of variance 1/D; the fastfood one is H G Pi H B with unit columns",
  withFile(SRC.replace("d: int = 5", "d: int = 6"), (file) => {
    const dense = projectionOf(compileFile(file, { model: "Dense" }).graph!, 6);
    let ss = 0;
    for (const col of dense) for (const v of col) ss += v * v;
    // E[sum of squares] = d (each column of squared norm 1 in expectation), over 306 draws.
    assert.ok(Math.abs(ss / 6 - 1) < 0.25, `mean squared column norm ${ss / 6}`);

    const fast = projectionOf(compileFile(file, { model: "Fast" }).graph!, 6);
    // The same factors, drawn from the same stream, as explicit matrices.
    const { L, blocks, b, perm, g } = fastfoodFactors(
      Rng.forName(0, "subspace.default.P"),
      D,
      6,
    );
    assert.equal(L, 8);
    assert.equal(blocks, 7);
    // H by its definition: H[i][j] = (-1)^popcount(i & j).
    const H = (i: number, j: number) => {
      let x = i & j, s = 1;
      while (x) {
        s = -s;
        x &= x - 1;
      }
      return s;
    };
    for (let k = 0; k < 6; k++) {
      let norm = 0;
      for (let blk = 0; blk < blocks; blk++) {
        // u = H B e_k (column k of H scaled by B[k]), then Pi, G, H.
        const u = Array.from({ length: L }, (_, i) => H(i, k) * b[blk * L + k]);
        const w = Array.from({ length: L }, (_, i) => g[blk * L + i] * u[perm[blk * L + i]]);
        for (let i = 0; i < L; i++) {
          const row: number = blk * L + i;
          let v = 0;
          for (let j = 0; j < L; j++) v += H(i, j) * w[j];
          norm += v * v;
          if (row < D) {
            assert.ok(
              Math.abs(fast[k][row] - v) < 1e-5,
              `P[${row}, ${k}]: ${fast[k][row]} vs ${v}`,
            );
          }
        }
      }
      // The stacked blocks' columns have unit norm exactly (before the cut to D rows).
      assert.ok(Math.abs(norm - 1) < 1e-5, `column ${k}: ${norm}`);
    }
  }),
);

Deno.test(
  "merged and unmerged subspace models agree, and merged is the base's graph with no projection",
  withFile(SRC.replace("d: int = 5", "d: int = 40"), (file, dir) => {
    const base = buildGraph(file, { model: "Mlp" });
    for (const model of ["Dense", "Fast"]) {
      const w = `${dir}/${model}.safetensors`;
      const z = new Float32Array(40).map((_, i) => Math.sin(i + 1) * 0.5);
      Deno.writeFileSync(w, writeSafetensors([["subspace.default.z", tensor("f32", [40], z)]]));
      const un = buildGraph(file, { model, weights: [w] });
      const merged = buildGraph(file, { model, weights: [w], adapters: "merged" });
      const y = runGraph(un.graph, IMAGE).outputs.logits;
      const ym = runGraph(merged.graph, IMAGE).outputs.logits;
      assert.ok(maxAbsDiff(y, runGraph(base.graph, IMAGE).outputs.logits) > 1e-2, "z moves it");
      assert.ok(maxAbsDiff(y, ym) < 1e-5, `${model}: merged differs by ${maxAbsDiff(y, ym)}`);
      assert.deepEqual(
        merged.graph.nodes.map((n) => n.op).sort(),
        base.graph.nodes.map((n) => n.op).sort(),
      );
      assert.deepEqual(
        merged.graph.params.map((p) => p.name),
        base.graph.params.map((p) => p.name),
      );
      // Nothing of the projection is left: the initializers hold the base's values alone.
      const size = (g: Graph) =>
        [...g.initializers.values()].reduce((s, t) => s + numel(t.shape), 0);
      assert.equal(size(merged.graph), size(base.graph));
    }
  }),
);

Deno.test(
  "a fastfood projection stores O(D) numbers, never the D x d matrix",
  withFile(
    SRC.replace("hidden: int = 6", "hidden: int = 256").replace("d: int = 5", "d: int = 1000"),
    (file) => {
      const g = compileFile(file, { model: "Fast" }).graph!;
      const total = g.params.filter((p) => !p.adapter).reduce(
        (s, p) => s + numel(g.types.get(p.name)!.shape as number[]),
        0,
      );
      const projection = [...g.initializers.entries()]
        .filter(([k]) => !g.params.some((p) => p.name === k))
        .reduce((s, [, t]) => s + numel(t.shape), 0);
      // B, Pi and G: 3 blocks x L values each (L = 1024 >= d), against D d = 2.3 million.
      assert.ok(projection < 4 * (total + 1024) + 100, `${projection} stored numbers`);
      assert.ok(total * 1000 > 100 * projection);
    },
  ),
);

Deno.test(
  "training a subspace model moves z alone, and the reference and onnxruntime agree",
  withFile(SRC, async (file) => {
    const c = compileTrain(file, { model: "Fast", dims: { N: 4 } });
    assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
    const trained = c.step!.inputs.map((i) => i.name).filter((n) => !n.includes(":"));
    assert.ok(trained.includes("subspace.default.z"), `${trained}`);
    assert.ok(!trained.some((n) => n.startsWith("fc")), `${trained}`);
    const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 4 };
    const r = await diffTrain(c.step!, opts);
    assert.ok(r.ok, formatTrainDiff(r, opts));
  }),
);

Deno.test(
  "subspace(d:) larger than the parameters it spans is DLM0725 at the method, naming both",
  withFile(SRC, (file) => {
    const c = compileFile(file, { model: "Head", overrides: {} });
    assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
    const big = compileFile(file, { model: "Dense", overrides: { d: 52 } });
    const e = big.diagnostics.find((d) => d.code === "DLM0725")!;
    assert.ok(e, JSON.stringify(big.diagnostics));
    assert.match(e.message, /subspace\(d: 52\) spans only 51 parameter values .*1\.\.51/);
    assert.equal(e.span!.line, 6);
    assert.equal(
      compileFile(file, { model: "Dense", overrides: { d: 51 } }).graph !== undefined,
      true,
    );
    const bad = SRC.replace('projection: "dense"', 'projection: "sparse"');
    Deno.writeTextFileSync(file, bad);
    const p = compileFile(file, { model: "Dense" });
    assert.ok(p.diagnostics.some((d) => d.code === "DLM0214" && d.span?.line === 6));
    Deno.writeTextFileSync(file, SRC.replace('targets: "fc2.*"', 'targets: "fc9.*"'));
    const t = compileFile(file, { model: "Head" });
    assert.ok(t.diagnostics.some((d) => d.code === "DLM0215" && d.span?.line === 8));
  }),
);

const EXAMPLE = decodeURIComponent(
  new URL("../lang-examples/intrinsic_dimension_digits.dlm", import.meta.url).pathname,
);

Deno.test(
  "dlm sweep over d finds d_90 against the full model, writing the metric per run and its curve",
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "dlm_subspace_sweep_" });
    try {
      const r = await dlm(
        "sweep",
        EXAMPLE,
        "--model",
        "MlpDigitsSubspace",
        "--set",
        "hidden=16",
        "--set",
        "d=2,300",
        "--metric",
        "accuracy",
        "--reference-model",
        "MlpDigitsFull",
        "--reach",
        "0.5",
        "--data",
        "digits",
        "--epochs",
        "2",
        "-o",
        `${dir}/out`,
      );
      assert.equal(r.code, 0, r.err);
      const [head, ...lines] = Deno.readTextFileSync(`${dir}/out/sweep.csv`).trim().split("\n");
      const cols = head.split(",");
      const rows = lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [cols[i], v])));
      // N is what trains: z's d numbers.
      assert.deepEqual(rows.map((x) => [x.d, x.params]), [["2", "2"], ["300", "300"]]);
      const acc = rows.map((x) => Number(x.val_accuracy));
      assert.ok(acc[1] > acc[0], `${acc}`);
      const fit = JSON.parse(Deno.readTextFileSync(`${dir}/out/fit.json`));
      const m = fit.metric;
      assert.equal(m.name, "val_accuracy");
      assert.equal(m.reference_model, "MlpDigitsFull");
      assert.ok(m.reference > 0.5 && m.reference <= 1, `${m.reference}`);
      assert.ok(Math.abs(m.threshold - 0.5 * m.reference) < 1e-9);
      // The answer is the smaller d exactly when it reaches the threshold.
      const expect = acc[0] >= m.threshold ? 2 : acc[1] >= m.threshold ? 300 : null;
      assert.equal(m.N_50, expect);
      if (expect !== null) assert.match(r.out, new RegExp(`^N_50 = ${expect}: `, "m"));
      const svg = parseXml(Deno.readTextFileSync(`${dir}/out/sweep.svg`));
      assert.equal(findAll(svg, "circle").length, 2);
      assert.ok(findAll(svg, "text").map(textOf).includes("trained parameters N (log)"));
      assert.ok(
        findAll(svg, "text").map(textOf).some((t) =>
          t.startsWith("MlpDigitsFull (all parameters)")
        ),
      );

      // A metric the section does not report; a reference without a metric.
      const bad = await dlm(
        "sweep",
        EXAMPLE,
        "--model",
        "MlpDigitsSubspace",
        "--set",
        "d=2,3",
        "--metric",
        "acc",
        "--data",
        "digits",
        "-o",
        `${dir}/bad`,
      );
      assert.equal(bad.code, 1);
      assert.match(bad.err, /DLM0726: --metric acc: .* reports 'accuracy'/);
      const noMetric = await dlm(
        "sweep",
        EXAMPLE,
        "--set",
        "d=2,3",
        "--reference-model",
        "MlpDigitsFull",
        "--data",
        "digits",
        "-o",
        `${dir}/bad`,
      );
      assert.equal(noMetric.code, 2);
      assert.match(noMetric.err, /DLM0727: --reference-model needs --metric NAME/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
