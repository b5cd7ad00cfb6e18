import assert from "node:assert/strict";
import type * as A from "./ast.ts";
import { parse, type Span } from "./mod.ts";
import { sexpr } from "./sexpr.ts";

/** The source text a span covers (spans are 1-based, end exclusive). */
function cover(src: string, s: Span): string {
  const lines = src.split("\n");
  if (s.line === s.endLine) return lines[s.line - 1].slice(s.col - 1, s.endCol - 1);
  const out = [lines[s.line - 1].slice(s.col - 1)];
  for (let l = s.line + 1; l < s.endLine; l++) out.push(lines[l - 1]);
  out.push(lines[s.endLine - 1].slice(0, s.endCol - 1));
  return out.join("\n");
}

function parseOk(src: string): A.SourceFile {
  const { file, diagnostics } = parse(src, "t.dlm");
  assert.deepEqual(diagnostics, []);
  return file;
}

/** The statements of the first declaration (a model or block). */
function body(src: string): A.Stmt[] {
  return (parseOk(src).decls[0] as A.ModelDecl).body;
}

function letValue(src: string): { src: string; value: A.Expr } {
  const full = `model M {\n  let z = ${src}\n}`;
  const [s] = body(full);
  return { src: full, value: (s as A.LetStmt).value };
}

// ---- spans

Deno.test("cstToAst gives declarations their whole extent and their name's span", () => {
  const src =
    'import "a.dlm"\nlet w: int = 64\nmodel LeNet5(c: int = 10) {\n  input x: f32[N]\n}\n' +
    "block B(x) -> f32[N] { return x }\ntrain LeNet5 with lora(r: 8) { loss = 1 }";
  const file = parseOk(src);
  assert.deepEqual(file.decls.map((d) => cover(src, d.span)), [
    'import "a.dlm"',
    "let w: int = 64",
    "model LeNet5(c: int = 10) {\n  input x: f32[N]\n}",
    "block B(x) -> f32[N] { return x }",
    "train LeNet5 with lora(r: 8) { loss = 1 }",
  ]);
  const named = file.decls.slice(1) as (A.ConstDecl | A.ModelDecl | A.BlockDecl | A.TrainDecl)[];
  assert.deepEqual(named.map((d) => cover(src, d.nameSpan)), ["w", "LeNet5", "B", "LeNet5"]);
  const model = file.decls[2] as A.ModelDecl;
  assert.deepEqual(model.nameSpan, { file: "t.dlm", line: 3, col: 7, endLine: 3, endCol: 13 });
  assert.equal(cover(src, model.params[0].span), "c: int = 10");
  assert.deepEqual(file.span, { file: "t.dlm", line: 1, col: 1, endLine: 7, endCol: 42 });
});

Deno.test("cstToAst spans every statement kind and its name", () => {
  const src = [
    "model M {",
    "  input x: f32[N, 3]",
    "  output y: f32[N] = x |> f",
    "  let (a, b) = split2(x)",
    "  h = h |> g",
    "  return a, b",
    "  if c { a = 1 } else { a = 2 }",
    "  for (i, s) in xs { }",
    '  init conv2d.weight = zeros ; init "l*.w" = ones',
    "  freeze features",
    "  assert(true)",
    "}",
  ].join("\n");
  const stmts = body(src);
  assert.deepEqual(stmts.map((s) => cover(src, s.span)), [
    "input x: f32[N, 3]",
    "output y: f32[N] = x |> f",
    "let (a, b) = split2(x)",
    "h = h |> g",
    "return a, b",
    "if c { a = 1 } else { a = 2 }",
    "for (i, s) in xs { }",
    "init conv2d.weight = zeros",
    'init "l*.w" = ones',
    "freeze features",
    "assert(true)",
  ]);
  const [input, output, let_, assign, ret] = stmts as [
    A.InputStmt,
    A.OutputStmt,
    A.LetStmt,
    A.AssignStmt,
    A.ReturnStmt,
  ];
  assert.equal(cover(src, input.nameSpan), "x");
  assert.equal(cover(src, input.type.span), "f32[N, 3]");
  assert.equal(cover(src, output.nameSpan), "y");
  assert.equal(cover(src, let_.nameSpan), "(a, b)");
  assert.equal(cover(src, assign.nameSpan), "h");
  assert.equal(ret.value.kind, "tuple");
  assert.equal(cover(src, ret.value.span), "a, b");
});

Deno.test("cstToAst spans binary, unary, range and if-expressions with their operators", () => {
  const { src, value } = letValue("-a * (b + c) >= 0..=n");
  const cmp = value as A.BinaryExpr;
  assert.equal(cover(src, cmp.span), "-a * (b + c) >= 0..=n");
  assert.equal(cover(src, cmp.opSpan), ">=");
  const mul = cmp.left as A.BinaryExpr;
  assert.equal(cover(src, mul.span), "-a * (b + c)");
  assert.equal(cover(src, mul.left.span), "-a");
  // Parentheses make no node, but the span of what they enclose takes them in.
  assert.equal(sexpr(mul.right), "(+ b c)");
  assert.equal(cover(src, mul.right.span), "(b + c)");
  const range = cmp.right as A.RangeExpr;
  assert.deepEqual([range.kind, range.inclusive, cover(src, range.span)], ["range", true, "0..=n"]);

  const power = letValue("-x ** 2");
  assert.equal(cover(power.src, (power.value as A.UnaryExpr).operand.span), "x ** 2");

  const ifx = letValue("if a { b } else if c { d } else { e }");
  const outer = ifx.value as A.IfExpr;
  assert.equal(cover(ifx.src, outer.span), "if a { b } else if c { d } else { e }");
  assert.equal(cover(ifx.src, outer.else.span), "if c { d } else { e }");
});

Deno.test("cstToAst spans calls, arguments, indexes, slices and members", () => {
  const { src, value } = letValue("conv2d(64, kernel: 3)(x)[:, 1:3, ::2].shape");
  const member = value as A.MemberExpr;
  assert.equal(cover(src, member.span), "conv2d(64, kernel: 3)(x)[:, 1:3, ::2].shape");
  assert.equal(cover(src, member.nameSpan), "shape");
  const index = member.target as A.IndexExpr;
  assert.equal(cover(src, index.span), "conv2d(64, kernel: 3)(x)[:, 1:3, ::2]");
  assert.deepEqual(index.indices.map((i) => cover(src, i.span)), [":", "1:3", "::2"]);
  const outerCall = index.target as A.CallExpr;
  assert.equal(cover(src, outerCall.span), "conv2d(64, kernel: 3)(x)");
  const innerCall = outerCall.callee as A.CallExpr;
  assert.equal(cover(src, innerCall.span), "conv2d(64, kernel: 3)");
  assert.deepEqual(innerCall.args.map((a) => [a.name, cover(src, a.span)]), [
    [undefined, "64"],
    ["kernel", "kernel: 3"],
  ]);
  assert.ok(!("name" in innerCall.args[0]));
  const slices = index.indices as A.SliceExpr[];
  assert.deepEqual(slices[1], {
    kind: "slice",
    span: slices[1].span,
    start: { kind: "num", value: 1, isInt: true, span: slices[1].start!.span },
    end: { kind: "num", value: 3, isInt: true, span: slices[1].end!.span },
  });
});

Deno.test("cstToAst spans pipes, stages, labels and groups", () => {
  const src = [
    "model M {",
    "  let y = x",
    "    |> conv1: conv2d(64)",
    '    |> "ds${i}": (c: conv2d(64, kernel: 1) |> batch_norm)',
    "  let ds = downsample: (conv2d(64) |> bn)",
    "}",
  ].join("\n");
  const [y, ds] = body(src) as A.LetStmt[];
  const pipe = y.value as A.PipeExpr;
  assert.equal(
    cover(src, pipe.span),
    'x\n    |> conv1: conv2d(64)\n    |> "ds${i}": (c: conv2d(64, kernel: 1) |> batch_norm)',
  );
  assert.equal(cover(src, pipe.head.span), "x");
  const [s1, s2] = pipe.stages;
  assert.equal(cover(src, s1.span), "conv1: conv2d(64)");
  assert.equal(cover(src, s1.label!.span), "conv1");
  assert.deepEqual(s1.label!.parts, ["conv1"]);
  assert.equal(cover(src, s1.target.span), "conv2d(64)");
  assert.equal(cover(src, s2.span), '"ds${i}": (c: conv2d(64, kernel: 1) |> batch_norm)');
  assert.equal(cover(src, s2.label!.span), '"ds${i}"');
  const group = s2.target as A.PipeGroup;
  assert.equal(group.kind, "group");
  assert.equal(cover(src, group.span), "(c: conv2d(64, kernel: 1) |> batch_norm)");
  assert.deepEqual(group.stages.map((s) => cover(src, s.span)), [
    "c: conv2d(64, kernel: 1)",
    "batch_norm",
  ]);
  const labeled = ds.value as A.LabeledExpr;
  assert.equal(labeled.kind, "labeled");
  assert.equal(cover(src, labeled.span), "downsample: (conv2d(64) |> bn)");
  assert.equal(cover(src, labeled.label.span), "downsample");
  assert.equal(cover(src, labeled.value.span), "(conv2d(64) |> bn)");
});

Deno.test("cstToAst parses interpolations where they stand in the file", () => {
  const src = 'model M {\n  let s = "layer${i + 1}.${f("x${j}")}"\n}';
  const [s] = body(src) as A.LetStmt[];
  const str = s.value as A.StrExpr;
  assert.equal(cover(src, str.span), '"layer${i + 1}.${f("x${j}")}"');
  assert.equal(str.parts.length, 4);
  assert.equal(str.parts[0], "layer");
  const sum = str.parts[1] as A.BinaryExpr;
  assert.equal(sexpr(sum), "(+ i 1)");
  assert.deepEqual(sum.span, { file: "t.dlm", line: 2, col: 19, endLine: 2, endCol: 24 });
  assert.equal(cover(src, sum.opSpan), "+");
  assert.equal(str.parts[2], ".");
  const call = str.parts[3] as A.CallExpr;
  assert.equal(cover(src, call.span), 'f("x${j}")');
  const inner = call.args[0].value as A.StrExpr;
  assert.equal(cover(src, (inner.parts[1] as A.NameExpr).span), "j");
});

Deno.test("cstToAst decodes numbers, booleans and escapes", () => {
  const values = (body(
    'model M { let a = [64, 1_000, 0.5, 2., 1e-3, 5e-4, true, false, "a\\"b\\\\c\\n\\t\\$"] }',
  )[0] as A.LetStmt).value as A.ListExpr;
  assert.deepEqual(
    values.items.map((e) =>
      e.kind === "num" ? [e.value, e.isInt] : e.kind === "bool" ? e.value : (e as A.StrExpr).parts
    ),
    [
      [64, true],
      [1000, true],
      [0.5, false],
      [2, false],
      [0.001, false],
      [0.0005, false],
      true,
      false,
      [
        'a"b\\c\n\t$',
      ],
    ],
  );
});

Deno.test("cstToAst reads _ and ... in tensor types as dim_any and dim_rest", () => {
  const src = "model M { input x: f32[N, _, H * 2, ...] }";
  const [input] = body(src) as A.InputStmt[];
  const type = input.type as A.TensorTypeExpr;
  assert.equal(type.dtype, "f32");
  assert.deepEqual(type.dims.map((d) => [d.kind, cover(src, d.span)]), [
    ["name", "N"],
    ["dim_any", "_"],
    ["binary", "H * 2"],
    ["dim_rest", "..."],
  ]);
});

Deno.test("cstToAst builds the best-effort AST of a file with errors", () => {
  const { file, diagnostics } = parse(
    "model M {\n  let a = \n  let b = f(\n}\nmodel N {}",
    "t.dlm",
  );
  assert.equal(diagnostics.length, 2);
  assert.deepEqual(file.decls.map(sexpr), [
    "(model M () { (let a = <missing>) (let b = (call f)) })",
    "(model N () { })",
  ]);
});

// ---- golden ASTs

/** JSON with each span as "line:col-endLine:endCol" (the file is the test's). */
function serialize(file: A.SourceFile): string {
  return JSON.stringify(
    file,
    (key, value) =>
      (key === "span" || key === "nameSpan" || key === "opSpan") && value &&
        typeof value === "object"
        ? `${value.line}:${value.col}-${value.endLine}:${value.endCol}`
        : value,
    2,
  );
}

for (const name of ["lenet5", "vae", "attention", "language_tour"]) {
  Deno.test(`cstToAst builds the AST of testdata/${name}.dlm as recorded`, async (t) => {
    const text = await Deno.readTextFile(new URL(`./testdata/${name}.dlm`, import.meta.url));
    const { file, diagnostics } = parse(text, `${name}.dlm`);
    assert.deepEqual(diagnostics, []);
    await t.assertSnapshot(file, { serializer: serialize });
  });
}

Deno.test("parse() reports the errors of testdata/errors.dlm as recorded", async (t) => {
  const { formatDiagnostic, SourceMap } = await import("../diagnostics.ts");
  const text = await Deno.readTextFile(new URL("./testdata/errors.dlm", import.meta.url));
  const { file, diagnostics } = parse(text, "errors.dlm");
  const sources = new SourceMap();
  sources.add("errors.dlm", text);
  const report = diagnostics.map((d) => formatDiagnostic(d, sources)).join("\n");
  await t.assertSnapshot(`${report}\n\n${file.decls.map(sexpr).join("\n")}`, {
    serializer: (s) => s,
  });
});

Deno.test("cstToAst reads an if expression's branch as statements and a value, and () as a tuple", () => {
  const { value } = letValue(
    "if c { let t = f(x); t * 2 } else if d { if e { 1 } else { let u = 2; u } } else { x }",
  );
  assert.equal(
    sexpr(value),
    "(if c { (let t = (call f x)) (* t 2) } (if d (if e 1 { (let u = 2) u }) x))",
  );
  assert.equal(
    sexpr(letValue('param((), name: "s")').value),
    '(call param (tuple) name=(str "s"))',
  );
});

Deno.test("cstToAst reads `X sharing S` as a postfix on X, and `sharing` stays a name elsewhere", () => {
  const { src, value } = letValue("GPT2Cached(64, dim: 32) sharing policy.lm + 1");
  assert.equal(sexpr(value), "(+ (sharing (call GPT2Cached 64 dim=32) (. policy lm)) 1)");
  const sh = (value as A.BinaryExpr).left as A.SharingExpr;
  assert.equal(cover(src, sh.span), "GPT2Cached(64, dim: 32) sharing policy.lm");
  assert.equal(cover(src, sh.wordSpan), "sharing");
  // A name of its own where it follows no expression, and on the next line a new statement.
  const stmts = body("model M {\n  let sharing = 3\n  let a = f(x)\n  sharing = 4\n}");
  assert.deepEqual(stmts.map((s) => s.kind), ["let", "let", "assign"]);
  assert.equal(sexpr((stmts[1] as A.LetStmt).value), "(call f x)");
  // A line end before it is a space when a name follows: the layout may break the line there.
  const broken = body("model M {\n  let a = F()\n    sharing net\n}");
  assert.equal(sexpr((broken[0] as A.LetStmt).value), "(sharing (call F) net)");
});
