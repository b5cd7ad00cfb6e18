/**
 * What each part of the CLI loads when it starts, from the module graphs that
 * `deno info` reports. Help and usage errors must load no compiler; `dlm
 * check` nothing that emits or runs a model.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

interface InfoDependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
}

/** The module graph of `file` as `deno info --json` reports it. */
async function moduleGraph(file: string): Promise<InfoModule[]> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", file],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  return JSON.parse(new TextDecoder().decode(r.stdout)).modules;
}

/** A module's name: its path in the repository (`cli/args.ts`) or its npm package (`npm:chevrotain`). */
function nameOf(specifier: string): string {
  return specifier.startsWith(ROOT.href)
    ? specifier.slice(ROOT.href.length)
    : specifier.replace(/^npm:\/?/, "npm:").replace(/@[^@/]+$/, "");
}

/**
 * The modules `file` loads before any of its code runs: its graph followed
 * along static imports only (a dynamic `import()` runs when reached, a
 * type-only import never).
 */
async function staticImports(file: string): Promise<string[]> {
  const modules = new Map((await moduleGraph(file)).map((m) => [nameOf(m.specifier), m]));
  const seen = new Set<string>();
  const todo = [file];
  while (todo.length) {
    const s = todo.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of modules.get(s)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) todo.push(nameOf(d.code.specifier));
    }
  }
  return [...seen].sort();
}

/** The modules of `loaded` that match one of `forbidden` (path prefixes or npm names). */
function offending(loaded: string[], forbidden: string[]): string[] {
  return loaded.filter((m) => forbidden.some((f) => m === f || m.startsWith(f)));
}

/** Emitting or running a model, and the training runtime. */
const ONNX_AND_RUNTIMES = [
  "npm:onnx-proto",
  "npm:protobufjs",
  "npm:onnxruntime-node",
  "npm:onnxruntime-web",
  "compiler/onnx/",
  "runtime/reference/",
  "runtime/ort/",
  "runtime/train/",
];

Deno.test("cli/main.ts loads no compiler, runtime or npm package before a command runs", async () => {
  const loaded = await staticImports("cli/main.ts");
  // The compiler files help and usage errors need: the version string and the diagnostic
  // catalogue (usage errors are diagnostics), constants with no imports.
  const light = ["compiler/version.ts", "compiler/diagnostics.ts"];
  const heavy = loaded.filter((m) =>
    (m.startsWith("compiler/") && !light.includes(m)) || m.startsWith("runtime/") ||
    m.startsWith("npm:")
  );
  assert.deepEqual(heavy, []);
  assert.ok(loaded.includes("cli/commands/mod.ts"), "the command table is loaded up front");
});

Deno.test("the graph Deno reads to start cli/main.ts, dynamic imports included, is a few small modules", async () => {
  // Deno resolves and reads the graph behind every literal import("...") when a module loads,
  // so a command imported by a literal would be read (not run) on every start, --help included.
  const all = (await moduleGraph("cli/main.ts")).map((m) => nameOf(m.specifier));
  assert.deepEqual(all.filter((m) => !m.startsWith("cli/") && !m.startsWith("compiler/")), []);
  assert.ok(all.length < 20, `cli/main.ts reaches ${all.length} modules: ${all.join(", ")}`);
});

Deno.test("dlm check loads no ONNX encoder or decoder, interpreter, onnxruntime or training compiler", async () => {
  const loaded = await staticImports("cli/commands/check.ts");
  assert.deepEqual(
    offending(loaded, [...ONNX_AND_RUNTIMES, "compiler/train/", "compiler/passes/"]),
    [],
  );
  assert.ok(loaded.includes("compiler/compile.ts"), "check loads the checker");
});

Deno.test("dlm compile loads no ONNX decoder or protobufjs unless its input is ONNX or weights", async () => {
  // Emitting is wire.ts's; onnx-proto (about 25 ms of CPU to load) only decodes.
  const loaded = await staticImports("cli/commands/compile.ts");
  assert.deepEqual(
    offending(loaded, ["npm:onnx-proto", "npm:protobufjs", "compiler/onnx/decode.ts"]),
    [],
  );
  assert.ok(loaded.includes("compiler/onnx/emit.ts"), "compile loads the emitter");
});

Deno.test("no command loads onnxruntime before it runs a model, and only train, diff and sweep the training runtime", async () => {
  const table = await import("./commands/mod.ts");
  for (const name of Object.keys(table.COMMANDS)) {
    const file = `cli/commands/${name}.ts`;
    // The table imports it by a computed specifier, which the type checker cannot follow.
    assert.equal(
      typeof (await import(`./commands/${name}.ts`)).run,
      "function",
      `${file} exports run`,
    );
    const loaded = await staticImports(file);
    assert.deepEqual(offending(loaded, ["npm:onnxruntime-node", "npm:onnxruntime-web"]), [], name);
    if (name !== "train" && name !== "diff" && name !== "sweep") {
      assert.deepEqual(offending(loaded, ["runtime/train/"]), [], name);
    }
  }
});

Deno.test("dlm train loads no compiler, ONNX encoder or decoder, or interpreter before its step cache misses", async () => {
  // A step from the cache (runtime/train/step_cache.ts) runs without them: the compiler, the ONNX
  // loader (runtime/train/model.ts) and weights files are imported when a step is compiled, the
  // interpreter when it is the backend.
  const loaded = await staticImports("cli/commands/train.ts");
  assert.deepEqual(
    offending(loaded, [
      "npm:onnx-proto",
      "npm:protobufjs",
      "npm:chevrotain",
      "npm:onnxruntime-node",
      "compiler/onnx/proto.ts",
      "compiler/onnx/decode.ts",
      "compiler/onnx/emit.ts",
      "compiler/check/program.ts",
      "compiler/passes/",
      "compiler/ops/table.ts",
      "compiler/ops/builder.ts",
      "compiler/train/mod.ts",
      "compiler/train/pack.ts",
      "compiler/train/multistep.ts",
      "runtime/reference/mod.ts",
      "runtime/train/model.ts",
      "runtime/weights.ts",
      "cli/onnx_input.ts",
    ]),
    [],
  );
  assert.ok(loaded.includes("runtime/train/step_cache.ts"), "train loads the step cache");
});

Deno.test("dlm run loads the interpreter only for --backend reference, the ONNX decoder only for ONNX input", async () => {
  assert.deepEqual(
    offending(await staticImports("cli/commands/run.ts"), [
      "runtime/reference/mod.ts",
      "npm:onnx-proto",
      "npm:protobufjs",
      "compiler/onnx/decode.ts",
    ]),
    [],
  );
});
