import assert from "node:assert/strict";
import type { Diagnostic } from "../diagnostics.ts";
import { type ModelDecl, parse, type Span } from "./mod.ts";
import { DlmParser } from "./parser.ts";
import { sexpr } from "./sexpr.ts";

/** The declarations of `src` as S-expressions; fails on any diagnostic. */
function decls(src: string): string[] {
  const { file, diagnostics } = parse(src, "t.dlm");
  assert.deepEqual(diagnostics.map(show), []);
  return file.decls.map(sexpr);
}

/** The statements of a model body as S-expressions; fails on any diagnostic. */
function stmts(body: string): string[] {
  const { file, diagnostics } = parse(`model M {\n${body}\n}`, "t.dlm");
  assert.deepEqual(diagnostics.map(show), []);
  return (file.decls[0] as ModelDecl).body.map(sexpr);
}

/** One expression (as the value of a `let`), as an S-expression. */
function expr(src: string): string {
  const [s] = stmts(`let z = ${src}`);
  return s.slice("(let z = ".length, -1);
}

/** `line:col message` of each diagnostic of `src`. */
function errors(src: string): string[] {
  return parse(src, "t.dlm").diagnostics.map(show);
}

function show(d: Diagnostic): string {
  return `${d.span?.line}:${d.span?.col} ${d.code} ${d.message}`;
}

// ---- declarations

Deno.test("parse() reads imports and top-level constants", () => {
  assert.deepEqual(decls('import "layers/common.dlm"\nlet base_width = 64\nlet w: int = 64'), [
    '(import "layers/common.dlm")',
    "(const base_width = 64)",
    "(const w : int = 64)",
  ]);
});

Deno.test("parse() reads a model with and without a parameter list", () => {
  assert.deepEqual(decls("model Tiny { input x: f32[N] }\nmodel A(classes: int = 10, k,) {}"), [
    "(model Tiny () { (input x f32[N]) })",
    "(model A (classes: int = 10, k) { })",
  ]);
});

Deno.test("parse() puts a block's single parameter list in its inputs", () => {
  assert.deepEqual(
    decls(
      "block Basic(width: int, stride: int = 1)(x: f32[N, C, H, W]) -> f32[N, width, _, _] {}\n" +
        "block Id(x) { return x }",
    ),
    [
      "(block Basic (width: int, stride: int = 1) (x: f32[N, C, H, W]) -> f32[N, width, _, _] { })",
      "(block Id () (x) { (return x) })",
    ],
  );
});

Deno.test("parse() reads a train declaration with and without a with-list", () => {
  assert.deepEqual(
    decls(
      'train GPT with lora(rank: 8, alpha: 16, targets: "layers.*.attn.{q,v}"), ema(0.99) {\n' +
        "  input next: i64[N, T]\n  loss = cross_entropy(logits, next)\n}\ntrain VAE { }",
    ),
    [
      '(train GPT [(call lora rank=8 alpha=16 targets=(str "layers.*.attn.{q,v}")) (call ema 0.99f)] ' +
      "{ (input next i64[N, T]) (= loss (call cross_entropy logits next)) })",
      "(train VAE [] { })",
    ],
  );
});

Deno.test("parse() accepts semicolons between declarations and statements", () => {
  assert.deepEqual(decls("let a = 1; let b = 2;; model M { let c = 3 ; ; let d = 4 ; }"), [
    "(const a = 1)",
    "(const b = 2)",
    "(model M () { (let c = 3) (let d = 4) })",
  ]);
});

// ---- statements

Deno.test("parse() reads input, output, let and assignment statements", () => {
  assert.deepEqual(
    stmts(
      "input image: f32[N, 1, 32, 32]\n" +
        "output logits: f32[N, 10] = image |> flatten\n" +
        "output feats\n" +
        "output y = x\n" +
        "let y: f32[N, 10] = x\n" +
        "let (a, b) = split2(h)\n" +
        "h = h |> relu\n" +
        "loss = 1",
    ),
    [
      "(input image f32[N, 1, 32, 32])",
      "(output logits : f32[N, 10] = (|> image flatten))",
      "(output feats)",
      "(output y = x)",
      "(let y : f32[N, 10] = x)",
      "(let (a b) = (call split2 h))",
      "(= h (|> h relu))",
      "(= loss 1)",
    ],
  );
});

Deno.test("parse() reads return of one value and of a tuple", () => {
  assert.deepEqual(stmts("return relu(y + skip)\nreturn a, b\nreturn a, enc: f(b)"), [
    "(return (call relu (+ y skip)))",
    "(return (tuple a b))",
    "(return (tuple a (label enc (call f b))))",
  ]);
});

Deno.test("parse() nests 'else if' as the only statement of the else branch", () => {
  assert.deepEqual(
    stmts("if depth == 1 { return x } else if depth > 10 { return y } else { return z }"),
    ["(if (== depth 1) { (return x) } else { (if (> depth 10) { (return y) } else { (return z) }) })"],
  );
  assert.deepEqual(stmts("if c { a = 1 }"), ["(if c { (= a 1) })"]);
});

Deno.test("parse() flattens nested for-loop patterns in source order", () => {
  assert.deepEqual(
    stmts(
      "for (i, (w, s)) in enumerate([(64, 1), (128, 2)]) { h = h }\n" +
        "for i in 0..4 { }\nfor (a,) in xs { }",
    ),
    [
      "(for (i w s) in (call enumerate [(tuple 64 1) (tuple 128 2)]) { (= h h) })",
      "(for i in (.. 0 4) { })",
      "(for (a) in xs { })",
    ],
  );
});

Deno.test("parse() reads init and freeze targets as names or globs", () => {
  assert.deepEqual(
    stmts(
      'init conv2d.weight = kaiming_normal(mode: "fan_out")\n' +
        'init "layer*.bn2.weight" = zeros\nfreeze "features.*"\nfreeze features\nfreeze a.b.c',
    ),
    [
      '(init conv2d.weight = (call kaiming_normal mode=(str "fan_out")))',
      '(init "layer*.bn2.weight" = zeros)',
      '(freeze "features.*")',
      "(freeze features)",
      "(freeze a.b.c)",
    ],
  );
});

Deno.test("parse() reads an expression statement", () => {
  assert.deepEqual(stmts('assert(w > 0, "width must be positive")'), [
    '(call assert (> w 0) (str "width must be positive"))',
  ]);
});

Deno.test("parse() needs no separator between statements on one line", () => {
  assert.deepEqual(stmts("let a = 1 let b = a output c = b input d: int"), [
    "(let a = 1)",
    "(let b = a)",
    "(output c = b)",
    "(input d int)",
  ]);
});

// ---- types

Deno.test("parse() reads scalar, tensor and tuple types", () => {
  assert.deepEqual(
    stmts(
      "input a: int\ninput b: float\ninput c: bool\ninput d: str\ninput e: tensor\n" +
        "input f: bool[N, ...]\ninput g: bf16[]\ninput h: (int, f32[_, H * 2],)\n" +
        "input i: (int,)\ninput j: (int)\ninput k: u8[N, 3, 64, 64,]",
    ),
    [
      "(input a int)",
      "(input b float)",
      "(input c bool)",
      "(input d str)",
      "(input e tensor)",
      "(input f bool[N, ...])",
      "(input g bf16[])",
      "(input h (int, f32[_, (* H 2)]))",
      "(input i (int,))",
      "(input j int)",
      "(input k u8[N, 3, 64, 64])",
    ],
  );
});

Deno.test("parse() reports unknown type names and dtypes without dims", () => {
  assert.deepEqual(errors("model M { input a: foo input b: f32 input c: f31[N] }"), [
    "1:20 DLM0005 Unknown type 'foo': expected int, float, bool, str, tensor, " +
    "a tensor type such as f32[N, 10] or a tuple type such as (int, int)",
    "1:33 DLM0006 Expected the dims of the tensor type after 'f32', as in f32[N, 10]",
    "1:46 DLM0007 Unknown dtype 'f31': expected one of f32, f64, f16, bf16, i8, i16, i32, i64, " +
    "u8, u16, u32, u64, bool",
  ]);
});

// ---- expressions and precedence

Deno.test("parse() gives '|>' the lowest precedence", () => {
  assert.equal(expr("a + b |> relu"), "(|> (+ a b) relu)");
  assert.equal(expr("a || b |> f |> g"), "(|> (|| a b) f g)");
});

Deno.test("parse() orders || below && below comparisons below ranges below + below *", () => {
  assert.equal(expr("a || b && c"), "(|| a (&& b c))");
  assert.equal(expr("a && b || c"), "(|| (&& a b) c)");
  assert.equal(expr("a == b && c != d"), "(&& (== a b) (!= c d))");
  assert.equal(expr("a < b + c"), "(< a (+ b c))");
  assert.equal(expr("0..n + 1"), "(.. 0 (+ n 1))");
  assert.equal(expr("1..=n * 2"), "(..= 1 (* n 2))");
  assert.equal(expr("i < 0..4"), "(< i (.. 0 4))");
  assert.equal(expr("a + b * c - d"), "(- (+ a (* b c)) d)");
  assert.equal(expr("a * b @ c / d % e"), "(% (/ (@ (* a b) c) d) e)");
  assert.equal(expr("a - b - c"), "(- (- a b) c)");
});

Deno.test("parse() binds ** tighter than a prefix operator and to the right", () => {
  assert.equal(expr("-x ** 2"), "(- (** x 2))");
  assert.equal(expr("a ** b ** c"), "(** a (** b c))");
  assert.equal(expr("2 ** -1"), "(** 2 (- 1))");
  assert.equal(expr("-a * b"), "(* (- a) b)");
  assert.equal(expr("!-+x"), "(! (- (+ x)))");
  assert.equal(expr("-f(x).y ** 2"), "(- (** (. (call f x) y) 2))");
});

Deno.test("parse() rejects chained comparisons and ranges", () => {
  assert.deepEqual(errors("let a = x < y < z"), [
    "1:15 DLM0008 Comparisons do not chain: write (a < b) && (b < c) instead of a < b < c",
  ]);
  assert.deepEqual(errors("let a = x == y != z"), [
    "1:16 DLM0008 Comparisons do not chain: write (a == b) && (b != c) instead of a == b != c",
  ]);
  assert.deepEqual(errors("let a = 0..4..8"), [
    "1:13 DLM0008 Ranges do not chain: a range has one start and one end",
  ]);
});

Deno.test("parse() reads calls, calls of calls, indexes, slices and members", () => {
  assert.equal(expr("f()"), "(call f)");
  assert.equal(expr("conv2d(64, kernel: 3, stride: s,)"), "(call conv2d 64 kernel=3 stride=s)");
  assert.equal(expr("f(k: 1, x)"), "(call f k=1 x)");
  assert.equal(expr("Block(4)(k, v)"), "(call (call Block 4) k v)");
  assert.equal(
    expr("x[:, 0, 1:3, ::2]"),
    "(index x (slice _ _ _) 0 (slice 1 3 _) (slice _ _ 2))",
  );
  assert.equal(
    expr("x[1:, :n, a:b:c, ::, i,]"),
    "(index x (slice 1 _ _) (slice _ n _) (slice a b c) (slice _ _ _) i)",
  );
  assert.equal(expr("shape[-1]"), "(index shape (- 1))");
  assert.equal(expr("q @ k.T / sqrt(d)"), "(/ (@ q (. k T)) (call sqrt d))");
  assert.equal(expr("x.y.z(1)[2]"), "(index (call (. (. x y) z) 1) 2)");
});

Deno.test("parse() reads literals, tuples, lists and parentheses", () => {
  assert.equal(expr("1_000 + 2. + 1e-3 + 0.5"), "(+ (+ (+ 1000 2f) 0.001f) 0.5f)");
  assert.equal(expr("true || false"), "(|| true false)");
  assert.equal(expr("(a)"), "a");
  assert.equal(expr("((a + b))"), "(+ a b)");
  assert.equal(expr("(a,)"), "(tuple a)");
  assert.equal(expr("(a, b,)"), "(tuple a b)");
  assert.equal(expr("[]"), "[]");
  assert.equal(expr("[1, [2, 3],]"), "[1 [2 3]]");
  assert.equal(expr('"plain"'), '(str "plain")');
  assert.equal(expr('""'), '(str "")');
});

Deno.test("parse() reads if-expressions with else-if chains", () => {
  assert.equal(
    expr("if stride == 1 && C == width { x } else { x |> ds }"),
    "(if (&& (== stride 1) (== C width)) x (|> x ds))",
  );
  assert.equal(expr("if a { b } else if c { d } else { e }"), "(if a b (if c d e))");
  assert.equal(expr("1 + if a { 2 } else { 3 }"), "(+ 1 (if a 2 3))");
});

// ---- pipes, labels, groups

Deno.test("parse() reads pipe stages: names, calls, calls of calls, members and labels", () => {
  assert.equal(
    expr("image |> conv2d(6, kernel: 5) |> tanh |> m.head |> Block(4)(k, v)"),
    "(|> image (call conv2d 6 kernel=5) tanh (. m head) (call (call Block 4) k v))",
  );
  assert.equal(
    expr("x |> conv1: conv2d(width, kernel: 3) |> bn1: batch_norm |> relu"),
    "(|> x conv1:(call conv2d width kernel=3) bn1:batch_norm relu)",
  );
  assert.equal(
    expr('h |> "layer${i + 1}": Stage(w, 2, s)'),
    '(|> h <"layer" (+ i 1)>:(call Stage w 2 s))',
  );
});

Deno.test("parse() reads a parenthesised stage as a group, labels inside included", () => {
  assert.equal(expr("x |> (relu)"), "(|> x (group relu))");
  assert.equal(
    expr("x |> downsample: (conv2d(w, kernel: 1) |> batch_norm)"),
    "(|> x downsample:(group (call conv2d w kernel=1) batch_norm))",
  );
  assert.equal(
    expr("x |> a: (b: c |> (d |> e)) |> f"),
    "(|> x a:(group b:c (group d e)) f)",
  );
});

Deno.test("parse() reads labelled expressions after '=', 'return' and '(' only", () => {
  assert.equal(expr("conv1: conv2d(64)(x)"), "(label conv1 (call (call conv2d 64) x))");
  assert.equal(
    expr("downsample: (conv2d(64, kernel: 1) |> batch_norm)"),
    "(label downsample (group (call conv2d 64 kernel=1) batch_norm))",
  );
  assert.equal(expr('"enc${k}": Encoder(128)'), '(label <"enc" k> (call Encoder 128))');
  assert.equal(expr("stem: x |> f"), "(label stem (|> x f))");
  assert.equal(expr("f((enc: g(x)), k: 2)"), "(call f (label enc (call g x)) k=2)");
  assert.equal(expr("(a: f(x), b: g(x))"), "(tuple (label a (call f x)) (label b (call g x)))");
  assert.deepEqual(stmts("h = s: f(h)\noutput o = l: g(h)"), [
    "(= h (label s (call f h)))",
    "(output o = (label l (call g h)))",
  ]);
});

Deno.test("parse() reads 'name: value' in a call as a named argument, not a label", () => {
  assert.equal(expr("f(kernel: 5)"), "(call f kernel=5)");
  assert.equal(expr("f(x |> c1: conv(3))"), "(call f (|> x c1:(call conv 3)))");
});

Deno.test("parse() continues an expression on the next line", () => {
  assert.deepEqual(stmts("let y = x\n  |> conv2d(64)\n  |> relu\nlet z = a\n  + b"), [
    "(let y = (|> x (call conv2d 64) relu))",
    "(let z = (+ a b))",
  ]);
});

Deno.test("parse() reads interpolations in strings and labels with the full grammar", () => {
  assert.equal(expr('"a${x}b${f(y, k: 1) |> g}c"'), '(str "a" x "b" (|> (call f y k=1) g) "c")');
  assert.equal(expr('"${"${inner}"}"'), "(str (str inner))");
  assert.equal(expr(String.raw`"\"q\" \\ \n\t \${x}"`), `(str "\\"q\\" \\\\ \\n\\t \${x}")`);
  assert.equal(expr('"{q,v}"'), '(str "{q,v}")');
});

// ---- errors and recovery

Deno.test("parse() reports several syntax errors of one file together", () => {
  const src = [
    "model A {",
    "  let x = conv2d(64 {",
    "  let y = relu(x",
    "  output z = y +",
    "}",
    "model B { input q: f32[N] }",
  ].join("\n");
  assert.deepEqual(errors(src), [
    "2:21 DLM0002 Expected ')' but found '{'",
    "4:3 DLM0002 Expected ')' but found 'output'",
    "5:1 DLM0002 Expected an expression but found '}'",
  ]);
  // Recovery: both models and their statements are still there.
  const { file } = parse(src, "t.dlm");
  assert.deepEqual(file.decls.map((d) => sexpr(d)), [
    "(model A () { (let x = (call conv2d 64)) (let y = (call relu x)) (output z = (+ y <missing>)) })",
    "(model B () { (input q f32[N]) })",
  ]);
});

Deno.test("parse() reports lexical and syntax errors in source order", () => {
  assert.deepEqual(errors('model M {\n  let a = 1 #\n  let = 2\n  output s = "abc\n}'), [
    "2:13 DLM0001 Unexpected character '#'",
    "3:7 DLM0002 Expected a name or '(' but found '='",
    `4:14 DLM0003 Unterminated string: expected a closing '"' before the end of the line`,
  ]);
});

Deno.test("parse() recovers at the next declaration after stray top-level tokens", () => {
  const { file, diagnostics } = parse(
    "let a = 1\ngarbage here )\nmodel M { output y = 1 }",
    "t.dlm",
  );
  assert.deepEqual(diagnostics.map(show), [
    "2:1 DLM0002 Expected a declaration ('import', 'let', 'model', 'block' or 'train') but found 'garbage'",
  ]);
  assert.deepEqual(file.decls.map(sexpr), ["(const a = 1)", "(model M () { (output y = 1) })"]);
});

Deno.test("parse() reports a file that ends too early just after its last token", () => {
  assert.deepEqual(errors("let b ="), [
    "1:8 DLM0002 Expected an expression but found the end of the file",
  ]);
  assert.deepEqual(errors("model M {\n  input x: f32[N]"), [
    "2:18 DLM0002 Expected '}' but found the end of the file",
  ]);
});

Deno.test("parse() reports errors inside a group where they are", () => {
  assert.deepEqual(errors("let a = x |> (b + c)"), ["1:17 DLM0002 Expected ')' but found '+'"]);
  assert.deepEqual(errors("model M { let a = l: (b + c) * 2 }"), [
    "1:25 DLM0002 Expected ')' but found '+'",
    "1:28 DLM0002 Expected '}' but found ')'",
  ]);
  assert.deepEqual(errors("let a = x |> -y"), ["1:14 DLM0002 Expected a pipe stage but found '-'"]);
});

Deno.test("parse() reports errors inside an interpolation at their place in the file", () => {
  assert.deepEqual(errors('let s = "ab${x y}"'), [
    "1:16 DLM0002 Expected the end of the interpolation but found 'y'",
  ]);
  assert.deepEqual(errors('let s = "ab${}"'), [
    "1:12 DLM0002 Expected an expression inside '${}' but found nothing",
  ]);
  assert.deepEqual(errors('let s = "${x +}"'), [
    "1:15 DLM0002 Expected an expression but found the end of the file",
  ]);
  assert.deepEqual(errors('let s = "${#}"'), [
    "1:10 DLM0002 Expected an expression inside '${}' but found nothing",
    "1:12 DLM0001 Unexpected character '#'",
  ]);
});

Deno.test("parse() reports unknown escapes and interpolation where only text is allowed", () => {
  assert.deepEqual(errors(String.raw`let s = "a\qb"`), [
    String.raw`1:11 DLM0009 Unknown escape '\q' in a string: expected \", \\, \n, \t or \$`,
  ]);
  assert.deepEqual(errors('import "a${b}.dlm"\nmodel M { freeze "x${i}" }'), [
    "1:8 DLM0010 String interpolation is not allowed in an import path",
    "2:18 DLM0010 String interpolation is not allowed in a parameter glob",
  ]);
});

Deno.test("parse() treats 'if' at the start of a statement as an if-statement", () => {
  // `if c { x } else { y }` is a statement here, so its branches are bodies.
  assert.deepEqual(stmts("if c { x } else { y }"), ["(if c { x } else { y })"]);
});

Deno.test("parse() strips a byte-order mark and returns an empty file for blank input", () => {
  const { file, diagnostics } = parse("\uFEFFlet a = 1", "t.dlm");
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(file.decls[0].span, { file: "t.dlm", line: 1, col: 1, endLine: 1, endCol: 10 });
  assert.deepEqual(parse("", "e.dlm"), {
    file: {
      kind: "file",
      path: "e.dlm",
      decls: [],
      span: { file: "e.dlm", line: 1, col: 1, endLine: 1, endCol: 1 },
    },
    diagnostics: [],
  });
});

// ---- robustness

/** A small deterministic PRNG (an LCG), so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

function assertSpansValid(value: unknown, where: string): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertSpansValid(v, `${where}[${i}]`));
    return;
  }
  if (!value || typeof value !== "object") return;
  const s = value as Partial<Span>;
  if (typeof s.line === "number" && typeof s.endCol === "number") {
    for (const n of [s.line, s.col, s.endLine, s.endCol]) {
      assert.ok(Number.isInteger(n) && n! >= 1, `bad span at ${where}: ${JSON.stringify(s)}`);
    }
    assert.ok(
      s.endLine! > s.line || (s.endLine === s.line && s.endCol! >= s.col!),
      `inverted span at ${where}: ${JSON.stringify(s)}`,
    );
  }
  for (const [k, v] of Object.entries(value)) assertSpansValid(v, `${where}.${k}`);
}

Deno.test("parse() never throws and keeps every span valid on mangled input", async () => {
  const base = await Deno.readTextFile(new URL("./testdata/language_tour.dlm", import.meta.url));
  const random = rng(7);
  const bits = ["(", ")", "{", "}", "[", "]", ",", ":", "|>", "=", "let", "if", "else", '"', "${"];
  bits.push("x", "1", ";", "..", "/*", "//", "->", "model", "\n", "return", "**", "-", "...", "_");
  for (let n = 0; n < 250; n++) {
    let src = base;
    for (let k = 1 + Math.floor(random() * 4); k > 0; k--) {
      const at = Math.floor(random() * src.length);
      const r = random();
      if (r < 0.4) src = src.slice(0, at) + src.slice(at + 1 + Math.floor(random() * 10));
      else if (r < 0.85) {
        src = src.slice(0, at) + bits[Math.floor(random() * bits.length)] + src.slice(at);
      } else src = src.slice(0, at);
    }
    const result = parse(src, "f.dlm");
    assert.ok(!result.diagnostics.some((d) => d.code === "DLM0900"), `internal error on:\n${src}`);
    assertSpansValid(result, "result");
  }
  for (let n = 0; n < 250; n++) {
    let src = "";
    for (let i = Math.floor(random() * 40); i > 0; i--) {
      src += bits[Math.floor(random() * bits.length)] + (random() < 0.5 ? " " : "");
    }
    const result = parse(src, "f.dlm");
    assert.ok(!result.diagnostics.some((d) => d.code === "DLM0900"), `internal error on:\n${src}`);
    assertSpansValid(result, "result");
  }
});

Deno.test("the grammar passes chevrotain's validations, which the run-time parser skips", () => {
  // With validations on, an ambiguity, left recursion or bad rule throws from the constructor;
  // anything chevrotain prints as a warning fails here too.
  const warnings: unknown[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => warnings.push(a);
  try {
    const p = new DlmParser({ validate: true });
    assert.deepEqual((p as unknown as { definitionErrors: unknown[] }).definitionErrors, []);
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warnings, []);
});
