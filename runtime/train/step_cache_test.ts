import assert from "node:assert/strict";
import { compileTrain } from "../../compiler/train/mod.ts";
import { readFromDisk } from "../../compiler/check/program.ts";
import { loadModel } from "./model.ts";
import {
  approximateBytes,
  buildId,
  checksum,
  type CompiledStep,
  decodeEntry,
  encodeEntry,
  evictSteps,
  lookupStep,
  recordingReads,
  resetStepWarnings,
  stepCacheConfig,
  stepKey,
  storeStep,
} from "./step_cache.ts";

const LIB = `block Layer(n: int)(x) {
  return x |> fc: linear(n) |> relu
}
`;
const MAIN = `import "lib.dlm"
model M {
  input x: f32[N, 4]
  output y: f32[N, 3] = x |> a: Layer(8) |> b: linear(3)
}
train M {
  input t: f32[N, 3]
  loss = mse(y, t)
  optimizer = adam(lr: 0.01)
}
`;

function withTemp(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "dlm_step_cache_test_" });
    try {
      await fn(dir);
    } finally {
      Deno.chmodSync(dir, 0o755);
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

/** The files of a small program, compiled as `dlm train` compiles it, and its cache entry. */
function compiled(dir: string): { value: CompiledStep; files: Map<string, string> } {
  Deno.writeTextFileSync(`${dir}/lib.dlm`, LIB);
  Deno.writeTextFileSync(`${dir}/main.dlm`, MAIN);
  const reads = recordingReads(readFromDisk);
  const c = compileTrain(`${dir}/main.dlm`, { pack: true, read: reads.read });
  assert.ok(c.step, c.diagnostics.map((d) => d.message).join("; "));
  return {
    files: reads.files,
    value: {
      step: loadModel(c.step, "step model", { draws: true }),
      graph: { name: c.step.name, params: c.step.params, frozen: new Map() },
      settings: c.settings!,
      warnings: c.diagnostics,
      sources: c.sources.files(),
    },
  };
}

const OPTIONS = { model: "M", seed: 0, dims: {}, perRun: 8 };

function entries(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

Deno.test(
  "a stored step comes back whole: the ONNX bytes, the graph, initial state and settings",
  withTemp(async (dir) => {
    const cfg = { dir: `${dir}/cache/steps`, maxBytes: 2 ** 30 };
    const { value, files } = compiled(dir);
    // The compiler read the main file and its import.
    assert.deepEqual([...files.keys()].sort(), [`${dir}/lib.dlm`, `${dir}/main.dlm`]);
    const key = (await stepKey(`${dir}/main.dlm`, OPTIONS))!;
    assert.ok(key);
    assert.deepEqual(await lookupStep(cfg, key), { miss: "absent" });
    assert.equal(await storeStep(cfg, key, files, value), undefined);
    const hit = await lookupStep(cfg, key);
    assert.ok("value" in hit, JSON.stringify(hit));
    const got = hit.value;
    assert.deepEqual(got.step.bytes, value.step.bytes);
    assert.deepEqual(got.step.graph.nodes, value.step.graph.nodes);
    assert.deepEqual(got.step.graph.types, value.step.graph.types);
    assert.deepEqual([...got.step.defaults.keys()], [...value.step.defaults.keys()]);
    for (const [k, t] of value.step.defaults) assert.deepEqual(got.step.defaults.get(k), t);
    assert.deepEqual(got.step.packs, value.step.packs);
    assert.deepEqual(got.graph.params, value.graph.params);
    assert.deepEqual(got.settings, value.settings);
    assert.deepEqual(got.sources, value.sources);
    assert.ok(got.sources.some(([f]) => f === `${dir}/lib.dlm`));
  }),
);

Deno.test(
  "a changed import, main file, option or build is a miss",
  withTemp(async (dir) => {
    const cfg = { dir: `${dir}/cache/steps`, maxBytes: 2 ** 30 };
    const { value, files } = compiled(dir);
    const key = (await stepKey(`${dir}/main.dlm`, OPTIONS))!;
    await storeStep(cfg, key, files, value);
    // Another option, another entry name: absent.
    const other = (await stepKey(`${dir}/main.dlm`, { ...OPTIONS, seed: 1 }))!;
    assert.notEqual(JSON.stringify(other), JSON.stringify(key));
    assert.deepEqual(await lookupStep(cfg, other), { miss: "absent" });
    // Another build: absent too.
    assert.deepEqual(await lookupStep(cfg, { ...key, build: "0" }), { miss: "absent" });
    // The import's text changed: the entry is not used.
    Deno.writeTextFileSync(`${dir}/lib.dlm`, LIB.replace("relu", "gelu"));
    assert.deepEqual(await lookupStep(cfg, key), { miss: "source changed" });
    Deno.writeTextFileSync(`${dir}/lib.dlm`, LIB);
    assert.ok("value" in await lookupStep(cfg, key));
    // The main file's text is in the key itself.
    Deno.writeTextFileSync(`${dir}/main.dlm`, MAIN.replace("0.01", "0.02"));
    const changed = (await stepKey(`${dir}/main.dlm`, OPTIONS))!;
    assert.notEqual(changed.text, key.text);
    assert.deepEqual(await lookupStep(cfg, changed), { miss: "absent" });
  }),
);

Deno.test(
  "a truncated, corrupt or foreign entry is ignored and deleted, and stored again",
  withTemp(async (dir) => {
    const cfg = { dir: `${dir}/cache/steps`, maxBytes: 2 ** 30 };
    const { value, files } = compiled(dir);
    const key = (await stepKey(`${dir}/main.dlm`, OPTIONS))!;
    const damage = async (f: (bytes: Uint8Array) => Uint8Array, miss: string) => {
      await storeStep(cfg, key, files, value);
      const [name] = entries(cfg.dir);
      const path = `${cfg.dir}/${name}`;
      Deno.writeFileSync(path, f(Deno.readFileSync(path)));
      assert.deepEqual(await lookupStep(cfg, key), { miss });
      assert.deepEqual(entries(cfg.dir), [], "the bad entry is deleted");
      await storeStep(cfg, key, files, value);
      assert.ok("value" in await lookupStep(cfg, key), "and rebuilt");
      Deno.removeSync(path);
    };
    // Cut short: no trailer, or a trailer whose length does not match.
    await damage((b) => b.subarray(0, b.length >> 1), "truncated");
    await damage((b) => b.subarray(0, 3), "truncated");
    // One payload byte flipped.
    await damage((b) => {
      const c = b.slice();
      c[100] ^= 0x40;
      return c;
    }, "corrupt");
    // A header that is not JSON.
    await damage((b) => {
      const c = b.slice();
      c[c.length - 13] = 0x7b;
      return c;
    }, "corrupt");
    // Another key's entry under this key's name.
    const foreign = { ...key, options: { other: true } };
    await damage(() => {
      const e = decodeEntry(
        Deno.readFileSync(`${cfg.dir}/${[...Deno.readDirSync(cfg.dir)][0].name}`),
      );
      assert.ok("header" in e);
      return encodeEntry({ ...e.header, key: foreign }, e.payload);
    }, "other key");
    // A payload that passes its checksum but is not a compiled step.
    await damage((b) => {
      const e = decodeEntry(b);
      assert.ok("header" in e);
      const junk = new TextEncoder().encode("not a serialised value");
      return encodeEntry({ ...e.header, bytes: junk.length, checksum: checksum(junk) }, junk);
    }, "corrupt");
  }),
);

Deno.test(
  "an unwritable cache folder gives one warning line, then none, and no entry",
  withTemp(async (dir) => {
    if (Deno.build.os === "windows" || Deno.uid?.() === 0) {
      // root writes through permissions: a file where the folder should be instead.
      Deno.writeTextFileSync(`${dir}/cache`, "a file, not a folder");
    } else {
      Deno.mkdirSync(`${dir}/cache`);
      Deno.chmodSync(`${dir}/cache`, 0o500);
    }
    resetStepWarnings();
    const cfg = { dir: `${dir}/cache/steps`, maxBytes: 2 ** 30 };
    const { value, files } = compiled(dir);
    const key = (await stepKey(`${dir}/main.dlm`, OPTIONS))!;
    const w = await storeStep(cfg, key, files, value);
    assert.match(
      w ?? "",
      /^dlm: warning: cannot write the step cache '.*cache\/steps' \(.*\); continuing without it \(--no-cache skips the cache\)$/,
    );
    assert.equal(w!.split("\n").length, 1);
    assert.equal(await storeStep(cfg, key, files, value), undefined);
    assert.deepEqual(await lookupStep(cfg, key), { miss: "absent" });
    resetStepWarnings();
  }),
);

Deno.test(
  "a value that cannot be serialised is not cached, with one warning line that says so",
  withTemp(async (dir) => {
    resetStepWarnings();
    const cfg = { dir: `${dir}/cache/steps`, maxBytes: 2 ** 30 };
    const { value, files } = compiled(dir);
    const key = (await stepKey(`${dir}/main.dlm`, OPTIONS))!;
    const bad = { ...value, settings: { ...value.settings, f: () => 0 } } as CompiledStep;
    const w = await storeStep(cfg, key, files, bad);
    assert.match(
      w ?? "",
      /^dlm: warning: cannot cache the compiled step \(.+\); continuing without it$/,
    );
    assert.equal(await storeStep(cfg, key, files, bad), undefined);
    assert.deepEqual(entries(cfg.dir), []);
    // The folder itself is fine: a good value is stored.
    assert.equal(await storeStep(cfg, key, files, value), undefined);
    assert.equal(entries(cfg.dir).length, 1);
    resetStepWarnings();
  }),
);

Deno.test(
  "a step bigger than the size bound is not stored",
  withTemp(async (dir) => {
    const { value, files } = compiled(dir);
    const key = (await stepKey(`${dir}/main.dlm`, OPTIONS))!;
    const size = approximateBytes(value);
    assert.ok(size > value.step.bytes.length, `${size} bytes`);
    const small = { dir: `${dir}/small`, maxBytes: size - 1 };
    assert.equal(await storeStep(small, key, files, value), undefined);
    assert.deepEqual(entries(small.dir), []);
    const fits = { dir: `${dir}/fits`, maxBytes: 2 * size };
    await storeStep(fits, key, files, value);
    assert.equal(entries(fits.dir).length, 1);
  }),
);

Deno.test(
  "past its size bound the least recently used entries go, and only the cache's own files",
  withTemp((dir) => {
    const cfg = { dir: `${dir}/steps`, maxBytes: 0 };
    Deno.mkdirSync(cfg.dir);
    const old = new Date(Date.now() - 3600_000);
    for (const n of ["a", "b"]) {
      const path = `${cfg.dir}/${n.repeat(64)}.step`;
      Deno.writeFileSync(path, new Uint8Array(10));
      Deno.utimeSync(path, old, old);
    }
    Deno.writeTextFileSync(`${cfg.dir}/notes.txt`, "mine");
    const keep = `${cfg.dir}/${"c".repeat(64)}.step`;
    Deno.writeFileSync(keep, new Uint8Array(10));
    evictSteps(cfg, keep);
    assert.deepEqual(entries(cfg.dir), [`${"c".repeat(64)}.step`, "notes.txt"]);
  }),
);

Deno.test("the step cache lives beside the session cache", () => {
  assert.deepEqual(stepCacheConfig({ dir: "/x/dlm/onnxruntime", maxBytes: 5 }), {
    dir: "/x/dlm/steps",
    maxBytes: 5,
  });
});

Deno.test(
  "the build id changes when a source file of the compiler changes, and needs local files",
  withTemp(async (dir) => {
    for (const d of ["compiler/ir", "runtime", "cli"]) {
      Deno.mkdirSync(`${dir}/${d}`, { recursive: true });
    }
    Deno.writeTextFileSync(`${dir}/compiler/ir/graph.ts`, "export const a = 1;\n");
    Deno.writeTextFileSync(`${dir}/runtime/fs.ts`, "export const b = 1;\n");
    Deno.writeTextFileSync(`${dir}/cli/main.ts`, "export const c = 1;\n");
    Deno.writeTextFileSync(`${dir}/compiler/ir/graph_test.ts`, "// a test\n");
    const root = new URL(`file://${dir}/`);
    const a = await buildId(root);
    assert.match(a ?? "", /^[0-9a-f]{64}$/);
    assert.equal(await buildId(root), a);
    // A test changes nothing; a source file's edit does (its size or time).
    Deno.writeTextFileSync(`${dir}/compiler/ir/graph_test.ts`, "// another test\n");
    assert.equal(await buildId(root), a);
    Deno.writeTextFileSync(`${dir}/compiler/ir/graph.ts`, "export const a = 2;\n");
    const later = new Date(Date.now() + 5000);
    Deno.utimeSync(`${dir}/compiler/ir/graph.ts`, later, later);
    const b = await buildId(root);
    assert.notEqual(b, a);
    // A new file too.
    Deno.writeTextFileSync(`${dir}/runtime/new.ts`, "export {};\n");
    assert.notEqual(await buildId(root), b);
    assert.equal(await buildId(new URL("https://example.com/dlm/")), undefined);
    // This checkout's own build is known.
    assert.match((await buildId()) ?? "", /^[0-9a-f]{64}$/);
  }),
);

Deno.test("checksum() changes with any byte, its position and the length", () => {
  const b = new Uint8Array(1001).map((_, i) => i * 7);
  const c = checksum(b);
  assert.match(c, /^[0-9a-f]{16}$/);
  // A byte of each of the four lanes, of the words after the last four and the last byte.
  for (const i of [0, 3, 4, 9, 14, 500, 995, 999, 1000]) {
    const d = b.slice();
    d[i] ^= 1;
    assert.notEqual(checksum(d), c, `byte ${i}`);
  }
  assert.notEqual(checksum(b.subarray(0, 1000)), c);
  // Two words exchanged, in one lane (0 and 4) and across lanes (0 and 1).
  for (const j of [1, 4]) {
    const d = b.slice();
    d.copyWithin(0, 4 * j, 4 * j + 4).set(b.subarray(0, 4), 4 * j);
    assert.notEqual(checksum(d), c, `words 0 and ${j}`);
  }
  // Not aligned to 4 bytes: the same value as aligned.
  const shifted = new Uint8Array(1002);
  shifted.set(b, 1);
  assert.equal(checksum(shifted.subarray(1)), c);
});

Deno.test(
  "two dlm train runs of one file at once, on an empty cache, both train and leave one whole entry",
  withTemp(async (dir) => {
    // Both miss, both compile, both store the same entry: each writes a temporary file of its own
    // and renames it over the name, so neither reads a half-written entry or fails on the other's.
    Deno.writeTextFileSync(`${dir}/lib.dlm`, LIB);
    Deno.writeTextFileSync(`${dir}/main.dlm`, MAIN);
    const rows = (n: number, w: number) =>
      Array.from({ length: n }, (_, i) => Array.from({ length: w }, (_, j) => (i * w + j) % 5))
        .map((r) => r.join(",")).join("\n") + "\n";
    Deno.writeTextFileSync(`${dir}/d.csv`, rows(40, 7));
    const cli = new URL("../../cli/main.ts", import.meta.url).pathname;
    const run = (k: number) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          cli,
          "train",
          `${dir}/main.dlm`,
          "--data",
          `x=${dir}/d.csv:0-3`,
          "--data",
          `t=${dir}/d.csv:4-6`,
          "--epochs",
          "1",
          "--out",
          `${dir}/out${k}`,
        ],
        env: { DLM_CACHE_DIR: `${dir}/cache` },
        stdout: "piped",
        stderr: "piped",
      }).output();
    const results = await Promise.all([run(0), run(1)]);
    for (const r of results) {
      const err = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 0, err);
      assert.doesNotMatch(err, /warning|internal error/, err);
    }
    const names = entries(`${dir}/cache/steps`);
    assert.equal(names.length, 1, names.join(", "));
    assert.match(names[0], /^[0-9a-f]{64}\.step$/);
    // The entry is whole (its trailer, length and checksum hold), and a third run uses it.
    const e = decodeEntry(Deno.readFileSync(`${dir}/cache/steps/${names[0]}`));
    assert.ok(!("miss" in e), JSON.stringify(e));
    const third = await run(2);
    assert.equal(third.code, 0, new TextDecoder().decode(third.stderr));
    assert.deepEqual(entries(`${dir}/cache/steps`), names);
  }),
);
