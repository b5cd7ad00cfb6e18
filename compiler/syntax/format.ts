/**
 * `formatSource`: the one canonical layout of a .dlm file (`dlm fmt`, and the language server's
 * document formatting).
 *
 * The formatter works on the lexer's tokens, never on regular expressions over the text, and it
 * only ever changes the whitespace between tokens (and adds or drops the optional trailing comma
 * of a call's arguments, a parameter list or a list in brackets). Since newlines are whitespace
 * in .dlm (spec/grammar.md 2.2, 4.2), the same tokens in the same order parse to the same tree:
 * the formatted program means what the original meant. It checks that before returning: the
 * output is lexed again and must give the same tokens (up to those commas) and the same comments
 * in the same order, or the file is left alone with an internal error.
 *
 * The structure the layout follows comes from two places: brackets, from the tokens, and where
 * each declaration and statement begins, from the AST's spans (statements need no separator, so
 * the tokens alone cannot tell). The layout is then a document of groups in Wadler's "prettier
 * printer" sense (as Prettier and `deno fmt` build it): a group is printed on one line when it fits
 * in the line width, and otherwise broken at each of its line breaks. So:
 *
 * - declarations and statements one per line, blank lines between them kept (at most one);
 * - a body of a declaration, `if` or `for` statement always broken, `{` on its header's line;
 *   an `if` expression's branches on one line when they fit;
 * - a pipe that does not fit is broken before each `|>`, the stages one per line with their `|>`
 *   aligned two columns in from the statement;
 * - brackets that do not fit hold one item a line, two columns in, with a trailing comma where the
 *   grammar allows one without changing the meaning (a call's arguments, parameters, `[...]`);
 *   on one line that comma is dropped;
 * - every comment kept where it was relative to the tokens: a comment after a token on its line
 *   stays at the end of that line, a comment on lines of its own stays on its own lines before the
 *   next token.
 */
import type { IToken, TokenType } from "chevrotain";
import { diag, type Diagnostic, error } from "../diagnostics.ts";
import type { SourceFile } from "./ast.ts";
import {
  AndAnd,
  Bang,
  Colon,
  Comma,
  Dot,
  DotDot,
  DotDotEq,
  Else,
  False,
  Identifier,
  LBracket,
  LCurly,
  lex,
  LParen,
  Minus,
  NumberLit,
  OrOr,
  Pipe,
  Plus,
  RBracket,
  RCurly,
  RParen,
  Semicolon,
  StringLit,
  True,
} from "./lexer.ts";
import { parse } from "./mod.ts";

/** How `formatSource` lays a file out. */
export interface FormatOptions {
  /** The line width the layout keeps to where it can (default 100, as the repository's own). */
  width?: number;
  /** The file's path, for the diagnostics' spans (default `"<input>"`). */
  path?: string;
}

/** The formatted text, or why the file cannot be formatted (its syntax errors). */
export type FormatResult =
  | { ok: true; text: string }
  | { ok: false; diagnostics: Diagnostic[] };

/** The default line width. */
export const DEFAULT_WIDTH = 100;

/**
 * Format one .dlm file. Never throws for bad input: a file with syntax errors is not formatted,
 * and its diagnostics are returned instead.
 *
 * @example
 * ```ts
 * const r = formatSource("model M{input x:f32[N]  output y=x|>relu}");
 * r.ok && r.text; // "model M {\n  input x: f32[N]\n  output y = x |> relu\n}\n"
 * ```
 */
export function formatSource(text: string, options: FormatOptions = {}): FormatResult {
  const path = options.path ?? "<input>";
  const width = options.width ?? DEFAULT_WIDTH;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const parsed = parse(text, path);
  const errors = parsed.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) return { ok: false, diagnostics: parsed.diagnostics };
  const { tokens } = lex(text, path);
  const out = new Formatter(text, tokens, parsed.file).format(width);
  // The guarantee above, checked: same tokens, same comments, in the same order.
  const again = lex(out, path);
  const problem = sameProgram(text, tokens, out, again.tokens);
  if (problem) {
    const at = { file: path, line: 1, col: 1, endLine: 1, endCol: 1 };
    return {
      ok: false,
      diagnostics: [
        error(
          ...diag("DLM0900", `formatting would change the program (please report it): ${problem}`),
          at,
        ),
      ],
    };
  }
  return { ok: true, text: out };
}

/** The comments of `text`, in order, read from the gaps between its tokens. */
export function commentsOf(text: string, tokens: readonly IToken[]): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i <= tokens.length; i++) {
    const to = i < tokens.length ? tokens[i].startOffset : text.length;
    for (const c of gapComments(text, from, to)) out.push(c.text);
    if (i < tokens.length) from = tokens[i].endOffset! + 1;
  }
  return out;
}

/**
 * Why `out` is not the same program as `text` (or undefined): the tokens must be the same up to
 * trailing commas before a `)` or `]`, and the comments the same (line comments up to trailing
 * spaces).
 */
function sameProgram(
  text: string,
  tokens: readonly IToken[],
  out: string,
  outTokens: readonly IToken[],
): string | undefined {
  const strip = (ts: readonly IToken[]) =>
    ts.filter((t, i) =>
      !(t.tokenType === Comma &&
        (ts[i + 1]?.tokenType === RParen || ts[i + 1]?.tokenType === RBracket))
    ).map((t) => t.image);
  const a = strip(tokens), b = strip(outTokens);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `token ${i + 1} was '${a[i]}' and became '${b[i]}'`;
  }
  const ca = commentsOf(text, tokens).map((c) => c.trimEnd());
  const cb = commentsOf(out, outTokens).map((c) => c.trimEnd());
  if (ca.length !== cb.length) return `${ca.length} comments became ${cb.length}`;
  for (let i = 0; i < ca.length; i++) {
    if (ca[i] !== cb[i]) return `comment ${i + 1} changed`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Comments

interface Comment {
  text: string;
  line: boolean;
  /** A blank line (two line ends) between what came before and this comment. */
  blankBefore: boolean;
  /** A line end between what came before and this comment. */
  newlineBefore: boolean;
  /** A line end between this comment and what comes after it. */
  newlineAfter: boolean;
  /** The offset just after it. */
  end: number;
}

/**
 * The comments in `text[from, to)`, which holds only whitespace and comments (the file lexed
 * without errors). `//` runs to the end of its line, `/*` to its `*\/` (comments do not nest).
 */
function gapComments(text: string, from: number, to: number): Comment[] {
  const out: Comment[] = [];
  let newlines = 0;
  let i = from;
  while (i < to) {
    const c = text.charCodeAt(i);
    if (c === 47 /* / */ && text.charCodeAt(i + 1) === 47) {
      let end = i + 2;
      while (end < to && text.charCodeAt(end) !== 10 && text.charCodeAt(end) !== 13) end++;
      out.push(comment(text.slice(i, end).trimEnd(), true, newlines, end));
      newlines = 0;
      i = end;
    } else if (c === 47 && text.charCodeAt(i + 1) === 42 /* * */) {
      const close = text.indexOf("*/", i + 2);
      const end = close < 0 || close + 2 > to ? to : close + 2;
      out.push(comment(text.slice(i, end), false, newlines, end));
      newlines = 0;
      i = end;
    } else {
      if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
        newlines++;
        if (out.length && newlines === 1) out[out.length - 1].newlineAfter = true;
      }
      i++;
    }
  }
  return out;
}

function comment(text: string, line: boolean, newlines: number, end: number): Comment {
  return {
    text,
    line,
    blankBefore: newlines >= 2,
    newlineBefore: newlines >= 1,
    newlineAfter: line,
    end,
  };
}

/** Line ends in `text[from, to)` that are not inside a comment (the gap holds only these). */
function newlinesIn(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) n++;
  }
  return n;
}

// ---------------------------------------------------------------------------
// The document and its printer (Wadler's "prettier printer", as Prettier implements it).

type Doc = string | Doc[] | Group | Indent | Line | IfBreak | Suffix | BreakParent;
interface Group {
  t: "group";
  c: Doc;
  /** Must break: a hard line or a line comment inside. */
  brk: boolean;
}
interface Indent {
  t: "indent";
  c: Doc;
}
interface Line {
  t: "line";
  /** Nothing when flat (otherwise a space). */
  soft: boolean;
  /** Always a line end. */
  hard: boolean;
}
interface IfBreak {
  t: "ifbreak";
  brk: Doc;
  flat: Doc;
}
/** Text held back to the end of the line (a line comment after a token). */
interface Suffix {
  t: "suffix";
  c: string;
}
interface BreakParent {
  t: "bp";
}

const line: Line = { t: "line", soft: false, hard: false };
const softline: Line = { t: "line", soft: true, hard: false };
const hardline: Line = { t: "line", soft: false, hard: true };
const breakParent: BreakParent = { t: "bp" };

function indent(c: Doc): Indent {
  return { t: "indent", c };
}

function group(c: Doc): Group {
  return { t: "group", c, brk: mustBreak(c) };
}

function ifBreak(brk: Doc, flat: Doc = ""): IfBreak {
  return { t: "ifbreak", brk, flat };
}

/** Whether `d` holds a hard line or a break-parent outside any group of its own that is flat. */
function mustBreak(d: Doc): boolean {
  const stack: Doc[] = [d];
  while (stack.length) {
    const x = stack.pop()!;
    if (typeof x === "string") continue;
    if (Array.isArray(x)) {
      for (const y of x) stack.push(y);
      continue;
    }
    switch (x.t) {
      case "group":
        if (x.brk) return true;
        break;
      case "indent":
        stack.push(x.c);
        break;
      case "line":
        if (x.hard) return true;
        break;
      case "ifbreak":
        stack.push(x.brk, x.flat);
        break;
      case "bp":
        return true;
    }
  }
  return false;
}

type Mode = "flat" | "break";
type Cmd = [number, Mode, Doc];

/** Lay `doc` out in `width` columns. */
function print(doc: Doc, width: number): string {
  // The text a line at a time (a string grown by `+=` is a rope, which looking at its end flattens).
  const lines: string[] = [];
  let cur = "";
  let suffix: string[] = [];
  const cmds: Cmd[] = [[0, "break", doc]];
  while (cmds.length) {
    const [ind, mode, d] = cmds.pop()!;
    if (typeof d === "string") {
      cur += d;
      continue;
    }
    if (Array.isArray(d)) {
      for (let i = d.length - 1; i >= 0; i--) cmds.push([ind, mode, d[i]]);
      continue;
    }
    switch (d.t) {
      case "indent":
        cmds.push([ind + 2, mode, d.c]);
        break;
      case "group":
        if (mode === "flat" && !d.brk) cmds.push([ind, "flat", d.c]);
        else {
          const flat = !d.brk && fits([ind, "flat", d.c], cmds, width - cur.length);
          cmds.push([ind, flat ? "flat" : "break", d.c]);
        }
        break;
      case "line":
        if (mode === "flat" && !d.hard) {
          if (!d.soft) cur += " ";
        } else {
          if (suffix.length) {
            cur += suffix.join("");
            suffix = [];
          }
          lines.push(cur.trimEnd());
          cur = " ".repeat(ind);
        }
        break;
      case "ifbreak":
        cmds.push([ind, mode, mode === "break" ? d.brk : d.flat]);
        break;
      case "suffix":
        suffix.push(d.c);
        break;
      case "bp":
        break;
    }
  }
  if (suffix.length) cur += suffix.join("");
  lines.push(cur);
  return lines.join("\n");
}

/** Whether `next` fits in `room` columns, followed by `rest` up to its first line end. */
function fits(next: Cmd, rest: Cmd[], room: number): boolean {
  const cmds: Cmd[] = [next];
  let r = rest.length;
  while (room >= 0) {
    if (!cmds.length) {
      if (r === 0) return true;
      cmds.push(rest[--r]);
      continue;
    }
    const [ind, mode, d] = cmds.pop()!;
    if (typeof d === "string") {
      room -= d.length;
      continue;
    }
    if (Array.isArray(d)) {
      for (let i = d.length - 1; i >= 0; i--) cmds.push([ind, mode, d[i]]);
      continue;
    }
    switch (d.t) {
      case "indent":
        cmds.push([ind + 2, mode, d.c]);
        break;
      case "group":
        cmds.push([ind, d.brk ? "break" : mode, d.c]);
        break;
      case "line":
        if (mode === "break" || d.hard) return true;
        if (!d.soft) room--;
        break;
      case "ifbreak":
        cmds.push([ind, mode, mode === "break" ? d.brk : d.flat]);
        break;
      default:
        break;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------
// From tokens and the AST to the document

/** A token, or a bracketed run of them: `open` and `close` are token indices. */
type Node = number | Bracket;
interface Bracket {
  open: number;
  close: number;
  children: Node[];
}

/** Tokens after which `(` is a call's (or a parameter list's) and `[` an index's. */
const OPERAND_END = new Set<TokenType>([
  Identifier,
  NumberLit,
  OrOr,
  StringLit,
  True,
  False,
  RParen,
  RBracket,
]);

const STATEMENT_LISTS = ["body", "then", "else", "thenBody", "elseBody"];

class Formatter {
  /** Each token's comments on lines before it, and after it on its own line. */
  private leading: Comment[][];
  private trailing: Comment[][];
  /** Line ends in the whitespace before each token (comments' own excluded). */
  private blankBefore: boolean[];
  /** Tokens where a declaration or statement begins, and those of an `if` expression's body. */
  private starts = new Set<number>();
  private exprBody = new Set<number>();
  private endComments: Comment[];

  constructor(
    text: string,
    private tokens: readonly IToken[],
    file: SourceFile,
  ) {
    const n = tokens.length;
    this.leading = Array.from({ length: n }, () => []);
    this.trailing = Array.from({ length: n }, () => []);
    this.blankBefore = new Array(n).fill(false);
    let from = 0;
    for (let i = 0; i <= n; i++) {
      const to = i < n ? tokens[i].startOffset : text.length;
      const cs = gapComments(text, from, to);
      let k = 0;
      // A comment on the line of the token before it belongs to that token.
      if (i > 0) {
        while (k < cs.length && !cs[k].newlineBefore) this.trailing[i - 1].push(cs[k++]);
      }
      const rest = cs.slice(k);
      if (i < n) {
        this.leading[i] = rest;
        // A blank line right before the token (after its last comment, or the token before).
        const lastEnd = rest.length ? rest[rest.length - 1].end : from;
        this.blankBefore[i] = newlinesIn(text, lastEnd, to) >= 2;
      } else this.endComments = rest;
      if (i < n) from = tokens[i].endOffset! + 1;
    }
    this.endComments ??= [];
    this.collectStarts(file);
  }

  /** Where each declaration and statement begins, by the AST's spans. */
  private collectStarts(file: SourceFile): void {
    const at = new Map<string, number>();
    this.tokens.forEach((t, i) => at.set(`${t.startLine}:${t.startColumn}`, i));
    const mark = (node: { span: { line: number; col: number } }, expr: boolean) => {
      const i = at.get(`${node.span.line}:${node.span.col}`);
      if (i === undefined) return;
      // `else if`: the nested statement continues its `else`'s line.
      if (i > 0 && this.tokens[i - 1].tokenType === Else) return;
      this.starts.add(i);
      if (expr) this.exprBody.add(i);
    };
    for (const d of file.decls) mark(d, false);
    // A loop with a stack, not recursion: a long chain `x + x + ... + x` is a deep tree.
    const stack: unknown[] = [file.decls];
    while (stack.length) {
      const x = stack.pop();
      if (Array.isArray(x)) {
        for (const y of x) stack.push(y);
        continue;
      }
      if (!x || typeof x !== "object") continue;
      const o = x as Record<string, unknown>;
      const isIfExpr = o.kind === "ifexpr";
      for (const key in o) {
        if (key === "span" || key.endsWith("Span")) continue;
        const v = o[key];
        if (STATEMENT_LISTS.includes(key) && Array.isArray(v)) {
          for (const s of v) if (s && typeof s === "object" && "span" in s) mark(s, isIfExpr);
        }
        if (isIfExpr && (key === "then" || key === "else") && v && typeof v === "object") {
          mark(v as { span: { line: number; col: number } }, true);
        }
        stack.push(v);
      }
    }
  }

  format(width: number): string {
    const root = this.tree();
    const items = this.statements(root);
    const doc: Doc[] = [];
    items.forEach((it, k) => doc.push(this.item(it, k === 0), hardline));
    for (const [k, c] of this.endComments.entries()) {
      if (c.blankBefore && (items.length || k > 0)) doc.push(hardline);
      doc.push(c.text, hardline);
    }
    const out = print(doc, width);
    return out.trim() === "" ? "" : out.replace(/\s+$/, "") + "\n";
  }

  /** The tokens as a tree of brackets (the file parsed, so they match). */
  private tree(): Node[] {
    const root: Node[] = [];
    const stack: { node: Bracket | null; children: Node[] }[] = [{ node: null, children: root }];
    this.tokens.forEach((t, i) => {
      const tt = t.tokenType;
      if (tt === LParen || tt === LBracket || tt === LCurly) {
        const b: Bracket = { open: i, close: -1, children: [] };
        stack[stack.length - 1].children.push(b);
        stack.push({ node: b, children: b.children });
      } else if ((tt === RParen || tt === RBracket || tt === RCurly) && stack.length > 1) {
        stack.pop()!.node!.close = i;
      } else stack[stack.length - 1].children.push(i);
    });
    return root;
  }

  private first(n: Node): number {
    return typeof n === "number" ? n : n.open;
  }

  private last(n: Node): number {
    return typeof n === "number" ? n : n.close;
  }

  /** Split a body's nodes where its statements begin (a `;` stays with what it ends). */
  private statements(nodes: Node[]): Node[][] {
    const out: Node[][] = [];
    for (const n of nodes) {
      if (!out.length || this.starts.has(this.first(n))) out.push([n]);
      else out[out.length - 1].push(n);
    }
    return out;
  }

  /**
   * One declaration or statement on lines of its own: its leading comments (with blank lines
   * kept), its tokens, and its last token's comments at the end of its line.
   */
  private item(nodes: Node[], first: boolean): Doc {
    const doc: Doc[] = [];
    const f = this.first(nodes[0]);
    const cs = this.leading[f];
    this.leading[f] = [];
    cs.forEach((c) => {
      if (c.blankBefore && !(first && doc.length === 0)) doc.push(hardline);
      doc.push(c.text, c.newlineAfter ? hardline : " ");
    });
    if (this.blankBefore[f] && !(first && doc.length === 0)) doc.push(hardline);
    const l = this.last(nodes[nodes.length - 1]);
    const tail = this.trailing[l];
    this.trailing[l] = [];
    doc.push(this.sequence(nodes, false));
    for (const c of tail) {
      doc.push(c.line ? [{ t: "suffix", c: " " + c.text }, breakParent] : " " + c.text);
    }
    return doc;
  }

  /**
   * A run of nodes in a statement or between commas: split at its commas (a `return a, b` or a
   * `with` list), each part a pipe.
   */
  private sequence(nodes: Node[], inIndex: boolean): Doc {
    const parts: Node[][] = [[]];
    const commas: number[] = [];
    for (const n of nodes) {
      if (typeof n === "number" && this.tokens[n].tokenType === Comma) {
        commas.push(n);
        parts.push([]);
      } else parts[parts.length - 1].push(n);
    }
    // Too long for its line, the list breaks after each comma, the rest two columns in; not when
    // a statement's body follows (`train M with a, b {`), which breaks anyway.
    const breakable = commas.length > 0 && parts.every((p) => p.length > 0) &&
      !nodes.some((n) => typeof n !== "number" && this.isStatementBody(n));
    const doc: Doc[] = [];
    const rest: Doc[] = [];
    parts.forEach((p, k) => {
      const to = breakable && k > 0 ? rest : doc;
      if (k > 0) {
        // The comma ends the part before it.
        (breakable && k > 1 ? rest : doc).push(this.token(commas[k - 1]));
        if (p.length) to.push(breakable ? line : " ");
      }
      if (p.length) to.push(this.pipe(p, inIndex));
    });
    return breakable ? group([doc, indent(rest)]) : doc;
  }

  /** `head |> s1 |> s2`: on one line if it fits, else one stage a line, the `|>` aligned. */
  private pipe(nodes: Node[], inIndex: boolean): Doc {
    const segs: Node[][] = [[]];
    const pipes: number[] = [];
    for (const n of nodes) {
      if (typeof n === "number" && this.tokens[n].tokenType === Pipe) {
        pipes.push(n);
        segs.push([]);
      } else segs[segs.length - 1].push(n);
    }
    if (pipes.length === 0) return this.run(nodes, inIndex);
    const stages: Doc[] = [];
    pipes.forEach((p, k) => {
      stages.push(line, this.token(p), " ", this.run(segs[k + 1], inIndex));
    });
    return group([this.run(segs[0], inIndex), indent(stages)]);
  }

  /**
   * Nodes side by side, spaced by the tokens that meet. A run too long for its line breaks after
   * each `+`, `-`, `&&` and `||` of its own (the loosest operators but comparisons), the rest
   * indented, before any bracket inside it breaks.
   */
  private run(nodes: Node[], inIndex: boolean): Doc {
    // A statement's body (always broken) ends the part that may break: `if a - 1 {` stays whole.
    const cut = nodes.findIndex((n) => typeof n !== "number" && this.isStatementBody(n));
    if (cut > 0) {
      return [this.run(nodes.slice(0, cut), inIndex), " ", this.plain(nodes.slice(cut), inIndex)];
    }
    if (cut === 0) return this.plain(nodes, inIndex);
    const segs: Doc[][] = [[]];
    nodes.forEach((n, k) => {
      if (k > 0) {
        const a = this.last(nodes[k - 1]);
        if (typeof nodes[k - 1] === "number" && this.breaksAfter(a)) segs.push([]);
        else if (this.spaced(a, this.first(n), inIndex)) segs[segs.length - 1].push(" ");
      }
      segs[segs.length - 1].push(typeof n === "number" ? this.token(n) : this.bracket(n));
    });
    if (segs.length === 1) return segs[0];
    return group([segs[0], indent(segs.slice(1).map((s) => [line, s]))]);
  }

  /** Nodes side by side, without breaks of their own. */
  private plain(nodes: Node[], inIndex: boolean): Doc {
    const doc: Doc[] = [];
    nodes.forEach((n, k) => {
      if (k > 0 && this.spaced(this.last(nodes[k - 1]), this.first(n), inIndex)) doc.push(" ");
      doc.push(typeof n === "number" ? this.token(n) : this.bracket(n));
    });
    return doc;
  }

  /** `{ ... }` of a declaration or a statement (not an `if` expression's branch). */
  private isStatementBody(b: Bracket): boolean {
    if (this.tokens[b.open].tokenType !== LCurly) return false;
    const first = b.children[0];
    return first === undefined || !this.exprBody.has(this.first(first));
  }

  /** A binary `+`, `-`, `&&` or `||`, after which a long run may break. */
  private breaksAfter(i: number): boolean {
    const tt = this.tokens[i].tokenType;
    if (tt === OrOr || tt === AndAnd) return true;
    return (tt === Plus || tt === Minus) && !this.isPrefix(i);
  }

  /** Whether a space separates token `a` from token `b`, which follows it. */
  private spaced(a: number, b: number, inIndex: boolean): boolean {
    const ta = this.tokens[a].tokenType, tb = this.tokens[b].tokenType;
    if (tb === RParen || tb === RBracket || tb === Comma || tb === Semicolon || tb === Dot) {
      return false;
    }
    if (ta === LParen || ta === LBracket || ta === Dot) return false;
    if (ta === DotDot || ta === DotDotEq || tb === DotDot || tb === DotDotEq) return false;
    if (tb === Colon) return false;
    if (ta === Colon) return !inIndex;
    if ((tb === LParen || tb === LBracket) && OPERAND_END.has(ta)) return false;
    if (this.isPrefix(a)) return false;
    return true;
  }

  /** A `-`, `+` or `!` that applies to what follows (not a binary operator). */
  private isPrefix(i: number): boolean {
    const tt = this.tokens[i].tokenType;
    if (tt === Bang) return true;
    if (tt !== Minus && tt !== Plus) return false;
    if (i === 0) return true;
    const p = this.tokens[i - 1].tokenType;
    return !(OPERAND_END.has(p) || p === RCurly);
  }

  /** A token with its comments: those before it on lines of their own, those after on its line. */
  private token(i: number): Doc {
    const doc: Doc[] = [];
    for (const c of this.leading[i]) {
      doc.push(c.text, c.newlineAfter ? hardline : " ");
    }
    doc.push(this.tokens[i].image);
    doc.push(this.trailer(i));
    return doc;
  }

  private trailer(i: number): Doc {
    const doc: Doc[] = [];
    for (const c of this.trailing[i]) {
      doc.push(c.line ? [{ t: "suffix", c: " " + c.text }, breakParent] : " " + c.text);
    }
    return doc;
  }

  private bracket(b: Bracket): Doc {
    const tt = this.tokens[b.open].tokenType;
    if (tt === LCurly) return this.body(b);
    const prev = b.open > 0 ? this.tokens[b.open - 1].tokenType : undefined;
    const isIndex = tt === LBracket && prev !== undefined && OPERAND_END.has(prev);
    // Where a trailing comma means nothing: a call's arguments, a parameter list, `[...]`. (In
    // `(a,)` it makes a tuple, in `(int,)` a tuple type: those are kept as written.)
    const commaFree = tt === LBracket || (prev !== undefined && OPERAND_END.has(prev));
    const items: Node[][] = [[]];
    const commas: number[] = [];
    for (const n of b.children) {
      if (typeof n === "number" && this.tokens[n].tokenType === Comma) {
        commas.push(n);
        items.push([]);
      } else items[items.length - 1].push(n);
    }
    // A comma before the closing bracket.
    let trailingComma: number | undefined;
    if (items.length > 1 && items[items.length - 1].length === 0) {
      items.pop();
      trailingComma = commas.pop();
    }
    const closing = this.closing(b.close);
    if (items.length === 1 && items[0].length === 0) {
      if (!closing.length) return [this.token(b.open), this.bare(b.close)];
      return [this.token(b.open), indent([hardline, closing]), hardline, this.bare(b.close)];
    }
    // A parenthesised pipe (a group of stages) hugs its parentheses: when it breaks, its stages
    // go one a line below its head and the `)` closes the last one.
    if (
      tt === LParen && items.length === 1 && trailingComma === undefined && !closing.length &&
      items[0].some((n) => typeof n === "number" && this.tokens[n].tokenType === Pipe)
    ) {
      return [this.token(b.open), this.pipe(items[0], false), this.bare(b.close)];
    }
    // An index or a tensor type's dims stay on one line: `f32[N,` broken off its dims reads badly,
    // and the brackets around them (arguments, parameters) break instead.
    const brk = isIndex ? "" : softline, sep = isIndex ? " " : line;
    const inner: Doc[] = [brk];
    items.forEach((it, k) => {
      if (k > 0) inner.push(this.token(commas[k - 1]), sep);
      inner.push(this.pipe(it, isIndex));
    });
    if (trailingComma !== undefined) {
      const keep = !commaFree || this.leading[trailingComma].length ||
        this.trailing[trailingComma].length;
      if (keep) inner.push(this.token(trailingComma));
      else if (!isIndex) inner.push(ifBreak(","));
    } else if (commaFree && !isIndex) inner.push(ifBreak(","));
    if (closing.length) inner.push(hardline, closing);
    if (isIndex) {
      return [
        this.token(b.open),
        indent(inner),
        closing.length ? hardline : "",
        this.bare(b.close),
      ];
    }
    return group([this.token(b.open), indent(inner), softline, this.bare(b.close)]);
  }

  /** The comments on lines before a closing bracket: the last lines inside it. */
  private closing(close: number): Doc[] {
    const doc: Doc[] = [];
    this.leading[close].forEach((c, k) => {
      if (k > 0) doc.push(hardline);
      doc.push(c.text);
    });
    this.leading[close] = [];
    return doc;
  }

  /** A closing token, its leading comments already placed. */
  private bare(i: number): Doc {
    return [this.tokens[i].image, this.trailer(i)];
  }

  /** `{ ... }`: statements a line each (an `if` expression's branch on one line if it fits). */
  private body(b: Bracket): Doc {
    const items = this.statements(b.children);
    const expr = items.length > 0 && this.exprBody.has(this.first(items[0][0]));
    const closing = this.closing(b.close);
    if (!items.length && !closing.length && !this.trailing[b.open].length) {
      return [this.tokens[b.open].image, this.bare(b.close)];
    }
    const inner: Doc[] = [];
    items.forEach((it, k) => {
      inner.push(expr ? line : hardline, this.item(it, k === 0));
    });
    if (closing.length) inner.push(hardline, closing);
    const doc = [this.token(b.open), indent(inner), expr ? line : hardline, this.bare(b.close)];
    return expr ? group(doc) : doc;
  }
}
