/**
 * The .dlm front end: `parse` turns source text into an AST and the syntax
 * diagnostics (DLM0001-DLM0010). The grammar is spec/grammar.md.
 */
import type { IToken } from "chevrotain";
import type { Span } from "../ir/graph.ts";
import { diag, type Diagnostic, error, sortDiagnostics } from "../diagnostics.ts";
import type { Decl, SourceFile } from "./ast.ts";
import { AstBuilder } from "./cst_to_ast.ts";
import { Block, Import, Let, lex, Model, tokenSpan, Train } from "./lexer.ts";
import { parseTokens, syntaxDiagnostics } from "./parser.ts";

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

function parseUnchecked(
  text: string,
  path: string,
  span: Span,
): { file: SourceFile; diagnostics: Diagnostic[] } {
  const { tokens, diagnostics } = lex(text, path);
  const eof = eofSpan(tokens, path, span);
  const builder = new AstBuilder(path);
  const decls: Decl[] = [];
  let start = 0;
  // Chevrotain's recovery re-synchronises inside the file, but if it gives up
  // on the rest of the input we restart at the next declaration keyword.
  while (start < tokens.length) {
    const { cst, errors } = parseTokens(start === 0 ? tokens : tokens.slice(start), "file");
    diagnostics.push(...syntaxDiagnostics(errors, path, eof));
    decls.push(...builder.decls(cst));
    const stop = errors.find((e) => e.name === "NotAllInputParsedException")?.token;
    if (!stop) break;
    const at = tokens.indexOf(stop, start);
    if (at < 0) break;
    const next = tokens.findIndex((t, i) => i > at && startsDecl(t));
    if (next < 0) break;
    start = next;
  }
  diagnostics.push(...builder.diagnostics);
  return {
    file: { kind: "file", path, decls, span },
    diagnostics: sortDiagnostics(dedupe(diagnostics)),
  };
}

function startsDecl(t: IToken): boolean {
  const tt = t.tokenType;
  // A `let` can also be a statement: only one at the start of a line counts.
  return tt === Model || tt === Block || tt === Train || tt === Import ||
    (tt === Let && t.startColumn === 1);
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

/** V8's "Maximum call stack size exceeded": the input is absurdly deep, not our bug. */
export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}
