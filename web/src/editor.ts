/// <reference lib="dom" />
/**
 * The page's editor side (main.ts wires it in): what `dlm lsp` shows, asked of the language
 * service in the worker (editor_service.ts) — hover with shapes, completion, signature help and
 * quick fixes — and the graph view linked to the source both ways. Every request goes to the
 * worker, so a keystroke costs the page's thread nothing but a message.
 */
import { type Extension, StateEffect, StateField } from "@codemirror/state";
import { EditorView, hoverTooltip, showTooltip, type Tooltip, ViewPlugin } from "@codemirror/view";
import type { CompletionContext, CompletionResult } from "@codemirror/autocomplete";
import type { Action } from "@codemirror/lint";
import { dlmLanguage } from "./dlm_language.ts";
import type { GraphLink } from "./graph_links.ts";
import type {
  CompletionItem,
  EditorRequest,
  EditorResponse,
  LintDiagnostic,
  Pos,
} from "./editor_protocol.ts";

/** Payload of an editor request (what `EditorClient.ask` adds is the id). */
type Ask = EditorRequest extends infer R ? R extends EditorRequest ? Omit<R, "id"> : never
  : never;

/** Requests to the worker's editor side; ids far above main.ts's so the two never meet. */
export class EditorClient {
  #next = 1_000_000_000;
  readonly #pending = new Map<number, (r: EditorResponse) => void>();
  readonly #worker: Worker;
  /** The open file's path (main.ts's `current`). */
  path: () => string;
  #version = 0;

  constructor(worker: Worker, path: () => string) {
    this.#worker = worker;
    this.path = path;
    worker.addEventListener("message", (e: MessageEvent<EditorResponse>) => {
      const done = this.#pending.get(e.data.id);
      if (!done) return;
      this.#pending.delete(e.data.id);
      done(e.data);
    });
  }

  ask(p: Ask): Promise<EditorResponse> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#worker.postMessage({ ...p, id });
    });
  }

  /** A document request for the view's text at `pos` (0-based line, UTF-16 column). */
  doc(view: EditorView) {
    return { path: this.path(), text: view.state.doc.toString(), version: ++this.#version };
  }

  async lint(
    view: EditorView,
  ): Promise<{ diagnostics: LintDiagnostic[]; ms: number; checkMs?: number }> {
    const r = await this.ask({ kind: "lint", ...this.doc(view) });
    if (r.kind === "failed") {
      return {
        diagnostics: [{ code: "DLM0000", severity: "error", message: r.error }],
        ms: r.ms,
      };
    }
    if (r.kind !== "lint") return { diagnostics: [], ms: r.ms };
    return { diagnostics: r.diagnostics, ms: r.ms, checkMs: r.checkMs };
  }
}

/** An editor offset as the language service's position. */
export function posOf(view: EditorView, offset: number): Pos {
  const l = view.state.doc.lineAt(offset);
  return { line: l.number - 1, character: offset - l.from };
}

/** The language service's position as an editor offset (clamped to the document). */
export function offsetOf(view: EditorView, p: Pos): number {
  const doc = view.state.doc;
  const l = doc.line(Math.min(Math.max(1, p.line + 1), doc.lines));
  return l.from + Math.min(Math.max(0, p.character), l.length);
}

/** The quick fixes of a diagnostic as lint actions ("Change to 'tanh'"). */
export function fixActions(d: LintDiagnostic): Action[] {
  return (d.fixes ?? []).map((fix) => ({
    name: fix.label,
    apply(view: EditorView) {
      view.dispatch({
        changes: fix.changes.map((c) => ({
          from: offsetOf(view, c.from),
          to: offsetOf(view, c.to),
          insert: c.newText,
        })),
        userEvent: "input.complete",
      });
    },
  }));
}

// ---- hover ------------------------------------------------------------------------------------

/**
 * The service's markdown as DOM: fenced code blocks, inline code, bold and rules; everything
 * else is text (nothing is parsed as HTML, since names come from the user's program).
 */
export function renderMarkdown(md: string): HTMLElement {
  const root = document.createElement("div");
  root.className = "cm-dlm-hover";
  let code: string[] | undefined;
  let para: HTMLElement | undefined;
  for (const line of md.split("\n")) {
    if (line.startsWith("```")) {
      if (code) {
        const pre = document.createElement("pre");
        pre.textContent = code.join("\n");
        root.append(pre);
        code = undefined;
      } else code = [];
      para = undefined;
      continue;
    }
    if (code) {
      code.push(line);
      continue;
    }
    if (/^\s*---\s*$/.test(line)) {
      root.append(document.createElement("hr"));
      para = undefined;
      continue;
    }
    if (!line.trim()) {
      para = undefined;
      continue;
    }
    if (!para) {
      para = document.createElement("p");
      root.append(para);
    } else para.append(document.createElement("br"));
    inline(para, line);
  }
  if (code) {
    const pre = document.createElement("pre");
    pre.textContent = code.join("\n");
    root.append(pre);
  }
  return root;
}

function inline(into: HTMLElement, text: string): void {
  for (const part of text.split(/(`[^`]+`|\*\*[^*]+\*\*)/)) {
    if (!part) continue;
    if (part.startsWith("`") && part.endsWith("`") && part.length > 1) {
      const c = document.createElement("code");
      c.textContent = part.slice(1, -1);
      into.append(c);
    } else if (part.startsWith("**") && part.endsWith("**") && part.length > 3) {
      const b = document.createElement("b");
      b.textContent = part.slice(2, -2);
      into.append(b);
    } else into.append(part);
  }
}

function hover(client: EditorClient): Extension {
  return hoverTooltip(async (view, pos) => {
    const r = await client.ask({ kind: "hover", ...client.doc(view), pos: posOf(view, pos) });
    if (r.kind !== "hover" || !r.markdown) return null;
    const markdown = r.markdown;
    return {
      pos: r.from ? offsetOf(view, r.from) : pos,
      end: r.to ? offsetOf(view, r.to) : pos,
      above: true,
      create: () => ({ dom: renderMarkdown(markdown) }),
    };
  }, { hoverTime: 300 });
}

// ---- completion -------------------------------------------------------------------------------

const TYPE_OF: Record<string, string> = {
  layer: "class",
  function: "function",
  block: "type",
  model: "namespace",
  variable: "variable",
  argument: "property",
  label: "constant",
  keyword: "keyword",
};

function completion(client: EditorClient): Extension {
  const source = async (ctx: CompletionContext): Promise<CompletionResult | null> => {
    const word = ctx.matchBefore(/[A-Za-z_][A-Za-z0-9_]*/);
    if (!word && !ctx.explicit) return null;
    const view = ctx.view;
    if (!view) return null;
    const r = await client.ask({
      kind: "complete",
      ...client.doc(view),
      pos: posOf(view, ctx.pos),
    });
    if (r.kind !== "complete") return null;
    return {
      from: word?.from ?? ctx.pos,
      options: r.items.map((c: CompletionItem) => ({
        label: c.label,
        type: TYPE_OF[c.kind] ?? "text",
        detail: c.detail?.split("\n")[0],
        info: c.documentation,
        apply: c.insertText,
      })),
      validFor: /^[A-Za-z_][A-Za-z0-9_]*:?$/,
    };
  };
  // As the language's data, so basicSetup's own autocompletion() asks it.
  return dlmLanguage.data.of({ autocomplete: source });
}

// ---- signature help ---------------------------------------------------------------------------

const setSignature = StateEffect.define<Tooltip | null>();

const signatureField = StateField.define<Tooltip | null>({
  create: () => null,
  update(value, tr) {
    for (const e of tr.effects) if (e.is(setSignature)) return e.value;
    // A tooltip anchored before an edit moves with it; one whose call is gone waits for the answer.
    return value && tr.docChanged ? { ...value, pos: tr.changes.mapPos(value.pos) } : value;
  },
  provide: (f) => showTooltip.from(f),
});

function signatureDom(label: string, params: string[], active: number, doc?: string) {
  const dom = document.createElement("div");
  dom.className = "cm-dlm-signature";
  const sig = document.createElement("code");
  // The active parameter in bold, found by name after the opening parenthesis.
  const name = params[active];
  const open = label.indexOf("(");
  const at = name === undefined
    ? -1
    : label.slice(open + 1).search(new RegExp(`(?<![A-Za-z0-9_])${name}(?![A-Za-z0-9_])`));
  if (at >= 0) {
    const i = open + 1 + at;
    const b = document.createElement("b");
    b.textContent = name;
    sig.append(label.slice(0, i), b, label.slice(i + name.length));
  } else sig.textContent = label;
  dom.append(sig);
  if (doc) {
    const d = document.createElement("div");
    d.textContent = doc.split("\n")[0];
    dom.append(d);
  }
  return dom;
}

function signature(client: EditorClient): Extension {
  const plugin = ViewPlugin.fromClass(
    class {
      timer: ReturnType<typeof setTimeout> | undefined;
      seq = 0;
      constructor(readonly view: EditorView) {}
      update(u: { docChanged: boolean; selectionSet: boolean; view: EditorView }) {
        if (!u.docChanged && !u.selectionSet) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.ask(), 120);
      }
      async ask() {
        const view = this.view;
        const seq = ++this.seq;
        const head = view.state.selection.main.head;
        const r = await client.ask({
          kind: "signature",
          ...client.doc(view),
          pos: posOf(view, head),
        });
        if (seq !== this.seq) return; // the cursor moved on
        const tip: Tooltip | null = r.kind === "signature" && r.label
          ? {
            pos: view.state.selection.main.head,
            above: true,
            create: () => ({
              dom: signatureDom(r.label!, r.parameters ?? [], r.active ?? 0, r.documentation),
            }),
          }
          : null;
        if (tip || view.state.field(signatureField)) {
          view.dispatch({ effects: setSignature.of(tip) });
        }
      }
      destroy() {
        clearTimeout(this.timer);
      }
    },
  );
  return [signatureField, plugin];
}

/** Hover, completion and signature help from the worker's language service. */
export function languageService(client: EditorClient): Extension {
  return [hover(client), completion(client), signature(client)];
}

// ---- the graph, linked to the source both ways ------------------------------------------------

/** Whether a span is of the file open in the editor. */
function inFile(span: GraphLink["spans"][number], path: string): boolean {
  return span.file.replace(/^\.\//, "") === path.replace(/^\.\//, "");
}

/**
 * Link the SVG in `container` (compiler/viz/svg.ts: one `g.v` per vertex, in `links`' order) to
 * the editor: clicking a vertex selects its first span in the open file; the vertices whose
 * spans cover the cursor's line get the class `linked`.
 */
export class GraphLinks {
  #links: GraphLink[] = [];
  #vertices: Element[] = [];
  constructor(readonly view: () => EditorView, readonly path: () => string) {}

  attach(container: HTMLElement, links: GraphLink[]): void {
    this.#links = links;
    this.#vertices = [...container.querySelectorAll("g.nodes > g.v")];
    if (this.#vertices.length !== links.length) {
      // The drawing and the links disagree: better no links than wrong ones.
      this.#vertices = [];
      return;
    }
    this.#vertices.forEach((el, i) => {
      const span = this.#links[i].spans.find((s) => inFile(s, this.path()));
      if (!span) return;
      el.classList.add("has-source");
      el.addEventListener("click", () => {
        const v = this.view();
        const from = offsetOf(v, { line: span.line - 1, character: span.col - 1 });
        const to = offsetOf(v, { line: span.endLine - 1, character: span.endCol - 1 });
        v.dispatch({ selection: { anchor: from, head: to }, scrollIntoView: true });
        v.focus();
      });
    });
    this.highlight();
  }

  clear(): void {
    this.#links = [];
    this.#vertices = [];
  }

  /** Mark the vertices that came from the cursor's line; returns how many. */
  highlight(): number {
    const v = this.view();
    const line = v.state.doc.lineAt(v.state.selection.main.head).number;
    let n = 0;
    this.#vertices.forEach((el, i) => {
      const on = this.#links[i].spans.some((s) =>
        inFile(s, this.path()) && s.line <= line && line <= s.endLine
      );
      el.classList.toggle("linked", on);
      if (on) n++;
    });
    return n;
  }

  /** The editor extension that re-highlights when the cursor moves. */
  extension(): Extension {
    return EditorView.updateListener.of((u) => {
      if (u.selectionSet || u.docChanged) this.highlight();
    });
  }
}
