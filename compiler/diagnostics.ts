/**
 * Diagnostics: one catalogue of stable codes, and one renderer that prints
 * `file:line:col: error DLM0203: message`, the source line and a `~~~`
 * underline. Every user-facing failure of the compiler, the runtime and the
 * CLI goes through here; a user never sees a stack trace.
 */
import type { Span } from "./ir/graph.ts";

export type Severity = "error" | "warning";

/** The catalogue. Codes are stable: never reuse or renumber one. */
export const CODES = {
  // 00xx: syntax
  DLM0001: "Unexpected character",
  DLM0002: "Syntax error",
  DLM0003: "Unterminated string",
  // 01xx: names
  DLM0101: "Unknown name",
  DLM0102: "Duplicate definition",
  DLM0103: "Unknown model",
  DLM0104: "Import not found",
  DLM0105: "Import cycle",
  DLM0106: "Duplicate label",
  DLM0107: "Assignment to an undeclared variable",
  DLM0108: "Ambiguous model",
  DLM0109: "Hides a built-in",
  DLM0110: "Not allowed here",
  DLM0111: "Invalid name",
  DLM0112: "Missing output",
  // 02xx: types and shapes
  DLM0201: "Wrong argument type",
  DLM0202: "Wrong number of arguments",
  DLM0203: "Shape mismatch",
  DLM0204: "Cannot broadcast",
  DLM0205: "Unknown named argument",
  DLM0206: "Missing argument",
  DLM0207: "Dtype mismatch",
  DLM0208: "Declared type does not match",
  DLM0209: "Not callable",
  DLM0210: "Invalid value",
  DLM0211: "Missing return",
  DLM0212: "Index out of range",
  DLM0213: "Invalid axis",
  DLM0214: "Not one of the allowed values",
  DLM0215: "Matches no parameter",
  // 03xx: compile-time evaluation and limits
  DLM0301: "Recursion too deep",
  DLM0302: "Graph too large",
  DLM0303: "Tensor too large",
  DLM0304: "Division by zero",
  DLM0305: "Not known at compile time",
  DLM0306: "Assertion failed",
  DLM0307: "Integer overflow",
  DLM0308: "Not a number",
  // 04xx: files, weights and data
  DLM0401: "Cannot read file",
  DLM0402: "Invalid safetensors file",
  DLM0403: "Weight shape mismatch",
  DLM0404: "Missing weight",
  DLM0405: "Invalid ONNX file",
  DLM0406: "Invalid .npy file",
  DLM0407: "Unused weight",
  DLM0408: "Invalid weights map",
  DLM0409: "Cannot write file",
  DLM0410: "Unsupported operator",
  DLM0411: "Input mismatch",
  DLM0412: "Invalid data file",
  DLM0413: "Not implemented yet",
  // 05xx: command line
  DLM0501: "Usage error",
  // 06xx: runtime
  DLM0601: "Outputs differ",
  DLM0602: "Runtime failure",
  // 07xx: train sections
  DLM0701: "Nothing to train",
  DLM0702: "Parameter trained twice",
  // 08xx: fine-tuning
  DLM0801: "Method does not fit the layer",
  // 09xx
  DLM0900: "Internal error",
} as const;

export type Code = keyof typeof CODES;

export interface Diagnostic {
  code: Code;
  severity: Severity;
  message: string;
  span?: Span;
  /** Extra lines printed under the source excerpt ("note: ..."). */
  notes?: string[];
}

/** Thrown to abort with one or more diagnostics. Caught by the CLI. */
export class DlmError extends Error {
  readonly diagnostics: Diagnostic[];
  /** Source texts for quoting lines, when the diagnostics point into .dlm files. */
  sources?: SourceMap;
  constructor(diagnostics: Diagnostic[] | Diagnostic, sources?: SourceMap) {
    const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics];
    super(list.map((d) => `${d.code}: ${d.message}`).join("\n"));
    this.name = "DlmError";
    this.diagnostics = list;
    this.sources = sources;
  }
}

/** Shorthand: a DlmError with one error diagnostic. */
export function fail(code: Code, message: string, span?: Span, notes?: string[]): never {
  throw new DlmError({ code, severity: "error", message, span, notes });
}

export function error(code: Code, message: string, span?: Span, notes?: string[]): Diagnostic {
  return { code, severity: "error", message, span, notes };
}

/** Source texts by file name, so diagnostics can quote the offending line. */
export class SourceMap {
  #files = new Map<string, string[]>();
  add(file: string, text: string): void {
    this.#files.set(file, text.split(/\r?\n/));
  }
  line(file: string, line: number): string | undefined {
    return this.#files.get(file)?.[line - 1];
  }
}

/** Render one diagnostic as people read it. */
export function formatDiagnostic(d: Diagnostic, sources?: SourceMap): string {
  const where = d.span ? `${d.span.file}:${d.span.line}:${d.span.col}: ` : "";
  const out = [`${where}${d.severity} ${d.code}: ${d.message}`];
  const src = d.span && sources?.line(d.span.file, d.span.line);
  if (d.span && src !== undefined) {
    const num = String(d.span.line);
    const pad = " ".repeat(num.length);
    let line = src.replace(/\t/g, " ");
    let start = Math.max(1, d.span.col);
    let end = d.span.endLine === d.span.line ? Math.max(d.span.endCol, start + 1) : line.length + 1;
    // A very long line (generated code) is shown as a window around the error.
    const MAX = 160;
    if (line.length > MAX) {
      const from = Math.max(0, Math.min(start - 1 - 40, line.length - MAX));
      const head = from > 0 ? "..." : "";
      const tail = from + MAX < line.length ? "..." : "";
      line = head + line.slice(from, from + MAX) + tail;
      start = start - from + head.length;
      end = Math.min(end - from + head.length, head.length + MAX + 1);
    }
    const width = Math.max(1, Math.min(end, line.length + 1) - start);
    out.push(`${num} | ${line}`);
    out.push(`${pad} | ${" ".repeat(start - 1)}${"~".repeat(width)}`);
  }
  for (const n of d.notes ?? []) out.push(`  note: ${n}`);
  return out.join("\n");
}

/**
 * One diagnostic per code and place (the first): the resolver and the elaborator may both see an
 * unknown name, and the model and a train section compile the same declarations.
 */
export function dedupeDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = d.span
      ? `${d.code}@${d.span.file}:${d.span.line}:${d.span.col}`
      : `${d.code}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Sort by file, line, column; keeps the order of diagnostics without spans. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => {
    if (!a.span || !b.span) return 0;
    if (a.span.file !== b.span.file) return a.span.file < b.span.file ? -1 : 1;
    return a.span.line - b.span.line || a.span.col - b.span.col;
  });
}
