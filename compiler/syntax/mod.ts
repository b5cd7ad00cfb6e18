/**
 * The .dlm front end: `parse` turns source text into an AST and the syntax
 * diagnostics (DLM0001-DLM0010; DLM0152 for nesting past the limit, DLM0150
 * past 100 errors), in time linear in the text. The grammar is spec/grammar.md.
 */
import type { IToken, TokenType } from "chevrotain";
import type { Span } from "../ir/graph.ts";
import { diag, type Diagnostic, error, sortDiagnostics } from "../diagnostics.ts";
import type { Decl, SourceFile } from "./ast.ts";
import { AstBuilder } from "./cst_to_ast.ts";
import {
  Block,
  Colon,
  Dot,
  For,
  Freeze,
  Import,
  Init,
  Let,
  lex,
  Model,
  syntaxError,
  tokenSpan,
  Train,
} from "./lexer.ts";
import {
  MAX_SYNTAX_ERRORS,
  nestingError,
  parseFile,
  type Stop,
  strayDiagnostics,
  syntaxDiagnostics,
} from "./parser.ts";

export type * from "./ast.ts";
export type { Span } from "../ir/graph.ts";
export { MISSING, TENSOR_DTYPES } from "./cst_to_ast.ts";

/**
 * Parse one .dlm file. Never throws for bad input: with syntax errors it
 * returns the best-effort AST and every diagnostic, sorted by position (spans
 * in `path`, 1-based, `end` just after the last character).
 *
 * @example
 * ```ts
 * const { file, diagnostics } = parse("model M { input x: f32[N] }", "m.dlm");
 * file.decls[0].kind; // "model"
 * diagnostics.length; // 0
 * ```
 */
export function parse(text: string, path: string): { file: SourceFile; diagnostics: Diagnostic[] } {
  // A byte-order mark is not part of the first line as an editor shows it.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const span = fileSpan(text, path);
  try {
    return parseUnchecked(text, path, span);
  } catch (e) {
    // The parser bounds nesting (MAX_NESTING) and the lexer reads without recursion: this is
    // the last resort, should something else still recurse with the input.
    if (isStackOverflow(e)) {
      return {
        file: { kind: "file", path, decls: [], span },
        diagnostics: [error(...diag("DLM0314", path, "parse"), { ...span, endLine: 1, endCol: 1 })],
      };
    }
    // A bug of ours, not of the input: still no stack trace for the user.
    const message = e instanceof Error ? e.message : String(e);
    return {
      file: { kind: "file", path, decls: [], span },
      diagnostics: [
        error(
          ...diag("DLM0900", `parsing failed (please report it with the file): ${message}`),
          { ...span, endLine: 1, endCol: 1 },
        ),
      ],
    };
  }
}

/**
 * How large a file may be: 16 Mi characters, and 4 Mi tokens. Parsing holds each token, its
 * node of the concrete tree and its node of the AST at once, about 800 bytes a token at the peak
 * (a one-line sum `x + x + ...` of 8 MB, 4.2 million tokens, peaks at 3.3 GB): beyond that, V8's
 * default heap (4 GB) runs out and the process aborts, which is no diagnostic. The character
 * bound keeps lexing itself (200 bytes a token) within the heap.
 */
export const MAX_FILE_CHARS = 2 ** 24;
export const MAX_FILE_TOKENS = 2 ** 22;

/** DLM0151 at `span`: the file has more than `n` `what`. */
function tooLarge(n: number, what: string, span: Span): Diagnostic {
  return syntaxError(...diag("DLM0151", n.toLocaleString("en-US"), what), span);
}

/** The span of the character at `offset` (1-based line and column). */
function spanAt(text: string, offset: number, file: string): Span {
  let line = 1, lineStart = 0;
  for (let i = 0; i < offset; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  const col = offset - lineStart + 1;
  return { file, line, col, endLine: line, endCol: col + 1 };
}

function parseUnchecked(
  text: string,
  path: string,
  span: Span,
): { file: SourceFile; diagnostics: Diagnostic[] } {
  const empty = (d: Diagnostic) => ({
    file: { kind: "file" as const, path, decls: [], span },
    diagnostics: [d],
  });
  if (text.length > MAX_FILE_CHARS) {
    return empty(tooLarge(MAX_FILE_CHARS, "characters", spanAt(text, MAX_FILE_CHARS, path)));
  }
  const { tokens, diagnostics } = lex(text, path);
  if (tokens.length > MAX_FILE_TOKENS) {
    return empty(tooLarge(MAX_FILE_TOKENS, "tokens", tokenSpan(tokens[MAX_FILE_TOKENS], path)));
  }
  const builder = new AstBuilder(path);
  const decls: Decl[] = [];
  let budget = MAX_SYNTAX_ERRORS;
  let stop: Stop | undefined;
  // Each part of the file is parsed on its own, so that the work of error recovery (which scans
  // ahead for a token to resynchronise at) stays within one part: see `parts`.
  const starts = parts(tokens);
  for (let k = 0; k < starts.length && !stop; k++) {
    const end = k + 1 < starts.length ? starts[k + 1] : tokens.length;
    const next = tokens[end] as IToken | undefined;
    const eof = next ? tokenSpan(next, path) : eofSpan(tokens, path, span);
    const r = parseFile(tokens.slice(starts[k], end), { budget, after: next });
    budget -= r.errors.length + r.stray.length;
    append(diagnostics, syntaxDiagnostics(r.errors, path, eof));
    append(diagnostics, strayDiagnostics(r.stray, path));
    for (const cst of r.result ?? []) {
      const d = builder.decl(cst);
      if (d) decls.push(d);
    }
    stop = r.stop;
  }
  append(diagnostics, builder.diagnostics);
  return {
    file: { kind: "file", path, decls, span },
    diagnostics: capErrors(sortDiagnostics(dedupe(diagnostics)), stop, path),
  };
}

/** `to.push(...from)` without spreading: an argument list has a size limit, an array has not. */
function append<T>(to: T[], from: readonly T[]): void {
  for (const x of from) to.push(x);
}

/**
 * Where the parts of a file start: at the first token and at each `model`, `block`, `train` and
 * `import` keyword, which nothing but a declaration can begin (a keyword before `:` names an
 * argument or is a label, one before `.` or after `freeze` or `init` is a level in a path:
 * `freeze block.conv1`, `freeze model`, and one after `let` or `for` is a name, reported). A valid file parses to the same declarations whole or in parts; in a broken one, a
 * declaration left open ends at the next part (its error says so: "but found 'model'").
 */
/** Tokens after which a keyword is a name (reported or not), never a declaration's start. */
const AFTER_NO_DECL = new Set<TokenType>([Freeze, Init, Let, For]);

function parts(tokens: IToken[]): number[] {
  const out = [0];
  for (let i = 1; i < tokens.length; i++) {
    const tt = tokens[i].tokenType;
    if (
      (tt === Model || tt === Block || tt === Train || tt === Import) &&
      tokens[i + 1]?.tokenType !== Colon && tokens[i + 1]?.tokenType !== Dot &&
      !AFTER_NO_DECL.has(tokens[i - 1].tokenType)
    ) out.push(i);
  }
  return out;
}

/**
 * At most `MAX_SYNTAX_ERRORS` errors (the first, by position), then one DLM0150 where the rest
 * begins; with the diagnostic of `stop` when the parse stopped early.
 */
function capErrors(ds: Diagnostic[], stop: Stop | undefined, path: string): Diagnostic[] {
  const tooMany = (span: Span) => syntaxError(...diag("DLM0150", MAX_SYNTAX_ERRORS), span);
  if (stop?.why === "nesting") {
    ds = sortDiagnostics([
      ...ds,
      nestingError(tokenSpan(stop.token, path)),
    ]);
  }
  let errors = 0;
  for (let i = 0; i < ds.length; i++) {
    if (ds[i].severity === "error" && ++errors > MAX_SYNTAX_ERRORS) {
      return [...ds.slice(0, i), tooMany(ds[i].span!)];
    }
  }
  return stop?.why === "errors" ? [...ds, tooMany(tokenSpan(stop.token, path))] : ds;
}

/** Recovery can report the same error twice at one place; keep the first. */
function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const key = `${d.code}|${d.message}|${d.span?.line}:${d.span?.col}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function fileSpan(text: string, path: string): Span {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { file: path, line: 1, col: 1, endLine: line, endCol: text.length - lineStart + 1 };
}

/** Where "the end of the file" is reported: just after the last token. */
function eofSpan(tokens: IToken[], path: string, file: Span): Span {
  const last = tokens.at(-1);
  if (!last) return { ...file, line: file.endLine, col: file.endCol };
  const s = tokenSpan(last, path);
  return { file: path, line: s.endLine, col: s.endCol, endLine: s.endLine, endCol: s.endCol + 1 };
}

/**
 * V8's "Maximum call stack size exceeded": the input is absurdly deep, not our bug. Called where
 * the stack may be nearly spent (a caller deep in its own recursion), so it compiles no regular
 * expression (that can overflow the stack itself: "Invalid regular expression: Stack overflow"),
 * and a check that cannot even run is taken for an overflow.
 */
export function isStackOverflow(e: unknown): boolean {
  try {
    return e instanceof RangeError && e.message.includes("call stack");
  } catch {
    return true;
  }
}
