/**
 * Diagnostics: one catalogue of stable codes, and one renderer that prints
 * `file:line:col: error DLM0203: message`, the source line and a `~~~`
 * underline. Every user-facing failure of the compiler, the runtime and the
 * CLI goes through here; a user never sees a stack trace.
 */
import type { Span } from "./ir/graph.ts";

export type Severity = "error" | "warning";

/** One entry of the catalogue, after TypeScript's `diagnosticMessages.json`. */
export interface CodeInfo {
  /** A few words, sentence case: the code's row in spec/language.md 10.2. */
  readonly title: string;
  /**
   * How the code is reported. DLM0404 (a parameter no weights file provides) is an error of the
   * training runtime, and a warning of the loader, whose missing parameters keep their initial values.
   */
  readonly category: Severity;
  /**
   * The message, when every diagnostic of the code has one shape; `{0}`, `{1}`, ... are its
   * arguments, filled in by `diag`. A code without one composes its message where it is raised.
   */
  readonly message?: string;
}

/** The catalogue. Codes are stable: never reuse or renumber one. */
export const CODES = {
  // 00xx: syntax
  DLM0001: { title: "Unexpected character", category: "error" },
  DLM0002: { title: "Syntax error", category: "error" },
  DLM0003: {
    title: "Unterminated string",
    category: "error",
    message: "Unterminated string: expected a closing '\"' before the end of the line",
  },
  // 01xx: names
  DLM0101: { title: "Unknown name", category: "error", message: "Unknown name '{0}'{1}" },
  DLM0102: {
    title: "Duplicate definition",
    category: "error",
    message: "'{0}' is already defined{1}",
  },
  DLM0103: { title: "Unknown model", category: "error" },
  DLM0104: {
    title: "Import not found",
    category: "error",
    message: "Cannot import '{0}': {1}",
  },
  DLM0105: { title: "Import cycle", category: "error", message: "Import cycle: {0}" },
  DLM0106: {
    title: "Duplicate label",
    category: "error",
    message:
      "Label '{0}' is already used in this scope (at line {1}); to share weights, bind the layer with let and call it twice",
  },
  DLM0107: {
    title: "Assignment to an undeclared variable",
    category: "error",
    message: "'{0}' is not declared; declare it first with let {0} = ...",
  },
  DLM0108: { title: "Ambiguous model", category: "error" },
  DLM0109: {
    title: "Hides a built-in",
    category: "warning",
    message: "'{0}' hides the built-in {0}() in this scope; calling {0}(...) here calls this value",
  },
  DLM0110: {
    title: "Not allowed here",
    category: "error",
    message: "{0} declarations belong in a model; a block {1}",
  },
  DLM0111: {
    title: "Invalid name",
    category: "error",
    message: "Label '{0}' must be made of letters, digits and _ (dots separate levels)",
  },
  DLM0112: {
    title: "Missing output",
    category: "error",
    message: "Model {0} declares no output",
  },
  DLM0113: { title: "Unknown member", category: "error", message: "{0} has no member '{1}'{2}" },
  DLM0114: {
    title: "Unknown graph value",
    category: "error",
    message: "Unknown value '{0}' in the graph '{1}'",
  },
  DLM0115: { title: "Declared twice", category: "error", message: "{0} '{1}' is declared twice" },
  DLM0116: {
    title: "Name clash",
    category: "error",
    message: "{0} '{1}' clashes with another value of the same name",
  },
  DLM0117: {
    title: "Layer named twice",
    category: "error",
    message: "This layer is already named '{0}'; a layer instance has one name",
  },
  DLM0118: {
    title: "Assignment to a constant",
    category: "error",
    message: "'{0}' is a top-level constant and cannot be reassigned; bind a new name with let",
  },
  DLM0119: {
    title: "Derivation cycle",
    category: "error",
    message: "Model derivation cycle: {0}",
  },
  DLM0120: { title: "Belongs elsewhere", category: "error", message: "{0} belongs in {1}" },
  DLM0121: {
    title: "Wildcard dim in a model input",
    category: "error",
    message: "Model inputs need every dim named or sized; _ and ... are for block parameters",
  },
  DLM0122: {
    title: "Splice label on a built-in",
    category: "error",
    message:
      "The label _ splices a block's names into this level; a built-in layer needs a real name",
  },
  DLM0123: {
    title: "Invalid parameter or method name",
    category: "error",
    message: '{0}() needs a name made of letters, digits and _{1}, got "{2}"',
  },
  DLM0124: {
    title: "Invalid init target",
    category: "error",
    message: "init target '{0}' must be layer.role (e.g. conv2d.weight) or a quoted name pattern",
  },
  DLM0150: {
    title: "Too many syntax errors",
    category: "error",
    message: "Too many syntax errors: stopped after {0}",
  },
  DLM0151: {
    title: "File too large",
    category: "error",
    message:
      "The file is too large to compile: it has more than {0} {1} (parsing needs hundreds of bytes of memory for each token)",
  },
  DLM0152: {
    title: "Nesting too deep",
    category: "error",
    message:
      "This nests more than {0} levels deep (brackets, calls, operators and blocks each count one); split it with let",
  },
  DLM0153: {
    title: "Strings nested too deep",
    category: "error",
    message: "Strings nest more than {0} levels deep inside interpolations here",
  },
  DLM0154: {
    title: "Number too large",
    category: "error",
    message: "The number {0} is too large: the largest is about 1.8e308",
  },
  // 02xx: types and shapes
  DLM0201: { title: "Wrong argument type", category: "error" },
  DLM0202: {
    title: "Wrong number of arguments",
    category: "error",
    message: "{0}() takes at most {1}, but {2} were given{3}",
  },
  DLM0203: { title: "Shape mismatch", category: "error" },
  DLM0204: {
    title: "Cannot broadcast",
    category: "error",
    message: "Cannot broadcast {0} with {1}: dim {2} is {3} but must be 1 or {4}",
  },
  DLM0205: {
    title: "Unknown named argument",
    category: "error",
    message: "{0} has no parameter '{1}'; {2}its parameters are: {3}",
  },
  DLM0206: {
    title: "Missing argument",
    category: "error",
    message: "{0}() is missing its argument '{1}' ({2})",
  },
  DLM0207: { title: "Dtype mismatch", category: "error" },
  DLM0208: {
    title: "Declared type does not match",
    category: "error",
    message: "{0} is declared {1} but is {2}: {3}",
  },
  DLM0209: { title: "Not callable", category: "error", message: "{0} is not callable" },
  DLM0210: { title: "Invalid value", category: "error" },
  DLM0211: {
    title: "Missing return",
    category: "error",
    message: "Block {0} ends without returning a value",
  },
  DLM0212: {
    title: "Index out of range",
    category: "error",
    message: "Index {0} is out of range for {1}",
  },
  DLM0213: { title: "Invalid axis", category: "error" },
  DLM0214: { title: "Not one of the allowed values", category: "error" },
  DLM0215: { title: "Matches no parameter", category: "error" },
  DLM0216: {
    title: "Block input given by name",
    category: "error",
    message: "Block {0} takes its inputs by position, not by name '{1}'",
  },
  DLM0217: {
    title: "Not a named input",
    category: "error",
    message: "{0} is applied to tensors by position{1}; '{2}:' is not one of them",
  },
  DLM0218: { title: "Argument given twice", category: "error", message: "{0}() got '{1}' twice" },
  DLM0219: {
    title: "Wrong number of tensors",
    category: "error",
    message: "{0}() is applied to {1}, got {2}",
  },
  DLM0220: {
    title: "Wrong number of block inputs",
    category: "error",
    message: "Block {0} takes {1} ({2}), got {3}",
  },
  DLM0221: {
    title: "Wrong number of scalar arguments",
    category: "error",
    message: "{0}() takes {1}, got {2}",
  },
  DLM0222: { title: "Takes no arguments", category: "error", message: "{0}() takes no arguments" },
  DLM0223: { title: "Missing value", category: "error", message: "{0} needs {1}" },
  DLM0224: {
    title: "Model used as a value",
    category: "error",
    message: "'{0}' is a model; use a block to reuse layers inside another model",
  },
  DLM0225: {
    title: "Initialiser applied",
    category: "error",
    message: "{0} is an initialiser and cannot be applied to a tensor",
  },
  DLM0226: { title: "Too many indices", category: "error", message: "{0} indices for {1}" },
  // 03xx: compile-time evaluation and limits
  DLM0301: {
    title: "Recursion too deep",
    category: "error",
    message: "Recursion is deeper than {0} block calls: {1} never reaches a base case",
  },
  DLM0302: { title: "Graph too large", category: "error" },
  DLM0303: { title: "Tensor too large", category: "error" },
  DLM0304: {
    title: "Division by zero",
    category: "error",
    message: "Division by zero: {0} {1} {2}",
  },
  DLM0305: {
    title: "Not known at compile time",
    category: "error",
    message:
      "if needs a condition known at compile time; for a choice at run time use where(cond, a, b)",
  },
  // The message is the assertion's own, or "assertion failed".
  DLM0306: { title: "Assertion failed", category: "error", message: "{0}" },
  DLM0307: {
    title: "Integer overflow",
    category: "error",
    message: "Integer overflow: {0} {1} {2} is beyond 2^53",
  },
  DLM0308: {
    title: "Not a number",
    category: "error",
    message: "{0}({1}) is not a number",
  },
  DLM0309: {
    title: "Symbolic dim compared",
    category: "error",
    message:
      "Cannot compare {0} with {1} at compile time: a symbolic dim is only known at run time",
  },
  DLM0310: {
    title: "Symbolic dim in arithmetic",
    category: "error",
    message: "{0} {1} {2} needs the symbolic dim's value, which is only known at run time",
  },
  DLM0350: {
    title: "Constant too large",
    category: "error",
    message: "{0} would be a constant of {1} elements ([{2}]); the limit is {3}",
  },
  DLM0351: {
    title: "Too deep to compile",
    category: "error",
    message: "{0} nest too deeply to compile{1}",
  },
  // 04xx: files, weights and data
  DLM0401: { title: "Cannot read file", category: "error", message: "Cannot read {0}: {1}" },
  DLM0402: { title: "Invalid safetensors file", category: "error" },
  DLM0403: { title: "Weight shape mismatch", category: "error" },
  DLM0404: { title: "Missing weight", category: "error" },
  DLM0405: { title: "Invalid ONNX file", category: "error" },
  DLM0406: {
    title: "Invalid .npy file",
    category: "error",
    message: "Invalid {0}: {1}",
  },
  DLM0407: { title: "Unused weight", category: "warning" },
  DLM0408: { title: "Invalid weights map", category: "error" },
  DLM0409: { title: "Cannot write file", category: "error" },
  DLM0410: { title: "Unsupported operator", category: "error" },
  DLM0411: { title: "Input mismatch", category: "error" },
  DLM0412: { title: "Invalid data file", category: "error" },
  DLM0413: { title: "Not implemented yet", category: "error" },
  // 05xx: command line
  DLM0501: { title: "Usage error", category: "error" },
  // 06xx: runtime
  DLM0601: { title: "Outputs differ", category: "error" },
  DLM0602: { title: "Runtime failure", category: "error" },
  // 07xx: train sections
  DLM0701: {
    title: "Nothing to train",
    category: "error",
    message: "train {0}: every parameter is frozen; there is nothing to train",
  },
  DLM0702: {
    title: "Parameter trained twice",
    category: "error",
    message: "phase '{0}' trains parameters an earlier phase trains",
  },
  DLM0703: {
    title: "Phase trains nothing",
    category: "error",
    message: "phase '{0}' trains no parameter (params: \"{1}\")",
  },
  DLM0704: {
    title: "Averaged parameter trained",
    category: "error",
    message: 'moving_average(): {0} is trained by gradients too; freeze "{1}.*"',
  },
  // 08xx: fine-tuning
  DLM0801: { title: "Method does not fit the layer", category: "error" },
  // 09xx
  DLM0900: { title: "Internal error", category: "error" },
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;

/** The codes whose messages have one template in the catalogue. */
export type TemplatedCode = {
  [C in Code]: (typeof CODES)[C] extends { message: string } ? C : never;
}[Code];

/** A message argument: a name, a type, a number, or a fragment such as a suggestion. */
export type MessageArg = string | number;

/**
 * The code and the message of a templated code, its placeholders filled: spread it into
 * `fail`, `error` or a checker's `err` so the code is written once and the words come from the
 * catalogue. Throws (a bug of ours) when the arguments do not match the template's placeholders.
 * @example fail(...diag("DLM0406", ".npy file 'x.npy'", "truncated data"))
 * // DLM0406: Invalid .npy file 'x.npy': truncated data
 */
export function diag<C extends TemplatedCode>(code: C, ...args: MessageArg[]): [C, string] {
  const template: string = CODES[code].message;
  const used = placeholders(template);
  if (used.length !== args.length) {
    throw new Error(`${code} takes ${used.length} message arguments, got ${args.length}`);
  }
  return [code, template.replace(/\{(\d+)\}/g, (_, i) => String(args[Number(i)]))];
}

/** The distinct placeholder numbers of a template, ascending: [0, 1] for "{1} and {0}". */
export function placeholders(template: string): number[] {
  const found = new Set([...template.matchAll(/\{(\d+)\}/g)].map((m) => Number(m[1])));
  return [...found].sort((a, b) => a - b);
}

export interface Diagnostic {
  code: Code;
  severity: Severity;
  message: string;
  span?: Span;
  /** Extra lines printed under the source excerpt ("note: ..."). */
  notes?: string[];
}

/**
 * Where a diagnostic about a whole file is reported (it declares no model, it nests too deeply):
 * its first character, as TypeScript places its file-level errors (`file.ts(1,1)`).
 */
export function fileStart(file: string): Span {
  return { file, line: 1, col: 1, endLine: 1, endCol: 1 };
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

/**
 * A huge name (generated or mangled code) is shown cut to its first 40 characters and "…", so
 * that a message stays a line however long the name it quotes.
 */
export function cutLongNames(text: string): string {
  // A loop, not a regular expression: V8's backtracking runs out of stack on a run of millions.
  const word = (c: number) =>
    (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length;) {
    if (!word(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i;
    while (j < text.length && word(text.charCodeAt(j))) j++;
    if (j - i > 40) {
      out += `${text.slice(from, i + 40)}…`;
      from = j;
    }
    i = j;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** Render one diagnostic as people read it. */
export function formatDiagnostic(d: Diagnostic, sources?: SourceMap): string {
  const where = d.span ? `${d.span.file}:${d.span.line}:${d.span.col}: ` : "";
  const out = [`${where}${d.severity} ${d.code}: ${cutLongNames(d.message)}`];
  const src = d.span && sources?.line(d.span.file, d.span.line);
  if (d.span && src !== undefined) {
    const num = String(d.span.line);
    const pad = " ".repeat(num.length);
    let line = src;
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
    line = line.replace(/\t/g, " ");
    const width = Math.max(1, Math.min(end, line.length + 1) - start);
    out.push(`${num} | ${line}`);
    out.push(`${pad} | ${" ".repeat(start - 1)}${"~".repeat(width)}`);
  }
  for (const n of d.notes ?? []) out.push(`  note: ${cutLongNames(n)}`);
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
