import assert from "node:assert/strict";
import { type Tensor, tensor, toNumbers } from "../../compiler/ir/tensor.ts";
import { onnx } from "../../compiler/onnx/proto.ts";
import {
  type CacheConfig,
  cacheConfigFromEnv,
  type CacheKey,
  canonical,
  check,
  cpuOf,
  entryName,
  evict,
  machineKey,
  resetWarnings,
  sha256,
} from "./cache.ts";
import { CACHE_MIN_NODES, createNodeSession, DEFAULT_THREADS, sessionCacheKey } from "./node.ts";
import type { Session, SessionOptions } from "./session.ts";

// ---------------------------------------------------------------- models

const vi = (name: string) => ({
  name,
  type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }] } } },
});

/** y = x + n*c: a chain of n Adds of the constant c (n >= CACHE_MIN_NODES makes it cacheable). */
function adds(n: number, c = 1): Uint8Array {
  const node = Array.from({ length: n }, (_, i) => ({
    opType: "Add",
    input: [i === 0 ? "x" : `v${i - 1}`, "c"],
    output: [i === n - 1 ? "y" : `v${i}`],
  }));
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "adds",
      node,
      initializer: [{ name: "c", dims: [], dataType: 1, floatData: [c] }],
      input: [vi("x")],
      output: [vi("y")],
    },
  })).finish();
}

/** A model of the same signature that computes y = -x: loading it in place of another shows. */
const IMPOSTOR = onnx.ModelProto.encode(onnx.ModelProto.create({
  irVersion: 8,
  opsetImport: [{ domain: "", version: 17 }],
  graph: {
    name: "neg",
    node: [{ opType: "Neg", input: ["x"], output: ["y"] }],
    input: [vi("x")],
    output: [vi("y")],
  },
})).finish();

const N = CACHE_MIN_NODES + 10;
const BIG = adds(N);
const X: Tensor = tensor("f32", [1, 3], [1, 2, 3]);

async function outputOf(s: Session): Promise<number[]> {
  try {
    return toNumbers((await s.run({ x: X })).y);
  } finally {
    await s.release();
  }
}

/** A session of `bytes` with the cache at `cfg`: its output and how it was loaded. */
async function load(
  bytes: Uint8Array,
  cfg: CacheConfig,
  opts: Omit<SessionOptions, "backend"> = {},
) {
  const s = await createNodeSession(bytes, { cache: cfg, optimize: "all", ...opts });
  const info = s.load!;
  return { y: await outputOf(s), info };
}

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "dlm_cache_test_" });
    resetWarnings();
    try {
      await fn(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

const cfgAt = (dir: string, maxBytes = 2 ** 30): CacheConfig => ({ dir: `${dir}/cache`, maxBytes });
const entries = (cfg: CacheConfig) =>
  [...Deno.readDirSync(cfg.dir)].map((e) => e.name).filter((n) => n.endsWith(".ortc")).sort();
const keyOf = (bytes: Uint8Array, level = "all") =>
  sessionCacheKey(bytes, { level, threads: DEFAULT_THREADS, spin: true });

/** An entry file as cache.ts writes it: payload, header JSON, its length, the magic. */
async function entryBytes(payload: Uint8Array, key: unknown, sha?: string): Promise<Uint8Array> {
  const header = new TextEncoder().encode(
    JSON.stringify({ key, bytes: payload.length, sha256: sha ?? await sha256(payload) }),
  );
  const out = new Uint8Array(payload.length + header.length + 4 + 8);
  out.set(payload);
  out.set(header, payload.length);
  new DataView(out.buffer).setUint32(payload.length + header.length, header.length, true);
  out.set(new TextEncoder().encode("DLMORTC1"), out.length - 8);
  return out;
}

const expected = [1 + N, 2 + N, 3 + N];

// ---------------------------------------------------------------- the key

Deno.test("cpuOf() reads x86's vendor, model name and flags, and ARM's implementer, part and features", () => {
  const x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7763\n" +
    "flags\t\t: sse2 avx2 fma\nprocessor\t: 1\nflags\t\t: sse2 avx2 fma\n";
  assert.deepEqual(cpuOf(x86), { cpu: "AuthenticAMD / AMD EPYC 7763", flags: "avx2 fma sse2" });
  const arm =
    "processor\t: 0\nFeatures\t: fp asimd sve\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n";
  assert.deepEqual(cpuOf(arm), { cpu: "0x41 / 0xd0c", flags: "asimd fp sve" });
  assert.deepEqual(cpuOf(""), { cpu: "", flags: "" });
});

Deno.test("a cache entry's name changes with the model, onnxruntime's version, the options and the CPU", async () => {
  const key = await keyOf(BIG);
  const names = new Set<string>([await entryName(key)]);
  const variants: CacheKey[] = [
    { ...key, model: await sha256(adds(N, 2)) },
    { ...key, onnxruntime: "1.29.0" },
    { ...key, options: { ...key.options, level: "basic" } },
    { ...key, options: { ...key.options, threads: 1 } },
    { ...key, machine: { ...key.machine, flags: key.machine.flags + " avx512f" } },
    { ...key, machine: { ...key.machine, cpu: "another CPU" } },
  ];
  for (const v of variants) names.add(await entryName(v));
  assert.equal(names.size, variants.length + 1);
  // The same key, its properties in another order, names the same entry.
  const reverse = (v: unknown): unknown =>
    v && typeof v === "object"
      ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverse(x)]))
      : v;
  const reordered = reverse(key);
  assert.notEqual(JSON.stringify(reordered), JSON.stringify(key));
  assert.equal(canonical(reordered), canonical(key));
  assert.equal(key.machine, machineKey());
});

Deno.test("cacheConfigFromEnv() takes DLM_CACHE_DIR, else XDG_CACHE_HOME/dlm, else HOME/.cache/dlm, and DLM_CACHE_MAX_MB", () => {
  // Variables of the test's own: the process's environment is shared with the test files that
  // run beside this one, and changing it sent their caches elsewhere.
  let vars: Record<string, string> = {};
  const set = (v: Record<string, string>) => (vars = v);
  const config = () => cacheConfigFromEnv(undefined, (n) => vars[n] || undefined);
  set({ HOME: "/home/u" });
  assert.deepEqual(config(), {
    dir: "/home/u/.cache/dlm/onnxruntime",
    maxBytes: 2 ** 30,
  });
  set({ HOME: "/home/u", XDG_CACHE_HOME: "/xdg" });
  assert.equal(config()?.dir, "/xdg/dlm/onnxruntime");
  set({ HOME: "/home/u", XDG_CACHE_HOME: "/xdg", DLM_CACHE_DIR: "/c/", DLM_CACHE_MAX_MB: "5" });
  assert.deepEqual(config(), { dir: "/c/onnxruntime", maxBytes: 5 * 2 ** 20 });
  set({});
  assert.equal(config(), undefined);
  // --cache-dir names the folder before any variable.
  set({ DLM_CACHE_DIR: "/c" });
  assert.equal(cacheConfigFromEnv("/flag", (n) => vars[n] || undefined)?.dir, "/flag/onnxruntime");
});

// ---------------------------------------------------------------- hit and miss

Deno.test(
  "a second session of a big model loads onnxruntime's optimised model from the cache, with the same results",
  withDir(async (dir) => {
    const cfg = cfgAt(dir);
    const first = await load(BIG, cfg);
    assert.equal(first.info.cache, "stored");
    assert.equal(first.info.miss, "absent");
    assert.deepEqual(first.y, expected);
    assert.deepEqual(entries(cfg), [await entryName(await keyOf(BIG))]);
    const second = await load(BIG, cfg);
    assert.equal(second.info.cache, "hit");
    assert.deepEqual(second.y, expected);
    // Another level is another entry.
    assert.equal((await load(BIG, cfg, { optimize: "basic" })).info.cache, "stored");
    assert.equal(entries(cfg).length, 2);
    // No temporary file is left behind.
    assert.deepEqual([...Deno.readDirSync(cfg.dir)].filter((e) => e.name.endsWith(".tmp")), []);
  }),
);

Deno.test(
  "a model under CACHE_MIN_NODES nodes or a session at level disabled is not cached, and the cache folder is not even made",
  withDir(async (dir) => {
    const cfg = cfgAt(dir);
    const r = await load(adds(10), cfg);
    assert.equal(r.info.cache, "skipped");
    assert.deepEqual(r.y, [11, 12, 13]);
    // Nor is a session at level disabled: there is no optimisation to skip.
    const d = await load(BIG, cfg, { optimize: "disabled" });
    assert.equal(d.info.cache, "skipped");
    assert.deepEqual(d.y, expected);
    assert.throws(() => Deno.statSync(cfg.dir));
  }),
);

// ---------------------------------------------------------------- bad entries

Deno.test(
  "a corrupt entry (a byte of its model changed) is ignored, deleted and rebuilt, never loaded",
  withDir(async (dir) => {
    const cfg = cfgAt(dir);
    await load(BIG, cfg);
    const [name] = entries(cfg);
    const bytes = Deno.readFileSync(`${cfg.dir}/${name}`);
    bytes[Math.floor(bytes.length / 3)] ^= 0xff;
    Deno.writeFileSync(`${cfg.dir}/${name}`, bytes);
    assert.deepEqual(await check(bytes, await keyOf(BIG)), { miss: "corrupt" });
    const r = await load(BIG, cfg);
    assert.equal(r.info.miss, "corrupt");
    assert.equal(r.info.cache, "stored");
    assert.deepEqual(r.y, expected);
    assert.equal((await load(BIG, cfg)).info.cache, "hit");
  }),
);

Deno.test(
  "a truncated entry is ignored and rebuilt",
  withDir(async (dir) => {
    const cfg = cfgAt(dir);
    await load(BIG, cfg);
    const [name] = entries(cfg);
    const path = `${cfg.dir}/${name}`;
    const whole = Deno.readFileSync(path);
    for (const cut of [0, 3, Math.floor(whole.length / 2), whole.length - 1]) {
      Deno.writeFileSync(path, whole.subarray(0, cut));
      const r = await load(BIG, cfg);
      assert.equal(r.info.miss, "truncated", `cut at ${cut}`);
      assert.equal(r.info.cache, "stored");
      assert.deepEqual(r.y, expected);
    }
  }),
);

Deno.test(
  "an entry from another onnxruntime version is ignored and rebuilt, never loaded, even under the right name",
  withDir(async (dir) => {
    const cfg = cfgAt(dir);
    const key = await keyOf(BIG);
    Deno.mkdirSync(cfg.dir, { recursive: true });
    // A well-formed entry of a model that would give -x, keyed for another onnxruntime.
    const other = { ...key, onnxruntime: "1.29.0" };
    Deno.writeFileSync(`${cfg.dir}/${await entryName(key)}`, await entryBytes(IMPOSTOR, other));
    const r = await load(BIG, cfg);
    assert.equal(r.info.miss, "other key");
    assert.deepEqual(r.y, expected);
    // The same entry with the right key is what a hit loads: the check is what stopped it.
    assert.deepEqual(
      "model" in (await check(await entryBytes(IMPOSTOR, key), key)),
      true,
    );
    // A right key with a hash that does not match its model is refused too.
    const forged = await entryBytes(IMPOSTOR, key, await sha256(BIG));
    assert.deepEqual(await check(forged, key), { miss: "corrupt" });
  }),
);

Deno.test(
  "a concurrent run's temporary file is neither read nor deleted while fresh; a stale one is removed",
  withDir(async (dir) => {
    const cfg = cfgAt(dir);
    const name = await entryName(await keyOf(BIG));
    Deno.mkdirSync(cfg.dir, { recursive: true });
    const tmp = `${cfg.dir}/${name}.${crypto.randomUUID()}.tmp`;
    // Half an entry, as a run killed while writing leaves it.
    Deno.writeFileSync(tmp, IMPOSTOR.subarray(0, 10));
    const r = await load(BIG, cfg);
    assert.equal(r.info.cache, "stored");
    assert.deepEqual(r.y, expected);
    assert.ok(Deno.statSync(tmp).isFile, "a fresh temporary file stays");
    const old = new Date(Date.now() - 48 * 3600 * 1000);
    Deno.utimeSync(tmp, old, old);
    evict(cfg);
    assert.throws(() => Deno.statSync(tmp), Deno.errors.NotFound);
    assert.deepEqual(entries(cfg), [name]);
  }),
);

Deno.test(
  "two processes creating the same session at once both succeed and leave one valid entry",
  withDir(async (dir) => {
    const cfg = cfgAt(dir);
    const modelPath = `${dir}/big.onnx`;
    Deno.writeFileSync(modelPath, BIG);
    const code = `
      import { createNodeSession } from ${
      JSON.stringify(new URL("./node.ts", import.meta.url).href)
    };
      import { tensor, toNumbers } from ${
      JSON.stringify(new URL("../../compiler/ir/tensor.ts", import.meta.url).href)
    };
      const s = await createNodeSession(Deno.readFileSync(${JSON.stringify(modelPath)}), {
        optimize: "all", cache: { dir: ${JSON.stringify(cfg.dir)}, maxBytes: 2 ** 30 },
      });
      const y = toNumbers((await s.run({ x: tensor("f32", [1, 3], [1, 2, 3]) })).y);
      console.log(JSON.stringify({ cache: s.load.cache, y }));
    `;
    const race = () =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "--ext=ts", code],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const outs = await Promise.all([race(), race()]);
    for (const o of outs) {
      assert.equal(o.code, 0, new TextDecoder().decode(o.stderr));
      const r = JSON.parse(new TextDecoder().decode(o.stdout));
      assert.deepEqual(r.y, expected);
      // Each either stored the entry or found the other's.
      assert.ok(r.cache === "stored" || r.cache === "hit", r.cache);
    }
    assert.deepEqual([...Deno.readDirSync(cfg.dir)].map((e) => e.name), [
      await entryName(await keyOf(BIG)),
    ]);
    assert.equal((await load(BIG, cfg)).info.cache, "hit");
  }),
);

// ---------------------------------------------------------------- an unwritable folder

Deno.test(
  "an unwritable cache folder degrades to no cache, with one warning line per process",
  withDir(async (dir) => {
    // A folder under a regular file cannot be made, whoever runs the test (root included).
    Deno.writeFileSync(`${dir}/file`, new Uint8Array(1));
    const cfg: CacheConfig = { dir: `${dir}/file/cache`, maxBytes: 2 ** 30 };
    const warnings: string[] = [];
    const report = { what: "the model", warn: (w: string) => warnings.push(w) };
    const a = await load(BIG, cfg, { report });
    const b = await load(BIG, cfg, { report });
    for (const r of [a, b]) {
      assert.equal(r.info.cache, "unwritable");
      assert.deepEqual(r.y, expected);
    }
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0],
      /^dlm: warning: cannot write the session cache '.*\/file\/cache' \(.+\); continuing without it/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["file"]);
  }),
);

// ---------------------------------------------------------------- size bound

Deno.test(
  "past its size bound the cache deletes the least recently used entries; a hit counts as a use",
  withDir(async (dir) => {
    const models = [adds(N, 1), adds(N, 2), adds(N, 3)];
    let cfg = cfgAt(dir);
    await load(models[0], cfg);
    const size = Deno.statSync(`${cfg.dir}/${entries(cfg)[0]}`).size;
    // Room for two entries.
    cfg = cfgAt(dir, Math.floor(size * 2.5));
    const name = async (m: Uint8Array) => await entryName(await keyOf(m));
    await load(models[1], cfg);
    // Model 0 was stored first; a hit makes it the most recently used.
    const past = new Date(Date.now() - 60_000);
    Deno.utimeSync(`${cfg.dir}/${await name(models[0])}`, past, past);
    Deno.utimeSync(
      `${cfg.dir}/${await name(models[1])}`,
      new Date(Date.now() - 30_000),
      new Date(Date.now() - 30_000),
    );
    assert.equal((await load(models[0], cfg)).info.cache, "hit");
    await load(models[2], cfg);
    assert.deepEqual(entries(cfg), [await name(models[0]), await name(models[2])].sort());
  }),
);

Deno.test(
  "the cache writes and deletes nothing outside its folder, and follows no link",
  withDir(async (dir) => {
    // Room for one entry: every store evicts all it can.
    const cfg = cfgAt(dir, Math.floor(BIG.length * 1.5));
    Deno.mkdirSync(cfg.dir);
    // Outside: a file named like an entry beside the cache folder, and a link's target.
    const outside = `${dir}/${"a".repeat(64)}.ortc`;
    Deno.writeFileSync(outside, new TextEncoder().encode("precious"));
    const past = new Date(Date.now() - 3_600_000);
    Deno.utimeSync(outside, past, past);
    // Inside: a link named like an entry, and a link under the very name this model's entry takes.
    const link = `${cfg.dir}/${"b".repeat(64)}.ortc`;
    Deno.symlinkSync(outside, link);
    const own = `${cfg.dir}/${await entryName(await keyOf(BIG))}`;
    Deno.symlinkSync(outside, own);
    for (const m of [BIG, adds(N, 2), BIG]) {
      const r = await load(m, cfg);
      assert.equal(r.info.cache, "stored");
      assert.equal(r.y.length, 3);
    }
    assert.equal(new TextDecoder().decode(Deno.readFileSync(outside)), "precious");
    assert.equal(Deno.statSync(outside).mtime?.getTime(), past.getTime());
    assert.ok(Deno.lstatSync(link).isSymlink, "a link is not the cache's to delete");
    // The entry's own name now holds the entry (the rename replaced the link, not its target).
    assert.ok(Deno.lstatSync(own).isFile);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "a".repeat(64) + ".ortc",
      "cache",
    ]);
  }),
);
