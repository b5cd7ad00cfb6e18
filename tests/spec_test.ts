/**
 * The specification is tested like code:
 * - `spec/builtins.md` must be what `tools/gen_builtins_doc.ts` generates now;
 * - every ```dlm example in `spec/language.md` is compiled: a complete file
 *   must compile without errors, an error example must give exactly the
 *   codes it names, and the diagnostics or parameter list printed after it
 *   must be the compiler's own;
 * - the hand-written tables of language.md (diagnostic codes, limits,
 *   compile-time functions, initialisers) must match the implementation.
 *
 * Marking examples in language.md (the fence's info string):
 * - ```dlm (or dlm file)  a complete file, named by a first line `// file: NAME.dlm`
 *                        (else "example.dlm"); a file without a model is a library
 *                        that other examples import, and must load without errors;
 * - ```dlm error DLM0203 a complete file whose errors, in order, have these codes;
 * - ```dlm fragment      not a file (a few statements); not compiled;
 * - options after the kind: `model=NAME`, `set=KEY=VALUE` (repeatable), `mode=train`;
 * - ```text diagnostics  right after an example: its diagnostics exactly as printed;
 * - ```text params       right after an example: its parameters, `name [shape]` a line.
 *
 * When the compiler's messages change, rewrite the shown diagnostics and
 * parameter lists (and regenerate spec/builtins.md) with the golden-file flag:
 *
 *     DLM_UPDATE_GOLDEN=1 deno test -A tests/spec_test.ts
 *
 * and review the diff of spec/ like any other golden diff.
 */
import assert from "node:assert/strict";
import { compileFile, type CompileOptions } from "../compiler/compile.ts";
import { CODES, formatDiagnostic, sortDiagnostics } from "../compiler/diagnostics.ts";
import { loadProgram, normalizePath } from "../compiler/check/program.ts";
import { COMPILE_FNS, INIT_FNS } from "../compiler/check/names.ts";
import { LIMITS } from "../compiler/check/limits.ts";
import { generateBuiltinsDoc } from "../tools/gen_builtins_doc.ts";

const ROOT = new URL("../", import.meta.url);
const LANGUAGE_URL = new URL("spec/language.md", ROOT);
const BUILTINS_URL = new URL("spec/builtins.md", ROOT);
const UPDATE = Deno.env.get("DLM_UPDATE_GOLDEN") === "1";

/** A fenced code block of a markdown file. */
interface Fence {
  info: string[];
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** The ``` fenced blocks of a markdown text, in order. */
function fences(md: string): Fence[] {
  const out: Fence[] = [];
  const lines = md.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(.*)$/.exec(lines[i]);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].startsWith(open[1])) body.push(lines[j++]);
    out.push({
      info: open[2].trim().split(/\s+/).filter((w) => w !== ""),
      body: body.join("\n"),
      line: i + 1,
    });
    i = j;
  }
  return out;
}

interface Example {
  fence: Fence;
  file: string;
  errors?: string[];
  opts: CompileOptions;
  /** The ```text diagnostics block after the example, if any. */
  diagnostics?: Fence;
  /** The ```text params block after the example, if any. */
  params?: Fence;
}

function examples(md: string): Example[] {
  const fs = fences(md);
  const out: Example[] = [];
  fs.forEach((f, k) => {
    if (f.info[0] !== "dlm") return;
    const kind = f.info[1];
    if (kind === "fragment") return;
    const named = /^\/\/ file: (\S+)/.exec(f.body);
    const opts: CompileOptions = {};
    const rest = kind === "error" || kind === "file" ? f.info.slice(2) : f.info.slice(1);
    const errors = kind === "error" ? rest.filter((w) => /^DLM\d{4}$/.test(w)) : undefined;
    for (const w of rest) {
      if (/^DLM\d{4}$/.test(w) && errors) continue;
      const [key, ...v] = w.split("=");
      const value = v.join("=");
      if (key === "model") opts.model = value;
      else if (key === "mode" && (value === "train" || value === "eval")) opts.mode = value;
      else if (key === "set") {
        const [name, raw] = [
          value.slice(0, value.indexOf("=")),
          value.slice(value.indexOf("=") + 1),
        ];
        opts.overrides = {
          ...opts.overrides,
          [name]: Number.isFinite(Number(raw)) ? Number(raw) : raw,
        };
      } else throw new Error(`spec/language.md:${f.line}: unknown fence word '${w}'`);
    }
    const ex: Example = { fence: f, file: named ? named[1] : "example.dlm", errors, opts };
    for (const next of fs.slice(k + 1, k + 3)) {
      if (next.info[0] !== "text") break;
      if (next.info[1] === "diagnostics") ex.diagnostics = next;
      else if (next.info[1] === "params") ex.params = next;
      else break;
    }
    out.push(ex);
  });
  return out;
}

/** Every named example is a file of one virtual file system, so examples can import each other. */
function fileSystem(exs: Example[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const ex of exs) {
    if (ex.file === "example.dlm") continue;
    if (files.has(ex.file)) {
      throw new Error(`spec/language.md:${ex.fence.line}: a second example named ${ex.file}`);
    }
    files.set(ex.file, ex.fence.body);
  }
  return files;
}

/** The example's error diagnostics as printed, and its parameters as `name [shape]`. */
function run(ex: Example, files: Map<string, string>) {
  const r = compileExample(ex, files);
  const errors = sortDiagnostics(r.diagnostics.filter((d) => d.severity === "error"));
  const printed = errors.map((d) => formatDiagnostic(d, r.sources)).join("\n");
  const g = r.graph;
  const params = g?.params.map((
    p,
  ) => [p.name, `[${g.initializers.get(p.name)!.shape.join(", ")}]`]);
  return { errors, printed, params };
}

/** Rewrite the shown diagnostics and parameter lists of `md` with the compiler's output. */
function updated(md: string): string {
  const exs = examples(md);
  const files = fileSystem(exs);
  const lines = md.split("\n");
  const edits: { line: number; body: string }[] = [];
  for (const ex of exs) {
    const { printed, params } = run(ex, files);
    if (ex.diagnostics) edits.push({ line: ex.diagnostics.line, body: printed });
    if (ex.params && params) {
      const w = Math.max(...params.map(([n]) => n.length)) + 2;
      edits.push({
        line: ex.params.line,
        body: params.map(([n, s]) => n.padEnd(w) + s).join("\n"),
      });
    }
  }
  // Bottom up, so that earlier line numbers stay valid.
  for (const e of edits.sort((a, b) => b.line - a.line)) {
    let end = e.line;
    while (!lines[end].startsWith("```")) end++;
    lines.splice(e.line, end - e.line, ...(e.body === "" ? [] : e.body.split("\n")));
  }
  return lines.join("\n");
}

if (UPDATE) {
  Deno.writeTextFileSync(LANGUAGE_URL, updated(Deno.readTextFileSync(LANGUAGE_URL)));
  Deno.writeTextFileSync(BUILTINS_URL, generateBuiltinsDoc());
}

const LANGUAGE = Deno.readTextFileSync(LANGUAGE_URL);
const EXAMPLES = examples(LANGUAGE);
const FILES = fileSystem(EXAMPLES);

function compileExample(ex: Example, files: Map<string, string>) {
  const read = (p: string) => {
    const key = normalizePath(p);
    if (key === ex.file) return ex.fence.body;
    return files.get(key) ?? new Error("no such file");
  };
  const hasModel = /^\s*model\s/m.test(ex.fence.body);
  if (!hasModel && !ex.errors) {
    const p = loadProgram(ex.file, read);
    return { diagnostics: p.diagnostics, sources: p.sources, graph: undefined };
  }
  return compileFile(ex.file, { ...ex.opts, read });
}

function where(ex: Example): string {
  return `spec/language.md:${ex.fence.line} (${ex.file})`;
}

Deno.test("spec/builtins.md is up to date with tools/gen_builtins_doc.ts", () => {
  const current = Deno.readTextFileSync(BUILTINS_URL);
  assert.ok(
    current === generateBuiltinsDoc(),
    "spec/builtins.md is stale: run deno run -A tools/gen_builtins_doc.ts",
  );
});

Deno.test("every dlm code block of spec/language.md is marked as a file, an error example or a fragment", () => {
  const unmarked = fences(LANGUAGE).filter((f) => f.info[0] === "dlm" && f.info[1] !== undefined)
    .filter((f) => !["file", "error", "fragment"].includes(f.info[1]) && !f.info[1].includes("="));
  assert.deepEqual(unmarked.map((f) => `line ${f.line}: dlm ${f.info.join(" ")}`), []);
  const bare = fences(LANGUAGE).filter((f) =>
    f.info.length === 0 && /^\s*(model|block|let|import)\s/m.test(f.body)
  );
  assert.deepEqual(
    bare.map((f) => `line ${f.line}: a code block without an info string looks like dlm`),
    [],
  );
});

const UPDATE_HINT = "(DLM_UPDATE_GOLDEN=1 deno test -A tests/spec_test.ts rewrites it)";

for (const ex of EXAMPLES) {
  const what = ex.errors ? `fails with ${ex.errors.join(", ")}` : "compiles";
  Deno.test(`the example at ${where(ex)} ${what}`, () => {
    const { errors, printed, params } = run(ex, FILES);
    if (ex.errors) {
      assert.deepEqual(errors.map((d) => d.code), ex.errors, `${where(ex)} gave:\n${printed}`);
    } else assert.equal(printed, "", `${where(ex)} should compile, but gave:\n${printed}`);
    if (ex.diagnostics) {
      assert.equal(
        printed,
        ex.diagnostics.body,
        `${where(ex)}: the diagnostics shown differ ${UPDATE_HINT}`,
      );
    }
    if (ex.params) {
      assert.ok(params, `${where(ex)} has no graph to list parameters of`);
      const shown = ex.params.body.split("\n").map((l) => l.trim().split(/\s+(?=\[)/)).filter((l) =>
        l[0] !== ""
      );
      assert.deepEqual(shown, params, `${where(ex)}: the parameters shown differ ${UPDATE_HINT}`);
    }
  });
}

/** Rows of the markdown tables under a heading: the cells of each row, header and rule excluded. */
function tableUnder(md: string, heading: string): string[][] {
  const start = md.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `spec/language.md has no heading '${heading}'`);
  const rest = md.slice(start + heading.length + 2);
  const end = rest.search(/\n#{1,6} /);
  const rows = (end < 0 ? rest : rest.slice(0, end)).split("\n").filter((l) => l.startsWith("|"));
  return rows.slice(2).map((r) => r.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
}

Deno.test("the table of diagnostic codes in spec/language.md lists every code with its title", () => {
  const rows = tableUnder(LANGUAGE, "### 10.2 Diagnostic codes");
  const listed = rows.map((r) => [r[0].replace(/`/g, ""), r[1]]);
  assert.deepEqual(listed, Object.entries(CODES).map(([code, info]) => [code, info.title]));
});

Deno.test("the limits in spec/language.md are the elaborator's LIMITS", () => {
  const rows = tableUnder(LANGUAGE, "### 4.9 Limits");
  const listed = Object.fromEntries(
    rows.map((r) => [/\(`(\w+)`\)/.exec(r[0])?.[1], Number(r[1].replace(/,/g, ""))]),
  );
  assert.deepEqual(listed, { ...LIMITS });
});

Deno.test("spec/language.md documents every compile-time function and initialiser", () => {
  const fns = tableUnder(LANGUAGE, "### 4.8 Compile-time functions").flatMap((r) =>
    [...r[0].matchAll(/`(\w+)\(/g)].map((m) => m[1])
  );
  assert.deepEqual([...new Set(fns)].sort(), Object.keys(COMPILE_FNS).sort());
  const inits = tableUnder(LANGUAGE, "### 8.2 Initialisers").flatMap((r) =>
    [...r[0].matchAll(/`(\w+)/g)].map((m) => m[1])
  );
  assert.deepEqual([...new Set(inits)].sort(), [...INIT_FNS].sort());
});
