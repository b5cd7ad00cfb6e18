/**
 * The catalogue of diagnostic codes: complete, well formed, and the one source of the messages
 * it has templates for. The source checks read every non-test module of compiler/, runtime/,
 * cli/ and tools/.
 */
import assert from "node:assert/strict";
import { type CodeInfo, CODES, diag, placeholders } from "./diagnostics.ts";

const ROOT = new URL("../", import.meta.url);
const CATALOGUE = "compiler/diagnostics.ts";

/** Non-test TypeScript modules under `dir`, as paths relative to the repository. */
function modules(dir: string, out: string[] = []): string[] {
  for (const e of Deno.readDirSync(new URL(dir, ROOT))) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) modules(p, out);
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) out.push(p);
  }
  return out;
}

const SOURCES = ["compiler", "runtime", "cli", "tools"].flatMap((d) => modules(d))
  .filter((p) => p !== CATALOGUE)
  .map((path) => ({ path, text: Deno.readTextFileSync(new URL(path, ROOT)) }));

const ENTRIES = Object.entries(CODES) as [string, CodeInfo][];

Deno.test("every code of the catalogue has a title and a category", () => {
  for (const [code, info] of ENTRIES) {
    assert.match(code, /^DLM\d{4}$/);
    assert.ok(info.title.length > 0 && info.title[0] === info.title[0].toUpperCase(), code);
    assert.ok(info.category === "error" || info.category === "warning", code);
  }
});

Deno.test("every template numbers its placeholders 0..n-1", () => {
  for (const [code, info] of ENTRIES) {
    if (info.message === undefined) continue;
    const used = placeholders(info.message);
    assert.deepEqual(used, used.map((_, i) => i), `${code}: "${info.message}"`);
    // A brace that is not a placeholder would be taken for one by a reader.
    assert.doesNotMatch(info.message.replace(/\{\d+\}/g, ""), /[{}]/, code);
  }
});

Deno.test("placeholders() finds each number once, in order", () => {
  assert.deepEqual(placeholders("{1} and {0}, then {1}"), [0, 1]);
  assert.deepEqual(placeholders("no arguments"), []);
});

Deno.test("diag() fills a template and rejects a wrong number of arguments", () => {
  assert.deepEqual(diag("DLM0204", "f32[N, 3]", "f32[4]", 1, 3, 4), [
    "DLM0204",
    "Cannot broadcast f32[N, 3] with f32[4]: dim 1 is 3 but must be 1 or 4",
  ]);
  assert.deepEqual(diag("DLM0109", "relu")[1].match(/relu/g)?.length, 3);
  assert.throws(() => diag("DLM0211"), /DLM0211 takes 1 message arguments, got 0/);
});

Deno.test("every code the source mentions is in the catalogue", () => {
  const unknown = SOURCES.flatMap(({ path, text }) =>
    [...text.matchAll(/DLM\d{4}/g)].filter((m) => !(m[0] in CODES)).map((m) => `${path}: ${m[0]}`)
  );
  assert.deepEqual(unknown, []);
});

/**
 * The source with its comments blanked out (strings, template literals and their `${...}` kept),
 * so that a code named in a comment is not taken for a raise site. Line breaks stay in place.
 */
function stripComments(text: string): string {
  let out = "";
  // Each entry is a quote being read (', ", `) or a `${` / `{` inside a template's expression.
  const stack: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i], top = stack.at(-1);
    if (top === "'" || top === '"' || top === "`") {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === top) stack.pop();
      else if (top === "`" && c === "$" && text[i + 1] === "{") {
        out += text[++i];
        stack.push("${");
      }
      continue;
    }
    if (c === "/" && text[i + 1] === "/") {
      while (i + 1 < text.length && text[i + 1] !== "\n") i++;
      continue;
    }
    if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop - 1;
      continue;
    }
    out += c;
    if (c === "'" || c === '"' || c === "`") stack.push(c);
    else if (c === "{" && top) stack.push("{");
    else if (c === "}" && (top === "${" || top === "{")) stack.pop();
  }
  return out;
}

Deno.test("stripComments() blanks comments and keeps strings", () => {
  assert.equal(stripComments('a // "DLM0001"\nb'), "a \nb");
  assert.equal(stripComments('/* x\n y */"//"'), '    \n     "//"');
  assert.equal(stripComments("`${f({ a: '}' })} // x` // y"), "`${f({ a: '}' })} // x` ");
});

/** Where each code is named in code (not in comments): `path:line`, the code, and how. */
function mentions(): { where: string; code: string; how: "diag" | "compared" | "free" }[] {
  const found: { where: string; code: string; how: "diag" | "compared" | "free" }[] = [];
  for (const { path, text } of SOURCES) {
    const code = stripComments(text);
    for (const m of code.matchAll(/DLM\d{4}/g)) {
      const before = code.slice(0, m.index);
      const quoted = code[m.index - 1] === '"' && code[m.index + 7] === '"';
      // A code in prose (the built-ins' page says when DLM0206 is reported) is no raise site; one
      // written out as a diagnostic is ("error DLM0501: ...").
      if (!quoted && !/(error|warning) $/.test(before)) continue;
      // deno fmt may break `diag(` and its code over two lines.
      const how = quoted && /diag\(\s*"$/.test(before)
        ? "diag"
        : quoted && /[!=]==\s*"$/.test(before)
        ? "compared"
        : "free";
      found.push({ where: `${path}:${before.split("\n").length}`, code: m[0], how });
    }
  }
  return found;
}

Deno.test("every code has a template, except the reserved ones", () => {
  for (const [code, info] of ENTRIES) {
    assert.ok((info.message === undefined) === (info.reserved === true), code);
  }
});

Deno.test("every code is raised through diag() only, and a reserved code not at all", () => {
  const all = mentions();
  const free = all.filter((m) => m.how === "free").map((m) => `${m.where}: ${m.code}`);
  assert.deepEqual(free, [], "a code raised with a message of its own, not its template's");
  const reserved = all.filter((m) => (CODES as Record<string, CodeInfo>)[m.code]?.reserved);
  assert.deepEqual(reserved.map((m) => `${m.where}: ${m.code}`), []);
});

/** Every file under `dir` (recursively) whose name ends with `suffix`, as repository paths. */
function filesUnder(dir: string, suffix: string, out: string[] = []): string[] {
  for (const e of Deno.readDirSync(new URL(dir, ROOT))) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory && e.name !== "node_modules" && !e.name.startsWith(".")) {
      filesUnder(p, suffix, out);
    } else if (e.isFile && e.name.endsWith(suffix)) out.push(p);
  }
  return out;
}

Deno.test("every code but the reserved ones is raised by a test, a golden error file or a spec example", () => {
  const tests = ["compiler", "runtime", "cli", "tools", "tests", "bench"].flatMap((d) =>
    filesUnder(d, "_test.ts")
  ).filter((p) => p !== "compiler/diagnostics_test.ts");
  const texts = [
    ...tests.map((p) => Deno.readTextFileSync(new URL(p, ROOT))),
    ...filesUnder("tests/golden/errors", ".errors.txt").map((p) =>
      Deno.readTextFileSync(new URL(p, ROOT))
    ),
    // spec_test compiles each "```dlm error DLM0203 ..." example and checks its codes.
    ...filesUnder("spec", ".md").flatMap((p) =>
      Deno.readTextFileSync(new URL(p, ROOT)).split("\n").filter((l) =>
        l.startsWith("```dlm error")
      )
    ),
  ].join("\n");
  const untested = ENTRIES.filter(([code, info]) => !info.reserved && !texts.includes(code))
    .map(([code]) => code);
  assert.deepEqual(untested, [], "codes no test raises (tests/diagnostic_codes_test.ts takes one)");
});

Deno.test("a template gives the words the raise sites gave before it", () => {
  // One site per template, with its old message text (the golden files cover the rest).
  const old: [ReturnType<typeof diag>, string][] = [
    [
      diag("DLM0104", "x.txt", "only .dlm files can be imported"),
      "Cannot import 'x.txt': only .dlm files can be imported",
    ],
    [diag("DLM0304", 1, "%", 0), "Division by zero: 1 % 0"],
    [
      diag("DLM0307", 9007199254740991, "+", 2),
      "Integer overflow: 9007199254740991 + 2 is beyond 2^53",
    ],
    [diag("DLM0308", "sqrt", -1), "sqrt(-1) is not a number"],
    [diag("DLM0112", "M"), "Model M declares no output"],
    [
      diag("DLM0101", "relu6x", "; did you mean 'relu6'?"),
      "Unknown name 'relu6x'; did you mean 'relu6'?",
    ],
    [diag("DLM0113", "a tuple", "length2", ""), "a tuple has no member 'length2'"],
  ];
  for (const [[, got], want] of old) assert.equal(got, want);
});
