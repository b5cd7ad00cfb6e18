/**
 * Loading a program: the main file, its imports (relative paths, followed
 * recursively, each file once; a cycle is an error), and the standard
 * prelude, merged into one namespace of blocks, models and constants.
 */
import type * as A from "../syntax/ast.ts";
import { parse } from "../syntax/mod.ts";
import { diag, type Diagnostic, error, SourceMap } from "../diagnostics.ts";
import type { Span } from "../ir/graph.ts";
import { PRELUDE, PRELUDE_PATH } from "./prelude.ts";

export interface Program {
  main: A.SourceFile;
  files: A.SourceFile[];
  blocks: Map<string, A.BlockDecl>;
  models: Map<string, A.ModelDecl>;
  trains: A.TrainDecl[];
  consts: A.ConstDecl[];
  sources: SourceMap;
  diagnostics: Diagnostic[];
}

/** Reads a file's text, or returns an Error with a human reason. */
export type ReadFile = (path: string) => string | Error;

export const readFromDisk: ReadFile = (path) => {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return new Error("no such file or directory");
    if (e instanceof Deno.errors.IsADirectory) return new Error("is a directory");
    if (e instanceof Deno.errors.PermissionDenied) return new Error("permission denied");
    return new Error((e as Error).message);
  }
};

/** Normalise a path: resolve `.` and `..` segments, keep it relative when it was. */
export function normalizePath(p: string): string {
  const abs = p.startsWith("/");
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === ".." && out.length && out[out.length - 1] !== "..") out.pop();
    else out.push(seg);
  }
  return (abs ? "/" : "") + out.join("/");
}

function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : p.slice(0, i);
}

/**
 * Parsed files by path, reused while their text is the same: the language server keeps one so a
 * keystroke re-parses only the file it changed (not its imports, nor the prelude).
 */
export type ParseCache = Map<string, { text: string } & ReturnType<typeof parse>>;

function parseWith(cache: ParseCache | undefined, text: string, path: string) {
  const hit = cache?.get(path);
  if (hit && hit.text === text) return hit;
  const r = parse(text, path);
  cache?.set(path, { text, ...r });
  return r;
}

/** Load `path` and everything it imports. Never throws for bad input: see `diagnostics`. */
export function loadProgram(
  path: string,
  read: ReadFile = readFromDisk,
  cache?: ParseCache,
): Program | { diagnostics: Diagnostic[]; sources: SourceMap } {
  const sources = new SourceMap();
  const diagnostics: Diagnostic[] = [];
  const files: A.SourceFile[] = [];
  const done = new Map<string, A.SourceFile>();
  const stack: string[] = [];

  const load = (p: string, from?: Span): A.SourceFile | undefined => {
    const key = normalizePath(p);
    const cyc = stack.indexOf(key);
    if (cyc >= 0) {
      const loop = [...stack.slice(cyc), key].join(" -> ");
      diagnostics.push(error(...diag("DLM0105", loop), from));
      return undefined;
    }
    const seen = done.get(key);
    if (seen) return seen;
    const text = read(p);
    if (text instanceof Error) {
      diagnostics.push(
        from
          ? error(...diag("DLM0104", p, text.message), from)
          : error(...diag("DLM0401", `'${p}'`, text.message)),
      );
      return undefined;
    }
    sources.add(p, text);
    const { file, diagnostics: ds } = parseWith(cache, text, p);
    diagnostics.push(...ds);
    done.set(key, file);
    stack.push(key);
    for (const d of file.decls) {
      if (d.kind !== "import") continue;
      if (!d.path.endsWith(".dlm")) {
        diagnostics.push(
          error(...diag("DLM0104", d.path, "only .dlm files can be imported"), d.span),
        );
        continue;
      }
      const target = d.path.startsWith("/") ? d.path : normalizePath(`${dirname(p)}/${d.path}`);
      load(target, d.span);
    }
    stack.pop();
    files.push(file);
    return file;
  };

  const prelude = parseWith(cache, PRELUDE, PRELUDE_PATH);
  sources.add(PRELUDE_PATH, PRELUDE);
  diagnostics.push(...prelude.diagnostics);
  const main = load(path);
  if (!main) return { diagnostics, sources };

  const blocks = new Map<string, A.BlockDecl>();
  const models = new Map<string, A.ModelDecl>();
  const consts: A.ConstDecl[] = [];
  const trains: A.TrainDecl[] = [];
  const where = new Map<string, Span>();
  const declare = (name: string, span: Span, fromPrelude: boolean): boolean => {
    const prev = where.get(name);
    if (prev && !fromPrelude) {
      if (prev.file === PRELUDE_PATH) return true; // user definitions shadow the prelude
      diagnostics.push(
        error(...diag("DLM0102", name, ` at ${prev.file}:${prev.line}:${prev.col}`), span),
      );
      return false;
    }
    if (prev && fromPrelude) return false;
    where.set(name, span);
    return true;
  };
  for (const f of [prelude.file, ...files]) {
    const isPrelude = f === prelude.file;
    for (const d of f.decls) {
      switch (d.kind) {
        case "block":
          if (declare(d.name, d.nameSpan, isPrelude)) blocks.set(d.name, d);
          break;
        case "model":
          if (declare(d.name, d.nameSpan, isPrelude)) models.set(d.name, d);
          break;
        case "const":
          if (declare(d.name, d.nameSpan, isPrelude)) consts.push(d);
          break;
        case "train":
          trains.push(d);
          break;
      }
    }
  }
  deriveModels(models, diagnostics);
  return { main, files, blocks, models, trains, consts, sources, diagnostics };
}

/**
 * `model B = A with lora(...)`: B gets A's parameters and body, and A's own
 * fine-tuning methods before its own. Replaces each derived declaration in
 * `models` by a complete one; an unknown base or a cycle is an error.
 */
function deriveModels(models: Map<string, A.ModelDecl>, diagnostics: Diagnostic[]): void {
  const done = new Set<string>();
  const visit = (m: A.ModelDecl, path: string[]): A.ModelDecl | undefined => {
    if (!m.base || done.has(m.name)) return models.get(m.name);
    if (path.includes(m.name)) {
      diagnostics.push(
        error(...diag("DLM0119", [...path, m.name].join(" -> ")), m.base.span),
      );
      return undefined;
    }
    const b = models.get(m.base.name);
    if (!b) {
      const names = [...models.keys()].filter((n) => n !== m.name).join(", ") || "none";
      diagnostics.push(
        error(...diag("DLM0127", m.name, m.base.name, names), m.base.span),
      );
      return undefined;
    }
    const base = visit(b, [...path, m.name]);
    done.add(m.name);
    if (!base) return undefined;
    const full: A.ModelDecl = {
      ...m,
      params: base.params,
      body: base.body,
      with: [...(base.with ?? []), ...(m.with ?? [])],
    };
    models.set(m.name, full);
    return full;
  };
  for (const m of [...models.values()]) visit(m, []);
}

export function isProgram(p: Program | { diagnostics: Diagnostic[] }): p is Program {
  return "main" in p;
}
