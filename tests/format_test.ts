/**
 * `dlm fmt` never changes what a program means:
 *
 * - every model of every example in lang-examples/ (and each train section's step), and every
 *   example of spec/language.md, compiles to the same graph from its formatted text as from its
 *   text as written (the IR printed without source spans: formatting moves spans, nothing else);
 * - formatting is idempotent on all of them;
 * - mutants of the examples from the hardening fuzzer (tools/fuzz.ts) that parse format, and the
 *   formatted text parses to the same tree up to spans. The compiler reads nothing but that tree
 *   (and the spans, for diagnostics and ONNX doc strings), so its graph is the same;
 * - the repository's own .dlm files are formatted (`dlm fmt --check` would pass).
 */
import assert from "node:assert/strict";
import { compileFile } from "../compiler/compile.ts";
import { readFromDisk } from "../compiler/check/program.ts";
import type { Graph } from "../compiler/ir/graph.ts";
import { printGraph } from "../compiler/ops/print_graph.ts";
import { formatSource } from "../compiler/syntax/format.ts";
import { parse } from "../compiler/syntax/mod.ts";
import { lex } from "../compiler/syntax/lexer.ts";
import { compileTrain } from "../compiler/train/compile.ts";
import { input, loadSources } from "../tools/fuzz.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const EXAMPLES = `${ROOT}lang-examples`;

function format(text: string, path = "<test>"): string {
  const r = formatSource(text, { path });
  if (!r.ok) throw new Error(`${path}: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  return r.text;
}

/** A graph as text without its source spans (the printer's `#` comments): what formatting must not change. */
function graphText(g: Graph): string {
  return printGraph(g).replace(/ {2}# .*$/gm, "");
}

/** Each file read from disk, formatted. */
const formattedRead = (path: string) => {
  const text = readFromDisk(path);
  return typeof text === "string" ? format(text, path) : text;
};

function dlmFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)) {
    if (e.name.startsWith(".") || e.name === "node_modules") continue;
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...dlmFiles(p));
    else if (e.name.endsWith(".dlm")) out.push(p);
  }
  return out;
}

Deno.test("every model and train section of lang-examples compiles to the same graph once formatted", () => {
  let models = 0, trains = 0;
  for (const path of dlmFiles(EXAMPLES)) {
    const text = Deno.readTextFileSync(path);
    const out = format(text, path);
    assert.equal(format(out, path), out, `${path}: formatting is idempotent`);
    const decls = parse(text, path).file.decls;
    for (const d of decls) {
      if (d.kind === "model") {
        const a = compileFile(path, { model: d.name });
        const b = compileFile(path, { model: d.name, read: formattedRead });
        assert.deepEqual(b.diagnostics.map((x) => x.code), a.diagnostics.map((x) => x.code));
        if (a.graph) {
          assert.ok(b.graph, `${path} ${d.name}`);
          assert.equal(graphText(b.graph), graphText(a.graph), `${path} ${d.name}`);
          models++;
        }
      } else if (d.kind === "train" && !path.includes("gpt2") && !path.includes("bert")) {
        // The full-size language models' steps are left to replay: each takes seconds.
        const a = compileTrain(path, { model: d.model });
        const b = compileTrain(path, { model: d.model, read: formattedRead });
        assert.deepEqual(b.diagnostics.map((x) => x.code), a.diagnostics.map((x) => x.code));
        if (a.step) {
          assert.equal(graphText(b.step!), graphText(a.step), `${path} train ${d.model}`);
          trains++;
        }
      }
    }
  }
  console.log(`${models} models and ${trains} training steps compared`);
  assert.ok(models >= 50, `only ${models} models compiled`);
});

Deno.test("the layout is canonical: an example's tokens laid out any way format to the same text", () => {
  let seed = 1;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (const path of dlmFiles(EXAMPLES)) {
    // Without its comments and blank lines (which the layout keeps), as one line of tokens...
    const images = lex(Deno.readTextFileSync(path), path).tokens.map((t) => t.image);
    const oneLine = format(images.join(" "), path);
    // ...and with a random mix of spaces, tabs and single line ends between them.
    const gaps = [" ", "  ", "\t", "\n", " \n   "];
    const scattered = images.map((im) => im + gaps[Math.floor(random() * gaps.length)]).join("");
    assert.equal(format(scattered, path), oneLine, path);
  }
});

/** The ```dlm examples of spec/language.md, by name (as tests/spec_test.ts reads them). */
function specExamples(): { name: string; body: string; line: number }[] {
  const lines = Deno.readTextFileSync(`${ROOT}spec/language.md`).split("\n");
  const out: { name: string; body: string; line: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^```dlm(.*)$/.exec(lines[i]);
    if (!m) continue;
    let j = i + 1;
    while (!lines[j].startsWith("```")) j++;
    const body = lines.slice(i + 1, j).join("\n");
    const named = /^\/\/ file: (\S+)/.exec(body);
    if (!/\bfragment\b/.test(m[1])) {
      out.push({ name: named ? named[1] : `example_${i + 1}.dlm`, body, line: i + 1 });
    }
    i = j;
  }
  return out;
}

Deno.test("every example of spec/language.md compiles the same once formatted", () => {
  const exs = specExamples();
  const plain = new Map(exs.map((e) => [e.name, e.body]));
  const formatted = new Map<string, string>();
  for (const e of exs) {
    const r = formatSource(e.body, { path: e.name });
    // An example of a syntax error stays as it is (as `dlm fmt` leaves such a file).
    const text = r.ok ? r.text : e.body;
    if (r.ok) assert.equal(format(text), text, `spec/language.md:${e.line} is idempotent`);
    formatted.set(e.name, text);
  }
  let compared = 0;
  for (const e of exs) {
    if (!/^\s*model\s/m.test(e.body)) continue;
    const reader = (files: Map<string, string>) => (p: string) =>
      files.get(p.replace(/^\.\//, "")) ?? new Error("no such file");
    const a = compileFile(e.name, { read: reader(plain) });
    const b = compileFile(e.name, { read: reader(formatted) });
    const where = `spec/language.md:${e.line}`;
    assert.deepEqual(b.diagnostics.map((d) => d.code), a.diagnostics.map((d) => d.code), where);
    if (a.graph) {
      assert.equal(graphText(b.graph!), graphText(a.graph), where);
      compared++;
    }
  }
  console.log(`${exs.length} examples formatted, ${compared} graphs compared`);
  assert.ok(compared >= 20);
});

/** The AST without positions, flattened in order (a loop: a long `x + ... + x` is a deep tree). */
function shape(text: string, path: string): string[] {
  const { file } = parse(text, path);
  const out: string[] = [];
  const stack: unknown[] = [file.decls];
  while (stack.length) {
    const x = stack.pop();
    if (Array.isArray(x)) {
      out.push(`[${x.length}`);
      for (let i = x.length - 1; i >= 0; i--) stack.push(x[i]);
    } else if (x && typeof x === "object") {
      const keys = Object.keys(x).filter((k) => k !== "span" && !k.endsWith("Span")).sort();
      out.push(`{${keys.join(",")}`);
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push((x as Record<string, unknown>)[keys[i]]);
      }
    } else out.push(JSON.stringify(x) ?? "undefined");
  }
  return out;
}

Deno.test("1,000 fuzzer mutants of the examples that parse format to the same tree, idempotently", () => {
  const sources = loadSources();
  let parsed = 0;
  for (let i = 0; i < 1_000; i++) {
    const { text, source } = input(7, i, sources);
    if (text.length > 300_000) continue;
    const p = parse(text, source.path);
    if (p.diagnostics.some((d) => d.severity === "error")) continue;
    parsed++;
    const r = formatSource(text, { path: source.path });
    assert.ok(r.ok, `mutant ${i}: ${!r.ok && r.diagnostics[0].message}`);
    const a = shape(text, source.path), b = shape(r.text, source.path);
    assert.ok(a.length === b.length && a.every((w, k) => w === b[k]), `mutant ${i}: same tree`);
    assert.equal(format(r.text), r.text, `mutant ${i} is idempotent`);
  }
  console.log(`${parsed} of 1,000 mutants parse`);
  assert.ok(parsed >= 200);
});

Deno.test("the repository's own .dlm files are formatted (dlm fmt --check)", () => {
  const unformatted: string[] = [];
  for (const dir of ["lang-examples", "bench", "tests/fixtures"]) {
    for (const path of dlmFiles(`${ROOT}${dir}`)) {
      const text = Deno.readTextFileSync(path);
      const r = formatSource(text, { path });
      // Files that exist to hold syntax errors are left as they are.
      if (r.ok && r.text !== text) unformatted.push(path.slice(ROOT.length));
    }
  }
  assert.deepEqual(unformatted, [], "run: deno task dlm fmt " + unformatted.join(" "));
});
