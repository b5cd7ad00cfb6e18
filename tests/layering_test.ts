/**
 * The layering of ARCHITECTURE.md, enforced: every non-test module of
 * compiler/, runtime/, cli/ and web/ is read, its imports (static, dynamic and
 * type-only) are resolved, and the test fails on
 * - an import from a higher layer than the module's own (a type is a
 *   dependency too), except the documented exceptions below;
 * - a cycle of static imports (dynamic imports are lazy and cannot form a
 *   load-time cycle, but they still obey the layers).
 *
 * The layers, bottom first. A module may import from its own layer and the
 * ones below; the longest matching prefix names a module's layer.
 */
import assert from "node:assert/strict";
import { cycles, type Import, IMPORT_RE, importsOf, normalize } from "./module_graph.ts";

export const LAYERS: readonly (readonly string[])[] = [
  // 0: values, spans and diagnostics: the graph IR and what every layer speaks
  ["compiler/version.ts", "compiler/diagnostics.ts", "compiler/ir/"],
  // 1: op semantics (shape rules, lowerings, gradient rules); the surface syntax
  ["compiler/ops/", "compiler/syntax/"],
  // 2: graph transformations and encodings that know ops but not the language
  ["compiler/grad/", "compiler/passes/", "compiler/onnx/", "compiler/viz/"],
  // 3: the language's meaning: names, elaboration, built-ins, fine-tuning
  ["compiler/check/"],
  // 4: the compiler's front doors: models and train sections
  ["compiler/compile.ts", "compiler/train/", "compiler/service/"],
  // 5: runtimes that execute graphs and the file formats they read
  ["runtime/fs.ts", "runtime/formats/", "runtime/reference/"],
  // 6: onnxruntime, data sets, metrics, tokenizers, memory estimates, weights and inputs
  [
    "runtime/ort/",
    "runtime/data/",
    "runtime/eval/",
    "runtime/text/",
    "runtime/weights.ts",
    "runtime/save_weights.ts",
    "runtime/inputs.ts",
    "runtime/sample_inputs.ts",
    "runtime/memory.ts",
  ],
  // 7: what drives a runtime: training loops, differential testing, generation, sweeps
  ["runtime/train/", "runtime/diff/", "runtime/generate.ts", "runtime/sweep/"],
  // 8: the command line
  ["cli/"],
  // 9: the browser playground (the compiler, interpreter and onnxruntime-web in a page)
  ["web/"],
];

/**
 * Imports that cross the layers upwards on purpose, each with its reason.
 * An entry that no longer matches an import fails the test, so the list
 * stays true.
 */
export const EXCEPTIONS: readonly { from: string; to: string; why: string }[] = [
  {
    from: "compiler/passes/fold_constants.ts",
    to: "runtime/reference/",
    why:
      "constant folding evaluates nodes with the reference kernels (one definition of each op's numbers)",
  },
];

/**
 * Upward imports that the redesign (issue 11) has still to remove. Each
 * entry must still exist (the test fails when one is fixed, so that it is
 * deleted here); no new entry may be added.
 */
const PENDING: readonly string[] = [];

/** Import cycles the redesign has still to break; the same rules as PENDING. */
const PENDING_CYCLES: readonly string[] = [];

const ROOT = new URL("../", import.meta.url);
const ROOTS = ["compiler", "runtime", "cli", "web"];

function walk(dir: string, out: string[]): void {
  for (const e of Deno.readDirSync(new URL(dir, ROOT))) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) walk(p, out);
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts") && !isTestSupport(p)) {
      out.push(p);
    }
  }
}

/**
 * Test support: harnesses and fixtures that live beside the tests they serve
 * (the finite-difference gradient check next to the gradient rules, as the
 * style guide puts unit tests beside their code). They may import anything,
 * since only tests import them; the test below enforces that.
 */
export const TEST_SUPPORT: readonly string[] = [
  "compiler/grad/grad_check.ts",
  "compiler/grad/grad_cases.ts",
];

function isTestSupport(path: string): boolean {
  return TEST_SUPPORT.includes(path) ||
    /(^|\/)testing\.ts$|_testing\.ts$|(^|\/)test_[a-z_]+\.ts$/.test(path);
}

export function layerOf(path: string): number | undefined {
  let best: { rank: number; len: number } | undefined;
  LAYERS.forEach((prefixes, rank) => {
    for (const p of prefixes) {
      const hit = p.endsWith("/") ? path.startsWith(p) : path === p;
      if (hit && (!best || p.length > best.len)) best = { rank, len: p.length };
    }
  });
  return best?.rank;
}

function modules(): Map<string, Import[]> {
  const files: string[] = [];
  for (const r of ROOTS) walk(r, files);
  return new Map(files.sort().map((f) => [f, importsOf(f)]));
}

Deno.test("every compiler, runtime, cli and web module belongs to a layer", () => {
  const orphans = [...modules().keys()].filter((f) => layerOf(f) === undefined);
  assert.deepEqual(
    orphans,
    [],
    "add these to LAYERS in tests/layering_test.ts and ARCHITECTURE.md",
  );
});

Deno.test("no module imports from a layer above its own, except the documented exceptions", () => {
  const mods = modules();
  const upward: string[] = [];
  const used = new Set<string>();
  for (const [from, imports] of mods) {
    const mine = layerOf(from);
    if (mine === undefined) continue;
    for (const i of imports) {
      const theirs = layerOf(i.to);
      if (theirs === undefined || theirs <= mine) continue;
      const ex = EXCEPTIONS.find((e) => from === e.from && i.to.startsWith(e.to));
      if (ex) {
        used.add(`${ex.from} -> ${ex.to}`);
        continue;
      }
      upward.push(`${from} (layer ${mine}) -> ${i.to} (layer ${theirs})`);
    }
  }
  const pending = new Set(PENDING);
  const fresh = upward.filter((u) => !pending.has(u));
  const fixed = PENDING.filter((p) => !upward.includes(p));
  assert.deepEqual(fresh, [], "imports from a higher layer");
  assert.deepEqual(fixed, [], "fixed: delete these from PENDING");
  const stale = EXCEPTIONS.map((e) => `${e.from} -> ${e.to}`).filter((e) => !used.has(e));
  assert.deepEqual(stale, [], "exceptions that no import needs any more");
});

Deno.test("no module outside the tests imports test support", () => {
  const bad: string[] = [];
  for (const [from, imports] of modules()) {
    for (const i of imports) if (isTestSupport(i.to)) bad.push(`${from} -> ${i.to}`);
  }
  assert.deepEqual(bad, []);
  for (const f of TEST_SUPPORT) assert.ok(exists(f), `${f} is listed as test support but is gone`);
});

function exists(path: string): boolean {
  try {
    return Deno.statSync(new URL(path, ROOT)).isFile;
  } catch {
    return false;
  }
}

Deno.test("static imports form no cycle", () => {
  const graph = new Map(
    [...modules()].map(([f, is]) => [f, is.filter((i) => !i.dynamic).map((i) => i.to)]),
  );
  const found = cycles(graph).map((c) => c.join(" "));
  const pending = new Set(PENDING_CYCLES);
  assert.deepEqual(found.filter((c) => !pending.has(c)), [], "import cycles");
  assert.deepEqual(PENDING_CYCLES.filter((c) => !found.includes(c)), [], "fixed: delete these");
});

Deno.test("the cycle finder finds a cycle and ignores a chain", () => {
  const g = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
  assert.deepEqual(cycles(g), [["a", "b", "c"]]);
  assert.deepEqual(cycles(new Map([["a", ["b"]], ["b", []]])), []);
});

Deno.test("the import reader sees static, type-only, re-exported and dynamic imports", () => {
  const path = "compiler/ir/__probe__.ts";
  const src = `import { a } from "./x.ts";\nimport type { B } from "../ops/y.ts";\n` +
    `export { c } from "./z.ts";\nimport "./side.ts";\nconst m = await import("../../cli/m.ts");\n` +
    `// import { no } from "./comment.ts";\n`;
  const got = [...src.replace(/^\s*\/\/.*$/gm, "").matchAll(IMPORT_RE)].map((m) =>
    `${normalize(path, m[1] ?? m[2])}${m[2] ? " (dynamic)" : ""}`
  );
  assert.deepEqual(got, [
    "compiler/ir/x.ts",
    "compiler/ops/y.ts",
    "compiler/ir/z.ts",
    "compiler/ir/side.ts",
    "cli/m.ts (dynamic)",
  ]);
  assert.equal(layerOf("compiler/ir/graph.ts"), 0);
  assert.equal(layerOf("compiler/passes/fold_constants.ts"), 2);
  assert.equal(layerOf("cli/main.ts"), 8);
});
