/**
 * The dlm command line as a user drives it: every command's happy path on
 * small models. Most tests call `main()` in-process with a capturing io (fast);
 * a few spawn `deno run -A cli/main.ts` to check the real exit code and that
 * nothing resembling a stack trace reaches the terminal.
 */
import assert from "node:assert/strict";
import { COMMANDS } from "../cli/commands/mod.ts";
import { OPSET_RANGE } from "../cli/command.ts";
import { SUPPORTED_OPSETS } from "../compiler/ops/mod.ts";
import { decodeModel } from "../compiler/onnx/decode.ts";
import { parseXml } from "../compiler/viz/xml_wellformed.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { readNpy, readSafetensors, writeNpy, writeSafetensors } from "../runtime/formats/mod.ts";
import { readEntry } from "../runtime/ort/cache.ts";
import { CACHE_MIN_NODES } from "../runtime/ort/node.ts";
import { dlm as dlmInProcess } from "./cli_testing.ts";

const ROOT = new URL("../", import.meta.url);
const path = (u: URL) => decodeURIComponent(u.pathname);
const example = (name: string) => path(new URL(`lang-examples/${name}`, ROOT));
const LENET = example("lenet5.dlm");
const MLP = example("mlp.dlm");

interface Result {
  code: number;
  out: string;
  err: string;
}

/** Run `deno run -A cli/main.ts ...` from the repository root, as a user would. */
async function spawnDlm(...argv: string[]): Promise<Result> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", ...argv],
    cwd: path(ROOT),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

const STACK = /^\s+at .*(:\d+:\d+\)?|<anonymous>|native)$/m;

function assertNoStackTrace(r: Result): void {
  assert.doesNotMatch(r.out + r.err, STACK, "a stack trace reached the user");
  assert.doesNotMatch(r.out + r.err, /internal error/i);
}

function withTemp(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "dlm_cli_test_" });
    try {
      await fn(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

/** A deterministic f32 tensor with values in [-1, 1). */
function sample(shape: number[], seed = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = s / 1073741824 - 1;
  }
  return { dtype: "f32", shape, data };
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  assert.equal(a.dtype, b.dtype);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) {
    m = Math.max(m, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  }
  return m;
}

const readTensor = (file: string) => readNpy(Deno.readFileSync(file), file);

// ---------------------------------------------------------------- compile

Deno.test(
  "compile writes an ONNX model that decodes, and the same input gives the same bytes twice",
  withTemp(async (dir) => {
    const a = await dlm("compile", LENET, "-o", `${dir}/a.onnx`);
    assert.equal(a.code, 0, a.err);
    assert.match(a.err, /^wrote .*a\.onnx: \d+ nodes, 61,706 parameter elements, opset 17$/m);
    const b = await dlm("compile", LENET, "-o", `${dir}/b.onnx`);
    assert.equal(b.code, 0, b.err);
    const bytesA = Deno.readFileSync(`${dir}/a.onnx`), bytesB = Deno.readFileSync(`${dir}/b.onnx`);
    assert.deepEqual(bytesA, bytesB);
    const decoded = decodeModel(bytesA, { file: "a.onnx" });
    assert.equal(decoded.opset, 17);
    assert.deepEqual(decoded.graph.inputs.map((i) => i.name), ["image"]);
    assert.deepEqual(decoded.graph.outputs.map((o) => o.name), ["logits"]);
    // Nothing but the model: no temp files left beside it.
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a.onnx", "b.onnx"]);
  }),
);

Deno.test(
  "compile --opset 18 writes an opset-18 model that onnxruntime runs like the opset-17 one",
  withTemp(async (dir) => {
    const x = `${dir}/image.npy`;
    Deno.writeFileSync(x, writeNpy(sample([2, 1, 32, 32])));
    for (const opset of ["17", "18"]) {
      const c = await dlm("compile", LENET, "-o", `${dir}/m${opset}.onnx`, "--opset", opset);
      assert.equal(c.code, 0, c.err);
      assert.match(c.err, new RegExp(`opset ${opset}$`, "m"));
      assert.equal(decodeModel(Deno.readFileSync(`${dir}/m${opset}.onnx`)).opset, Number(opset));
      const r = await dlm(
        "run",
        `${dir}/m${opset}.onnx`,
        "--input",
        `image=${x}`,
        "--out",
        `${dir}/o${opset}`,
      );
      assert.equal(r.code, 0, r.err);
    }
    const d = maxAbsDiff(readTensor(`${dir}/o17/logits.npy`), readTensor(`${dir}/o18/logits.npy`));
    assert.ok(d < 1e-6, `opset 17 and 18 outputs differ by ${d}`);
  }),
);

Deno.test(
  "compile --save-weights then run --weights reproduces the outputs of the saved weights",
  withTemp(async (dir) => {
    const x = `${dir}/image.npy`;
    Deno.writeFileSync(x, writeNpy(sample([3, 1, 32, 32])));
    const c = await dlm(
      "compile",
      LENET,
      "--seed",
      "1",
      "-o",
      `${dir}/m.onnx`,
      "--save-weights",
      `${dir}/w.safetensors`,
    );
    assert.equal(c.code, 0, c.err);
    assert.ok(Deno.statSync(`${dir}/w.safetensors`).size > 61_706 * 4);
    // Seed 1 initialises the weights that were saved; seed 7 would initialise others,
    // so equal outputs under seed 7 prove the weights came from the file.
    const own = await dlm(
      "run",
      LENET,
      "--seed",
      "1",
      "--input",
      `image=${x}`,
      "--out",
      `${dir}/own`,
    );
    const loaded = await dlm(
      "run",
      LENET,
      "--seed",
      "7",
      "--weights",
      `${dir}/w.safetensors`,
      "--input",
      `image=${x}`,
      "--out",
      `${dir}/loaded`,
    );
    const other = await dlm(
      "run",
      LENET,
      "--seed",
      "7",
      "--input",
      `image=${x}`,
      "--out",
      `${dir}/other`,
    );
    const onnx = await dlm("run", `${dir}/m.onnx`, "--input", `image=${x}`, "--out", `${dir}/onnx`);
    for (const r of [own, loaded, other, onnx]) assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(loaded.err, /DLM04/, "every weight should load, with no warning");
    const bytes = (d: string) => Deno.readFileSync(`${dir}/${d}/logits.npy`);
    assert.deepEqual(bytes("loaded"), bytes("own"));
    assert.notDeepEqual(bytes("other"), bytes("own"));
    assert.ok(
      maxAbsDiff(readTensor(`${dir}/onnx/logits.npy`), readTensor(`${dir}/own/logits.npy`)) < 1e-6,
    );
  }),
);

Deno.test(
  "run with two --weights files (safetensors, then an ONNX model) uses the later file's weights",
  withTemp(async (dir) => {
    const x = `${dir}/x.npy`;
    Deno.writeFileSync(x, writeNpy(sample([2, 784], 3)));
    const mlp = ["--model", "MLP"];
    for (const seed of ["1", "2"]) {
      const c = await dlm(
        "compile",
        MLP,
        ...mlp,
        "--seed",
        seed,
        "-o",
        `${dir}/s${seed}.onnx`,
        "--save-weights",
        `${dir}/s${seed}.safetensors`,
      );
      assert.equal(c.code, 0, c.err);
    }
    const run = async (out: string, ...argv: string[]) => {
      const r = await dlm(
        "run",
        MLP,
        ...mlp,
        ...argv,
        "--input",
        `x=${x}`,
        "--out",
        `${dir}/${out}`,
        "--backend",
        "reference",
      );
      assert.equal(r.code, 0, r.err);
      assert.doesNotMatch(r.err, /DLM04/, "every weight should load, with no warning");
      return Deno.readFileSync(`${dir}/${out}/logits.npy`);
    };
    const seed1 = await run("seed1", "--seed", "1");
    const seed2 = await run("seed2", "--seed", "2");
    assert.notDeepEqual(seed1, seed2);
    const w = (n: string, ext: string) => ["--weights", `${dir}/s${n}.${ext}`];
    assert.deepEqual(
      await run("a", "--seed", "7", ...w("1", "safetensors"), ...w("2", "onnx")),
      seed2,
    );
    assert.deepEqual(
      await run("b", "--seed", "7", ...w("2", "onnx"), ...w("1", "safetensors")),
      seed1,
    );
    // One --weights file works as it always did.
    assert.deepEqual(await run("c", "--seed", "7", ...w("1", "onnx")), seed1);
  }),
);

// ---------------------------------------------------------------- params

Deno.test("params prints a table in definition order with LeNet-5's 61,706 parameters", async () => {
  const r = await dlm("params", LENET);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, "");
  const lines = r.out.split("\n");
  assert.match(lines[0], /^name\s+role\s+shape\s+dtype\s+count$/);
  assert.match(lines[1], /^conv2d_0\.weight\s+weight\s+\[6, 1, 5, 5\]\s+f32\s+150$/);
  assert.match(lines[2], /^conv2d_0\.bias\s+bias\s+\[6\]\s+f32\s+6$/);
  assert.match(lines.at(-2)!, /bias\s+\[10\]\s+f32\s+10$/);
  assert.equal(
    lines.at(-1),
    "total: 61,706 parameters (61,706 trainable, 0 frozen), 0 buffer elements",
  );
  assert.equal(lines.length, 1 + 10 + 1);
});

Deno.test("params --json lists names in definition order with shapes, roles and totals", async () => {
  const r = await dlm("params", MLP, "--model", "MLP", "--json");
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.model, "MLP");
  assert.deepEqual(
    j.params.map((p: { name: string }) => p.name),
    ["fc0.weight", "fc0.bias", "fc1.weight", "fc1.bias", "out.weight", "out.bias"],
  );
  assert.deepEqual(j.params[0], {
    name: "fc0.weight",
    shape: [256, 784],
    dtype: "f32",
    role: "weight",
    kind: "parameter",
    frozen: false,
    count: 200_704,
  });
  // 784*256 + 256 + 256*128 + 128 + 128*10 + 10
  assert.deepEqual(j.totals, { parameters: 235_146, trainable: 235_146, frozen: 0, buffers: 0 });
  const sum = j.params.reduce((s: number, p: { count: number }) => s + p.count, 0);
  assert.equal(sum, j.totals.parameters);
});

Deno.test("params --set changes the sizes it reports", async () => {
  const r = await dlm(
    "params",
    MLP,
    "--model",
    "MLP",
    "--set",
    "features=10",
    "--set",
    "classes=3",
    "--json",
  );
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.totals.parameters, 10 * 256 + 256 + 256 * 128 + 128 + 128 * 3 + 3);
});

Deno.test("params counts torchvision's 11,689,512 parameters for ResNet-18 and its batch-norm buffers", async () => {
  const r = await dlm("params", example("resnet18.dlm"), "--set", "size=32", "--json");
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.totals.parameters, 11_689_512);
  const names = j.params.map((p: { name: string }) => p.name);
  assert.deepEqual(names.slice(0, 6), [
    "conv1.weight",
    "bn1.weight",
    "bn1.bias",
    "bn1.running_mean",
    "bn1.running_var",
    "bn1.num_batches_tracked",
  ]);
  assert.deepEqual(names.slice(-2), ["fc.weight", "fc.bias"]);
  assert.ok(names.includes("layer2.0.downsample.0.weight"));
  const mean = j.params.find((p: { name: string }) => p.name === "bn1.running_mean");
  assert.equal(mean.kind, "buffer");
});

// ---------------------------------------------------------------- run

Deno.test(
  "run --input NAME=file.npy --out DIR writes NAME.npy per output and prints a summary",
  withTemp(async (dir) => {
    const x = `${dir}/x.npy`;
    Deno.writeFileSync(x, writeNpy(sample([2, 784])));
    const r = await dlm("run", MLP, "--model", "MLP", "--input", `x=${x}`, "--out", `${dir}/out`);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^logits\s+f32\[2, 10\]\s+min -?[\d.e-]+\s+max -?[\d.e-]+\s+mean -?[\d.e-]+$/m,
    );
    assert.match(r.out, /^probs\s+f32\[2, 10\]\s+min [\d.e-]+\s+max [\d.e-]+\s+mean 0\.1$/m);
    assert.match(r.err, /^ran on onnxruntime-node in [\d.]+ ms$/m);
    assert.deepEqual([...Deno.readDirSync(`${dir}/out`)].map((e) => e.name).sort(), [
      "logits.npy",
      "probs.npy",
    ]);
    const probs = readTensor(`${dir}/out/probs.npy`);
    assert.deepEqual(probs.shape, [2, 10]);
    for (let n = 0; n < 2; n++) {
      let s = 0;
      for (let k = 0; k < 10; k++) s += probs.data[n * 10 + k] as number;
      assert.ok(Math.abs(s - 1) < 1e-5, `softmax row ${n} sums to ${s}`);
    }
  }),
);

Deno.test("run without --input uses seeded random inputs: the same seed gives the same outputs", async () => {
  const a = await dlm("run", LENET, "--backend", "reference", "--dim", "N=2");
  const b = await dlm("run", LENET, "--backend", "reference", "--dim", "N=2");
  const c = await dlm("run", LENET, "--backend", "reference", "--dim", "N=2", "--seed", "3");
  for (const r of [a, b, c]) assert.equal(r.code, 0, r.err);
  assert.match(a.out, /^logits\s+f32\[2, 10\]/);
  assert.equal(a.out, b.out);
  assert.notEqual(a.out, c.out);
});

Deno.test(
  "run --backend reference and --backend web agree with the default node backend",
  withTemp(async (dir) => {
    const x = `${dir}/image.npy`;
    Deno.writeFileSync(x, writeNpy(sample([2, 1, 32, 32], 5)));
    const outs: Record<string, Tensor> = {};
    for (const backend of ["node", "web", "reference"]) {
      const r = await dlm(
        "run",
        LENET,
        "--backend",
        backend,
        "--input",
        `image=${x}`,
        "--out",
        `${dir}/${backend}`,
      );
      assert.equal(r.code, 0, r.err);
      const where = backend === "reference"
        ? "the reference interpreter"
        : `onnxruntime-${backend}`;
      assert.match(r.err, new RegExp(`ran on ${where} in`));
      outs[backend] = readTensor(`${dir}/${backend}/logits.npy`);
    }
    assert.ok(maxAbsDiff(outs.node, outs.web) < 1e-5);
    assert.ok(maxAbsDiff(outs.node, outs.reference) < 1e-5);
  }),
);

/**
 * A deep, narrow stack of linear layers and ReLUs (2 nodes a layer, about 10 in its training
 * step): enough nodes for the session cache, tiny weights, quick to load.
 */
function deepModel(dir: string, layers: number): string {
  const file = `${dir}/deep.dlm`;
  Deno.writeTextFileSync(
    file,
    `model Deep(layers: int = ${layers}) {
  input image: f32[N, 64]
  let h = image |> inp: linear(8)
  for i in 0..layers {
    h = h |> "fc\${i}": linear(8) |> relu
  }
  output logits: f32[N, 10] = h |> out: linear(10)
}

train Deep {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.01)
  epochs = 1
  batch_size = 64
}
`,
  );
  return file;
}

/**
 * Run `fn` with its `dlm run`/`dlm train` calls given `--cache-dir dir`. Not by setting
 * DLM_CACHE_DIR: the environment is the whole process's, which `deno test --parallel` shares
 * between test files, so a file training at the same time wrote its entries into this one's
 * cache (a step entry appeared after a `--no-cache` run).
 */
async function withCacheDir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  cacheDir = dir;
  try {
    return await fn();
  } finally {
    cacheDir = undefined;
  }
}

let cacheDir: string | undefined;

/** The in-process CLI, with `--cache-dir` inside `withCacheDir`. */
function dlm(...argv: string[]) {
  return dlmInProcess(...argv, ...(cacheDir ? ["--cache-dir", cacheDir] : []));
}

/** The cache entries under a DLM_CACHE_DIR, with the level each was optimised at. */
function cacheEntries(dir: string): { name: string; level: unknown }[] {
  let names: string[];
  try {
    names = [...Deno.readDirSync(`${dir}/onnxruntime`)].map((e) => e.name).sort();
  } catch {
    return [];
  }
  return names.map((name) => {
    const e = readEntry(Deno.readFileSync(`${dir}/onnxruntime/${name}`));
    assert.ok(!("miss" in e), `${name} is a whole entry`);
    return { name, level: (e.header.key as { options: { level: unknown } }).options.level };
  });
}

Deno.test(
  "a second dlm run of a big model loads onnxruntime's optimised model from the cache",
  withTemp(async (dir) => {
    const file = deepModel(dir, Math.ceil(CACHE_MIN_NODES / 2) + 5);
    const cache = `${dir}/cache`;
    await withCacheDir(cache, async () => {
      // --no-cache neither reads nor writes the cache.
      const off = await dlm("run", file, "--no-cache");
      assert.equal(off.code, 0, off.err);
      assert.match(off.err, /^ran on onnxruntime-node in [\d.]+ ms$/m);
      assert.deepEqual(cacheEntries(cache), []);
      const first = await dlm("run", file);
      assert.equal(first.code, 0, first.err);
      assert.match(
        first.err,
        /^ran on onnxruntime-node in [\d.]+ ms; the optimised model was cached$/m,
      );
      assert.deepEqual(cacheEntries(cache).map((e) => e.level), ["all"]);
      const second = await dlm("run", file);
      assert.equal(second.code, 0, second.err);
      assert.match(second.err, /; the optimised model came from the cache$/m);
      assert.equal(second.out, first.out);
      assert.equal(second.out, off.out);
      // Another level is another entry.
      const basic = await dlm("run", file, "--optimize", "basic");
      assert.match(basic.err, /; the optimised model was cached$/m);
      assert.deepEqual(cacheEntries(cache).map((e) => e.level).sort(), ["all", "basic"]);
    });
  }),
);

Deno.test("run and train reject an unknown --optimize level as a usage error", async () => {
  for (const args of [["run", MLP], ["train", MLP, "--data", "digits"]]) {
    const r = await dlm(...args, "--optimize", "fastest");
    assert.equal(r.code, 2, r.err);
    assert.match(
      r.err,
      /DLM0501.*--optimize needs one of disabled, basic, extended, all, got 'fastest'/,
    );
  }
});

Deno.test(
  "dlm train caches its step's session at the level --optimize gives, and --no-cache leaves the cache alone",
  withTemp(async (dir) => {
    const file = deepModel(dir, Math.ceil(CACHE_MIN_NODES / 8));
    const cache = `${dir}/cache`;
    await withCacheDir(cache, async () => {
      const off = await dlm("train", file, "--data", "digits", "--no-cache");
      assert.equal(off.code, 0, off.err);
      assert.deepEqual(cacheEntries(cache), []);
      const r = await dlm("train", file, "--data", "digits", "--optimize", "extended");
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(cacheEntries(cache).map((e) => e.level), ["extended"]);
      // The same training from the cache: the same loss.
      const again = await dlm("train", file, "--data", "digits", "--optimize", "extended");
      assert.equal(again.err, r.err);
      assert.equal(again.err, off.err);
    });
  }),
);

/** The compiled-step cache's entries under a cache directory: name, inode and use time. */
function stepEntries(dir: string): { name: string; ino: number | null; used: number }[] {
  try {
    return [...Deno.readDirSync(`${dir}/steps`)].map((e) => {
      const st = Deno.statSync(`${dir}/steps/${e.name}`);
      return { name: e.name, ino: st.ino, used: st.mtime!.getTime() };
    }).sort((a, b) => (a.name < b.name ? -1 : 1));
  } catch {
    return [];
  }
}

Deno.test(
  "a second dlm train of the same file takes its compiled step from the cache; a change, --weights or --no-cache does not",
  withTemp(async (dir) => {
    const file = deepModel(dir, 2);
    const cache = `${dir}/cache`;
    await withCacheDir(cache, async () => {
      const off = await dlm("train", file, "--data", "digits", "--no-cache");
      assert.equal(off.code, 0, off.err);
      assert.deepEqual(stepEntries(cache), []);
      const first = await dlm("train", file, "--data", "digits");
      assert.equal(first.code, 0, first.err);
      const [entry] = stepEntries(cache);
      assert.match(entry?.name ?? "", /^[0-9a-f]{64}\.step$/);
      // Back-date the entry: a hit refreshes its use time, and reads it in place (same inode).
      const old = new Date(Date.now() - 3600_000);
      Deno.utimeSync(`${cache}/steps/${entry.name}`, old, old);
      const second = await dlm("train", file, "--data", "digits");
      assert.equal(second.code, 0, second.err);
      assert.equal(second.err, first.err);
      assert.equal(second.err, off.err);
      const [hit] = stepEntries(cache);
      assert.equal(hit.ino, entry.ino);
      assert.ok(hit.used > old.getTime() + 1000, "the hit refreshed the entry's use time");
      // Another seed is another entry.
      const seeded = await dlm("train", file, "--data", "digits", "--seed", "3");
      assert.equal(seeded.code, 0, seeded.err);
      assert.equal(stepEntries(cache).length, 2);
      // The file changed (another learning rate): compiled again, not read from the old entry.
      Deno.writeTextFileSync(file, Deno.readTextFileSync(file).replace("lr: 0.01", "lr: 0.5"));
      const changed = await dlm("train", file, "--data", "digits");
      assert.equal(changed.code, 0, changed.err);
      assert.notEqual(changed.err, first.err);
      assert.equal(stepEntries(cache).length, 3);
      // --weights loads into the compiled graphs: no entry is read or written.
      const weights = `${dir}/w.safetensors`;
      assert.equal((await dlm("train", file, "--data", "digits", "--save", weights)).code, 0);
      // One tensor more than the model has: loading it says so (DLM0407), after compiling.
      const extra: [string, Tensor][] = [...readSafetensors(Deno.readFileSync(weights)).tensors];
      extra.push(["unused.weight", { dtype: "f32", shape: [1], data: new Float32Array(1) }]);
      Deno.writeFileSync(weights, writeSafetensors(extra));
      const before = stepEntries(cache);
      const loaded = await dlm("train", file, "--data", "digits", "--weights", weights);
      assert.equal(loaded.code, 0, loaded.err);
      assert.match(loaded.err, /DLM0407.*unused\.weight/);
      assert.deepEqual(stepEntries(cache), before);
    });
  }),
);

// ---------------------------------------------------------------- diff

Deno.test("diff exits 0 and prints one table row per output with the tolerances", async () => {
  const r = await dlm("diff", MLP, "--model", "MLP", "--dim", "N=2");
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split("\n");
  assert.match(lines[0], /^output\s+max abs err\s+max rel err\s+verdict$/);
  assert.match(r.out, /^logits\s+[\d.e+-]+\s+[\d.e+-]+\s+ok$/m);
  assert.match(r.out, /^probs\s+[\d.e+-]+\s+[\d.e+-]+\s+ok$/m);
  assert.match(
    r.out,
    /^tolerance rtol 0\.0001, atol 0\.00001; reference [\d.]+ ms, onnxruntime-node [\d.]+ ms$/m,
  );
});

Deno.test(
  "diff of an ONNX file dlm wrote also agrees",
  withTemp(async (dir) => {
    assert.equal((await dlm("compile", LENET, "-o", `${dir}/m.onnx`)).code, 0);
    const r = await dlm("diff", `${dir}/m.onnx`);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^logits\s.*\bok$/m);
  }),
);

// ---------------------------------------------------------------- graph

Deno.test("graph prints Graphviz DOT by default and --format dot says the same", async () => {
  const a = await dlm("graph", LENET);
  const b = await dlm("graph", LENET, "--format", "dot");
  assert.equal(a.code, 0, a.err);
  assert.equal(a.out, b.out);
  assert.match(a.out, /^digraph "LeNet5" \{/);
  assert.match(a.out, /\}\n?$/);
  assert.match(a.out, /label="Conv\\nconv2d_0/);
  assert.match(a.out, /label="image\\nf32\[N, 1, 32, 32\]/);
});

Deno.test(
  "graph --format svg -o FILE writes well-formed SVG and prints nothing",
  withTemp(async (dir) => {
    const r = await dlm("graph", LENET, "--format", "svg", "-o", `${dir}/g.svg`);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "");
    const text = Deno.readTextFileSync(`${dir}/g.svg`);
    const root = parseXml(text);
    assert.equal(root.name, "svg");
    assert.match(text, /<title>LeNet5<\/title>/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["g.svg"]);
  }),
);

// ---------------------------------------------------------------- check

Deno.test("check prints nothing and exits 0 on a good file", async () => {
  for (const f of ["lenet5.dlm", "mlp.dlm", "resnet18.dlm", "transfer.dlm"]) {
    const r = await dlm("check", example(f));
    assert.deepEqual(r, { code: 0, out: "", err: "" }, f);
  }
});

Deno.test("check checks train sections too, and reports each error once, with no follow-on errors", async () => {
  for (const f of ["mlp_digits.dlm", "lenet_digits.dlm", "gan.dlm", "lstm_digits.dlm"]) {
    assert.deepEqual(await dlm("check", example(f)), { code: 0, out: "", err: "" }, f);
  }
  const dir = Deno.makeTempDirSync();
  try {
    const file = `${dir}/bad_train.dlm`;
    Deno.writeTextFileSync(
      file,
      `model M {
  input image: f32[N, 64]
  output logits: f32[N, 10] = image |> fc: linear(10)
}
train M {
  input label: i64[N]
  loss = cross_entropy(logits, label, label_smoothing: 2)
  output accuracy = reduce_mean(cast(argmax(logits, axis: 1) == labels, "f32"))
  optimizer = sgd(lr: 0.1)
}
`,
    );
    const r = await dlm("check", file);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /bad_train\.dlm:7:39: error DLM0210: cross_entropy\(\) needs 0 <= label_smoothing <= 1/,
    );
    assert.match(
      r.err,
      /bad_train\.dlm:8:65: error DLM0101: Unknown name 'labels'; did you mean 'label'\?/,
    );
    assert.match(r.err, /^2 errors$/m);
    // An argument that failed is not reported again by the call it feeds (cast of the string "f32").
    assert.doesNotMatch(r.err, /cast\(\) expects/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("check resolves the names of a library of blocks, and checks a file of train sections", async () => {
  assert.deepEqual(await dlm("check", example("lib/transformer.dlm")), {
    code: 0,
    out: "",
    err: "",
  });
  const fixture = path(new URL("tests/fixtures/train/attention_models.dlm", ROOT));
  assert.deepEqual(await dlm("check", fixture), { code: 0, out: "", err: "" });
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/lib.dlm`, "block B(x) {\n  return x |> relu |> nosuch\n}\n");
    const r = await dlm("check", `${dir}/lib.dlm`);
    assert.equal(r.code, 1);
    assert.match(r.err, /lib\.dlm:2:23: error DLM0101: Unknown name 'nosuch'/);
    assert.doesNotMatch(r.err, /declares no model/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("check --model picks the second model of a file", async () => {
  const r = await dlm("check", MLP, "--model", "MLP");
  assert.deepEqual(r, { code: 0, out: "", err: "" });
});

// ---------------------------------------------------------------- help and usage

Deno.test("every command has --help and -h that print its usage and options and exit 0", async () => {
  for (const name of Object.keys(COMMANDS)) {
    for (const flag of ["--help", "-h"]) {
      const r = await dlm(name, flag);
      assert.equal(r.code, 0, `${name} ${flag}`);
      assert.equal(r.err, "");
      assert.match(r.out, new RegExp(`^usage: dlm ${name} `));
      assert.match(r.out, /^options:$/m);
      assert.match(r.out, /-h, --help\s+show this help/);
    }
  }
  assert.deepEqual(Object.keys(COMMANDS).sort(), [
    "check",
    "compile",
    "detect",
    "diff",
    "eval",
    "fmt",
    "generate",
    "graph",
    "lsp",
    "params",
    "probe",
    "run",
    "sample",
    "sweep",
    "tokenizer",
    "train",
  ]);
});

Deno.test("dlm --help lists every command; dlm with no command is a usage error", async () => {
  const help = await dlm("--help");
  assert.equal(help.code, 0);
  for (const name of Object.keys(COMMANDS)) {
    assert.match(help.out, new RegExp(`^  ${name}\\s`, "m"));
  }
  const none = await dlm();
  assert.equal(none.code, 2);
  assert.match(none.err, /^usage: dlm <command>/m);
  const version = await dlm("--version");
  assert.equal(version.code, 0);
  assert.match(version.out, /^dlm \d+\.\d+\.\d+/);
});

Deno.test("dlm --help lists each command's first paragraph; dlm CMD --help the whole summary", async () => {
  const help = await dlm("--help");
  const list = help.out.slice(help.out.indexOf("commands:\n") + 10, help.out.indexOf("\n\nRun"));
  for (const [name, c] of Object.entries(COMMANDS)) {
    const [first, ...more] = c.summary.split("\n\n");
    // The entry is the first paragraph, rewrapped under the summary column, and nothing more.
    const at = list.search(new RegExp(`^  ${name} `, "m"));
    const entry = list.slice(at).split(/\n(?= {2}\S)/)[0];
    assert.equal(entry.replace(/\s+/g, " ").trim(), `${name} ${first.replace(/\s+/g, " ")}`);
    assert.ok(entry.split("\n").every((l) => l.length <= 100), entry);
    for (const p of more) assert.ok(!help.out.includes(p.split("\n")[0]), `${name}: ${p}`);
    const own = await dlm(name, "--help");
    assert.ok(own.out.includes(c.summary), name);
  }
  // generate's and sweep's details are in their own help only.
  assert.ok(COMMANDS.generate.summary.includes("\n\n") && COMMANDS.sweep.summary.includes("\n\n"));
  assert.doesNotMatch(help.out, /KV-cache step model when its inputs named past/);
  assert.match((await dlm("generate", "--help")).out, /KV-cache step model when its inputs/);
});

Deno.test("an unknown command exits 2 and names it", async () => {
  const r = await dlm("compiel", LENET);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown command 'compiel'/);
  assert.equal(r.out, "");
});

Deno.test("an unknown option exits 2, names it and shows the command's usage", async () => {
  const r = await dlm("compile", LENET, "-o", "/nonexistent/x.onnx", "--optimise");
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown option '--optimise'/);
  assert.match(r.err, /^usage: dlm compile /m);
  const short = await dlm("params", LENET, "-x");
  assert.equal(short.code, 2);
  assert.match(short.err, /unknown option '-x'/);
});

Deno.test("an option without its value or with a non-number value exits 2", async () => {
  const a = await dlm("compile", LENET, "-o");
  assert.equal(a.code, 2);
  assert.match(a.err, /'--out' needs a value/);
  const b = await dlm("run", LENET, "--seed", "abc");
  assert.equal(b.code, 2);
  assert.match(b.err, /'--seed' needs an integer from 0 to 4294967295, got 'abc'/);
  const c = await dlm("check", LENET, "--mode", "infer");
  assert.equal(c.code, 2);
  assert.match(c.err, /--mode must be eval or train, got 'infer'/);
  const d = await dlm("graph", LENET, "--format", "png");
  assert.equal(d.code, 2);
  assert.match(d.err, /--format must be dot or svg, got 'png'/);
});

// ---------------------------------------------------------------- as a subprocess

Deno.test(
  "as a subprocess, a good compile exits 0 and a bad file exits 1 without a stack trace",
  withTemp(async (dir) => {
    const ok = await spawnDlm("compile", "lang-examples/mlp.dlm", "-o", `${dir}/m.onnx`);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.err, /wrote .*m\.onnx/);
    Deno.writeTextFileSync(
      `${dir}/bad.dlm`,
      "model M {\n  input x: f32[N, 4]\n  output y = x |> linaer(3)\n}\n",
    );
    const bad = await spawnDlm("compile", `${dir}/bad.dlm`, "-o", `${dir}/bad.onnx`);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /bad\.dlm:3:19: error DLM0101: /);
    assertNoStackTrace(bad);
    assert.throws(() => Deno.statSync(`${dir}/bad.onnx`), Deno.errors.NotFound);
  }),
);

Deno.test("as a subprocess, usage errors exit 2 without a stack trace", async () => {
  for (
    const argv of [[], ["frobnicate"], ["compile", "lang-examples/mlp.dlm"], ["run", "--backend"]]
  ) {
    const r = await spawnDlm(...argv);
    assert.equal(r.code, 2, argv.join(" "));
    assertNoStackTrace(r);
  }
});

Deno.test(
  "as a subprocess, a --weights file that is neither safetensors nor ONNX exits 1 with a clear error",
  withTemp(async (dir) => {
    const bad = `${dir}/weights.bin`;
    Deno.writeTextFileSync(bad, "fc.weight,fc.bias\n0.5,0.25\n");
    for (const argv of [["compile", "-o", `${dir}/m.onnx`], ["run"]]) {
      const r = await spawnDlm(
        argv[0],
        "lang-examples/mlp.dlm",
        ...argv.slice(1),
        "--weights",
        bad,
      );
      assert.equal(r.code, 1, argv[0]);
      assert.match(
        r.err,
        new RegExp(
          `^error DLM0402: Invalid weights file '${
            bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
          }': it is neither safetensors .* nor an ONNX model$`,
          "m",
        ),
      );
      assertNoStackTrace(r);
    }
    assert.throws(() => Deno.statSync(`${dir}/m.onnx`), Deno.errors.NotFound);
  }),
);

Deno.test("compile --train --pack-params writes a packed step that dlm train runs, saving parameters by name", async () => {
  const dir = Deno.makeTempDirSync();
  const file = example("lenet_digits.dlm");
  const step = await dlm(
    "compile",
    file,
    "--train",
    "--pack-params",
    "-o",
    `${dir}/step.onnx`,
    "--save-weights",
    `${dir}/init.safetensors`,
  );
  assert.equal(step.code, 0, step.err);
  const ev = await dlm("compile", file, "--eval", "-o", `${dir}/eval.onnx`);
  assert.equal(ev.code, 0, ev.err);
  const { graph } = decodeModel(Deno.readFileSync(`${dir}/step.onnx`));
  assert.ok(graph.packs?.length, "the layout is in the model's metadata");
  assert.ok(graph.inputs.some((i) => i.name === "pack:0"));
  assert.ok(!graph.inputs.some((i) => i.name === "conv1.weight"));
  // The initial state is saved under the parameters' own names.
  const init = readSafetensors(Deno.readFileSync(`${dir}/init.safetensors`)).tensors;
  assert.ok(init.has("conv1.weight") && !init.has("pack:0"));

  const r = await dlm(
    "train",
    `${dir}/step.onnx`,
    "--eval",
    `${dir}/eval.onnx`,
    "--weights",
    `${dir}/init.safetensors`,
    "--data",
    "digits",
    "--epochs",
    "1",
    "--val-split",
    "0.2",
    "--out",
    `${dir}/run`,
    "--save",
    `${dir}/trained.safetensors`,
  );
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /val_accuracy/);
  const trained = readSafetensors(Deno.readFileSync(`${dir}/trained.safetensors`)).tensors;
  assert.deepEqual(trained.get("conv1.weight")!.shape, [16, 1, 3, 3]);
  assert.ok(!trained.has("pack:0"));
  // The checkpoint keeps optimiser state per parameter too, so it resumes packed or not.
  const ckpt = readSafetensors(Deno.readFileSync(`${dir}/run/checkpoint.safetensors`)).tensors;
  assert.ok(ckpt.has("opt:m:fc1.weight") && !ckpt.has("opt:m:pack:0"));

  const zero = await dlm("train", file, "--data", "digits", "--steps-per-run", "0");
  assert.equal(zero.code, 2);
  assert.match(zero.err, /'--steps-per-run' needs an integer >= 1, got '0'/);

  const bad = await dlm("compile", file, "--eval", "--pack-params", "-o", `${dir}/x.onnx`);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--pack-params needs --train \(it applies to the training-step model\)/);
});

Deno.test("a weight read at its centre tap only trains there: dlm train, compile --train and their files keep it whole", async () => {
  const dir = Deno.makeTempDirSync();
  const file = `${dir}/taps.dlm`;
  // 8x8 digits down to a 1x1 map, where c4 (3x3, padded by 1) reads its centre tap alone.
  Deno.writeTextFileSync(
    file,
    `model M {
  input image: f32[N, 64]
  output logits: f32[N, 10] = image |> reshape((-1, 1, 8, 8))
    |> c1: conv2d(8, kernel: 3, stride: 2, pad: 1) |> relu
    |> c2: conv2d(8, kernel: 3, stride: 2, pad: 1) |> relu
    |> c3: conv2d(16, kernel: 3, stride: 2, pad: 1) |> relu
    |> c4: conv2d(16, kernel: 3, pad: 1) |> relu
    |> flatten |> fc: linear(10)
}
train M {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.05, momentum: 0.9)
  batch_size = 256
}`,
  );
  const step = await dlm(
    "compile",
    file,
    "--train",
    "--pack-params",
    "-o",
    `${dir}/step.onnx`,
    "--save-weights",
    `${dir}/init.safetensors`,
  );
  assert.equal(step.code, 0, step.err);
  const { graph } = decodeModel(Deno.readFileSync(`${dir}/step.onnx`));
  const member = graph.packs!.flatMap((p) => p.members).find((m) => m.param === "c4.weight");
  assert.deepEqual(member?.taps, [4]);
  // Its initial value goes to --save-weights, whole, like the other state's.
  assert.ok(!graph.initializers.has("c4.weight"));
  const init = readSafetensors(Deno.readFileSync(`${dir}/init.safetensors`)).tensors;
  const w0 = init.get("c4.weight")!;
  assert.deepEqual(w0.shape, [16, 16, 3, 3]);
  const moved = (w: Tensor) => {
    const at = new Set<number>();
    for (let i = 0; i < w.data.length; i++) if (w.data[i] !== w0.data[i]) at.add(i % 9);
    return [...at];
  };
  for (
    const args of [
      [file],
      [`${dir}/step.onnx`, "--weights", `${dir}/init.safetensors`],
    ]
  ) {
    const r = await dlm(
      "train",
      ...args,
      "--data",
      "digits",
      "--epochs",
      "1",
      "--out",
      `${dir}/run`,
      "--save",
      `${dir}/trained.safetensors`,
    );
    assert.equal(r.code, 0, r.err);
    // Trained at the centre; every other tap as it started, in the weights and the checkpoint.
    const trained = readSafetensors(Deno.readFileSync(`${dir}/trained.safetensors`)).tensors;
    assert.deepEqual(moved(trained.get("c4.weight")!), [4], args[0]);
    const ckpt = readSafetensors(Deno.readFileSync(`${dir}/run/checkpoint.safetensors`)).tensors;
    assert.deepEqual(moved(ckpt.get("c4.weight")!), [4], args[0]);
    const m = ckpt.get("opt:momentum:c4.weight")!;
    assert.deepEqual(m.shape, [16, 16, 3, 3]);
    assert.ok([...m.data].every((v, i) => v === 0 || i % 9 === 4));
  }
  // A resume of that checkpoint continues.
  const resumed = await dlm(
    "train",
    file,
    "--data",
    "digits",
    "--epochs",
    "2",
    "--resume",
    `${dir}/run/checkpoint.safetensors`,
  );
  assert.equal(resumed.code, 0, resumed.err);
});

Deno.test("dlm train saves num_batches_tracked as PyTorch counts it, and a resumed run continues the count", async () => {
  const dir = Deno.makeTempDirSync();
  const file = `${dir}/bn.dlm`;
  // `c` is one batch norm applied twice per forward: two batches tracked per step.
  Deno.writeTextFileSync(
    file,
    `model M {
  input image: f32[N, 64]
  freeze a
  let c = c: batch_norm
  output logits: f32[N, 10] = image |> reshape((-1, 4, 4, 4))
    |> conv1: conv2d(4, kernel: 3, pad: 1) |> a: batch_norm |> relu
    |> conv2: conv2d(4, kernel: 3, pad: 1) |> c |> relu |> c
    |> flatten |> fc: linear(10)
}
train M {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.05)
  batch_size = 256
}`,
  );
  const counters = (path: string) => {
    const t = readSafetensors(Deno.readFileSync(path)).tensors;
    return ["a", "c"].map((l) => {
      const n = t.get(`${l}.num_batches_tracked`)!;
      assert.deepEqual([n.dtype, n.shape], ["i64", []]);
      return Number(n.data[0]);
    });
  };
  // The digits are 1797 samples: 8 batches of 256 (the last smaller) per epoch.
  const first = await dlm(
    "train",
    file,
    "--data",
    "digits",
    "--out",
    `${dir}/run`,
    "--save",
    `${dir}/one.safetensors`,
  );
  assert.equal(first.code, 0, first.err);
  assert.deepEqual(counters(`${dir}/one.safetensors`), [8, 16]);
  assert.deepEqual(counters(`${dir}/run/checkpoint.safetensors`), [8, 16]);
  const resumed = await dlm(
    "train",
    file,
    "--data",
    "digits",
    "--epochs",
    "2",
    "--resume",
    `${dir}/run/checkpoint.safetensors`,
    "--save",
    `${dir}/two.safetensors`,
  );
  assert.equal(resumed.code, 0, resumed.err);
  assert.deepEqual(counters(`${dir}/two.safetensors`), [16, 32]);
  // Weights saved by one run start the next one's counters, as a PyTorch state dict would.
  const more = await dlm(
    "train",
    file,
    "--data",
    "digits",
    "--weights",
    `${dir}/two.safetensors`,
    "--save",
    `${dir}/three.safetensors`,
  );
  assert.equal(more.code, 0, more.err);
  assert.deepEqual(counters(`${dir}/three.safetensors`), [24, 48]);
});

// ---------------------------------------------------------------- the option table (issue 12)

Deno.test("every number option of every command declares its accepted range in the option table", () => {
  for (const [name, cmd] of Object.entries(COMMANDS)) {
    for (const [opt, spec] of Object.entries(cmd.options)) {
      if (spec.kind === "number") assert.ok(spec.range, `dlm ${name} --${opt} has no range`);
      else assert.equal(spec.range, undefined, `dlm ${name} --${opt} is no number`);
    }
  }
});

Deno.test("every option that names a file or folder a command writes is declared an output", () => {
  const writes = /^(out|save|save-weights|save-adapter|npy)$/;
  for (const [name, cmd] of Object.entries(COMMANDS)) {
    for (const [opt, spec] of Object.entries(cmd.options)) {
      assert.equal(!!spec.output, writes.test(opt), `dlm ${name} --${opt}`);
    }
  }
});

Deno.test("the --opset range is exactly the opsets the compiler emits", () => {
  const { min, max } = OPSET_RANGE;
  const range = Array.from({ length: max! - min! + 1 }, (_, i) => min! + i);
  assert.deepEqual(range, [...SUPPORTED_OPSETS]);
});

Deno.test("compile --train --explain-passes gives the step's size against the forward's; a packed batch-norm step trains by name", async () => {
  const dir = Deno.makeTempDirSync();
  const file = `${dir}/bn.dlm`;
  Deno.writeTextFileSync(
    file,
    `model BnDigits {
  input image: f32[N, 64]
  output logits: f32[N, 10] = image |> fc1: linear(32) |> bn: batch_norm |> relu |> fc2: linear(10)
}
train BnDigits {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.1)
}
`,
  );
  const step = await dlm(
    "compile",
    file,
    "--train",
    "--pack-params",
    "--explain-passes",
    "-o",
    `${dir}/step.onnx`,
    "--save-weights",
    `${dir}/init.safetensors`,
  );
  assert.equal(step.code, 0, step.err);
  const m = step.out.match(
    /forward BnDigits: (\d+) nodes; training step: (\d+) nodes \(([\d.]+)x\); evaluation model: \d+ nodes/,
  );
  assert.ok(m, step.out);
  const { graph } = decodeModel(Deno.readFileSync(`${dir}/step.onnx`));
  assert.equal(Number(m[2]), graph.nodes.length);
  assert.equal(Number(m[3]), Number((graph.nodes.length / Number(m[1])).toFixed(1)));
  assert.match(step.out, /training step by op: .*BatchNormalization \d/);
  assert.match(step.out, /converged after \d+ rounds/);
  // The running statistics are a pack of their own, saved by name.
  assert.ok(!graph.inputs.some((i) => i.name === "bn.running_mean"));
  const init = readSafetensors(Deno.readFileSync(`${dir}/init.safetensors`)).tensors;
  assert.ok(init.has("bn.running_mean") && init.has("bn.running_var"));
  const ev = await dlm("compile", file, "--eval", "-o", `${dir}/eval.onnx`);
  assert.equal(ev.code, 0, ev.err);
  const r = await dlm(
    "train",
    `${dir}/step.onnx`,
    "--eval",
    `${dir}/eval.onnx`,
    "--weights",
    `${dir}/init.safetensors`,
    "--data",
    "digits",
    "--epochs",
    "1",
    "--save",
    `${dir}/trained.safetensors`,
  );
  assert.equal(r.code, 0, r.err);
  const trained = readSafetensors(Deno.readFileSync(`${dir}/trained.safetensors`)).tensors;
  const mean = trained.get("bn.running_mean")!;
  assert.deepEqual(mean.shape, [32]);
  assert.ok([...mean.data as Float32Array].some((x) => x !== 0), "the running mean moved");
});

Deno.test("dlm train --resume of lenet_digits (dropout, a validation split, --seed 5) equals the uninterrupted run bit for bit", async () => {
  const dir = Deno.makeTempDirSync();
  const file = example("lenet_digits.dlm");
  const run = (...more: string[]) => dlm("train", file, "--data", "digits", ...more);
  const full = await run("--epochs", "3", "--seed", "5", "--save", `${dir}/full.safetensors`);
  assert.equal(full.code, 0, full.err);
  const first = await run("--epochs", "2", "--seed", "5", "--out", `${dir}/run`);
  assert.equal(first.code, 0, first.err);
  // Without --seed: the checkpoint's seed splits and shuffles the data as the first run did.
  const resumed = await run(
    "--epochs",
    "3",
    "--resume",
    `${dir}/run/checkpoint.safetensors`,
    "--save",
    `${dir}/resumed.safetensors`,
  );
  assert.equal(resumed.code, 0, resumed.err);
  const last = (r: { err: string }) => r.err.split("\n").find((l) => l.startsWith("trained"));
  assert.equal(last(resumed), last(full));
  assert.deepEqual(
    Deno.readFileSync(`${dir}/resumed.safetensors`),
    Deno.readFileSync(`${dir}/full.safetensors`),
  );
});

Deno.test("dlm train --drop-last: a model of a fixed batch size (--dim N=32) trains on full batches only", async () => {
  const dir = Deno.makeTempDirSync();
  const file = `${dir}/neighbours.dlm`;
  // A loss that compares neighbours in the batch, as one differentiable at any N.
  Deno.writeTextFileSync(
    file,
    `model M {
  input image: f32[N, 64]
  output y: f32[N, 4] = image |> fc: linear(4)
}
train M {
  loss = reduce_mean((y[1:] - y[:1]) ** 2)
  optimizer = sgd(lr: 0.1)
  val_split = 0.2
}
`,
  );
  const run = (...more: string[]) => dlm("train", file, "--data", "digits", "--no-cache", ...more);
  // 1438 training samples: the last batch of 32 has 30, which a model of N = 32 cannot take.
  const fixed = await run("--dim", "N=32");
  assert.equal(fixed.code, 1);
  assert.match(
    fixed.err,
    /DLM0423.*the last of 1438 samples.*leave the last batch out with --drop-last/,
  );
  assertNoStackTrace(fixed);
  const dropped = await run("--dim", "N=32", "--drop-last");
  assert.equal(dropped.code, 0, dropped.err);
  assert.match(dropped.err, /trained 1 epoch: loss [\d.]+, val_loss [\d.]+/);
  // dlm diff --train takes the model's batch size and never the smaller last batch.
  const diffed = await dlm("diff", file, "--train", "2", "--dim", "N=32", "--data", "digits");
  assert.equal(diffed.code, 0, diffed.err);
  assert.match(diffed.out + diffed.err, /2 of 2 steps, batch 32 \(data\)/);
  // The section's setting drop_last = true does what the flag does.
  Deno.writeTextFileSync(
    file,
    Deno.readTextFileSync(file).replace("val_split", "drop_last = true\n  val_split"),
  );
  assert.equal((await run("--dim", "N=32")).code, 0);
  // A symbolic N trains with or without it.
  assert.equal((await run("--drop-last")).code, 0);
  const none = await run("--drop-last", "--batch-size", "2000");
  assert.equal(none.code, 1);
  assert.match(
    none.err,
    /DLM0260: The training data has 1438 samples, fewer than one batch of 2000/,
  );
});

// ---------------------------------------------------------------- dlm sample

/** A tiny known "generator": every pixel of item i is scale * level[i]; `noise` is z itself. */
const TINY_GENERATOR = `model Tiny(scale: float = 0.25) {
  input z: f32[N, 4]
  input level: i64[N]
  output img: f32[N, 4] = z * 0.0 + scale * cast(unsqueeze(level, 1), "f32")
  output noise = z
}
`;

Deno.test(
  "sample writes a PNG grid: conditions set per row, noise drawn, values mapped from the range",
  withTemp(async (dir) => {
    const file = `${dir}/tiny.dlm`;
    Deno.writeTextFileSync(file, TINY_GENERATOR);
    const png = `${dir}/grid.png`;
    const r = await dlm(
      "sample",
      file,
      "-o",
      png,
      "--n",
      "4",
      "--nrow",
      "2",
      "--set",
      "level=0,1,2,4",
      "--range",
      "0,1",
      "--backend",
      "reference",
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /drawn from N\(0, 1\): z; set: level=0,1,2,4/);
    const { decodePng } = await import("../runtime/formats/png.ts");
    const img = decodePng(Deno.readFileSync(png));
    // Two 2x2 items a row, one pixel of border around each: 7 x 7.
    assert.deepEqual([img.width, img.height], [7, 7]);
    const px = (x: number, y: number) => img.rgba[(y * img.width + x) * 4];
    // Items 0..3 at (1,1), (4,1), (1,4), (4,4): 0, 0.25, 0.5, 1.0 (clipped) of 255.
    assert.deepEqual([px(1, 1), px(4, 1), px(2, 5), px(5, 5)], [0, 64, 128, 255]);
    // --set scale overrides the model's parameter, not an input.
    const r2 = await dlm(
      "sample",
      file,
      "-o",
      png,
      "--n",
      "2",
      "--set",
      "level=1",
      "--set",
      "scale=0.5",
      "--range",
      "0,1",
      "--npy",
      `${dir}/x.npy`,
    );
    assert.equal(r2.code, 0, r2.err);
    assert.deepEqual(
      Array.from(readNpy(Deno.readFileSync(`${dir}/x.npy`)).data as Float32Array),
      Array(8).fill(0.5),
    );
  }),
);

Deno.test(
  "sample draws noise from the seed: the same seed gives the same grid, another seed another",
  withTemp(async (dir) => {
    const file = `${dir}/tiny.dlm`;
    Deno.writeTextFileSync(file, TINY_GENERATOR);
    const grid = async (seed: string) => {
      const out = `${dir}/g${seed}.png`;
      const r = await dlm(
        "sample",
        file,
        "-o",
        out,
        "--output",
        "noise",
        "--set",
        "level=1",
        "--seed",
        seed,
      );
      assert.equal(r.code, 0, r.err);
      return Deno.readFileSync(out);
    };
    const a = await grid("1"), b = await grid("1"), c = await grid("2");
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  }),
);

Deno.test(
  "sample --input draws each reconstruction beside its input",
  withTemp(async (dir) => {
    // An "autoencoder" whose output is 1 - its input: the pairs are complementary.
    const file = `${dir}/ae.dlm`;
    Deno.writeTextFileSync(
      file,
      "model Ae {\n  input image: f32[N, 64]\n  output recon = 1.0 - image\n}\n",
    );
    const png = `${dir}/recon.png`;
    const r = await dlm(
      "sample",
      file,
      "-o",
      png,
      "--input",
      "image=digits:0-63",
      "--n",
      "3",
      "--nrow",
      "1",
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /beside each its input 'image'/);
    const { decodePng } = await import("../runtime/formats/png.ts");
    const img = decodePng(Deno.readFileSync(png));
    // Three rows of (input, output) 8x8 pairs: 2 * 8 + 3 by 3 * 8 + 4.
    assert.deepEqual([img.width, img.height], [19, 28]);
    for (let row = 0; row < 3; row++) {
      for (let k = 0; k < 64; k++) {
        const y = 1 + row * 9 + Math.floor(k / 8), x = 1 + (k % 8);
        const a = img.rgba[(y * img.width + x) * 4], b = img.rgba[(y * img.width + x + 9) * 4];
        assert.ok(Math.abs(a + b - 255) <= 1, `pair ${row}, pixel ${k}: ${a} + ${b}`);
      }
    }
  }),
);

Deno.test(
  "sample rejects an unset integer input, a bad --set value and an output that is no image",
  withTemp(async (dir) => {
    const file = `${dir}/tiny.dlm`;
    Deno.writeTextFileSync(file, TINY_GENERATOR);
    const png = `${dir}/g.png`;
    const unset = await dlm("sample", file, "-o", png);
    assert.equal(unset.code, 2);
    assert.match(unset.err, /DLM0531: Input 'level' is i64\[N\]/);
    const bad = await dlm("sample", file, "-o", png, "--set", "level=0.5");
    assert.equal(bad.code, 2);
    assert.match(bad.err, /DLM0532/);
    const unknown = await dlm("sample", file, "-o", png, "--set", "level=1", "--set", "nope=1");
    assert.match(unknown.err, /DLM0418: Unknown input 'nope'/);
    Deno.writeTextFileSync(file, TINY_GENERATOR.replace("f32[N, 4] = z", "f32[N, 2] = z[:, 0:2]"));
    const odd = await dlm("sample", file, "-o", png, "--set", "level=1");
    assert.equal(odd.code, 2);
    assert.match(odd.err, /DLM0530: Cannot draw output 'img' \[16, 2\] as images/);
    assert.throws(() => Deno.statSync(png), "no file is written on an error");
  }),
);

// ---------------------------------------------------------------- dlm probe

Deno.test(
  "probe scores the given weights' features and the initial random weights' beside them",
  withTemp(async (dir) => {
    // Two features; the class is the sign of the first, the second is noise. A linear "encoder"
    // that keeps the first feature separates the classes; one that keeps only the noise cannot.
    const rows: string[] = ["x0,x1,label"];
    let s = 7;
    const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;
    for (let i = 0; i < 200; i++) {
      const c = i % 2;
      rows.push(`${(c ? 1 : -1) * (0.5 + Math.abs(rnd()))},${rnd()},${c}`);
    }
    Deno.writeTextFileSync(`${dir}/d.csv`, rows.join("\n") + "\n");
    const file = `${dir}/enc.dlm`;
    Deno.writeTextFileSync(
      file,
      "model Enc {\n  input x: f32[N, 2]\n  output f = x |> fc: linear(2)\n}\n",
    );
    const weights = (w: number[]) => {
      const out = `${dir}/w${w.join("")}.safetensors`;
      Deno.writeFileSync(
        out,
        writeSafetensors([
          ["fc.weight", { dtype: "f32", shape: [2, 2], data: Float32Array.from(w) }],
          ["fc.bias", { dtype: "f32", shape: [2], data: new Float32Array(2) }],
        ]),
      );
      return out;
    };
    const data = ["--data", `x=${dir}/d.csv:0-1`, "--data", `label=${dir}/d.csv:2@i64`];
    const score = (out: string, which: string) =>
      Number(new RegExp(`${which}\\s+([0-9.]+)`).exec(out)![1]);
    const keep = await dlm("probe", file, "--weights", weights([1, 0, 0, 1]), ...data);
    assert.equal(keep.code, 0, keep.err);
    assert.match(
      keep.out,
      /probe of 'f' \(2 features, cosine\), 160 rows fit the means, 40 held out/,
    );
    assert.equal(score(keep.out, "trained weights"), 1);
    const noise = await dlm("probe", file, "--weights", weights([0, 0, 0, 1]), ...data);
    assert.equal(noise.code, 0, noise.err);
    assert.ok(score(noise.out, "trained weights") < 0.8, noise.out);
    // The random encoder is the same in both runs: the initial weights of the same seed.
    assert.equal(
      score(noise.out, "random encoder \\(init\\)"),
      score(keep.out, "random encoder \\(init\\)"),
    );
    const missing = await dlm(
      "probe",
      file,
      "--weights",
      weights([1, 0, 0, 1]),
      "--data",
      "digits",
    );
    assert.equal(missing.code, 1);
    assert.match(missing.err, /DLM0419: Missing input 'x'/);
    const noWeights = await dlm("probe", file, ...data);
    assert.equal(noWeights.code, 2);
  }),
);
