/**
 * The .dlm lexer: chevrotain token types and `lex`, which turns source text
 * into tokens plus diagnostics (DLM0001 for an unexpected character, DLM0003
 * for an unterminated string, DLM0004 for an unterminated comment). Lexing never stops at an error: unexpected
 * characters are skipped and an unterminated string still becomes a string
 * token, so the parser sees the rest of the file.
 *
 * The lexical structure is specified in spec/grammar.md.
 */
// chevrotain's own single-file build: one module to load instead of hundreds (vendor/chevrotain.mjs).
// @ts-types="chevrotain"
import { createToken, type IToken, Lexer, type TokenType } from "./vendor/chevrotain.mjs";
import type { Span } from "../ir/graph.ts";
import { type Code, diag, type Diagnostic } from "../diagnostics.ts";

// ---------------------------------------------------------------------------
// Custom matchers. Chevrotain calls them with the whole text and an offset
// and expects a RegExp-like match array (or null).

type Match = RegExpExecArray | null;

function matchOf(text: string, start: number, end: number): Match {
  return [text.slice(start, end)] as unknown as RegExpExecArray;
}

/**
 * The string and interpolation scanner: from offset `i`, inside the constructs of `stack` (-1 for
 * a string, k >= 0 for a `${...}` with k braces open inside it), returns the offset just after the
 * character that closes the outermost one, or -1 when the line or the text ends first. `${...}`
 * parts are skipped with brace counting and strings nested inside them are scanned too, so that
 * `"${f("a")}"` is one token. A loop with an explicit stack, not recursion: nesting costs no call
 * stack.
 */
function scan(text: string, i: number, stack: number[]): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) return -1;
    const top = stack.length - 1;
    if (stack[top] < 0) {
      // In a string.
      if (c === 34 /* " */) {
        stack.pop();
        if (stack.length === 0) return i + 1;
      } else if (c === 92 /* \ */) {
        const n = text.charCodeAt(i + 1);
        if (Number.isNaN(n) || n === 10 || n === 13) return -1;
        i++;
      } else if (c === 36 /* $ */ && text.charCodeAt(i + 1) === 123 /* { */) {
        stack.push(0);
        i++;
      }
    } else if (c === 34) stack.push(-1); // a string inside an interpolation
    else if (c === 123) stack[top]++;
    else if (c === 125 /* } */) {
      if (stack[top] === 0) {
        stack.pop();
        if (stack.length === 0) return i + 1;
      } else stack[top]--;
    }
    i++;
  }
  return -1;
}

/** The offset just after the string literal opening at `i` (a `"`), or -1 if the line ends first. */
function scanString(text: string, i: number): number {
  return scan(text, i + 1, [-1]);
}

/**
 * The index of the `}` that closes an interpolation whose body starts at `i` in the body of a
 * string literal, or -1.
 */
export function interpolationEnd(body: string, i: number): number {
  const end = scan(body, i, [0]);
  return end < 0 ? -1 : end - 1;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The end of the digits `\d(?:_?\d)*` from `i`, or -1 when no digit is there. */
function digitsEnd(text: string, i: number): number {
  if (!isDigit(text.charCodeAt(i))) return -1;
  i++;
  for (;;) {
    const c = text.charCodeAt(i);
    if (isDigit(c)) i++;
    else if (c === 95 /* _ */ && isDigit(text.charCodeAt(i + 1))) i += 2;
    else return i;
  }
}

/** `64`, `1_000`, `0.5`, `2.`, `1e-3`; a `.` followed by another `.` is left to a range. */
function matchNumber(text: string, offset: number): Match {
  let i = digitsEnd(text, offset);
  if (i < 0) return null;
  if (text.charCodeAt(i) === 46 /* . */ && text.charCodeAt(i + 1) !== 46) {
    i++;
    const end = digitsEnd(text, i);
    if (end >= 0) i = end;
  }
  const e = text.charCodeAt(i);
  if (e === 101 || e === 69 /* e E */) {
    let k = i + 1;
    const sign = text.charCodeAt(k);
    if (sign === 43 || sign === 45) k++;
    const end = digitsEnd(text, k);
    if (end >= 0) i = end;
  }
  return matchOf(text, offset, i);
}

function matchString(text: string, offset: number): Match {
  if (text.charCodeAt(offset) !== 34) return null;
  const end = scanString(text, offset);
  return end < 0 ? null : matchOf(text, offset, end);
}

/** Tried only after `matchString` failed: a `"` whose string runs to the end of the line. */
function matchUnterminatedString(text: string, offset: number): Match {
  if (text.charCodeAt(offset) !== 34) return null;
  let end = offset + 1;
  while (end < text.length) {
    const c = text.charCodeAt(end);
    if (c === 10 || c === 13) break;
    end++;
  }
  return matchOf(text, offset, end);
}

function matchLineComment(text: string, offset: number): Match {
  if (text.charCodeAt(offset) !== 47 || text.charCodeAt(offset + 1) !== 47) return null;
  let end = offset + 2;
  while (end < text.length) {
    const c = text.charCodeAt(end);
    if (c === 10 || c === 13) break;
    end++;
  }
  return matchOf(text, offset, end);
}

/** `/* ... *\/`; an unterminated one runs to the end of the file (and is reported). */
function matchBlockComment(text: string, offset: number): Match {
  if (text.charCodeAt(offset) !== 47 || text.charCodeAt(offset + 1) !== 42) return null;
  const close = text.indexOf("*/", offset + 2);
  return matchOf(text, offset, close < 0 ? text.length : close + 2);
}

// ---------------------------------------------------------------------------
// Token types. Chevrotain tries them in this order and takes the first that
// matches, so longer operators come before their prefixes.
//
// Each token with a string or regular-expression pattern says what its pattern's analysis would
// find (`start_chars_hint`: its first characters, `line_breaks`: whether it can span lines): the
// lexer's construction otherwise parses every pattern at every start (about 0.7 ms of `dlm
// check`). lexer_test.ts builds the lexer without them and compares.

/** Whitespace, newlines included: statements need no separator. */
export const WhiteSpace = createToken({
  name: "WhiteSpace",
  pattern: /[ \t\r\n\f\v]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
  start_chars_hint: [" ", "\t", "\r", "\n", "\f", "\v"],
});
export const LineComment = createToken({
  name: "LineComment",
  pattern: { exec: matchLineComment },
  group: Lexer.SKIPPED,
  line_breaks: false,
  start_chars_hint: ["/"],
});
export const BlockComment = createToken({
  name: "BlockComment",
  pattern: { exec: matchBlockComment },
  // Kept in a group of its own so that `lex` can tell whether it was closed.
  group: "comments",
  line_breaks: true,
  start_chars_hint: ["/"],
});

/**
 * Category of every token that cannot begin a declaration: what the top level of a file skips
 * over, in one run, after reporting its first token (parser.ts, `parseFile`). All but `;` and
 * the keywords `import`, `let`, `model`, `block` and `train`.
 */
export const Stray = createToken({ name: "Stray", pattern: Lexer.NA, label: "a stray token" });

/** The characters an identifier starts with: `[A-Za-z_]`. */
const IDENTIFIER_START = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"];

export const Identifier = createToken({
  name: "Identifier",
  pattern: /[A-Za-z_][A-Za-z0-9_]*/,
  line_breaks: false,
  start_chars_hint: IDENTIFIER_START,
  label: "a name",
  categories: [Stray],
});

/** Category of all keywords: a keyword may still name an argument (`linear(10, init: zeros)`). */
export const Keyword = createToken({ name: "Keyword", pattern: Lexer.NA, label: "a keyword" });

function keyword(word: string, startsDecl = false): TokenType {
  const name = word[0].toUpperCase() + word.slice(1);
  return createToken({
    name,
    pattern: word,
    line_breaks: false,
    longer_alt: Identifier,
    label: `'${word}'`,
    categories: startsDecl ? [Keyword] : [Keyword, Stray],
  });
}

export const Model = keyword("model", true);
export const Block = keyword("block", true);
export const Train = keyword("train", true);
export const Import = keyword("import", true);
export const Input = keyword("input");
export const Output = keyword("output");
export const Let = keyword("let", true);
export const Return = keyword("return");
export const If = keyword("if");
export const Else = keyword("else");
export const For = keyword("for");
export const In = keyword("in");
export const Init = keyword("init");
export const Freeze = keyword("freeze");
export const True = keyword("true");
export const False = keyword("false");
export const With = keyword("with");

/** The keywords, in the order spec/grammar.md lists them. */
export const KEYWORDS: readonly TokenType[] = [
  Model,
  Block,
  Train,
  Import,
  Input,
  Output,
  Let,
  Return,
  If,
  Else,
  For,
  In,
  Init,
  Freeze,
  True,
  False,
  With,
];

/**
 * `64`, `1_000`, `0.5`, `2.`, `1e-3`. A `.` followed by another `.` is not part
 * of the number, so `0..4` is a range.
 */
export const NumberLit = createToken({
  name: "NumberLit",
  // What /\d(?:_?\d)*(?:\.(?!\.)(?:\d(?:_?\d)*)?)?(?:[eE][+-]?\d(?:_?\d)*)?/ matches, read by a
  // loop: V8's regular expressions backtrack on a repeated group, and a number of millions of
  // digits ran the lexer out of stack.
  pattern: { exec: matchNumber },
  line_breaks: false,
  start_chars_hint: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  label: "a number",
  categories: [Stray],
});

export const StringLit = createToken({
  name: "StringLit",
  pattern: { exec: matchString },
  line_breaks: false,
  start_chars_hint: ['"'],
  label: "a string",
  categories: [Stray],
});
/** Never reaches the parser: `lex` reports it and turns it into a `StringLit`. */
export const UnterminatedString = createToken({
  name: "UnterminatedString",
  pattern: { exec: matchUnterminatedString },
  line_breaks: false,
  start_chars_hint: ['"'],
});

/** Category of the binary operators, so the parser consumes any of them in one step. */
export const BinaryOperator = createToken({
  name: "BinaryOperator",
  pattern: Lexer.NA,
  label: "an operator",
});
/** Category of the prefix operators `-`, `+` and `!`. */
export const PrefixOperator = createToken({
  name: "PrefixOperator",
  pattern: Lexer.NA,
  label: "'-', '+' or '!'",
});

function punct(name: string, image: string, categories: TokenType[] = []): TokenType {
  if (image !== ";") categories = [...categories, Stray];
  return createToken({ name, pattern: image, line_breaks: false, label: `'${image}'`, categories });
}

export const Pipe = punct("Pipe", "|>");
export const OrOr = punct("OrOr", "||", [BinaryOperator]);
export const AndAnd = punct("AndAnd", "&&", [BinaryOperator]);
export const Arrow = punct("Arrow", "->");
export const LParen = punct("LParen", "(");
export const RParen = punct("RParen", ")");
export const LBracket = punct("LBracket", "[");
export const RBracket = punct("RBracket", "]");
export const LCurly = punct("LCurly", "{");
export const RCurly = punct("RCurly", "}");
export const Comma = punct("Comma", ",");
export const Colon = punct("Colon", ":");
export const Semicolon = punct("Semicolon", ";");
export const Ellipsis = punct("Ellipsis", "...");
export const DotDotEq = punct("DotDotEq", "..=", [BinaryOperator]);
export const DotDot = punct("DotDot", "..", [BinaryOperator]);
export const Dot = punct("Dot", ".");
export const StarStar = punct("StarStar", "**");
export const Star = punct("Star", "*", [BinaryOperator]);
export const Slash = punct("Slash", "/", [BinaryOperator]);
export const Percent = punct("Percent", "%", [BinaryOperator]);
export const At = punct("At", "@", [BinaryOperator]);
export const Plus = punct("Plus", "+", [BinaryOperator, PrefixOperator]);
export const Minus = punct("Minus", "-", [BinaryOperator, PrefixOperator]);
export const EqEq = punct("EqEq", "==", [BinaryOperator]);
export const NotEq = punct("NotEq", "!=", [BinaryOperator]);
export const LtEq = punct("LtEq", "<=", [BinaryOperator]);
export const Lt = punct("Lt", "<", [BinaryOperator]);
export const GtEq = punct("GtEq", ">=", [BinaryOperator]);
export const Gt = punct("Gt", ">", [BinaryOperator]);
export const Bang = punct("Bang", "!", [PrefixOperator]);
export const Equals = punct("Equals", "=");

/** All token types in matching order (the lexer's definition). */
export const ALL_TOKENS: TokenType[] = [
  Keyword,
  WhiteSpace,
  LineComment,
  BlockComment,
  // Longest first: "in" would otherwise take the start of "init" and "input"
  // (its longer alternative is an identifier, not another keyword).
  ...[...KEYWORDS].sort((a, b) => String(b.PATTERN).length - String(a.PATTERN).length),
  Identifier,
  NumberLit,
  StringLit,
  UnterminatedString,
  Pipe,
  OrOr,
  AndAnd,
  Arrow,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LCurly,
  RCurly,
  Comma,
  Colon,
  Semicolon,
  Ellipsis,
  DotDotEq,
  DotDot,
  Dot,
  StarStar,
  Star,
  Slash,
  Percent,
  At,
  Plus,
  Minus,
  EqEq,
  NotEq,
  LtEq,
  Lt,
  GtEq,
  Gt,
  Bang,
  Equals,
  BinaryOperator,
  PrefixOperator,
  Stray,
];

/** The token types the parser consumes (`UnterminatedString` is rewritten by `lex`). */
export const PARSER_TOKENS: TokenType[] = ALL_TOKENS.filter((t) => t !== UnterminatedString);

/**
 * A lexer for the token types above. Chevrotain's definition checks (empty or
 * unanchored patterns, unreachable tokens) cost start-up time on every run and
 * can only fail when this file changes, so `lex` skips them;
 * `lexer_test.ts` builds a lexer with them on and fails on any finding.
 */
export function createLexer(options: { validate?: boolean } = {}): Lexer {
  return new Lexer(ALL_TOKENS, {
    positionTracking: "full",
    ensureOptimizations: true,
    skipValidations: !options.validate,
  });
}

/** The one lexer, built on first use: importing the syntax module costs no lexer analysis. */
let lexer: Lexer | undefined;

/**
 * How many syntax errors of one file are reported (javac's default `-Xmaxerrs`): the parser
 * stops after that many (parser.ts), and the rest of a file of garbage is not worth reading.
 */
export const MAX_SYNTAX_ERRORS = 100;

/** An error diagnostic (without the `notes` key, so results compare cleanly). */
export function syntaxError(code: Code, message: string, span: Span): Diagnostic {
  return { code, severity: "error", message, span };
}

/** A string token whose closing quote is missing (set by `lex`). */
export function isUnterminated(token: IToken): boolean {
  return (token as IToken & { unterminated?: boolean }).unterminated === true;
}

export interface LexResult {
  tokens: IToken[];
  diagnostics: Diagnostic[];
}

/** Where a lexed fragment sits in its file: for `${...}` parts of strings. */
export interface LexOrigin {
  /** Offset, line and column (1-based) of the fragment's first character. */
  offset: number;
  line: number;
  col: number;
}

/**
 * Tokenize `text`. Never throws: problems become diagnostics whose spans are
 * in `file`. With `origin`, `text` is a fragment of a single line of the file
 * starting there, and all token positions are shifted to point into the file.
 *
 * @example
 * ```ts
 * const { tokens } = lex("let w = 64", "a.dlm");
 * tokens.map((t) => t.image); // ["let", "w", "=", "64"]
 * ```
 */
export function lex(text: string, file: string, origin?: LexOrigin): LexResult {
  const result = (lexer ??= createLexer()).tokenize(text);
  const diagnostics: Diagnostic[] = [];
  const dOff = origin ? origin.offset : 0;
  const dLine = origin ? origin.line - 1 : 0;
  const dCol = origin ? origin.col - 1 : 0;
  // Only the first MAX_SYNTAX_ERRORS errors of a file are reported (mod.ts): the rest of a file
  // of garbage need not become diagnostics.
  for (const e of result.errors.slice(0, MAX_SYNTAX_ERRORS + 1)) {
    const line = (e.line ?? 1) + dLine;
    const col = (e.column ?? 1) + (e.line === 1 ? dCol : 0);
    const chars = text.slice(e.offset, e.offset + Math.min(e.length, 20));
    const more = e.length > 20 ? "…" : "";
    const what = e.length === 1 ? "character" : "characters";
    diagnostics.push(
      syntaxError(...diag("DLM0001", what, quoteChars(chars) + more), {
        file,
        line,
        col,
        endLine: line,
        endCol: col + e.length,
      }),
    );
  }
  const tokens = result.tokens;
  const comments = result.groups.comments ?? [];
  if (origin) {
    // A fragment is part of one line, so only the first line's columns move.
    for (const t of [...tokens, ...comments]) {
      t.startOffset += dOff;
      if (t.endOffset !== undefined) t.endOffset += dOff;
      if (t.startLine === 1) t.startColumn = (t.startColumn ?? 1) + dCol;
      if (t.endLine === 1) t.endColumn = (t.endColumn ?? 1) + dCol;
      t.startLine = (t.startLine ?? 1) + dLine;
      t.endLine = (t.endLine ?? 1) + dLine;
    }
  }
  for (const t of tokens) {
    if (t.tokenType === UnterminatedString) {
      diagnostics.push(
        syntaxError(...diag("DLM0003"), tokenSpan(t, file)),
      );
      (t as IToken & { unterminated?: boolean }).unterminated = true;
      t.tokenType = StringLit;
      t.tokenTypeIdx = StringLit.tokenTypeIdx!;
    }
  }
  for (const c of comments) {
    // An unterminated block comment runs to the end of the file.
    if (c.image.length >= 4 && c.image.endsWith("*/")) continue;
    const s = tokenSpan(c, file);
    diagnostics.push(
      syntaxError(...diag("DLM0004"), {
        ...s,
        endLine: s.line,
        endCol: s.col + 2,
      }),
    );
  }
  return { tokens, diagnostics };
}

/** The span of one token (end is just after its last character). */
export function tokenSpan(t: IToken, file: string): Span {
  return {
    file,
    line: t.startLine ?? 1,
    col: t.startColumn ?? 1,
    endLine: t.endLine ?? t.startLine ?? 1,
    endCol: (t.endColumn ?? t.startColumn ?? 0) + 1,
  };
}

/** The characters in quotes, control characters written as `\u....` so they show. */
function quoteChars(s: string): string {
  let out = "";
  for (const c of s) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, "0")}` : c;
  }
  return `'${out}'`;
}
