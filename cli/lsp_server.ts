/**
 * The Language Server Protocol over the language service (compiler/service/):
 * `dlm lsp` starts it on stdin/stdout. Built on `vscode-languageserver` (the
 * protocol, JSON-RPC and incremental document sync are the package's), so
 * this file only maps requests onto the service and its answers onto the
 * protocol's types.
 *
 * Diagnostics are published after the document stops changing for
 * `debounceMs` (initializationOptions.debounceMs, default 25 ms), for the
 * changed document and every open one whose last check loaded it (an edit
 * to an imported file changes what its importers mean). A document with train sections is then
 * published again with the training compiler's checks once no document has changed for
 * `trainDelayMs` (default 400 ms): they build each section's step, too slow for a keystroke;
 * meanwhile the last ones published stay.
 * Inlay hints can be turned off with initializationOptions.inlayHints = false;
 * initializationOptions.fixDims (`{ "T": 35 }`) gives the sizes the quick fix of a "--dim" hint
 * writes. Each fix a diagnostic carries is a quick fix (a workspace edit, possibly of several
 * files); rename is prepared and refused with the service's reason.
 *
 * Formatting: `ServerOptions.format` is the hook `dlm fmt` plugs into
 * (text and path in, formatted text out, or undefined when the text does not
 * parse); without it the server does not offer document formatting.
 */
import {
  CodeActionKind,
  type Connection,
  type Diagnostic as LspDiagnostic,
  DiagnosticSeverity,
  ErrorCodes,
  type InitializeResult,
  type MarkupContent,
  ResponseError,
  SemanticTokensBuilder,
  SymbolKind,
  TextDocumentSyncKind,
  TextEdit,
} from "vscode-languageserver";
import { TextDocuments } from "vscode-languageserver";
import { TextDocument } from "vscode-languageserver-textdocument";
import {
  type Completion,
  type DocumentSymbol,
  type FileDiagnostic,
  type FileFix,
  LanguageService,
  type Location,
  TOKEN_MODIFIERS,
  TOKEN_TYPES,
} from "../compiler/service/service.ts";
import type { ReadFile } from "../compiler/check/program.ts";
import { CompletionItemKind } from "vscode-languageserver";

export interface ServerOptions {
  /** Reads files that are not open in the editor (imports). */
  read: ReadFile;
  /** `dlm fmt`'s formatter: the formatted text, or undefined when the text cannot be formatted. */
  format?: (text: string, path: string) => string | undefined;
  /**
   * Called with each published check's duration (the benchmark reads it), and whether it
   * included the training compiler's checks.
   */
  onChecked?: (path: string, ms: number, train: boolean) => void;
}

/** A `file://` URI's path, and back. Other schemes are kept as they are. */
export function uriToPath(uri: string): string {
  return uri.startsWith("file://") ? decodeURIComponent(uri.slice("file://".length)) : uri;
}
export function pathToUri(path: string): string {
  if (/^[a-z]+:/.test(path) && !path.startsWith("/")) return path;
  return "file://" + path.split("/").map(encodeURIComponent).join("/");
}

const SYMBOL_KINDS: Record<DocumentSymbol["kind"], SymbolKind> = {
  block: SymbolKind.Function,
  model: SymbolKind.Class,
  const: SymbolKind.Constant,
  train: SymbolKind.Event,
  param: SymbolKind.TypeParameter,
  input: SymbolKind.Field,
  let: SymbolKind.Variable,
  output: SymbolKind.Property,
  loop: SymbolKind.Variable,
  label: SymbolKind.Key,
};

const COMPLETION_KINDS: Record<Completion["kind"], CompletionItemKind> = {
  layer: CompletionItemKind.Class,
  function: CompletionItemKind.Function,
  block: CompletionItemKind.Module,
  model: CompletionItemKind.Class,
  variable: CompletionItemKind.Variable,
  argument: CompletionItemKind.Property,
  label: CompletionItemKind.Field,
  keyword: CompletionItemKind.Keyword,
};

/**
 * Serve the protocol on `connection` until it closes. After `stop()` (which `dlm lsp` calls on
 * `shutdown`; a connection keeps one shutdown handler) no pending check publishes: the client may
 * already have closed the connection.
 */
export function serve(connection: Connection, opts: ServerOptions): { stop(): void } {
  let service = new LanguageService(opts.read);
  const documents = new TextDocuments(TextDocument);
  let debounceMs = 25;
  let trainDelayMs = 400;
  let inlayHints = true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let trainTimer: ReturnType<typeof setTimeout> | undefined;
  const dirty = new Set<string>();
  /** Documents published without their training diagnostics, which wait for a rest. */
  const trainDue = new Set<string>();
  /**
   * The last training diagnostics published for each document: until the next ones replace them
   * they stay (without their fixes, whose edits may no longer fit the text), so that typing does
   * not make them blink, as rust-analyzer keeps cargo check's until the next check.
   */
  const lastTrain = new Map<string, FileDiagnostic[]>();

  const location = (l: Location) => ({ uri: pathToUri(l.path), range: l.range });

  const toLsp = (d: FileDiagnostic): LspDiagnostic => ({
    range: d.range,
    severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: d.code,
    source: "dlm",
    message: d.message,
    relatedInformation: d.related.map((r) => ({
      location: location(r.location),
      message: r.message,
    })),
    data: d.fixes?.length ? { fixes: d.fixes } : undefined,
  });

  /**
   * Publish the check's diagnostics of `uri`, with the training compiler's when `train` (or
   * when they are known already); otherwise they are due once the documents rest.
   */
  const publish = (uri: string, train = false) => {
    const path = uriToPath(uri);
    const t0 = performance.now();
    const found = service.diagnostics(path);
    if (service.hasTrainSections(path)) {
      if (train || service.analyze(path).train) {
        const t = service.trainDiagnostics(path);
        lastTrain.set(uri, t);
        found.push(...t);
      } else {
        trainDue.add(uri);
        found.push(...(lastTrain.get(uri) ?? []).map((d) => ({ ...d, fixes: undefined })));
      }
    } else lastTrain.delete(uri);
    const doc = documents.get(uri);
    connection.sendDiagnostics({ uri, version: doc?.version, diagnostics: found.map(toLsp) });
    opts.onChecked?.(path, performance.now() - t0, train);
  };

  let stopped = false;
  const stop = () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    if (trainTimer !== undefined) clearTimeout(trainTimer);
    timer = trainTimer = undefined;
  };

  const safely = (uri: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      // A bug of the checker's must not end the session: the editor's log gets it.
      connection.console.error(`dlm lsp: checking ${uri} failed: ${(e as Error)?.stack ?? e}`);
    }
  };

  /**
   * The training compiler's checks build each section's step, slower than a keystroke's check:
   * they run once no document has changed for `trainDelayMs`, and a change in the meantime puts
   * them off again, so typing is never held up by them.
   */
  const scheduleTrain = () => {
    if (stopped || trainDue.size === 0) return;
    if (trainTimer !== undefined) clearTimeout(trainTimer);
    trainTimer = setTimeout(() => {
      trainTimer = undefined;
      const due = [...trainDue];
      trainDue.clear();
      for (const u of due) {
        if (stopped || !documents.get(u)) continue;
        safely(u, () => publish(u, true));
      }
    }, trainDelayMs);
  };

  const schedule = (uri: string) => {
    if (stopped) return;
    dirty.add(uri);
    if (timer !== undefined) clearTimeout(timer);
    if (trainTimer !== undefined) clearTimeout(trainTimer);
    trainTimer = undefined;
    timer = setTimeout(() => {
      timer = undefined;
      // The changed documents first, then the open ones that import them.
      const order = new Set(dirty);
      const affected = new Set([...dirty].flatMap((u) => service.affectedBy(uriToPath(u))));
      for (const u of documents.keys()) if (affected.has(uriToPath(u))) order.add(u);
      dirty.clear();
      for (const u of order) {
        if (stopped || !documents.get(u)) continue;
        safely(u, () => publish(u));
      }
      scheduleTrain();
    }, debounceMs);
  };

  connection.onInitialize((params): InitializeResult => {
    const init = (params.initializationOptions ?? {}) as {
      debounceMs?: number;
      trainDelayMs?: number;
      inlayHints?: boolean;
      fixDims?: Record<string, number>;
    };
    if (typeof init.debounceMs === "number" && init.debounceMs >= 0) debounceMs = init.debounceMs;
    if (typeof init.trainDelayMs === "number" && init.trainDelayMs >= 0) {
      trainDelayMs = init.trainDelayMs;
    }
    if (init.inlayHints === false) inlayHints = false;
    const fixDims = Object.fromEntries(
      Object.entries(init.fixDims ?? {}).filter(([k, v]) =>
        /^[A-Za-z_]\w*$/.test(k) && Number.isInteger(v) && v > 0
      ),
    );
    if (Object.keys(fixDims).length) service = new LanguageService(opts.read, { fixDims });
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        documentSymbolProvider: true,
        workspaceSymbolProvider: true,
        completionProvider: { triggerCharacters: ["(", ",", " ", "|", ">"] },
        signatureHelpProvider: { triggerCharacters: ["(", ","] },
        inlayHintProvider: inlayHints,
        renameProvider: { prepareProvider: true },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        semanticTokensProvider: {
          legend: { tokenTypes: [...TOKEN_TYPES], tokenModifiers: [...TOKEN_MODIFIERS] },
          full: true,
        },
        documentFormattingProvider: opts.format !== undefined,
      },
      serverInfo: { name: "dlm" },
    };
  });

  documents.onDidChangeContent((e) => {
    service.update(uriToPath(e.document.uri), e.document.getText(), e.document.version);
    schedule(e.document.uri);
  });
  documents.onDidClose((e) => {
    service.close(uriToPath(e.document.uri));
    lastTrain.delete(e.document.uri);
    trainDue.delete(e.document.uri);
    connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  const pathOf = (uri: string) => uriToPath(uri);

  connection.onHover((p) => {
    const h = service.hover(pathOf(p.textDocument.uri), p.position);
    if (!h) return null;
    const contents: MarkupContent = { kind: "markdown", value: h.markdown };
    return { contents, range: h.range };
  });
  connection.onDefinition((p) => {
    const l = service.definition(pathOf(p.textDocument.uri), p.position);
    return l ? location(l) : null;
  });
  connection.onReferences((p) =>
    service.references(pathOf(p.textDocument.uri), p.position, p.context.includeDeclaration)
      .map(location)
  );
  connection.onDocumentSymbol((p) => {
    const conv = (s: DocumentSymbol): import("vscode-languageserver").DocumentSymbol => ({
      name: s.name,
      kind: SYMBOL_KINDS[s.kind],
      detail: s.detail,
      range: s.range,
      selectionRange: s.selectionRange,
      children: s.children.map(conv),
    });
    return service.documentSymbols(pathOf(p.textDocument.uri)).map(conv);
  });
  connection.onWorkspaceSymbol((p) =>
    service.workspaceSymbols(p.query).map((s) => ({
      name: s.name,
      kind: SYMBOL_KINDS[s.kind],
      location: location(s.location),
      containerName: s.container,
    }))
  );
  connection.onCompletion((p) =>
    service.completion(pathOf(p.textDocument.uri), p.position).map((c) => ({
      label: c.label,
      kind: COMPLETION_KINDS[c.kind],
      detail: c.detail,
      documentation: c.documentation,
      insertText: c.insertText,
    }))
  );
  connection.onSignatureHelp((p) => {
    const h = service.signatureHelp(pathOf(p.textDocument.uri), p.position);
    if (!h) return null;
    return {
      signatures: [{
        label: h.label,
        documentation: h.documentation,
        parameters: h.parameters.map((name) => ({ label: name })),
      }],
      activeSignature: 0,
      activeParameter: h.activeParameter,
    };
  });
  connection.languages.inlayHint.on((p) => {
    if (!inlayHints) return [];
    return service.inlayHints(pathOf(p.textDocument.uri), p.range)
      .map((h) => ({ position: h.position, label: h.label, paddingLeft: false }));
  });
  connection.onPrepareRename((p) => {
    const r = service.prepareRename(pathOf(p.textDocument.uri), p.position);
    if (typeof r === "string") throw new ResponseError(ErrorCodes.InvalidRequest, r);
    return { range: r.range, placeholder: r.placeholder };
  });
  connection.onRenameRequest((p) => {
    const r = service.rename(pathOf(p.textDocument.uri), p.position, p.newName);
    if (typeof r === "string") throw new ResponseError(ErrorCodes.InvalidRequest, r);
    const changes: Record<string, TextEdit[]> = {};
    for (const [path, edits] of r) {
      changes[pathToUri(path)] = edits.map((e) => TextEdit.replace(e.range, e.newText));
    }
    return { changes };
  });
  // Each fix a diagnostic carries (its data, from the checker's catalogue of fixes) is a quick
  // fix; its edits may reach other files (a workspace edit).
  connection.onCodeAction((p) =>
    p.context.diagnostics.flatMap((d) => {
      const fixes = (d.data as { fixes?: FileFix[] } | undefined)?.fixes ?? [];
      return fixes.map((fix, i) => {
        const changes: Record<string, TextEdit[]> = {};
        for (const e of fix.edits) {
          (changes[pathToUri(e.path)] ??= []).push(TextEdit.replace(e.range, e.newText));
        }
        return {
          title: fix.title,
          kind: CodeActionKind.QuickFix,
          diagnostics: [d],
          isPreferred: i === 0,
          edit: { changes },
        };
      });
    })
  );
  connection.languages.semanticTokens.on((p) => {
    const b = new SemanticTokensBuilder();
    for (const t of service.semanticTokens(pathOf(p.textDocument.uri))) {
      let mods = 0;
      for (const m of t.modifiers) mods |= 1 << TOKEN_MODIFIERS.indexOf(m);
      b.push(t.line, t.character, t.length, TOKEN_TYPES.indexOf(t.type), mods);
    }
    return b.build();
  });
  connection.onDocumentFormatting((p) => {
    const doc = documents.get(p.textDocument.uri);
    if (!doc || !opts.format) return null;
    const text = doc.getText();
    const formatted = opts.format(text, uriToPath(doc.uri));
    if (formatted === undefined || formatted === text) return [];
    return [
      TextEdit.replace({ start: doc.positionAt(0), end: doc.positionAt(text.length) }, formatted),
    ];
  });

  documents.listen(connection);
  connection.listen();
  return { stop };
}
