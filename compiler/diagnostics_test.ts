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

Deno.test("a code with a template is raised through diag() only", () => {
  const templated = ENTRIES.filter(([, info]) => info.message !== undefined).map(([c]) => c);
  const free: string[] = [];
  for (const { path, text } of SOURCES) {
    for (const code of templated) {
      const quoted = text.split(`"${code}"`).length - 1;
      // deno fmt may break `diag(` and its code over two lines.
      const viaDiag = text.match(new RegExp(`diag\\(\\s*"${code}"`, "g"))?.length ?? 0;
      if (quoted !== viaDiag) free.push(`${path}: ${code} ${quoted - viaDiag}x outside diag()`);
    }
  }
  assert.deepEqual(free, []);
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
