/**
 * The CLI's code cache (code_cache.ts, code_cache_build.ts): a bundled command
 * prints what the command's modules print, a bundle or code cache that does not
 * match is rebuilt and never used, and a folder that cannot be written leaves
 * the command to its modules with one warning.
 *
 * Every test uses folders of its own (`root`), never the process's environment:
 * test files run in parallel in one process (see tools/test.ts).
 */
import assert from "node:assert/strict";
import { splitTrailer } from "../runtime/ort/cache.ts";
import { type Io, runCached, UsageError } from "./command.ts";
import { COMMANDS } from "./commands/mod.ts";
import { parseArgs } from "./args.ts";
import { withHelp } from "./command.ts";
import {
  cliCacheDir,
  commandName,
  isFresh,
  loadCached,
  type Manifest,
  readManifest,
  REFRESH_RUNS,
} from "./code_cache.ts";
import { literalMeta } from "./code_cache_build.ts";

const CHECK = import.meta.resolve("./commands/check.ts");
const ROOT = new URL("../", import.meta.url).pathname;
const noEnv = () => undefined;
const MAGIC = new TextEncoder().encode("DLMV8CC1");

/** A temporary folder, deleted when the test file's process ends. */
const made: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dlm_cc_" });
  made.push(dir);
  return dir;
}
globalThis.addEventListener("unload", () => {
  for (const d of made) {
    try {
      Deno.removeSync(d, { recursive: true });
    } catch { /* gone */ }
  }
});

/** An Io that records what is printed. */
/** `dlm ARGS` as a user runs it, in a process of its own with `env`: exit code and output. */
async function dlmProcess(
  env: Record<string, string>,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

function capture(): Io & { text(): string } {
  const lines: string[] = [];
  return {
    out: (s) => lines.push(`out: ${s}`),
    err: (s) => lines.push(`err: ${s}`),
    text: () => lines.join("\n"),
  };
}

function checkArgs(...argv: string[]) {
  return parseArgs(argv, withHelp(COMMANDS.check.options));
}

/** A fresh cache folder with the check command's bundle and code cache in it. */
async function builtRoot(): Promise<string> {
  const root = await tempDir();
  const c = await loadCached(CHECK, { root, env: noEnv });
  assert.ok(c, "the check command bundles");
  await c.finish();
  return root;
}

/** A copy of `from`'s cli/ folder under a new root, with `edit` applied to its files' bytes. */
async function copyRoot(
  from: string,
  edit: { js?: (t: string) => string; v8?: (b: Uint8Array) => Uint8Array } = {},
): Promise<string> {
  const root = await tempDir();
  await Deno.mkdir(`${root}/cli`);
  const js = await Deno.readTextFile(`${from}/cli/check.js`);
  await Deno.writeTextFile(`${root}/cli/check.js`, edit.js ? edit.js(js) : js);
  const v8 = await Deno.readFile(`${from}/cli/check.v8`);
  await Deno.writeFile(`${root}/cli/check.v8`, edit.v8 ? edit.v8(v8) : v8);
  return root;
}

/** The header of a code cache file. */
function v8Header(root: string): Record<string, unknown> {
  const split = splitTrailer(Deno.readFileSync(`${root}/cli/check.v8`), MAGIC);
  assert.ok(!("miss" in split), "a whole code cache");
  return split.header;
}

function manifestOf(root: string): Manifest {
  const m = readManifest(Deno.readTextFileSync(`${root}/cli/check.js`));
  assert.ok(m);
  return m;
}

/** Replace a bundle's manifest line. */
function withManifest(text: string, f: (m: Manifest) => Manifest): string {
  const m = readManifest(text)!;
  return `//${JSON.stringify(f(m))}${text.slice(text.indexOf("\n"))}`;
}

const shared = builtRoot();

Deno.test("literalMeta makes module-relative forms literal", () => {
  const url = "file:///repo/cli/commands/check.ts";
  assert.equal(
    literalMeta(`await import(import.meta.resolve("../../compiler/train/mod.ts"))`, url),
    `await import("../../compiler/train/mod.ts")`,
  );
  assert.equal(
    literalMeta(`const u = import.meta.resolve('./x.ts');`, url),
    `const u = "file:///repo/cli/commands/x.ts";`,
  );
  assert.equal(literalMeta(`new URL("a", import.meta.url)`, url), `new URL("a", "${url}")`);
  assert.equal(literalMeta(`if (import.meta.main) run();`, url), `if (false) run();`);
  // A package's name resolves through deno.json's import map, as in the module (web.ts finds
  // onnxruntime-web's wasm files beside its entry so).
  const web = JSON.parse(literalMeta(`import.meta.resolve("onnxruntime-web")`, url));
  assert.equal(web, import.meta.resolve("onnxruntime-web"));
  assert.match(web, /^file:\/\/.*\/onnxruntime-web\/dist\//);
  // Nothing else is touched.
  assert.equal(
    literalMeta(`import { x } from "./y.ts"; import("z")`, url),
    `import { x } from "./y.ts"; import("z")`,
  );
});

Deno.test("the cache's folder: DLM_CLI_CACHE=0 turns it off", () => {
  assert.equal(cliCacheDir({ root: "/c/", env: noEnv }), "/c/cli");
  assert.equal(cliCacheDir({ env: (n) => (n === "DLM_CACHE_DIR" ? "/d" : undefined) }), "/d/cli");
  assert.equal(
    cliCacheDir({ root: "/c", env: (n) => (n === "DLM_CLI_CACHE" ? "0" : undefined) }),
    undefined,
  );
  assert.equal(commandName(CHECK), "check");
});

Deno.test("a bundled check prints what the module prints", async () => {
  const root = await shared;
  const c = await loadCached(CHECK, { root, env: noEnv });
  assert.ok(c);
  const { run } = await import("./commands/check.ts");
  const cases = [
    ["lang-examples/lenet5.dlm"],
    ["tests/golden/errors/conv_shape_mismatch.dlm"],
    ["no/such/file.dlm"],
    ["lang-examples/resnet18.dlm", "--model", "NoSuchModel"],
  ];
  for (const argv of cases) {
    const a = capture(), b = capture();
    const args = checkArgs(...argv.map((p, i) => (i === 0 ? `${ROOT}${p}` : p)));
    const ca: number = await c.module.run(args, a);
    const cb: number = await run(args, b);
    assert.equal(ca, cb, argv.join(" "));
    assert.equal(a.text(), b.text(), argv.join(" "));
  }
});

Deno.test("a bundle records its inputs, and its code cache names it", async () => {
  const root = await shared;
  const m = manifestOf(root);
  assert.equal(m.entry, CHECK);
  assert.equal(m.deno, Deno.version.deno);
  const paths = m.inputs.map(([p]) => p.slice(ROOT.length));
  for (const p of ["cli/commands/check.ts", "compiler/syntax/parser.ts", "compiler/train/mod.ts"]) {
    assert.ok(paths.includes(p), p);
  }
  assert.ok(paths.includes("deno.lock") && paths.includes("deno.json"));
  assert.ok(!paths.some((p) => p.includes("node_modules")));
  assert.equal(isFresh(m, CHECK), true);
  const h = v8Header(root);
  assert.equal(h.build, m.build);
  assert.equal(h.runs, 0);
});

Deno.test("a stale bundle is rebuilt before the command runs", async () => {
  const from = await shared;
  const old = manifestOf(from);
  for (
    const edit of [
      // A source edited (another size), and one deleted.
      (m: Manifest) => ({
        ...m,
        inputs: m.inputs.map((x, i) => i === 0 ? [x[0], x[1] + 1, x[2]] as typeof x : x),
      }),
      (m: Manifest) => ({
        ...m,
        inputs: [...m.inputs, [`${ROOT}no_such_file.ts`, 1, 1]] as Manifest["inputs"],
      }),
      (m: Manifest) => ({ ...m, deno: "0.0.0" }),
      (m: Manifest) => ({ ...m, entry: import.meta.resolve("./commands/fmt.ts") }),
    ]
  ) {
    assert.equal(isFresh(edit(old), CHECK), false);
    const root = await copyRoot(from, { js: (t) => withManifest(t, edit) });
    const c = await loadCached(CHECK, { root, env: noEnv });
    assert.ok(c);
    const m = manifestOf(root);
    assert.notEqual(m.build, old.build, "rebuilt");
    assert.equal(isFresh(m, CHECK), true);
    await c.finish();
    assert.equal(v8Header(root).runs, 0, "a rebuilt bundle's code cache starts again");
  }
  // A first line that is not a manifest.
  const root = await copyRoot(from, { js: (t) => `// garbage\n${t}` });
  assert.ok(await loadCached(CHECK, { root, env: noEnv }));
  assert.notEqual(manifestOf(root).build, old.build);
});

Deno.test("a code cache that does not match its bundle is never used, and is made again", async () => {
  const from = await shared;
  const flip = (b: Uint8Array) => {
    const c = b.slice();
    c[100] ^= 1;
    return c;
  };
  const otherV8 = (b: Uint8Array) => {
    const split = splitTrailer(b, MAGIC);
    assert.ok(!("miss" in split));
    const h = new TextEncoder().encode(JSON.stringify({ ...split.header, v8: "1.0" }));
    const out = new Uint8Array(split.payload.length + h.length + 4 + MAGIC.length);
    out.set(split.payload);
    out.set(h, split.payload.length);
    new DataView(out.buffer).setUint32(split.payload.length + h.length, h.length, true);
    out.set(MAGIC, split.payload.length + h.length + 4);
    return out;
  };
  for (
    const [what, v8] of [
      ["a flipped bit", flip],
      ["cut short", (b: Uint8Array) => b.subarray(0, b.length - 10)],
      ["another V8", otherV8],
      ["empty", () => new Uint8Array(0)],
    ] as const
  ) {
    const root = await copyRoot(from, { v8 });
    const c = await loadCached(CHECK, { root, env: noEnv });
    assert.ok(c, what);
    const io = capture();
    assert.equal(await c.module.run(checkArgs(`${ROOT}lang-examples/lenet5.dlm`), io), 0, what);
    await c.finish();
    assert.equal(v8Header(root).runs, 0, `${what}: made again, not counted as a hit`);
    assert.equal(v8Header(root).build, manifestOf(root).build);
  }
  // A matching one is used: its run count goes up, until it is left as it is.
  let root = await copyRoot(from);
  for (let run = 1; run <= REFRESH_RUNS + 1; run++) {
    const c = await loadCached(CHECK, { root, env: noEnv });
    assert.ok(c);
    await c.finish();
    assert.equal(v8Header(root).runs, Math.min(run, REFRESH_RUNS));
    root = await copyRoot(root); // a new process: the loaded bundle is per process
  }
});

Deno.test("a folder that cannot be written: one warning, and the command runs from its modules", async () => {
  const dir = await tempDir();
  const root = `${dir}/file`;
  await Deno.writeTextFile(root, "not a folder");
  const warnings: string[] = [];
  const c = await loadCached(CHECK, { root, env: noEnv, warn: (s) => warnings.push(s) });
  assert.equal(c, undefined);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^warning: the CLI code cache cannot be written/);
  assert.equal(await Deno.readTextFile(root), "not a folder", "nothing outside the folder changes");
});

Deno.test("a bundled command's errors are reported as the entry point reports them", async () => {
  const c = await loadCached(CHECK, { root: await shared, env: noEnv });
  assert.ok(c);
  // A usage error thrown by the bundle's own UsageError class (a missing file argument, a bad
  // --dim inside the command's run) comes back as the entry point's.
  for (
    const args of [
      { positional: [], opts: {} },
      checkArgs(`${ROOT}lang-examples/lenet5.dlm`, "--dim", "T=x"),
    ]
  ) {
    await assert.rejects(
      () => runCached(c, COMMANDS.check.options, args, capture()),
      (e) => e instanceof UsageError && e.code === (args.positional.length ? "DLM0501" : e.code),
    );
  }
  // Any other failure is reported by the bundle's reportFailure, as the entry point's would.
  const { reportFailure } = await import("./report.ts");
  const boom = new Error("boom");
  const failing = { ...c, module: { ...c.module, run: () => Promise.reject(boom) } };
  const a = capture(), b = capture();
  const code = await runCached(failing, COMMANDS.check.options, checkArgs("x.dlm"), a);
  assert.equal(code, reportFailure("check", boom, b));
  assert.equal(a.text(), b.text());
  assert.match(a.text(), /internal error: boom/);
});

Deno.test("dlm check from the cache, as a user runs it: the same output as without", async () => {
  const cache = await tempDir();
  const run = (env: Record<string, string>) =>
    dlmProcess(env, ["check", "tests/golden/errors/conv_shape_mismatch.dlm"]);
  const plain = await run({ DLM_CLI_CACHE: "0", DLM_CACHE_DIR: cache });
  assert.equal(plain.code, 1);
  assert.equal((await Array.fromAsync(Deno.readDir(cache))).length, 0, "off: nothing written");
  for (let i = 0; i < 3; i++) assert.deepEqual(await run({ DLM_CACHE_DIR: cache }), plain);
  const files = (await Array.fromAsync(Deno.readDir(`${cache}/cli`))).map((e) => e.name).sort();
  assert.deepEqual(files, ["check.js", "check.v8"]);
});

Deno.test("dlm run and dlm train from the cache, as a user runs them: the same output as without", async () => {
  const cache = await tempDir();
  const dlm = async (env: Record<string, string>, ...args: string[]) => {
    const r = await dlmProcess(env, args);
    // Timings differ from run to run: "in 12.3 ms", "(0.1 s)".
    return { ...r, err: r.err.replace(/ in [0-9.]+ ms/g, "").replace(/\([0-9.]+ s\)/g, "") };
  };
  const cases = [
    ["run", "lang-examples/mlp.dlm", "--dim", "N=3"],
    [
      "train",
      "lang-examples/lenet_digits.dlm",
      "--data",
      "digits",
      "--epochs",
      "1",
      "--train-samples",
      "64",
    ],
    // A failure inside the bundle is reported as the modules report it.
    ["run", "lang-examples/mlp.dlm", "--dim", "N=3", "--input", `x=${cache}/missing.npy`],
  ];
  for (const args of cases) {
    const plain = await dlm({ DLM_CLI_CACHE: "0", DLM_CACHE_DIR: cache }, ...args);
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await dlm({ DLM_CACHE_DIR: cache }, ...args), plain, args.join(" "));
    }
  }
  const files = (await Array.fromAsync(Deno.readDir(`${cache}/cli`))).map((e) => e.name).sort();
  assert.deepEqual(files, ["run.js", "run.v8", "train.js", "train.v8"]);
});

Deno.test("every command marked for the code cache bundles as one script", async () => {
  const { buildBundle } = await import("./code_cache_build.ts");
  const marked = Object.entries(COMMANDS).filter(([, c]) => c.codeCache);
  assert.deepEqual(marked.map(([n]) => n).sort(), ["check", "compile", "fmt", "run", "train"]);
  for (const [name, c] of marked) {
    const built = await buildBundle(c.module!, import.meta.resolve("../runtime/fs.ts"));
    assert.ok(built, `${name} bundles (a computed import() or a top-level await would stop it)`);
    assert.equal(built.manifest.entry, c.module);
    // onnxruntime stays outside (a native addon), required when a model runs.
    if (name === "run" || name === "train") {
      assert.match(built.text, /require\("onnxruntime-node"\)/, name);
      assert.ok(!built.manifest.inputs.some(([p]) => p.includes("node_modules")), name);
    }
  }
});

Deno.test("a bundle is not built from a source written moments ago, and records each source it holds", async () => {
  const { buildBundle } = await import("./code_cache_build.ts");
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/dep.ts`, "export const answer = 42;\n");
  await Deno.writeTextFile(
    `${dir}/cmd.ts`,
    'import { answer } from "./dep.ts";\nexport function run(): number { return answer; }\n',
  );
  const fs = import.meta.resolve("../runtime/fs.ts");
  const entry = `file://${dir}/cmd.ts`;
  assert.equal(await buildBundle(entry, fs), undefined, "just written: it may be half-written");
  const past = new Date(Date.now() - 60_000);
  for (const f of ["dep.ts", "cmd.ts"]) Deno.utimeSync(`${dir}/${f}`, past, past);
  const built = await buildBundle(entry, fs);
  assert.ok(built);
  const paths = built.manifest.inputs.map(([p]) => p);
  assert.ok(paths.includes(`${dir}/dep.ts`) && paths.includes(`${dir}/cmd.ts`));
  assert.ok(isFresh(built.manifest, entry));
  await Deno.writeTextFile(`${dir}/dep.ts`, "export const answer = 43;\n");
  assert.equal(isFresh(built.manifest, entry), false, "an edited source makes it stale");
});
