/**
 * The worker's editor side (editor_protocol.ts): `dlm lsp`'s language service
 * (compiler/service/) over the page's workspace — the bundled examples with the user's edits on
 * top — answering lint, hover, completion and signature help; and the compiled model's weights
 * as safetensors, written by the CLI's own writer (runtime/save_weights.ts). Nothing here touches
 * a disk, so the same code runs under `deno test`.
 */
import { LanguageService } from "../../compiler/service/service.ts";
import { compileFile, hasErrors } from "../../compiler/compile.ts";
import type { Diagnostic } from "../../compiler/diagnostics.ts";
import { DlmError } from "../../compiler/diagnostics.ts";
import { weightsChunks } from "../../runtime/save_weights.ts";
import type { WebDiagnostic } from "./protocol.ts";
import { type Workspace, workspaceReader } from "./service.ts";
import type { EditorRequest, EditorResponse, LintDiagnostic } from "./editor_protocol.ts";

/** The language service and the workspace it reads: one per worker. */
export class EditorSide {
  readonly #bundled: Workspace;
  #edits: Record<string, string> = {};
  #service: LanguageService;

  constructor(bundled: Workspace) {
    this.#bundled = bundled;
    this.#service = this.#fresh();
  }

  #fresh(): LanguageService {
    return new LanguageService((p) => {
      const key = p.replace(/^\.\//, "");
      const ws = this.workspace();
      return Object.hasOwn(ws, key) ? ws[key] : new Error("no such file in the page's workspace");
    });
  }

  /** The bundled files with the user's edits on top. */
  workspace(): Workspace {
    return { ...this.#bundled, ...this.#edits };
  }

  /** The service, with the editor's document at its version. */
  #doc(path: string, text: string, version: number): LanguageService {
    if (this.#service.text(path) !== text) this.#service.update(path, text, version);
    return this.#service;
  }

  handle(r: EditorRequest): EditorResponse {
    const t0 = performance.now();
    const ms = () => performance.now() - t0;
    try {
      switch (r.kind) {
        case "sync": {
          const changed = JSON.stringify(r.files) !== JSON.stringify(this.#edits);
          this.#edits = { ...r.files };
          // Another file's text changed: a fresh service, so no cached parse of it is kept.
          if (changed) this.#service = this.#fresh();
          return { id: r.id, kind: "sync", ms: ms() };
        }
        case "lint": {
          const s = this.#doc(r.path, r.text, r.version);
          const diagnostics: LintDiagnostic[] = s.diagnostics(r.path).map((d) => ({
            code: d.code,
            severity: d.severity,
            message: d.message +
              (d.related.length ? "\n" + d.related.map((x) => x.message).join("\n") : ""),
            file: r.path,
            line: d.range.start.line + 1,
            col: d.range.start.character + 1,
            endLine: d.range.end.line + 1,
            endCol: d.range.end.character + 1,
            // The page edits one file at a time: a fix that reaches another file is left to dlm lsp.
            fixes: (d.fixes ?? []).filter((f) => f.edits.every((e) => e.path === r.path)).map((
              f,
            ) => ({
              label: f.title,
              changes: f.edits.map((e) => ({
                from: e.range.start,
                to: e.range.end,
                newText: e.newText,
              })),
            })),
          }));
          // The check may have run for an earlier hover or signature request of the same text.
          const checkMs = s.analyze(r.path).ms;
          return { id: r.id, kind: "lint", diagnostics, checkMs, ms: ms() };
        }
        case "hover": {
          const h = this.#doc(r.path, r.text, r.version).hover(r.path, r.pos);
          return h
            ? {
              id: r.id,
              kind: "hover",
              markdown: h.markdown,
              from: h.range.start,
              to: h.range.end,
              ms: ms(),
            }
            : { id: r.id, kind: "hover", ms: ms() };
        }
        case "complete": {
          const items = this.#doc(r.path, r.text, r.version).completion(r.path, r.pos);
          return { id: r.id, kind: "complete", items, ms: ms() };
        }
        case "signature": {
          const s = this.#doc(r.path, r.text, r.version).signatureHelp(r.path, r.pos);
          return s
            ? {
              id: r.id,
              kind: "signature",
              label: s.label,
              documentation: s.documentation,
              parameters: s.parameters,
              active: s.activeParameter,
              ms: ms(),
            }
            : { id: r.id, kind: "signature", ms: ms() };
        }
        case "weights": {
          const c = compileFile(r.path, {
            model: r.model,
            mode: "eval",
            seed: 0,
            read: workspaceReader(this.workspace(), r.path, r.text),
          });
          const diagnostics = toWeb(c.diagnostics);
          if (!c.graph || hasErrors(c.diagnostics)) {
            return { id: r.id, kind: "weights", diagnostics, ms: ms() };
          }
          // The declared graph's parameters, as `dlm compile --save-weights` writes them (before
          // the inference passes fold any of them).
          const chunks = [...weightsChunks(c.graph)].map((b) => b.slice());
          const bytes = new Uint8Array(chunks.reduce((n, b) => n + b.byteLength, 0));
          let at = 0;
          for (const b of chunks) {
            bytes.set(b, at);
            at += b.byteLength;
          }
          return {
            id: r.id,
            kind: "weights",
            diagnostics,
            safetensors: bytes,
            name: c.graph.name,
            tensors: c.graph.params.filter((p) => c.graph!.initializers.has(p.name)).length,
            ms: ms(),
          };
        }
      }
    } catch (e) {
      const error = e instanceof DlmError
        ? e.message
        : `internal error: ${(e as Error)?.stack ?? e}`;
      return { id: r.id, kind: "failed", error, ms: ms() };
    }
  }
}

function toWeb(ds: Diagnostic[]): WebDiagnostic[] {
  return ds.map((d) => ({
    code: d.code,
    severity: d.severity === "error" ? "error" : d.severity === "warning" ? "warning" : "info",
    message: d.message,
    ...(d.span ? { ...d.span } : {}),
  }));
}
