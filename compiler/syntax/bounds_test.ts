/**
 * The front end's bounds (spec/grammar.md 6): nesting, syntax errors, strings in interpolations,
 * and time linear in the input whatever it holds (issue 12, defects 4 and 5).
 */
import assert from "node:assert/strict";
import type { Diagnostic } from "../diagnostics.ts";
import { MAX_FILE_CHARS, MAX_FILE_TOKENS, type ModelDecl, parse } from "./mod.ts";
import { lex } from "./lexer.ts";
import { MAX_NESTING, MAX_SYNTAX_ERRORS } from "./parser.ts";
import { MAX_STRING_NESTING } from "./cst_to_ast.ts";
import { rng } from "../../tools/fuzz.ts";

function show(d: Diagnostic): string {
  return `${d.span?.line}:${d.span?.col} ${d.code}`;
}

const model = (body: string) => `model M {\n  input x: f32[N, 4]\n${body}\n}\n`;

/** The least of three wall times of `f`, in ms (the least is the one least disturbed). */
function time(f: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

const PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~";
function punctuation(n: number): string {
  const r = rng(7);
  let s = "";
  for (let i = 0; i < n; i++) s += i % 80 === 79 ? "\n" : PUNCT[Math.floor(r() * PUNCT.length)];
  return s;
}

Deno.test("parse() reports nesting past the limit as DLM0152 at the token that opens the level", () => {
  // The model body is one level and each parenthesis one more.
  const ok = model(`  output y = ${"(".repeat(MAX_NESTING - 1)}x${")".repeat(MAX_NESTING - 1)}`);
  assert.deepEqual(parse(ok, "t.dlm").diagnostics, []);
  const deep = model(`  output y = ${"(".repeat(MAX_NESTING)}x${")".repeat(MAX_NESTING)}`);
  const { file, diagnostics } = parse(deep, "t.dlm");
  // `  output y = ` is 13 columns; the 100th "(" opens the 101st level.
  assert.deepEqual(diagnostics.map(show), [`3:${13 + MAX_NESTING} DLM0152`]);
  assert.match(diagnostics[0].message, /nests more than 100 levels deep/);
  assert.deepEqual(file.decls, [], "the declaration it is in is left out");
});

Deno.test("parse() counts calls, indexes, members, prefix operators, ** and blocks as nesting", () => {
  const n = MAX_NESTING + 5;
  const cases = [
    `  output y = ${"relu(".repeat(n)}x${")".repeat(n)}`,
    `  output y = x${"[0]".repeat(n)}`,
    `  output y = x${".shape".repeat(n)}`,
    `  output y = ${"-".repeat(n)}x`,
    `  output y = x${" ** 2".repeat(n)}`,
    `  let a = ${"[".repeat(n)}1${"]".repeat(n)}`,
    `  let a = 1\n  ${"if a == 1 { ".repeat(n)}a = 2${" }".repeat(n)}`,
    `  let a = 1\n  if a == 0 { a = 2 }${" else if a == 0 { a = 2 }".repeat(n)}`,
    `  output y = x |> ${"(".repeat(n)}relu${")".repeat(n)}`,
  ];
  for (const body of cases) {
    const ds = parse(model(body), "t.dlm").diagnostics;
    assert.deepEqual(ds.map((d) => d.code), ["DLM0152"], body.slice(0, 40));
    assert.ok(ds[0].span && ds[0].span.line >= 3, "located where the nesting is");
  }
});

Deno.test("parse() reads a chain of 200,000 binary operators flat: it is not nesting", () => {
  const { file, diagnostics } = parse(model(`  output y = x${" + x".repeat(200_000)}`), "t.dlm");
  assert.deepEqual(diagnostics, []);
  let depth = 0;
  const out = (file.decls[0] as ModelDecl).body[1];
  for (let e = out.kind === "output" ? out.value : undefined; e?.kind === "binary"; e = e.left) {
    depth++;
  }
  assert.equal(depth, 200_000);
});

Deno.test("parse() stops after 100 syntax errors with DLM0150 where the unread rest begins", () => {
  const src = "model M { let a = ) }\n".repeat(300);
  const ds = parse(src, "t.dlm").diagnostics;
  assert.equal(ds.length, MAX_SYNTAX_ERRORS + 1);
  assert.deepEqual(ds.slice(0, -1).map((d) => d.code), Array(MAX_SYNTAX_ERRORS).fill("DLM0002"));
  assert.equal(ds.at(-1)!.code, "DLM0150");
  assert.equal(ds.at(-1)!.message, "Too many syntax errors: stopped after 100");
  assert.equal(ds.at(-1)!.span?.line, MAX_SYNTAX_ERRORS + 1);
});

Deno.test("parse() reports a run of stray top-level tokens once, at its first token", () => {
  const { file, diagnostics } = parse(
    "} ) x 1 + ;\nlet a = 1\n] ]\nmodel M { input x: f32[N] }",
    "t.dlm",
  );
  assert.deepEqual(diagnostics.map(show), ["1:1 DLM0002", "3:1 DLM0002"]);
  assert.match(diagnostics[0].message, /^Expected a declaration .* but found '}'$/);
  assert.deepEqual(file.decls.map((d) => d.kind), ["const", "model"]);
});

Deno.test("parse() ends a declaration left open at the next one, whose keyword its error names", () => {
  const { file, diagnostics } = parse(
    "model A {\n  input x: f32[N]\nmodel B { input x: f32[N] }",
    "t.dlm",
  );
  assert.deepEqual(diagnostics.map((d) => `${show(d)} ${d.message}`), [
    "3:1 DLM0002 Expected '}' but found 'model'",
  ]);
  assert.deepEqual(file.decls.map((d) => d.kind === "model" && d.name), ["A", "B"]);
});

Deno.test("parse() reads strings nested 8 levels in interpolations, and reports a ninth at its ${", () => {
  const nest = (n: number) => {
    let e = "1";
    for (let i = 0; i < n; i++) e = `f("\${${e}}")`;
    return model(`  let s = ${e}`);
  };
  assert.deepEqual(parse(nest(MAX_STRING_NESTING), "t.dlm").diagnostics, []);
  const ds = parse(nest(MAX_STRING_NESTING + 1), "t.dlm").diagnostics;
  // `  let s = ` is 10 columns; each level `f("${` is 5, and the ninth `${` is at its 4th.
  assert.deepEqual(ds.map(show), [`3:${11 + 5 * MAX_STRING_NESTING + 3} DLM0153`]);
  // A string nested a hundred thousand levels deep is one token, read without recursion.
  const t0 = performance.now();
  assert.deepEqual(parse(nest(100_000), "t.dlm").diagnostics.map((d) => d.code), ["DLM0153"]);
  assert.ok(performance.now() - t0 < 20_000);
});

Deno.test("lex() reads a number of a million digits without running out of stack", () => {
  const { tokens, diagnostics } = lex(`1${"0".repeat(1_000_000)}.5e3 1_0`, "t.dlm");
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(tokens.map((t) => t.image.length), [1_000_005, 3]);
});

Deno.test("parse() reports a number too large for a float at the number", () => {
  const ds = parse(model("  output y = x * 1e400"), "t.dlm").diagnostics;
  assert.deepEqual(ds.map((d) => `${show(d)} ${d.message}`), [
    "3:18 DLM0154 The number '1e400' is too large: the largest is about 1.8e308",
  ]);
});

Deno.test("parse() reports an integer literal beyond 2^53 at the literal, and keeps 2^53 - 1", () => {
  const ds = parse(model("  output y = x * 9007199254740993 + 9_007_199_254_740_991"), "t.dlm")
    .diagnostics;
  assert.deepEqual(ds.map((d) => `${show(d)} ${d.message}`), [
    "3:18 DLM0155 The integer '9007199254740993' is beyond 2^53 (9007199254740991), so it would not be exact: write it as a float (9.007199254740992e+15) if an approximate value is meant",
  ]);
  assert.deepEqual(parse(model("  output y = x * 1e19 * 12.0"), "t.dlm").diagnostics, []);
});

Deno.test("lex() quotes at most 20 unexpected characters of a run", () => {
  const ds = lex(`let a = 1 ${"#".repeat(100_000)}`, "t.dlm").diagnostics;
  assert.deepEqual(ds.map((d) => d.message), [`Unexpected characters '${"#".repeat(20)}'…`]);
});

// Linear time: 4x the input must not take 16x the time (quadratic). The bound is 10x, and each
// size's time the least of three runs, so that a busy machine does not fail it. Each input ends
// with the diagnostics it should: nothing in any of them nests.
const LINEAR: [string, (n: number) => string, string[]][] = [
  ["random punctuation", punctuation, ["DLM0150"]],
  [
    "small valid models",
    (n) => "model M { input x: f32[N] output y = x |> relu }\n".repeat(n / 50),
    [],
  ],
  ["a one-line sum", (n) => model(`  output y = x${" + x".repeat(n / 4)}`), []],
  ["stray tokens between declarations", (n) => "; ] let a = 1\n".repeat(n / 14), ["DLM0150"]],
];
for (const [what, make, last] of LINEAR) {
  Deno.test(`parse() takes time linear in the size of ${what}`, () => {
    const small = make(64 * 1024);
    const large = make(256 * 1024);
    const ts = time(() => parse(small, "t.dlm"));
    const tl = time(() => parse(large, "t.dlm"));
    assert.ok(tl < 10 * ts + 50, `64 KiB: ${ts.toFixed(0)} ms, 256 KiB: ${tl.toFixed(0)} ms`);
    const ds = parse(large, "t.dlm").diagnostics;
    assert.ok(ds.length <= MAX_SYNTAX_ERRORS + 1);
    assert.deepEqual(ds.slice(-1).map((d) => d.code), last);
    assert.ok(!ds.some((d) => d.code === "DLM0152"));
  });
}

Deno.test("parse() refuses a file of more than 16 Mi characters with DLM0151, before lexing it", () => {
  const t0 = performance.now();
  const ds = parse(`// ${"a".repeat(MAX_FILE_CHARS)}\n`, "t.dlm").diagnostics;
  assert.deepEqual(ds.map(show), [`1:${MAX_FILE_CHARS + 1} DLM0151`]);
  assert.match(ds[0].message, /more than 16,777,216 characters/);
  assert.ok(performance.now() - t0 < 5_000);
});

Deno.test("parse() refuses more than 4 Mi tokens with DLM0151 at the first token past the limit", () => {
  // A one-line sum of 10 MB (5 million tokens) peaked at 4 GB and was a heap-limit abort away
  // from a crash; 4 Mi tokens parse within 3.3 GB.
  const ds = parse(";".repeat(MAX_FILE_TOKENS + 1), "t.dlm").diagnostics;
  assert.deepEqual(ds.map(show), [`1:${MAX_FILE_TOKENS + 1} DLM0151`]);
  assert.match(ds[0].message, /more than 4,194,304 tokens/);
});
