/**
 * Loading weights through the CLI: by name, through a `--weights-map` of regex
 * renames, with warnings for unused tensors and missing parameters, with dtype
 * conversion to the parameters' f32, from ONNX models' initializers as well as
 * safetensors, from several files in order, and the transfer-learning example
 * end to end (a ResNet-18 backbone into lang-examples/transfer.dlm).
 */
import assert from "node:assert/strict";
import { decodeModel } from "../compiler/onnx/decode.ts";
import { onnx } from "../compiler/onnx/proto.ts";
import { buildGraph } from "../cli/pipeline.ts";
import { loadWeights, readWeightsFile } from "../runtime/weights.ts";
import { f32ToBf16, f32ToF16, type Tensor, toNumbers } from "../compiler/ir/tensor.ts";
import { readNpy, readSafetensors, writeNpy, writeSafetensors } from "../runtime/formats/mod.ts";
import { dlm } from "./cli_testing.ts";

const ROOT = new URL("../", import.meta.url);
const path = (u: URL) => decodeURIComponent(u.pathname);
const example = (name: string) => path(new URL(`lang-examples/${name}`, ROOT));
const MLP = example("mlp.dlm"); // first model: Perceptron, fc.weight [1, 4], fc.bias [1]

interface Result {
  code: number;
  out: string;
  err: string;
}

function withTemp(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "dlm_weights_test_" });
    try {
      await fn(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

function f32(shape: number[], values: number[]): Tensor {
  return { dtype: "f32", shape, data: Float32Array.from(values) };
}

function f16(shape: number[], values: number[]): Tensor {
  return { dtype: "f16", shape, data: Uint16Array.from(values.map(f32ToF16)) };
}

function bf16(shape: number[], values: number[]): Tensor {
  return { dtype: "bf16", shape, data: Uint16Array.from(values.map(f32ToBf16)) };
}

function f64(shape: number[], values: number[]): Tensor {
  return { dtype: "f64", shape, data: Float64Array.from(values) };
}

function save(file: string, tensors: [string, Tensor][]): string {
  Deno.writeFileSync(file, writeSafetensors(tensors));
  return file;
}

/** Compile without graph passes (parameters stay as declared) and return the ONNX initializers. */
async function compiledInitializers(
  dir: string,
  ...argv: string[]
): Promise<{ r: Result; init: Map<string, Tensor> }> {
  const out = `${dir}/m${Math.random().toString(36).slice(2)}.onnx`;
  const r = await dlm("compile", ...argv, "-o", out, "--no-passes");
  assert.equal(r.code, 0, r.err);
  const init = decodeModel(Deno.readFileSync(out)).graph.initializers;
  Deno.removeSync(out);
  return { r, init };
}

function warnings(err: string): string[] {
  return err.split("\n").filter((l) => /^(\S+: )?warning DLM\d{4}: /.test(l));
}

// Values exactly representable in f16 and bf16, so conversion is exact.
const W = [0.5, -1.25, 2, 0.125];
const B = [0.75];

Deno.test(
  "weights load by parameter name with no warning and change the outputs",
  withTemp(async (dir) => {
    const w = save(`${dir}/w.safetensors`, [["fc.weight", f32([1, 4], W)], [
      "fc.bias",
      f32([1], B),
    ]]);
    const { r, init } = await compiledInitializers(dir, MLP, "--weights", w);
    assert.deepEqual(warnings(r.err), []);
    assert.deepEqual(toNumbers(init.get("fc.weight")!), W);
    assert.deepEqual(toNumbers(init.get("fc.bias")!), B);
    // p = sigmoid(x . w + b); with x = [1, 1, 1, 1]: sigmoid(1.375 + 0.75).
    Deno.writeFileSync(`${dir}/x.npy`, writeNpy(f32([1, 4], [1, 1, 1, 1])));
    const run = await dlm(
      "run",
      MLP,
      "--weights",
      w,
      "--input",
      `x=${dir}/x.npy`,
      "--out",
      `${dir}/o`,
      "--backend",
      "reference",
    );
    assert.equal(run.code, 0, run.err);
    const p = readNpy(Deno.readFileSync(`${dir}/o/p.npy`)).data[0] as number;
    assert.ok(Math.abs(p - 1 / (1 + Math.exp(-2.125))) < 1e-6, `p = ${p}`);
  }),
);

/** Run mlp.dlm's Perceptron compiled to ONNX with W and B loaded by name; returns p for x = ones. */
async function runOnnxWithWeights(dir: string, backend: string): Promise<number> {
  if (!exists(`${dir}/m.onnx`)) {
    assert.equal((await dlm("compile", MLP, "-o", `${dir}/m.onnx`, "--no-passes")).code, 0);
  }
  const w = save(`${dir}/w.safetensors`, [["fc.weight", f32([1, 4], W)], ["fc.bias", f32([1], B)]]);
  Deno.writeFileSync(`${dir}/x.npy`, writeNpy(f32([1, 4], [1, 1, 1, 1])));
  const out = `${dir}/${backend}`;
  const r = await dlm(
    "run",
    `${dir}/m.onnx`,
    "--weights",
    w,
    "--input",
    `x=${dir}/x.npy`,
    "--out",
    out,
    "--backend",
    backend,
  );
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(warnings(r.err), []);
  return readNpy(Deno.readFileSync(`${out}/p.npy`)).data[0] as number;
}

function exists(file: string): boolean {
  try {
    Deno.statSync(file);
    return true;
  } catch {
    return false;
  }
}

Deno.test(
  "weights load into an ONNX file given to run --backend reference by initializer name",
  withTemp(async (dir) => {
    const p = await runOnnxWithWeights(dir, "reference");
    assert.ok(Math.abs(p - 1 / (1 + Math.exp(-2.125))) < 1e-6, `p = ${p}`);
  }),
);

Deno.test({
  name: "weights load into an ONNX file given to run on onnxruntime-node and -web",
  fn: withTemp(async (dir) => {
    for (const backend of ["node", "web"]) {
      const p = await runOnnxWithWeights(dir, backend);
      assert.ok(Math.abs(p - 1 / (1 + Math.exp(-2.125))) < 1e-6, `${backend}: p = ${p}`);
    }
  }),
});

const TINY = `model Tiny {
  input x: f32[N, 1, 4, 4]
  output y = x |> conv1: conv2d(2, kernel: 3) |> flatten |> fc: linear(3)
}
`;

/** A state dict of Tiny as another framework names it: everything under "backbone.". */
function backboneFile(dir: string): string {
  return save(`${dir}/backbone.safetensors`, [
    ["backbone.conv1.weight", f32([2, 1, 3, 3], Array.from({ length: 18 }, (_, i) => i / 8))],
    ["backbone.conv1.bias", f32([2], [1, -1])],
    ["backbone.fc.weight", f32([3, 8], Array.from({ length: 24 }, (_, i) => -i / 4))],
    ["backbone.fc.bias", f32([3], [0.5, 0.25, 0.125])],
  ]);
}

Deno.test(
  "--weights-map renames backbone.conv1.weight onto conv1.weight by regex",
  withTemp(async (dir) => {
    const model = `${dir}/tiny.dlm`;
    Deno.writeTextFileSync(model, TINY);
    const w = backboneFile(dir);
    const map = `${dir}/map.json`;
    Deno.writeTextFileSync(map, JSON.stringify({ "backbone\\.(.*)": "$1" }));
    const { r, init } = await compiledInitializers(
      dir,
      model,
      "--weights",
      w,
      "--weights-map",
      map,
    );
    assert.deepEqual(warnings(r.err), []);
    const file = readSafetensors(Deno.readFileSync(w)).tensors;
    for (const name of ["conv1.weight", "conv1.bias", "fc.weight", "fc.bias"]) {
      assert.deepEqual(toNumbers(init.get(name)!), toNumbers(file.get(`backbone.${name}`)!), name);
    }
  }),
);

Deno.test(
  "--weights-map as a list of rules applies the first rule that matches",
  withTemp(async (dir) => {
    const model = `${dir}/tiny.dlm`;
    Deno.writeTextFileSync(model, TINY);
    const w = backboneFile(dir);
    const map = `${dir}/map.json`;
    Deno.writeTextFileSync(
      map,
      JSON.stringify([
        { from: "backbone\\.(conv1|fc)\\.(weight|bias)", to: "$1.$2" },
        { from: "backbone\\.fc\\.(.*)", to: "head.$1" },
      ]),
    );
    const { r, init } = await compiledInitializers(
      dir,
      model,
      "--weights",
      w,
      "--weights-map",
      map,
    );
    assert.deepEqual(warnings(r.err), []);
    assert.deepEqual(toNumbers(init.get("fc.bias")!), [0.5, 0.25, 0.125]);
  }),
);

Deno.test(
  "a regex that matches only part of a name does not rename it",
  withTemp(async (dir) => {
    const model = `${dir}/tiny.dlm`;
    Deno.writeTextFileSync(model, TINY);
    const w = backboneFile(dir);
    const map = `${dir}/map.json`;
    // Rules match whole names: "backbone" alone renames nothing.
    Deno.writeTextFileSync(map, JSON.stringify({ "backbone": "" }));
    const { r } = await compiledInitializers(dir, model, "--weights", w, "--weights-map", map);
    const ws = warnings(r.err);
    assert.equal(ws.length, 2, r.err);
    assert.match(
      ws[0],
      /warning DLM0407: 4 tensors in .* match no parameter: backbone\.conv1\.weight, /,
    );
  }),
);

Deno.test(
  "unused tensors are warning DLM0407 and missing parameters warning DLM0404, each named",
  withTemp(async (dir) => {
    const w = save(`${dir}/w.safetensors`, [
      ["fc.weight", f32([1, 4], W)],
      ["extra.thing", f32([2], [1, 2])],
      ["old.fc.bias", f32([1], B)],
    ]);
    const { r, init } = await compiledInitializers(dir, MLP, "--weights", w);
    const ws = warnings(r.err);
    assert.equal(ws.length, 2, r.err);
    assert.match(
      ws.join("\n"),
      /^warning DLM0407: 2 tensors in .*w\.safetensors match no parameter: extra\.thing, old\.fc\.bias$/m,
    );
    assert.match(
      ws.join("\n"),
      /^warning DLM0404: 1 parameter not in .*w\.safetensors keep[s]? (its|their) initial values?: fc\.bias$/m,
    );
    // The loaded one is loaded; the missing one keeps its (seeded) initial value.
    assert.deepEqual(toNumbers(init.get("fc.weight")!), W);
    const { init: fresh } = await compiledInitializers(dir, MLP);
    assert.deepEqual(toNumbers(init.get("fc.bias")!), toNumbers(fresh.get("fc.bias")!));
  }),
);

Deno.test(
  "a renamed unused tensor is named both ways in the warning",
  withTemp(async (dir) => {
    const w = save(`${dir}/w.safetensors`, [["m.fc.weight", f32([1, 4], W)], [
      "m.fc.bias",
      f32([1], B),
    ], ["m.x", f32([1], [0])]]);
    const map = `${dir}/map.json`;
    Deno.writeTextFileSync(map, JSON.stringify({ "m\\.(.*)": "$1" }));
    const { r } = await compiledInitializers(dir, MLP, "--weights", w, "--weights-map", map);
    assert.deepEqual(warnings(r.err), [
      `warning DLM0407: 1 tensor in ${w} match no parameter: m.x (as x)`,
    ]);
  }),
);

Deno.test(
  "f16, bf16 and f64 weights convert to f32 parameters",
  withTemp(async (dir) => {
    for (
      const [name, weight, bias] of [["f16", f16([1, 4], W), f16([1], B)], [
        "mixed",
        bf16([1, 4], W),
        f64([1], B),
      ]] as const
    ) {
      const w = save(`${dir}/${name}.safetensors`, [["fc.weight", weight], ["fc.bias", bias]]);
      const { r, init } = await compiledInitializers(dir, MLP, "--weights", w);
      assert.deepEqual(warnings(r.err), [], name);
      assert.equal(init.get("fc.weight")!.dtype, "f32");
      assert.equal(init.get("fc.bias")!.dtype, "f32");
      assert.deepEqual(toNumbers(init.get("fc.weight")!), W, name);
      assert.deepEqual(toNumbers(init.get("fc.bias")!), B, name);
    }
  }),
);

Deno.test(
  "an i32 batch-norm counter loads into its i64 buffer",
  withTemp(async (dir) => {
    const model = `${dir}/bn.dlm`;
    Deno.writeTextFileSync(
      model,
      "model BN {\n  input x: f32[N, 2, 3, 3]\n  output y = x |> bn: batch_norm\n}\n",
    );
    const p = await dlm("params", model, "--json");
    assert.equal(p.code, 0, p.err);
    assert.deepEqual(
      JSON.parse(p.out).params.map((q: { name: string; dtype: string }) => `${q.name}:${q.dtype}`),
      [
        "bn.weight:f32",
        "bn.bias:f32",
        "bn.running_mean:f32",
        "bn.running_var:f32",
        "bn.num_batches_tracked:i64",
      ],
    );
    const w = save(`${dir}/w.safetensors`, [
      ["bn.weight", f32([2], [1, 2])],
      ["bn.bias", f32([2], [0, 1])],
      ["bn.running_mean", f32([2], [0.5, -0.5])],
      ["bn.running_var", f32([2], [4, 0.25])],
      ["bn.num_batches_tracked", { dtype: "i32", shape: [], data: Int32Array.from([1234]) }],
    ]);
    const { r, init } = await compiledInitializers(dir, model, "--weights", w);
    assert.deepEqual(warnings(r.err), []);
    assert.deepEqual(toNumbers(init.get("bn.running_var")!), [4, 0.25]);
    const counter = init.get("bn.num_batches_tracked");
    // The eval graph may not need the counter; when it is emitted it holds the loaded value.
    if (counter) assert.deepEqual(toNumbers(counter), [1234]);
  }),
);

Deno.test(
  "transfer.dlm loads a saved ResNet-18 backbone: fc.* unused, head.* missing, backbone loaded",
  withTemp(async (dir) => {
    const w = `${dir}/resnet18.safetensors`;
    const c = await dlm(
      "compile",
      example("resnet18.dlm"),
      "--set",
      "size=32",
      "--set",
      "classes=10",
      "--seed",
      "1",
      "-o",
      `${dir}/r.onnx`,
      "--save-weights",
      w,
    );
    assert.equal(c.code, 0, c.err);
    const saved = readSafetensors(Deno.readFileSync(w)).tensors;
    assert.equal([...saved.keys()][0], "conv1.weight");
    assert.deepEqual(saved.get("fc.weight")!.shape, [10, 512]);

    // Seed 0 here, seed 1 for the backbone: equal values can only come from the file.
    const { r, init } = await compiledInitializers(
      dir,
      example("transfer.dlm"),
      "--set",
      "size=32",
      "--weights",
      w,
    );
    const ws = warnings(r.err);
    assert.equal(ws.length, 2, r.err);
    assert.match(
      ws.join("\n"),
      /^warning DLM0407: 2 tensors in .* match no parameter: fc\.weight, fc\.bias$/m,
    );
    assert.match(
      ws.join("\n"),
      /^warning DLM0404: 2 parameters not in .* keep their initial values: head\.weight, head\.bias$/m,
    );
    for (
      const name of [
        "conv1.weight",
        "layer1.0.conv1.weight",
        "layer4.1.bn2.running_var",
        "layer2.0.downsample.0.weight",
      ]
    ) {
      assert.deepEqual(init.get(name)!.data, saved.get(name)!.data, name);
    }
    const { init: fresh } = await compiledInitializers(
      dir,
      example("transfer.dlm"),
      "--set",
      "size=32",
    );
    assert.notDeepEqual(fresh.get("conv1.weight")!.data, saved.get("conv1.weight")!.data);
    assert.deepEqual(init.get("head.weight")!.data, fresh.get("head.weight")!.data);
    assert.deepEqual(init.get("head.weight")!.shape, [5, 512]);
  }),
);

Deno.test("params --json of transfer.dlm marks the backbone frozen and the head trainable", async () => {
  const r = await dlm("params", example("transfer.dlm"), "--set", "size=32", "--json");
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.model, "Transfer");
  type Row = { name: string; frozen: boolean; kind: string; count: number };
  const rows: Row[] = j.params;
  assert.equal(rows[0].name, "conv1.weight");
  assert.deepEqual(rows.slice(-2).map((p) => p.name), ["head.weight", "head.bias"]);
  for (const p of rows) {
    assert.equal(p.frozen, !p.name.startsWith("head."), p.name);
  }
  assert.ok(!rows.some((p) => p.name.startsWith("fc.")));
  const sum = (f: (p: Row) => boolean) => rows.filter(f).reduce((s, p) => s + p.count, 0);
  assert.equal(j.totals.trainable, 512 * 5 + 5);
  assert.equal(j.totals.trainable, sum((p) => p.kind === "parameter" && !p.frozen));
  assert.equal(j.totals.frozen, sum((p) => p.kind === "parameter" && p.frozen));
  // ResNet-18 without its fc layer: 11,689,512 - (512 * 1000 + 1000).
  assert.equal(j.totals.frozen, 11_176_512);
  assert.equal(j.totals.parameters, j.totals.trainable + j.totals.frozen);
  assert.equal(j.totals.buffers, sum((p) => p.kind === "buffer"));
});

Deno.test("the params table marks frozen rows", async () => {
  const r = await dlm("params", example("transfer.dlm"), "--set", "size=32");
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^conv1\.weight\s+weight \(frozen\)\s+\[64, 3, 7, 7\]\s+f32\s+9,408$/m);
  assert.match(r.out, /^head\.weight\s+weight\s+\[5, 512\]\s+f32\s+2,560$/m);
  assert.match(
    r.out,
    /^total: 11,179,077 parameters \(2,565 trainable, 11,176,512 frozen\), [\d,]+ buffer elements$/m,
  );
});

// ============================================================ ONNX models as weights files

const MLP_PARAMS = ["fc0.weight", "fc0.bias", "fc1.weight", "fc1.bias", "out.weight", "out.bias"];

/** Compile mlp.dlm (graph passes on, as a user would) and return the ONNX file's path. */
async function compileTo(file: string, ...argv: string[]): Promise<string> {
  const r = await dlm("compile", MLP, ...argv, "-o", file);
  assert.equal(r.code, 0, r.err);
  return file;
}

/** Rewrite an ONNX file's initializer names (and the node inputs that use them). */
function renameInitializers(file: string, out: string, to: (name: string) => string): string {
  const m = onnx.ModelProto.decode(Deno.readFileSync(file));
  for (const t of m.graph.initializer) t.name = to(t.name);
  for (const n of m.graph.node) n.input = n.input.map((i: string) => i && to(i));
  for (const i of m.graph.input) i.name = to(i.name);
  Deno.writeFileSync(out, onnx.ModelProto.encode(m).finish());
  return out;
}

Deno.test(
  "--weights takes an ONNX model dlm compiled: its seed-1 initializers replace a seed-2 model's",
  withTemp(async (dir) => {
    const a = await compileTo(`${dir}/seed1.onnx`, "--model", "MLP", "--seed", "1");
    const source = decodeModel(Deno.readFileSync(a)).graph.initializers;
    const { r, init } = await compiledInitializers(
      dir,
      MLP,
      "--model",
      "MLP",
      "--seed",
      "2",
      "--weights",
      a,
    );
    assert.deepEqual(warnings(r.err), []);
    const { init: seed2 } = await compiledInitializers(dir, MLP, "--model", "MLP", "--seed", "2");
    for (const name of MLP_PARAMS) {
      assert.deepEqual(init.get(name)!.shape, source.get(name)!.shape, name);
      assert.deepEqual(init.get(name)!.data, source.get(name)!.data, name);
      assert.notDeepEqual(seed2.get(name)!.data, source.get(name)!.data, name);
    }
  }),
);

Deno.test(
  "an ONNX weights file with external data loads it from beside the file",
  withTemp(async (dir) => {
    Deno.mkdirSync(`${dir}/ext`);
    const a = await compileTo(
      `${dir}/ext/m.onnx`,
      "--model",
      "MLP",
      "--seed",
      "1",
      "--external-data",
    );
    assert.ok(exists(`${dir}/ext/m.onnx.data`));
    const { init: seed1 } = await compiledInitializers(dir, MLP, "--model", "MLP", "--seed", "1");
    const { r, init } = await compiledInitializers(dir, MLP, "--model", "MLP", "--weights", a);
    assert.deepEqual(warnings(r.err), []);
    for (const name of MLP_PARAMS) assert.deepEqual(init.get(name)!.data, seed1.get(name)!.data);
    // Without its data file the model cannot give its tensors: DLM0401 naming the data file.
    Deno.removeSync(`${dir}/ext/m.onnx.data`);
    const bad = await dlm("compile", MLP, "--model", "MLP", "--weights", a, "-o", `${dir}/o.onnx`);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /error DLM0401: Cannot read external data '.*ext\/m\.onnx\.data' /);
  }),
);

Deno.test(
  "--weights-map renames an ONNX model's initializers (torch-style onnx::Gemm_N and prefixed names)",
  withTemp(async (dir) => {
    const a = await compileTo(`${dir}/seed1.onnx`, "--model", "MLP", "--seed", "1");
    const torchNames: Record<string, string> = {
      "out.weight": "onnx::Gemm_101",
      "out.bias": "onnx::Gemm_102",
    };
    const b = renameInitializers(a, `${dir}/exported.onnx`, (n) => torchNames[n] ?? `net.${n}`);
    const names = [...decodeModel(Deno.readFileSync(b)).graph.initializers.keys()];
    assert.ok(names.includes("onnx::Gemm_101") && names.includes("net.fc0.weight"), names.join());
    const source = decodeModel(Deno.readFileSync(a)).graph.initializers;

    // Without the map nothing matches: every tensor unused, every parameter missing.
    const plain = await compiledInitializers(dir, MLP, "--model", "MLP", "--weights", b);
    assert.match(
      warnings(plain.r.err).join("\n"),
      /warning DLM0407: 6 tensors in .*exported\.onnx match no parameter: /,
    );

    const map = `${dir}/map.json`;
    Deno.writeTextFileSync(
      map,
      JSON.stringify({
        "net\\.(.*)": "$1",
        "onnx::Gemm_101": "out.weight",
        "onnx::Gemm_102": "out.bias",
      }),
    );
    const { r, init } = await compiledInitializers(
      dir,
      MLP,
      "--model",
      "MLP",
      "--weights",
      b,
      "--weights-map",
      map,
    );
    assert.deepEqual(warnings(r.err), []);
    for (const name of MLP_PARAMS) assert.deepEqual(init.get(name)!.data, source.get(name)!.data);
  }),
);

Deno.test(
  "a shape mismatch from an ONNX weights file is DLM0403 naming the file, tensor, parameter and both shapes",
  withTemp(async (dir) => {
    const a = await compileTo(`${dir}/wide.onnx`, "--set", "features=5");
    const r = await dlm("compile", MLP, "--weights", a, "-o", `${dir}/o.onnx`);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      new RegExp(
        `^error DLM0403: Weight 'fc\\.weight' in ${escape(a)} is f32\\[1, 5\\] ` +
          `but parameter 'fc\\.weight' is f32\\[1, 4\\]$`,
        "m",
      ),
    );
    assert.ok(!exists(`${dir}/o.onnx`));
  }),
);

Deno.test(
  "the format of a weights file is told by its content, not its name",
  withTemp(async (dir) => {
    const st = save(`${dir}/st.onnx`, [["fc.weight", f32([1, 4], W)], ["fc.bias", f32([1], B)]]);
    assert.deepEqual(toNumbers(readWeightsFile(st).get("fc.weight")!), W);
    const model = await compileTo(`${dir}/m.onnx`, "--seed", "1");
    Deno.copyFileSync(model, `${dir}/m.bin`);
    const fromOnnx = readWeightsFile(`${dir}/m.bin`);
    assert.deepEqual(
      fromOnnx.get("fc.weight")!.data,
      decodeModel(Deno.readFileSync(model)).graph.initializers.get("fc.weight")!.data,
    );
  }),
);

// ============================================================ several weights files

Deno.test(
  "several --weights files load in order: the later file overrides the earlier one",
  withTemp(async (dir) => {
    const base = save(`${dir}/base.safetensors`, [
      ["fc.weight", f32([1, 4], W)],
      ["fc.bias", f32([1], B)],
    ]);
    const adapter = await compileTo(`${dir}/adapter.onnx`, "--seed", "1");
    const seed1 = decodeModel(Deno.readFileSync(adapter)).graph.initializers;
    const one = await compiledInitializers(dir, MLP, "--weights", base, "--weights", adapter);
    assert.deepEqual(warnings(one.r.err), []);
    assert.deepEqual(one.init.get("fc.weight")!.data, seed1.get("fc.weight")!.data);
    assert.deepEqual(one.init.get("fc.bias")!.data, seed1.get("fc.bias")!.data);
    const other = await compiledInitializers(dir, MLP, "--weights", adapter, "--weights", base);
    assert.deepEqual(warnings(other.r.err), []);
    assert.deepEqual(toNumbers(other.init.get("fc.weight")!), W);
    assert.deepEqual(toNumbers(other.init.get("fc.bias")!), B);
    // Only what the later file has is overridden.
    const bias = save(`${dir}/bias.safetensors`, [["fc.bias", f32([1], [0.25])]]);
    const partial = await compiledInitializers(dir, MLP, "--weights", base, "--weights", bias);
    assert.deepEqual(warnings(partial.r.err), []);
    assert.deepEqual(toNumbers(partial.init.get("fc.weight")!), W);
    assert.deepEqual(toNumbers(partial.init.get("fc.bias")!), [0.25]);
  }),
);

Deno.test(
  "with several files a parameter is missing only if no file has it; unused tensors are per file",
  withTemp(async (dir) => {
    const w = save(`${dir}/w.safetensors`, [["fc.weight", f32([1, 4], W)], [
      "w.extra",
      f32([1], [1]),
    ]]);
    const b = save(`${dir}/b.safetensors`, [["fc.bias", f32([1], B)], ["b.extra", f32([1], [2])]]);
    const both = await compiledInitializers(dir, MLP, "--weights", w, "--weights", b);
    assert.deepEqual(warnings(both.r.err), [
      `warning DLM0407: 1 tensor in ${w} match no parameter: w.extra`,
      `warning DLM0407: 1 tensor in ${b} match no parameter: b.extra`,
    ]);
    assert.deepEqual(toNumbers(both.init.get("fc.weight")!), W);
    assert.deepEqual(toNumbers(both.init.get("fc.bias")!), B);

    const e = save(`${dir}/e.safetensors`, [["fc.weight", f32([1, 4], [1, 2, 3, 4])]]);
    const none = await compiledInitializers(dir, MLP, "--weights", w, "--weights", e);
    assert.match(
      warnings(none.r.err).join("\n"),
      new RegExp(
        `^warning DLM0404: 1 parameter not in any of ${escape(w)}, ${
          escape(e)
        } keeps? (its|their) initial values?: fc\\.bias$`,
        "m",
      ),
    );
    assert.deepEqual(toNumbers(none.init.get("fc.weight")!), [1, 2, 3, 4]);
  }),
);

Deno.test("loadWeights takes a list of files and reports each parameter loaded once", () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_weights_test_" });
  try {
    const a = save(`${dir}/a.safetensors`, [["fc.weight", f32([1, 4], W)], [
      "fc.bias",
      f32([1], B),
    ]]);
    const b = save(`${dir}/b.safetensors`, [["fc.bias", f32([1], [4])]]);
    const g = buildGraph(MLP, { passes: false }).graph;
    const r = loadWeights(g, [a, b]);
    assert.equal(r.loaded, 2);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(toNumbers(g.initializers.get("fc.bias")!), [4]);
    // A single path works as before.
    const g1 = buildGraph(MLP, { passes: false }).graph;
    const r1 = loadWeights(g1, b);
    assert.equal(r1.loaded, 1);
    assert.deepEqual(r1.warnings.map((d) => d.code), ["DLM0404"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
