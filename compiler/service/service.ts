/**
 * The language service: what an editor asks about .dlm files, answered from
 * the compiler's own parser, name tables and elaborator. It keeps the open
 * documents, checks each with the parser's recovery and the elaborator (which
 * fills the span → type table of compiler/check/facts.ts), and answers
 * diagnostics (with the fixes the checker attaches to them), the training
 * compiler's diagnostics of train sections (trainDiagnostics, asked for apart:
 * they build each step), hover, definition, references, symbols, completion,
 * signature help, inlay hints, rename (refusing clashes) and semantic tokens.
 *
 * Plain TypeScript with no Deno or Node API: files are read through the
 * injected `ReadFile` (open documents shadow it), so a browser can run it in a
 * Web Worker. Positions are the protocol's: 0-based lines and UTF-16 columns.
 * `dlm lsp` (cli/commands/lsp.ts) speaks the protocol over it.
 */
import type { Span } from "../ir/graph.ts";
import {
  dedupeDiagnostics,
  type Diagnostic,
  sortDiagnostics,
  type SourceMap,
} from "../diagnostics.ts";
import {
  isProgram,
  loadProgram,
  normalizePath,
  type ParseCache,
  type Program,
  type ReadFile,
} from "../check/program.ts";
import { resolveNames } from "../check/resolve.ts";
import { elaborate, elaborateTrain } from "../check/elaborate/mod.ts";
import { countParams, Facts, type SpanFact } from "../check/facts.ts";
import { COMPILE_FNS, FUNCTIONS, INIT_FNS, LAYERS } from "../check/names.ts";
import { formatSignature } from "../check/builtin_docs.ts";
import type { ParamSig } from "../check/signature.ts";
import { PRELUDE_PATH } from "../check/prelude.ts";
import { compileSection } from "../train/compile.ts";
import type * as A from "../syntax/ast.ts";
import { KEYWORDS } from "../syntax/lexer.ts";
import { contains, type Def, type FileIndex, indexFile, spanSize, type Use } from "./index.ts";

export interface Position {
  line: number;
  character: number;
}
export interface Range {
  start: Position;
  end: Position;
}
export interface Location {
  path: string;
  range: Range;
}

/** A diagnostic for one file, with its related locations (the call-site notes). */
export interface FileDiagnostic {
  range: Range;
  severity: "error" | "warning";
  code: string;
  message: string;
  related: { location: Location; message: string }[];
  /**
   * The fixes the checker knows (compiler/diagnostics.ts `Fix`), each a quick fix: its title and
   * its edits, which may reach other files (an input declared in an imported file).
   */
  fixes?: FileFix[];
}

/** A fix of a diagnostic: what it does, and its edits by location. */
export interface FileFix {
  title: string;
  edits: { path: string; range: Range; newText: string }[];
}

export interface Hover {
  markdown: string;
  range: Range;
}

export type CompletionKind =
  | "layer"
  | "function"
  | "block"
  | "model"
  | "variable"
  | "argument"
  | "label"
  | "keyword";
export interface Completion {
  label: string;
  kind: CompletionKind;
  detail?: string;
  documentation?: string;
  insertText?: string;
}

export interface SignatureHelp {
  label: string;
  documentation?: string;
  parameters: string[];
  activeParameter: number;
}

export interface InlayHint {
  position: Position;
  label: string;
}

export interface DocumentSymbol {
  name: string;
  kind: Def["kind"];
  detail?: string;
  range: Range;
  selectionRange: Range;
  children: DocumentSymbol[];
}

export interface WorkspaceSymbol {
  name: string;
  kind: Def["kind"];
  location: Location;
  container?: string;
}

export const TOKEN_TYPES = [
  "function",
  "class",
  "variable",
  "parameter",
  "property",
  "typeParameter",
] as const;
export const TOKEN_MODIFIERS = ["declaration", "readonly", "defaultLibrary"] as const;
export interface SemanticToken {
  line: number;
  character: number;
  length: number;
  type: (typeof TOKEN_TYPES)[number];
  modifiers: (typeof TOKEN_MODIFIERS)[number][];
}

/** What one check of a document produced. */
export interface Analysis {
  path: string;
  version: number;
  program?: Program;
  sources: SourceMap;
  diagnostics: Diagnostic[];
  facts: Facts;
  /** Parameter elements of each model elaborated. */
  modelParams: Map<string, number>;
  /** Symbol indexes of the document and every file it loads. */
  indexes: Map<string, FileIndex>;
  lines: Map<string, string[]>;
  /** How long the check took, in milliseconds. */
  ms: number;
  /**
   * Models of the file left out of the check by the time budget, by name: each is elaborated
   * when a hover or inlay hint first asks about its lines (its diagnostics are not reported).
   */
  deferred: Map<string, { span: Span; run: () => void }>;
  /** The training compiler's diagnostics (trainDiagnostics), once asked for. */
  train?: FileDiagnostic[];
}

interface Doc {
  text: string;
  version: number;
  analysis?: Analysis;
  /** The files its last check loaded (kept after a change drops the analysis). */
  files?: Set<string>;
}

/** A source file's lines. */
function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

export function toRange(s: Span): Range {
  return {
    start: { line: s.line - 1, character: s.col - 1 },
    end: { line: s.endLine - 1, character: s.endCol - 1 },
  };
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The language's keywords (`model`, `let`, `true`, ...), which cannot name a definition. */
const KEYWORD_NAMES = new Set(KEYWORDS.map((k) => String(k.PATTERN)));

/**
 * How long a check may spend on the models `dlm check` would not elaborate (all but the file's
 * first model and its train sections' models) before it leaves the rest for later: a file of
 * samplers that unroll a U-Net fifty times must not cost seconds a keystroke.
 */
export const CHECK_BUDGET_MS = 250;

export interface ServiceOptions {
  /** See CHECK_BUDGET_MS. */
  budgetMs?: number;
  /**
   * Sizes the quick fix of "fix it with --dim T=<size>" proposes, by dim name: the fix writes
   * the size into the declared types that name the dim.
   */
  fixDims?: Record<string, number>;
}

export class LanguageService {
  readonly #docs = new Map<string, Doc>();
  readonly #budgetMs: number;
  readonly #fixDims?: Record<string, number>;
  readonly #parsed: ParseCache = new Map();
  readonly #read: ReadFile;
  /** Indexes of files seen in any check (imports of open documents included), by path. */
  readonly #known = new Map<string, FileIndex>();
  readonly #knownLines = new Map<string, string[]>();

  constructor(read: ReadFile, opts: ServiceOptions = {}) {
    this.#read = read;
    this.#budgetMs = opts.budgetMs ?? CHECK_BUDGET_MS;
    this.#fixDims = opts.fixDims;
  }

  /** Reads open documents from memory, everything else through the injected reader. */
  readonly readFile: ReadFile = (path) => {
    const d = this.#docs.get(normalizePath(path));
    return d ? d.text : this.#read(path);
  };

  open(path: string, text: string, version = 0): void {
    const key = normalizePath(path);
    const files = this.#docs.get(key)?.files;
    this.#docs.set(key, { text, version, files });
    this.#invalidate(key);
  }

  update(path: string, text: string, version: number): void {
    this.open(path, text, version);
  }

  close(path: string): void {
    const key = normalizePath(path);
    this.#docs.delete(key);
    this.#invalidate(key);
  }

  text(path: string): string | undefined {
    return this.#docs.get(normalizePath(path))?.text;
  }

  /** Open documents' paths. */
  documents(): string[] {
    return [...this.#docs.keys()];
  }

  /** A change to `path` changes what it means and what each document that loads it means. */
  #invalidate(path: string): void {
    for (const d of this.#docs.values()) {
      if (!d.files || d.files.has(path)) d.analysis = undefined;
    }
  }

  /**
   * The open documents whose meaning a change to `path` may change: it, and those whose last
   * check loaded it (the server re-publishes their diagnostics).
   */
  affectedBy(path: string): string[] {
    const key = normalizePath(path);
    return [...this.#docs.entries()]
      .filter(([p, d]) => p === key || !d.files || d.files.has(key))
      .map(([p]) => p);
  }

  /** Check `path` (cached until a document changes). */
  analyze(path: string): Analysis {
    const key = normalizePath(path);
    const doc = this.#docs.get(key);
    if (doc?.analysis) return doc.analysis;
    const a = this.#check(key, doc?.version ?? 0);
    if (doc) {
      doc.analysis = a;
      doc.files = new Set([key, ...a.indexes.keys()]);
    }
    return a;
  }

  #check(path: string, version: number): Analysis {
    const t0 = performance.now();
    const facts = new Facts();
    const modelParams = new Map<string, number>();
    const indexes = new Map<string, FileIndex>();
    const lines = new Map<string, string[]>();
    const deferred = new Map<string, { span: Span; run: () => void }>();
    const loaded = loadProgram(path, this.readFile, this.#parsed);
    let diagnostics = loaded.diagnostics;
    let program: Program | undefined;
    if (isProgram(loaded)) {
      program = loaded;
      for (const f of program.files) {
        const text = this.#parsed.get(f.path)?.text ?? "";
        const ls = splitLines(text);
        lines.set(f.path, ls);
        const ix = indexFile(f, ls);
        indexes.set(f.path, ix);
        this.#known.set(f.path, ix);
        this.#knownLines.set(f.path, ls);
      }
      const broken = diagnostics.some((d) => d.severity === "error");
      const found: Diagnostic[] = [...diagnostics, ...resolveNames(program)];
      // The models and train sections of this file are elaborated, each once: a train section
      // elaborates its model's body too. With syntax errors the recovered AST is still run for
      // its types, but only the syntax errors are reported (the rest would be their echoes).
      const trains = program.main.decls.filter((d): d is A.TrainDecl => d.kind === "train");
      const trained = new Set(trains.map((t) => t.model));
      const run = (what: () => { diagnostics: Diagnostic[] }, model?: string, report = true) => {
        const from = facts.params.length;
        try {
          const r = what();
          if (report) found.push(...r.diagnostics);
        } catch {
          // A recovered AST may hold what the elaborator never sees from the parser (it reports
          // every input error itself); the types learned before it stopped are kept.
        }
        if (model) modelParams.set(model, countParams(facts.params.slice(from)));
      };
      // What dlm check elaborates first (the first model, the train sections), then the other
      // models while the budget lasts; the rest wait for a hover in them.
      const models = program.main.decls.filter((d): d is A.ModelDecl =>
        d.kind === "model" && !trained.has(d.name)
      );
      for (const t of trains) {
        const m = program.models.get(t.model);
        if (m) run(() => elaborateTrain(program!, m, t, { facts }), t.model);
      }
      const first = program.main.decls.find((d) => d.kind === "model");
      models.forEach((d) => {
        const m = program!.models.get(d.name);
        if (!m) return;
        if (d === first || performance.now() - t0 < this.#budgetMs) {
          run(() => elaborate(program!, m, { facts }), d.name);
        } else {
          deferred.set(d.name, {
            span: d.span,
            run: () => run(() => elaborate(program!, m, { facts }), d.name, false),
          });
        }
      });
      if (!broken) diagnostics = found;
    }
    return {
      path,
      version,
      program,
      sources: loaded.sources,
      diagnostics: sortDiagnostics(dedupeDiagnostics(diagnostics)),
      facts,
      modelParams,
      indexes,
      lines,
      ms: performance.now() - t0,
      deferred,
    };
  }

  /** The diagnostics of `path`: its own, and those of the files it imports at their import. */
  diagnostics(path: string): FileDiagnostic[] {
    const a = this.analyze(path);
    const out = this.#fileDiagnostics(a, a.diagnostics);
    for (const d of out) {
      if (d.code !== "DLM0101") continue;
      const fixes = this.#importFixes(a, d.range);
      if (fixes.length) (d.fixes ??= []).push(...fixes);
    }
    return out;
  }

  /**
   * An unknown name that other files the service knows (open documents, and those a check
   * loaded) declare at their top level, while the program does not load them: a fix imports
   * one, at the start of the document; the nearest files first, three at most. The name is the
   * text the diagnostic underlines.
   */
  #importFixes(a: Analysis, range: Range): FileFix[] {
    if (range.start.line !== range.end.line) return [];
    const line = a.lines.get(a.path)?.[range.start.line] ?? "";
    const name = line.slice(range.start.character, range.end.character);
    if (!IDENT.test(name)) return [];
    this.#workspace(a);
    const found: { rel: string; kind: string }[] = [];
    for (const [file, ix] of this.#known) {
      if (file === a.path || a.indexes.has(file) || file === PRELUDE_PATH) continue;
      const def = ix.defs.find((d) =>
        d.name === name && d.container === undefined && (d.kind === "block" || d.kind === "const")
      );
      if (def) found.push({ rel: relativePath(a.path, file), kind: def.kind });
    }
    const ups = (r: string) => r.split("/").length;
    const start = { line: 0, character: 0 };
    return found.sort((x, y) => ups(x.rel) - ups(y.rel) || (x.rel < y.rel ? -1 : 1)).slice(0, 3)
      .map(({ rel, kind }) => ({
        title: `Import '${rel}' (it declares ${kind} '${name}')`,
        edits: [{ path: a.path, range: { start, end: start }, newText: `import "${rel}"\n` }],
      }));
  }

  #fileDiagnostics(a: Analysis, ds: Diagnostic[]): FileDiagnostic[] {
    const out: FileDiagnostic[] = [];
    const imports = a.indexes.get(a.path)?.imports ?? [];
    for (const d of ds) {
      const related = relatedOf(d);
      const fixes = d.fixes?.map((f) => ({
        title: f.title,
        edits: f.edits.map((e) => ({
          path: e.span.file,
          range: toRange(e.span),
          newText: e.newText,
        })),
      }));
      if (!d.span || d.span.file === a.path) {
        const span = d.span ?? { file: a.path, line: 1, col: 1, endLine: 1, endCol: 1 };
        out.push({
          range: toRange(span),
          severity: d.severity,
          code: d.code,
          message: d.message,
          related,
          fixes,
        });
      } else if (d.span.file !== PRELUDE_PATH && imports.length) {
        const imp = imports.find((i) => d.span!.file.endsWith(i.path.replace(/^\.\//, ""))) ??
          imports[0];
        out.push({
          range: toRange(imp.span),
          severity: d.severity,
          code: d.code,
          message: `in ${d.span.file}: ${d.message}`,
          related: [
            { location: { path: d.span.file, range: toRange(d.span) }, message: d.message },
            ...related,
          ],
          fixes,
        });
      }
    }
    return out;
  }

  /** Whether `path` declares train sections (which trainDiagnostics checks). */
  hasTrainSections(path: string): boolean {
    return this.analyze(path).program?.main.decls.some((d) => d.kind === "train") ?? false;
  }

  /**
   * What the training compiler adds to diagnostics(path) for the file's train sections, as `dlm
   * check` reports them: a loss that reaches no parameter, optimiser and schedule arguments, a
   * dim the step needs fixed, what building the step finds. It builds each section's step
   * (autodiff, optimiser), which costs more than a keystroke's check, so the server asks for it
   * once the document rests; cached until a document changes. Only when the check found no
   * error (as `dlm check` runs it).
   */
  trainDiagnostics(path: string): FileDiagnostic[] {
    const a = this.analyze(path);
    if (a.train) return a.train;
    const p = a.program;
    const found: Diagnostic[] = [];
    if (p && !a.diagnostics.some((d) => d.severity === "error")) {
      const seen = new Set(a.diagnostics.map(diagnosticKey));
      for (const t of p.main.decls) {
        if (t.kind !== "train") continue;
        try {
          const c = compileSection(p, t, { fixDims: this.#fixDims, evaluation: () => false });
          for (const d of c.diagnostics) {
            const k = diagnosticKey(d);
            if (seen.has(k)) continue;
            seen.add(k);
            found.push(d);
          }
        } catch {
          // A bug of the training compiler's: the editor keeps the check's diagnostics.
        }
      }
    }
    a.train = this.#fileDiagnostics(a, sortDiagnostics(found));
    return a.train;
  }

  // ---- finding what is under the caret ----

  #at(a: Analysis, pos: Position): { use?: Use; def?: Def; imp?: A.ImportDecl } {
    const ix = a.indexes.get(a.path);
    if (!ix) return {};
    const line = pos.line + 1;
    const col = pos.character + 1;
    const use = ix.uses.find((u) => contains(u.span, line, col));
    if (use) return { use };
    const def = ix.defs.find((d) => contains(d.span, line, col));
    if (def) return { def };
    const imp = ix.imports.find((i) => contains(i.span, line, col));
    return { imp };
  }

  /** The top-level definition of `name` in any file the program loads. */
  #topLevel(a: Analysis, name: string): Def | undefined {
    for (const ix of a.indexes.values()) {
      const d = ix.defs.find((x) =>
        x.name === name && x.container === undefined && x.kind !== "train"
      );
      if (d) return d;
    }
    return undefined;
  }

  /** What a use or definition names: a definition, a built-in, or nothing known. */
  #target(a: Analysis, pos: Position): Def | { builtin: string } | undefined {
    const { use, def } = this.#at(a, pos);
    if (def) return def;
    if (!use) return undefined;
    if (use.def) return use.def;
    const top = this.#topLevel(a, use.name);
    if (top) return top;
    if (isBuiltin(use.name)) return { builtin: use.name };
    return undefined;
  }

  /** Elaborate the deferred models of `a` whose declarations overlap lines `from`..`to` (0-based). */
  #ensure(a: Analysis, from: number, to: number): void {
    for (const [name, d] of a.deferred) {
      if (d.span.endLine - 1 < from || d.span.line - 1 > to) continue;
      a.deferred.delete(name);
      d.run();
    }
  }

  /**
   * The types of `a`'s file: its own check's, or, for a file that elaborates nothing of its own
   * (a library of blocks), those of an open document that loads and runs it.
   */
  #factsOf(a: Analysis): Facts {
    if (a.facts.inFile(a.path).length || !a.program) return a.facts;
    for (const p of this.#docs.keys()) {
      if (p === a.path) continue;
      const other = this.analyze(p);
      if (other.indexes.has(a.path) && other.facts.inFile(a.path).length) return other.facts;
    }
    return a.facts;
  }

  /** The smallest recorded span of `path` that contains `pos`. */
  #factAt(a: Analysis, pos: Position): SpanFact | undefined {
    let best: SpanFact | undefined;
    for (const f of this.#factsOf(a).bySpan.values()) {
      if (f.span.file !== a.path || !contains(f.span, pos.line + 1, pos.character + 1)) continue;
      if (!best || spanSize(f.span) < spanSize(best.span)) best = f;
    }
    return best;
  }

  // ---- queries ----

  hover(path: string, pos: Position): Hover | undefined {
    const a = this.analyze(path);
    this.#ensure(a, pos.line, pos.line);
    const parts: string[] = [];
    const { use, def, imp } = this.#at(a, pos);
    const target = this.#target(a, pos);
    let range: Span | undefined = use?.span ?? def?.span ?? imp?.span;
    if (target && "builtin" in target) parts.push(builtinDoc(target.builtin));
    else if (
      target && (target.kind === "block" || target.kind === "model" || target.kind === "const")
    ) {
      parts.push(this.#declDoc(a, target));
    }
    // A definition's own type (a let, an input), else that of the smallest expression around.
    const shown = def && def.kind !== "label" ? this.#defFact(a, def) : this.#factAt(a, pos);
    if (shown) {
      const lines = a.lines.get(a.path) ?? [];
      const what = def ? `${def.kind} ${def.name}` : textOf(lines, shown.span);
      parts.unshift(typeDoc(what, shown, this.#factsOf(a)));
      range ??= shown.span;
    }
    if (imp && !parts.length) parts.push(`import of \`${imp.path}\``);
    if (!parts.length) return undefined;
    return { markdown: parts.join("\n\n---\n\n"), range: toRange(range!) };
  }

  #declDoc(a: Analysis, d: Def): string {
    const lines = a.lines.get(d.span.file) ?? this.#knownLines.get(d.span.file) ?? [];
    if (d.kind === "block") {
      const b = d.decl as A.BlockDecl;
      const sig = `block ${b.name}(${b.config.map((p) => paramText(lines, p)).join(", ")})(${
        b.inputs.map((p) => paramText(lines, p)).join(", ")
      })${b.returnType ? ` -> ${textOf(lines, b.returnType.span)}` : ""}`;
      const n = this.#factsOf(a).blockParams.get(b.name) ?? a.facts.blockParams.get(b.name);
      return "```dlm\n" + sig + "\n```" +
        (n !== undefined ? `\n\n${n.toLocaleString("en-US")} parameters per use` : "");
    }
    if (d.kind === "model") {
      const m = (a.program?.models.get(d.name) ?? d.decl) as A.ModelDecl;
      const inputs = m.body.filter((s): s is A.InputStmt => s.kind === "input")
        .map((s) => `${s.name}: ${textOf(lines, s.type.span)}`);
      const outputs = m.body.filter((s): s is A.OutputStmt => s.kind === "output").map((s) =>
        s.name
      );
      const sig = `model ${m.name}${
        m.params.length ? `(${m.params.map((p) => paramText(lines, p)).join(", ")})` : ""
      }`;
      const n = a.modelParams.get(m.name);
      return "```dlm\n" + sig + "\n```" +
        (inputs.length ? `\n\ninputs: ${inputs.map((i) => `\`${i}\``).join(", ")}` : "") +
        (outputs.length ? `\n\noutputs: ${outputs.map((o) => `\`${o}\``).join(", ")}` : "") +
        (n !== undefined ? `\n\n${n.toLocaleString("en-US")} parameters in total` : "");
    }
    return "```dlm\n" + textOf(lines, d.full) + "\n```";
  }

  definition(path: string, pos: Position): Location | undefined {
    const a = this.analyze(path);
    const { imp } = this.#at(a, pos);
    if (imp) {
      const dir = a.path.includes("/") ? a.path.slice(0, a.path.lastIndexOf("/")) : ".";
      const target = imp.path.startsWith("/") ? imp.path : normalizePath(`${dir}/${imp.path}`);
      return {
        path: target,
        range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
      };
    }
    const t = this.#target(a, pos);
    if (!t || "builtin" in t) return undefined;
    return { path: t.span.file, range: toRange(t.span) };
  }

  /** Every file index known: the program's files and every file of other open documents. */
  #workspace(a: Analysis): FileIndex[] {
    for (const p of this.#docs.keys()) if (p !== a.path) this.analyze(p);
    const all = new Map(this.#known);
    for (const [k, v] of a.indexes) all.set(k, v);
    return [...all.values()];
  }

  references(path: string, pos: Position, includeDeclaration = true): Location[] {
    const a = this.analyze(path);
    const t = this.#target(a, pos);
    if (!t || "builtin" in t) return [];
    return this.#referencesOf(a, t, includeDeclaration);
  }

  #referencesOf(a: Analysis, t: Def, includeDeclaration: boolean): Location[] {
    const spans: Span[] = includeDeclaration ? [t.span] : [];
    if (t.kind === "label") {
      for (const ix of this.#workspace(a)) {
        for (const d of ix.defs) {
          if (d.kind === "label" && d.name === t.name && d !== t) spans.push(d.span);
        }
      }
    } else if (t.container === undefined) {
      for (const ix of this.#workspace(a)) {
        for (const u of ix.uses) if (u.name === t.name && !u.def) spans.push(u.span);
        for (const d of ix.defs) {
          if (d !== t && d.kind === "train" && d.name === t.name && t.kind === "model") {
            spans.push(d.span);
          }
        }
      }
    } else {
      const ix = a.indexes.get(t.span.file);
      for (const u of ix?.uses ?? []) if (u.def === t) spans.push(u.span);
    }
    const seen = new Set<string>();
    return spans.filter((s) => {
      const k = spanKeyOf(s);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    }).map((s) => ({ path: s.file, range: toRange(s) }));
  }

  /**
   * What a rename at `pos` would rename: the span of the name under the caret and the name; or
   * why it cannot (nothing there, a built-in, the prelude's).
   */
  prepareRename(path: string, pos: Position): { range: Range; placeholder: string } | string {
    const a = this.analyze(path);
    const t = this.#renameTarget(a, pos);
    if (typeof t === "string") return t;
    const { use, def } = this.#at(a, pos);
    const at = def?.span ?? use?.span ?? t.span;
    return { range: toRange(at), placeholder: t.name };
  }

  #renameTarget(a: Analysis, pos: Position): Def | string {
    const t = this.#target(a, pos);
    if (!t) return "Nothing to rename here: put the caret on a block, model, let or label";
    if ("builtin" in t) return `'${t.builtin}' is built in and cannot be renamed`;
    if (t.span.file === PRELUDE_PATH) return `'${t.name}' is defined by the prelude`;
    // `train Net` names the model: renaming it there renames the model (its declaration and
    // every use), not the section's reference alone.
    if (t.kind === "train") return this.#topLevel(a, t.name) ?? t;
    return t;
  }

  /**
   * The edits that rename what is at `pos` to `name`, by file; or why it cannot: the name is not
   * an identifier, is a keyword or a built-in name, or is already visible where the renamed
   * definition or one of its uses is (it would shadow it, or be shadowed), in any file the
   * rename edits.
   */
  rename(
    path: string,
    pos: Position,
    name: string,
  ): Map<string, { range: Range; newText: string }[]> | string {
    if (!IDENT.test(name)) {
      return `'${name}' is not a name: a name is a letter or _, then letters, digits or _`;
    }
    if (KEYWORD_NAMES.has(name)) return `'${name}' is a keyword and cannot name a definition`;
    const a = this.analyze(path);
    const t = this.#renameTarget(a, pos);
    if (typeof t === "string") return t;
    if (name === t.name) return new Map();
    if (t.kind !== "label" && isBuiltin(name)) {
      return `'${name}' is a built-in name: renaming '${t.name}' to it would hide the built-in`;
    }
    const refs = this.#referencesOf(a, t, true);
    const clash = this.#renameClash(a, t, name, refs);
    if (clash) return clash;
    const edits = new Map<string, { range: Range; newText: string }[]>();
    for (const loc of refs) {
      const list = edits.get(loc.path) ?? [];
      // A train section's name span covers `train Model`'s model name only.
      list.push({ range: loc.range, newText: name });
      edits.set(loc.path, list);
    }
    return edits;
  }

  /**
   * A definition already named `name` where renaming `t` would meet it, described; undefined
   * when there is none. Labels meet the labels of their declaration; a top-level name meets the
   * top-level names of each file it is written in (with what that file loads: its imports, the
   * prelude) and the local names of each declaration it is used in; a local name meets the names
   * of its declaration and the top-level names it sees.
   */
  #renameClash(a: Analysis, t: Def, name: string, refs: Location[]): string | undefined {
    const where = (d: Def) => `${d.kind} '${name}' at ${d.span.file}:${d.span.line}:${d.span.col}`;
    const refused = (d: Def) =>
      `Cannot rename '${t.name}' to '${name}': ${where(d)} is already visible there`;
    const localIn = (file: string, container: string | undefined) =>
      (a.indexes.get(file) ?? this.#known.get(file))?.defs.find((d) =>
        d.name === name && d.container === container && d.kind !== "label" &&
        d.kind !== "output"
      );
    if (t.kind === "label") {
      const ix = a.indexes.get(t.span.file) ?? this.#known.get(t.span.file);
      const d = ix?.defs.find((d) =>
        d.kind === "label" && d.name === name && d.container === t.container
      );
      return d && refused(d);
    }
    // The files the rename edits, and the declarations it edits in them.
    const files = new Set(refs.map((r) => r.path));
    files.add(t.span.file);
    for (const file of files) {
      const visible = this.#topLevelNames(a, file);
      const top = visible.get(name);
      if (top) return refused(top);
    }
    if (a.program?.blocks.get(name)?.span.file === PRELUDE_PATH) {
      return `Cannot rename '${t.name}' to '${name}': the prelude defines block '${name}'`;
    }
    if (t.container !== undefined) {
      const d = localIn(t.span.file, t.container);
      return d && refused(d);
    }
    // A top-level name's uses inside declarations: their locals would shadow it.
    for (const r of refs) {
      const ix = a.indexes.get(r.path) ?? this.#known.get(r.path);
      const line = r.range.start.line + 1, col = r.range.start.character + 1;
      const decl = ix?.defs.find((d) => d.container === undefined && contains(d.full, line, col));
      if (!decl) continue;
      const d = localIn(r.path, decl.kind === "train" ? `train ${decl.name}` : decl.name);
      if (d) return refused(d);
    }
    return undefined;
  }

  /** The top-level names a file sees: its own and those of every file its check loads. */
  #topLevelNames(a: Analysis, file: string): Map<string, Def> {
    const b = this.#docs.has(file) ? this.analyze(file) : a;
    const ixs = b.indexes.has(file) ? [...b.indexes.values()] : [this.#known.get(file)];
    const out = new Map<string, Def>();
    for (const ix of ixs) {
      for (const d of ix?.defs ?? []) {
        if (d.container === undefined && d.kind !== "train") out.set(d.name, d);
      }
    }
    return out;
  }

  documentSymbols(path: string): DocumentSymbol[] {
    const a = this.analyze(path);
    const ix = a.indexes.get(a.path);
    if (!ix) return [];
    const tops: DocumentSymbol[] = [];
    const byName = new Map<string, DocumentSymbol>();
    for (const d of ix.defs) {
      const sym: DocumentSymbol = {
        name: d.kind === "train" ? `train ${d.name}` : d.name,
        kind: d.kind,
        detail: this.#detail(a, d),
        range: toRange(d.full),
        selectionRange: toRange(d.span),
        children: [],
      };
      if (d.container === undefined) {
        tops.push(sym);
        byName.set(sym.name, sym);
      } else byName.get(d.container)?.children.push(sym);
    }
    return tops;
  }

  /** What a definition was bound to: a let's or input's name, a parameter's declaration. */
  #defFact(a: Analysis, d: Def): SpanFact | undefined {
    const facts = this.#factsOf(a);
    return facts.bySpan.get(spanKeyOf(d.span)) ??
      (d.kind === "param" ? facts.bySpan.get(spanKeyOf(d.full)) : undefined);
  }

  #detail(a: Analysis, d: Def): string | undefined {
    if (d.kind === "model") {
      const n = a.modelParams.get(d.name);
      return n !== undefined ? `${n.toLocaleString("en-US")} parameters` : undefined;
    }
    return this.#defFact(a, d)?.types.join(" | ");
  }

  workspaceSymbols(query: string): WorkspaceSymbol[] {
    for (const p of this.#docs.keys()) this.analyze(p);
    const q = query.toLowerCase();
    const out: WorkspaceSymbol[] = [];
    for (const ix of this.#known.values()) {
      for (const d of ix.defs) {
        if (d.kind === "label" || d.kind === "loop") continue;
        if (!d.name.toLowerCase().includes(q)) continue;
        out.push({
          name: d.name,
          kind: d.kind,
          location: { path: d.span.file, range: toRange(d.span) },
          container: d.container,
        });
      }
    }
    return out;
  }

  completion(path: string, pos: Position): Completion[] {
    const a = this.analyze(path);
    const out: Completion[] = [];
    const call = callAt(this.readFile(a.path), pos);
    if (call) {
      for (const p of this.#paramsOf(a, call.callee) ?? []) {
        out.push({
          label: `${p}:`,
          kind: "argument",
          insertText: `${p}: `,
          detail: `argument of ${call.callee}`,
        });
      }
    }
    const ix = a.indexes.get(a.path);
    const line = pos.line + 1;
    const container = ix?.defs.find((d) =>
      d.container === undefined && contains(d.full, line, pos.character + 1)
    );
    const seen = new Set<string>();
    const add = (c: Completion) => {
      if (seen.has(c.label)) return;
      seen.add(c.label);
      out.push(c);
    };
    for (const d of ix?.defs ?? []) {
      if (
        !container ||
        d.container !== (container.kind === "train" ? `train ${container.name}` : container.name)
      ) continue;
      if (d.kind === "label") add({ label: d.name, kind: "label" });
      else if (d.kind !== "output" && d.span.line <= line) {
        add({ label: d.name, kind: "variable", detail: this.#detail(a, d) });
      }
    }
    for (const ix2 of a.indexes.values()) {
      for (const d of ix2.defs) {
        if (d.container !== undefined || d.kind === "train") continue;
        add({
          label: d.name,
          kind: d.kind === "block" ? "block" : d.kind === "model" ? "model" : "variable",
          detail: d.kind === "block" ? this.#declDoc(a, d).split("\n")[1] : d.kind,
        });
      }
    }
    if (a.program) {
      for (const [name, b] of a.program.blocks) {
        if (b.span.file === PRELUDE_PATH) {
          add({ label: name, kind: "block", detail: "prelude block" });
        }
      }
    }
    for (const l of Object.values(LAYERS)) {
      add({
        label: l.name,
        kind: "layer",
        detail: formatSignature(l.name, l.sig),
        documentation: l.doc,
      });
    }
    for (const f of Object.values(FUNCTIONS)) {
      add({
        label: f.name,
        kind: "function",
        detail: formatSignature(f.name, f.sig),
        documentation: f.doc,
      });
    }
    for (const n of Object.keys(COMPILE_FNS)) {
      add({ label: n, kind: "function", detail: "compile-time function" });
    }
    for (const n of INIT_FNS) add({ label: n, kind: "function", detail: "initialiser" });
    return out;
  }

  /** The parameter names a call of `callee` takes: a built-in's, a block's configuration, a model's. */
  #paramsOf(a: Analysis, callee: string): string[] | undefined {
    const sig = builtinSig(callee);
    if (sig) return sig.filter((p) => !p.variadic).map((p) => p.name);
    const b = a.program?.blocks.get(callee);
    if (b) return b.config.map((p) => p.name);
    return undefined;
  }

  signatureHelp(path: string, pos: Position): SignatureHelp | undefined {
    const a = this.analyze(path);
    const call = callAt(this.readFile(a.path), pos);
    if (!call) return undefined;
    const sig = builtinSig(call.callee);
    let label: string;
    let params: string[];
    let doc: string | undefined;
    if (sig) {
      label = formatSignature(call.callee, sig).replace(/\n\s*/g, " ");
      params = sig.map((p) => p.name);
      doc = (LAYERS[call.callee] ?? FUNCTIONS[call.callee]).doc;
    } else {
      const b = a.program?.blocks.get(call.callee);
      if (!b) return undefined;
      const lines = a.lines.get(b.span.file) ?? this.#knownLines.get(b.span.file) ?? [];
      label = `${b.name}(${b.config.map((p) => paramText(lines, p)).join(", ")})`;
      params = b.config.map((p) => p.name);
    }
    let active = call.named ? params.indexOf(call.named) : call.index;
    if (active < 0) active = call.index;
    return {
      label,
      documentation: doc,
      parameters: params,
      activeParameter: Math.min(active, Math.max(0, params.length - 1)),
    };
  }

  /** The shape after each pipe stage of `path` (within `range`, when given). */
  inlayHints(path: string, range?: Range): InlayHint[] {
    const a = this.analyze(path);
    const from = range?.start.line ?? 0;
    const to = range?.end.line ?? Infinity;
    this.#ensure(a, from, to);
    const ix = a.indexes.get(a.path);
    const out: InlayHint[] = [];
    const facts = this.#factsOf(a);
    for (const st of ix?.stages ?? []) {
      if (st.span.endLine - 1 < from || st.span.endLine - 1 > to) continue;
      const f = facts.bySpan.get(spanKeyOf(st.span));
      if (!f || !f.types.length) continue;
      // A stage run with several shapes (a block applied in several places) shows the first and
      // how many more; the hover lists them all.
      const more = f.types.length > 1 ? ` (+${f.types.length - 1})` : "";
      out.push({ position: toRange(st.span).end, label: `: ${f.types[0]}${more}` });
    }
    return out;
  }

  semanticTokens(path: string): SemanticToken[] {
    const a = this.analyze(path);
    const ix = a.indexes.get(a.path);
    if (!ix) return [];
    const out: SemanticToken[] = [];
    const push = (
      s: Span,
      type: SemanticToken["type"],
      modifiers: SemanticToken["modifiers"] = [],
    ) => {
      if (s.line !== s.endLine || s.endCol <= s.col) return;
      out.push({
        line: s.line - 1,
        character: s.col - 1,
        length: s.endCol - s.col,
        type,
        modifiers,
      });
    };
    const typeOfDef = (d: Def): SemanticToken["type"] =>
      d.kind === "block"
        ? "function"
        : d.kind === "model" || d.kind === "train"
        ? "class"
        : d.kind === "param"
        ? "parameter"
        : d.kind === "label" || d.kind === "output"
        ? "property"
        : "variable";
    for (const d of ix.defs) {
      if (d.kind === "label" && d.span.endCol - d.span.col !== d.name.length) continue;
      push(
        d.span,
        typeOfDef(d),
        d.kind === "const" ? ["declaration", "readonly"] : ["declaration"],
      );
    }
    for (const u of ix.uses) {
      if (u.def) push(u.span, typeOfDef(u.def), u.def.kind === "const" ? ["readonly"] : []);
      else {
        const top = this.#topLevel(a, u.name) ??
          (a.program?.blocks.has(u.name) ? { kind: "block" } as Def : undefined);
        if (top) push(u.span, typeOfDef(top), top.kind === "const" ? ["readonly"] : []);
        else if (isBuiltin(u.name)) push(u.span, "function", ["defaultLibrary"]);
        else if (/^[A-Z][A-Za-z0-9_]*$/.test(u.name)) push(u.span, "typeParameter");
      }
    }
    out.sort((x, y) => x.line - y.line || x.character - y.character);
    return out.filter((t, i) =>
      i === 0 || t.line !== out[i - 1].line ||
      t.character >= out[i - 1].character + out[i - 1].length
    );
  }
}

function spanKeyOf(s: Span): string {
  return `${s.file}:${s.line}:${s.col}:${s.endLine}:${s.endCol}`;
}

function isBuiltin(name: string): boolean {
  return name in LAYERS || name in FUNCTIONS || name in COMPILE_FNS || INIT_FNS.has(name);
}

function builtinSig(name: string): ParamSig[] | undefined {
  return (LAYERS[name] ?? FUNCTIONS[name])?.sig;
}

/** A built-in's documentation, from the tables spec/builtins.md is generated from. */
export function builtinDoc(name: string): string {
  const l = LAYERS[name];
  if (l) return "```dlm\n" + formatSignature(name, l.sig) + "\n```\n\nlayer: " + l.doc;
  const f = FUNCTIONS[name];
  if (f) return "```dlm\n" + formatSignature(name, f.sig) + "\n```\n\nfunction: " + f.doc;
  if (name in COMPILE_FNS) return `\`${name}\`: compile-time function (spec/language.md 4.8)`;
  return `\`${name}\`: initialiser (spec/language.md 8.2)`;
}

/** The text under `span`. */
function textOf(lines: string[], s: Span): string {
  if (s.line === s.endLine) return (lines[s.line - 1] ?? "").slice(s.col - 1, s.endCol - 1);
  const out = [(lines[s.line - 1] ?? "").slice(s.col - 1)];
  for (let l = s.line + 1; l < s.endLine; l++) out.push(lines[l - 1] ?? "");
  out.push((lines[s.endLine - 1] ?? "").slice(0, s.endCol - 1));
  return out.join("\n");
}

function paramText(lines: string[], p: A.Param): string {
  return textOf(lines, p.span) || p.name;
}

/** A hover's type section: what was evaluated, its types, and the parameters it created. */
function typeDoc(what: string, f: SpanFact, facts: Facts): string {
  const head = what.length > 60 || what.includes("\n")
    ? what.split("\n")[0].slice(0, 57) + "…"
    : what;
  const types = f.types.map((t) => `\`${t}\``).join(", ");
  let s = `\`${head}\`: ${types}${f.runs > 1 ? ` (evaluated ${f.runs} times)` : ""}`;
  if (f.params) {
    const ps = facts.params.slice(f.params[0], f.params[1]);
    const n = countParams(ps);
    s += `\n\n${ps.length} parameter tensor${ps.length === 1 ? "" : "s"}, ${
      n.toLocaleString("en-US")
    } parameters:\n`;
    for (const p of ps.slice(0, 12)) {
      s += `\n- \`${p.name}\` [${p.shape.join(", ")}]${p.trainable ? "" : " (buffer)"}`;
    }
    if (ps.length > 12) s += `\n- … ${ps.length - 12} more`;
  }
  return s;
}

/** The path of `to` as an import in `from` writes it: relative to `from`'s folder. */
export function relativePath(from: string, to: string): string {
  const a = normalizePath(from).split("/").slice(0, -1);
  const b = normalizePath(to).split("/");
  let k = 0;
  while (k < a.length && k < b.length - 1 && a[k] === b[k]) k++;
  const up = a.slice(k).map(() => "..");
  return [...up, ...b.slice(k)].join("/");
}

/** What tells two diagnostics apart: code, place and words. */
function diagnosticKey(d: Diagnostic): string {
  const s = d.span;
  return `${d.code} ${
    s ? `${s.file}:${s.line}:${s.col}-${s.endLine}:${s.endCol}` : ""
  } ${d.message}`;
}

/** Locations in a diagnostic's notes ("in block B, used at f.dlm:3:5"). */
function relatedOf(d: Diagnostic): { location: Location; message: string }[] {
  const out: { location: Location; message: string }[] = [];
  for (const n of d.notes ?? []) {
    const m = /(\S+\.dlm):(\d+):(\d+)/.exec(n);
    if (!m) continue;
    const line = Number(m[2]) - 1;
    const character = Number(m[3]) - 1;
    out.push({
      location: { path: m[1], range: { start: { line, character }, end: { line, character } } },
      message: n,
    });
  }
  return out;
}

/**
 * The call the caret is in the argument list of, read from the text (so it works while the
 * line does not parse): the callee's name, the index of the argument, and the name of a named
 * argument being written.
 */
export function callAt(
  text: string | Error,
  pos: Position,
): { callee: string; index: number; named?: string } | undefined {
  if (text instanceof Error) return undefined;
  const lines = splitLines(text);
  let offset = 0;
  for (let l = 0; l < pos.line && l < lines.length; l++) offset += lines[l].length + 1;
  offset += pos.character;
  let depth = 0;
  let index = 0;
  let argStart = -1;
  for (let i = offset - 1; i >= 0 && offset - i < 4000; i--) {
    const c = text[i];
    if (c === ")" || c === "]") depth++;
    else if (c === "[" && depth > 0) depth--;
    else if (c === "(") {
      if (depth > 0) {
        depth--;
        continue;
      }
      const m = /([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(text.slice(Math.max(0, i - 80), i));
      if (!m) return undefined;
      const current = text.slice(argStart >= 0 ? argStart : i + 1, offset);
      const named = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:/.exec(current)?.[1];
      return { callee: m[1], index, named };
    } else if (c === "," && depth === 0) {
      if (index === 0) argStart = i + 1;
      index++;
    } else if ((c === "{" || c === "}") && depth === 0) return undefined;
  }
  return undefined;
}
