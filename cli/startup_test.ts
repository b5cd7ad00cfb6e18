/**
 * What each part of the CLI loads when it starts: the module graph that
 * `deno info` reports, followed along static imports only (a dynamic
 * `import()` runs when reached, a type-only import never). Help and usage
 * errors must load no compiler; `dlm check` nothing that emits or runs a model.
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

/** `deno info --json` of the whole CLI: every module any command may reach. */
async function moduleGraph(): Promise<
  { modules: Map<string, InfoModule>; redirects: Record<string, string> }
> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "cli/main.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  const info = JSON.parse(new TextDecoder().decode(r.stdout));
  const modules = new Map<string, InfoModule>();
  for (const m of info.modules as InfoModule[]) modules.set(m.specifier, m);
  return { modules, redirects: info.redirects ?? {} };
}

const graph = moduleGraph();

/**
 * The modules `file` loads before any of its code runs, as paths relative to
 * the repository (`cli/args.ts`) or npm package names (`npm:chevrotain`).
 */
async function staticImports(file: string): Promise<string[]> {
  const { modules, redirects } = await graph;
  const root = new URL(file, ROOT).href;
  const seen = new Set<string>();
  const todo = [root];
  while (todo.length) {
    let s = todo.pop()!;
    s = redirects[s] ?? s;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of modules.get(s)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) todo.push(d.code.specifier);
    }
  }
  return [...seen].map((s) =>
    s.startsWith(ROOT.href)
      ? s.slice(ROOT.href.length)
      : s.replace(/^npm:\/?/, "npm:").replace(/@[^@/]+$/, "")
  ).sort();
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
  // The version string is the one compiler file help needs: a constant, no imports.
  const heavy = loaded.filter((m) =>
    (m.startsWith("compiler/") && m !== "compiler/version.ts") || m.startsWith("runtime/") ||
    m.startsWith("npm:")
  );
  assert.deepEqual(heavy, []);
  assert.ok(loaded.includes("cli/commands/mod.ts"), "the command table is loaded up front");
});

Deno.test("dlm check loads no ONNX encoder or decoder, interpreter, onnxruntime or training compiler", async () => {
  const loaded = await staticImports("cli/commands/check.ts");
  assert.deepEqual(
    offending(loaded, [...ONNX_AND_RUNTIMES, "compiler/train/", "compiler/passes/"]),
    [],
  );
  assert.ok(loaded.includes("compiler/compile.ts"), "check loads the checker");
});

Deno.test("no command loads onnxruntime before it runs a model, and only train and diff the training runtime", async () => {
  const table = await import("./commands/mod.ts");
  for (const name of Object.keys(table.COMMANDS)) {
    const loaded = await staticImports(`cli/commands/${name}.ts`);
    assert.ok(loaded.length > 1, `cli/commands/${name}.ts is in the module graph`);
    assert.deepEqual(offending(loaded, ["npm:onnxruntime-node", "npm:onnxruntime-web"]), [], name);
    if (name !== "train" && name !== "diff") {
      assert.deepEqual(offending(loaded, ["runtime/train/"]), [], name);
    }
  }
});
