import assert from "node:assert/strict";
import { commentsOf, formatSource } from "./format.ts";
import { lex } from "./lexer.ts";

function fmt(text: string, width?: number): string {
  const r = formatSource(text, { width });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.text;
}

/** Format, and check that formatting the result changes nothing. */
function canonical(text: string, width?: number): string {
  const once = fmt(text, width);
  assert.equal(fmt(once, width), once, "formatting is idempotent");
  return once;
}

Deno.test("formatSource lays a cramped model out one statement a line with canonical spaces", () => {
  assert.equal(
    canonical("model M{input x:f32[N,3]  output y=x|>linear(4,bias:false)|>relu}"),
    "model M {\n  input x: f32[N, 3]\n  output y = x |> linear(4, bias: false) |> relu\n}\n",
  );
});

Deno.test("formatSource breaks a pipe too long for the line before each |>, aligned", () => {
  const src = "block B()(x) { let y = x |> conv1: conv2d(64, kernel: 3) |> bn1: batch_norm " +
    "|> relu |> conv2: conv2d(64, kernel: 3) |> bn2: batch_norm\n return y }";
  assert.equal(
    canonical(src),
    [
      "block B()(x) {",
      "  let y = x",
      "    |> conv1: conv2d(64, kernel: 3)",
      "    |> bn1: batch_norm",
      "    |> relu",
      "    |> conv2: conv2d(64, kernel: 3)",
      "    |> bn2: batch_norm",
      "  return y",
      "}",
      "",
    ].join("\n"),
  );
});

Deno.test("formatSource wraps an argument list one argument a line with a trailing comma, and drops it when it fits", () => {
  const long = "let c = f(alpha_alpha_alpha, beta_beta_beta, gamma_gamma_gamma, delta_delta)";
  assert.equal(
    canonical(long, 40),
    "let c = f(\n  alpha_alpha_alpha,\n  beta_beta_beta,\n  gamma_gamma_gamma,\n  delta_delta,\n)\n",
  );
  assert.equal(canonical("let c = f(a, b,)\nlet d = [1, 2,]"), "let c = f(a, b)\nlet d = [1, 2]\n");
});

Deno.test("formatSource keeps the comma of a 1-tuple and of a 1-tuple type", () => {
  assert.equal(canonical("let t = (1,)\nlet u = ( 1 )"), "let t = (1,)\nlet u = (1)\n");
  assert.equal(
    canonical("block B(s: (int,))(x) { return x }"),
    "block B(s: (int,))(x) {\n  return x\n}\n",
  );
});

Deno.test("formatSource spaces binary operators but not prefix ones, ranges, slices or members", () => {
  assert.equal(
    canonical("let a = -x+2*y**-1\nlet b = x[:,0,1:3,::2].T\nlet c = 0..=n-1\nlet d = !p&&q"),
    "let a = -x + 2 * y ** -1\nlet b = x[:, 0, 1:3, ::2].T\nlet c = 0..=n - 1\nlet d = !p && q\n",
  );
});

Deno.test("formatSource keeps an if expression on one line when it fits, and bodies of statements broken", () => {
  assert.equal(
    canonical(
      "block B(s: int)(x) { if s > 1 { return x } else { return x |> relu } " +
        "let y = if s == 1 { x } else { x * 2 } }",
    ),
    [
      "block B(s: int)(x) {",
      "  if s > 1 {",
      "    return x",
      "  } else {",
      "    return x |> relu",
      "  }",
      "  let y = if s == 1 { x } else { x * 2 }",
      "}",
      "",
    ].join("\n"),
  );
  assert.equal(
    canonical("model M { input x: f32[N] if true { } else if false { } output y = x }"),
    "model M {\n  input x: f32[N]\n  if true {} else if false {}\n  output y = x\n}\n",
  );
});

Deno.test("formatSource keeps blank lines between statements, at most one, and none at the start of a body", () => {
  assert.equal(
    canonical("model M {\n\n\n  input x: f32[N]\n\n\n\n  output y = x\n}\n\n\n\nlet k = 1"),
    "model M {\n  input x: f32[N]\n\n  output y = x\n}\n\nlet k = 1\n",
  );
});

Deno.test("formatSource keeps `;` with the statement it ends", () => {
  assert.equal(
    canonical("let a = f ; let b = (1, 2)\nlet c = if p { let t = 2; t * 2 } else { 1 }"),
    "let a = f;\nlet b = (1, 2)\nlet c = if p { let t = 2; t * 2 } else { 1 }\n",
  );
});

const COMMENTED = `// header
/* a block
   comment */

model M { // after the brace
  // before input
  input x: f32[N] // after input
  /* before output */ output y = x
    // between stages
    |> relu /* inline */ |> linear(4, // after an argument
      bias: false)
  // at the end of the body
}
// at the end of the file
`;

Deno.test("formatSource keeps every comment, in order, leading and trailing, line and block", () => {
  const out = canonical(COMMENTED);
  const before = commentsOf(COMMENTED, lex(COMMENTED, "a").tokens);
  const after = commentsOf(out, lex(out, "a").tokens);
  assert.equal(after.length, 11);
  assert.deepEqual(after, before);
  assert.equal(
    out,
    [
      "// header",
      "/* a block",
      "   comment */",
      "",
      "model M { // after the brace",
      "  // before input",
      "  input x: f32[N] // after input",
      "  /* before output */ output y = x",
      "    // between stages",
      "    |> relu /* inline */",
      "    |> linear(",
      "      4, // after an argument",
      "      bias: false,",
      "    )",
      "  // at the end of the body",
      "}",
      "// at the end of the file",
      "",
    ].join("\n"),
  );
});

Deno.test("formatSource keeps a line comment inside brackets on its line by breaking them", () => {
  assert.equal(
    canonical("let a = [1, // one\n 2]"),
    "let a = [\n  1, // one\n  2,\n]\n",
  );
  assert.equal(canonical("let a = f(\n  // nothing\n)"), "let a = f(\n  // nothing\n)\n");
});

Deno.test("formatSource keeps the width it is given", () => {
  const src = "let c = conv2d(64, kernel: 3, stride: 2)";
  assert.equal(canonical(src, 100), src + "\n");
  assert.equal(canonical(src, 30), "let c = conv2d(\n  64,\n  kernel: 3,\n  stride: 2,\n)\n");
});

Deno.test("formatSource returns the diagnostics of a file that does not parse", () => {
  const r = formatSource("model M { let y = conv2d(8 kernel: 3) }", { path: "bad.dlm" });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.diagnostics[0].code, "DLM0002");
    assert.equal(r.diagnostics[0].span?.file, "bad.dlm");
  }
});

Deno.test("formatSource leaves strings with interpolations, numbers and a byte-order mark alone", () => {
  assert.equal(
    canonical('\ufeffblock B()(x) { init "h.*.weight"=normal(std:1e-3 ) return x }'),
    'block B()(x) {\n  init "h.*.weight" = normal(std: 1e-3)\n  return x\n}\n',
  );
  assert.equal(
    canonical('let n = 1_000 +2.\nlet s = "a ${f("b")} \\" c"'),
    'let n = 1_000 + 2.\nlet s = "a ${f("b")} \\" c"\n',
  );
  assert.equal(canonical(""), "");
  assert.equal(canonical("\n\n// only\n\n"), "// only\n");
});

Deno.test("formatSource breaks a long sum after its + before breaking a bracket, and a parenthesised pipe hugs its parentheses", () => {
  assert.equal(
    canonical("let s = alpha_alpha(one, two) + beta_beta(three, four) - gamma(five)", 40),
    "let s = alpha_alpha(one, two) +\n  beta_beta(three, four) -\n  gamma(five)\n",
  );
  assert.equal(
    canonical("block B()(x) { return x + (x |> norm: layer_norm |> fc1: linear(64) |> gelu) }", 50),
    [
      "block B()(x) {",
      "  return x +",
      "    (x",
      "      |> norm: layer_norm",
      "      |> fc1: linear(64)",
      "      |> gelu)",
      "}",
      "",
    ].join("\n"),
  );
  // A statement's body does not break its header's operators.
  assert.equal(
    canonical("block B(n: int)(x) { if n - 1 > 0 { return x } return x }", 20),
    "block B(n: int)(x) {\n  if n - 1 > 0 {\n    return x\n  }\n  return x\n}\n",
  );
});

Deno.test("formatSource breaks a long list of methods or returned values after its commas", () => {
  assert.equal(
    canonical(
      'model Big = Base with lora(rank: 8, alpha: 16), ia3(targets: "h.*"), prefix(length: 10)',
      50,
    ),
    'model Big = Base with lora(rank: 8, alpha: 16),\n  ia3(targets: "h.*"),\n  prefix(length: 10)\n',
  );
  // Line ends written \r\n format as \n ones do.
  const lf = "model M {\n  input x: f32[N] // x\n  output y = x\n}\n";
  assert.equal(canonical(lf.replaceAll("\n", "\r\n")), lf);
});
