import assert from "node:assert/strict";
import { ALL_TOKENS, createLexer, isUnterminated, lex, tokenSpan } from "./lexer.ts";
// @ts-types="chevrotain"
import { createToken, Lexer, type TokenType } from "./vendor/chevrotain.mjs";

/** `Kind:image` of each token, for compact expectations. */
function kinds(text: string): string[] {
  return lex(text, "t.dlm").tokens.map((t) => `${t.tokenType.name}:${t.image}`);
}

function images(text: string): string[] {
  return lex(text, "t.dlm").tokens.map((t) => t.image);
}

Deno.test("lex() reads keywords as keywords and longer words as names", () => {
  assert.deepEqual(
    kinds("model block train import input output let return if else for in init freeze"),
    [
      "Model:model",
      "Block:block",
      "Train:train",
      "Import:import",
      "Input:input",
      "Output:output",
      "Let:let",
      "Return:return",
      "If:if",
      "Else:else",
      "For:for",
      "In:in",
      "Init:init",
      "Freeze:freeze",
    ],
  );
  assert.deepEqual(kinds("true false with"), ["True:true", "False:false", "With:with"]);
  assert.deepEqual(kinds("inputs init_std model2 _ _x in2 f32 bool"), [
    "Identifier:inputs",
    "Identifier:init_std",
    "Identifier:model2",
    "Identifier:_",
    "Identifier:_x",
    "Identifier:in2",
    "Identifier:f32",
    "Identifier:bool",
  ]);
});

Deno.test("lex() reads integers, floats, exponents and underscores as single numbers", () => {
  assert.deepEqual(kinds("64 1_000 0.5 2. 1e-3 5e-4 2.5E+3"), [
    "NumberLit:64",
    "NumberLit:1_000",
    "NumberLit:0.5",
    "NumberLit:2.",
    "NumberLit:1e-3",
    "NumberLit:5e-4",
    "NumberLit:2.5E+3",
  ]);
});

Deno.test("lex() splits 0..4 into a range, not a float", () => {
  assert.deepEqual(kinds("0..4"), ["NumberLit:0", "DotDot:..", "NumberLit:4"]);
  assert.deepEqual(kinds("1..=n"), ["NumberLit:1", "DotDotEq:..=", "Identifier:n"]);
  assert.deepEqual(kinds("2...x"), ["NumberLit:2", "Ellipsis:...", "Identifier:x"]);
});

Deno.test("lex() prefers the longest operator", () => {
  assert.deepEqual(images("|> -> ... ..= .. . ** * == = != ! <= < >= > && || @ % + - ; , :"), [
    "|>",
    "->",
    "...",
    "..=",
    "..",
    ".",
    "**",
    "*",
    "==",
    "=",
    "!=",
    "!",
    "<=",
    "<",
    ">=",
    ">",
    "&&",
    "||",
    "@",
    "%",
    "+",
    "-",
    ";",
    ",",
    ":",
  ]);
  assert.deepEqual(images("a**-b"), ["a", "**", "-", "b"]);
  assert.deepEqual(images("x|>f"), ["x", "|>", "f"]);
});

Deno.test("lex() skips line and block comments, over several lines", () => {
  assert.deepEqual(images("a // one\nb /* two\n three */ c"), ["a", "b", "c"]);
  assert.deepEqual(images("/**/x/* a * b */y"), ["x", "y"]);
});

Deno.test("lex() always reads '//' as a comment, even between operands", () => {
  assert.deepEqual(kinds("H//2"), ["Identifier:H"]);
  assert.deepEqual(images("(n+1)//(k)"), ["(", "n", "+", "1", ")"]);
});

Deno.test("lex() keeps a string raw, interpolations and nested strings included", () => {
  assert.deepEqual(kinds(String.raw`"a\"b\\c\n\t"`), [String.raw`StringLit:"a\"b\\c\n\t"`]);
  assert.deepEqual(kinds('"layer${i + 1}" "${f("}")}" "{q,v}"'), [
    'StringLit:"layer${i + 1}"',
    'StringLit:"${f("}")}"',
    'StringLit:"{q,v}"',
  ]);
  assert.deepEqual(kinds('"${ {a} }"'), ['StringLit:"${ {a} }"']);
});

Deno.test("lex() reports an unterminated string as DLM0003 and keeps lexing on the next line", () => {
  const { tokens, diagnostics } = lex('let s = "abc\nlet t = 1', "t.dlm");
  assert.deepEqual(diagnostics, [{
    code: "DLM0003",
    severity: "error",
    message: `Unterminated string: expected a closing '"' before the end of the line`,
    span: { file: "t.dlm", line: 1, col: 9, endLine: 1, endCol: 13 },
  }]);
  assert.deepEqual(tokens.map((t) => t.image), ["let", "s", "=", '"abc', "let", "t", "=", "1"]);
  // The parser sees an ordinary string token.
  assert.equal(tokens[3].tokenType.name, "StringLit");
  assert.ok(isUnterminated(tokens[3]));
  assert.ok(!isUnterminated(tokens[0]));
});

Deno.test("lex() treats a string whose interpolation never closes as unterminated", () => {
  const { diagnostics } = lex('"a${b"\nx', "t.dlm");
  assert.deepEqual(diagnostics.map((d) => d.code), ["DLM0003"]);
});

Deno.test("lex() reports an unexpected character as DLM0001 at its position and goes on", () => {
  const { tokens, diagnostics } = lex("let a = 1\n  b # c $$ d", "t.dlm");
  assert.deepEqual(diagnostics, [
    {
      code: "DLM0001",
      severity: "error",
      message: "Unexpected character '#'",
      span: { file: "t.dlm", line: 2, col: 5, endLine: 2, endCol: 6 },
    },
    {
      code: "DLM0001",
      severity: "error",
      message: "Unexpected characters '$$'",
      span: { file: "t.dlm", line: 2, col: 9, endLine: 2, endCol: 11 },
    },
  ]);
  assert.deepEqual(tokens.map((t) => t.image), ["let", "a", "=", "1", "b", "c", "d"]);
});

Deno.test("lex() reports lone '|' and '&' as unexpected characters", () => {
  assert.deepEqual(lex("a | b & c", "t.dlm").diagnostics.map((d) => d.message), [
    "Unexpected character '|'",
    "Unexpected character '&'",
  ]);
});

Deno.test("lex() reports an unterminated block comment at its opening", () => {
  const { tokens, diagnostics } = lex("a\n  /* never closed\nb", "t.dlm");
  assert.deepEqual(tokens.map((t) => t.image), ["a"]);
  assert.deepEqual(diagnostics, [{
    code: "DLM0004",
    severity: "error",
    message: "Unterminated comment: expected '*/' before the end of the file",
    span: { file: "t.dlm", line: 2, col: 3, endLine: 2, endCol: 5 },
  }]);
});

Deno.test("lex() gives 1-based positions with an exclusive end, across LF and CRLF lines", () => {
  const { tokens } = lex("model M {\r\n  input x: f32[N]\n}", "m.dlm");
  const x = tokens.find((t) => t.image === "x")!;
  assert.deepEqual(tokenSpan(x, "m.dlm"), {
    file: "m.dlm",
    line: 2,
    col: 9,
    endLine: 2,
    endCol: 10,
  });
  const input = tokens.find((t) => t.image === "input")!;
  assert.deepEqual(tokenSpan(input, "m.dlm"), {
    file: "m.dlm",
    line: 2,
    col: 3,
    endLine: 2,
    endCol: 8,
  });
  const close = tokens.at(-1)!;
  assert.deepEqual([close.startLine, close.startColumn], [3, 1]);
});

Deno.test("lex() shifts a fragment's positions to where it sits in the file", () => {
  const { tokens, diagnostics } = lex("i + #1", "t.dlm", { offset: 40, line: 3, col: 12 });
  assert.deepEqual(
    tokens.map((t) => [t.image, t.startLine, t.startColumn, t.endColumn, t.startOffset]),
    [["i", 3, 12, 12, 40], ["+", 3, 14, 14, 42], ["1", 3, 17, 17, 45]],
  );
  assert.deepEqual(diagnostics[0].span, {
    file: "t.dlm",
    line: 3,
    col: 16,
    endLine: 3,
    endCol: 17,
  });
});

Deno.test("lex() returns no tokens and no diagnostics for an empty or blank file", () => {
  assert.deepEqual(lex("", "t.dlm"), { tokens: [], diagnostics: [] });
  assert.deepEqual(lex(" \n\t// only a comment\n", "t.dlm"), { tokens: [], diagnostics: [] });
});

Deno.test("the lexer passes chevrotain's definition checks, which lex() skips at run time", () => {
  // With validations on, a definition error throws and a warning is printed; both fail here.
  const warnings: unknown[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => warnings.push(a);
  try {
    const lexer = createLexer({ validate: true });
    assert.deepEqual(lexer.lexerDefinitionErrors, []);
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warnings, []);
});

Deno.test("the lexer's start-up hints give the analysis chevrotain computes without them", () => {
  // `start_chars_hint` and `line_breaks` on a token with a plain pattern (a string or a regular
  // expression) spare chevrotain parsing that pattern at every start; here it parses them, and the
  // first-character index and line-terminator flags must come out the same.
  const plain = ALL_TOKENS.map((t) => {
    const p = t.PATTERN;
    const custom = typeof p === "object" && !(p instanceof RegExp);
    return createToken({
      name: t.name,
      pattern: p as RegExp,
      group: t.GROUP as string | undefined,
      ...(custom ? { start_chars_hint: t.START_CHARS_HINT, line_breaks: t.LINE_BREAKS } : {}),
    });
  });
  type Config = { tokenType: TokenType; canLineTerminator: boolean };
  const analysis = (tokens: TokenType[]) => {
    const l = new Lexer(tokens, {
      positionTracking: "full",
      ensureOptimizations: true,
      skipValidations: true,
    }) as
      & Lexer
      & {
        charCodeToPatternIdxToConfig: Record<string, (Config[] | undefined)[]>;
        patternIdxToConfig: Record<string, Config[]>;
      };
    const index = l.charCodeToPatternIdxToConfig.defaultMode;
    return {
      firstChars: Array.from(index, (cs) => cs?.map((c) => c.tokenType.name).join(" ")),
      lineBreaks: l.patternIdxToConfig.defaultMode.map((c) =>
        `${c.tokenType.name}:${c.canLineTerminator}`
      ),
    };
  };
  const hinted = analysis(ALL_TOKENS);
  assert.ok(hinted.firstChars.length > 0);
  assert.deepEqual(hinted, analysis(plain));
  // The hints are there (the test would pass vacuously without them).
  assert.ok(ALL_TOKENS.some((t) => t.PATTERN instanceof RegExp && t.START_CHARS_HINT));
});
