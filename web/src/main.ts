/// <reference lib="dom" />
/**
 * The playground page: a CodeMirror 6 editor with dlm highlighting and live diagnostics, the
 * example gallery, the graph view, compile-and-download, and run-and-diff. Everything the
 * compiler does happens in the worker (worker.ts), so typing never waits on a check.
 *
 * For tests and scripts, the page exposes its state on `document.body.dataset`: `checks` (checks
 * answered), `ready` (ms from navigation to the first example checked), `verdict` (the last
 * diff's), `backend` and `diffBackend` (where the last run and its diff's
 * onnxruntime side ran: "webgpu" or "wasm"), and `window.dlmPlayground` (the editor view and the current path).
 */
import EXAMPLES from "dlm:examples";
import { basicSetup, EditorView } from "codemirror";
import { EditorState, type Extension } from "@codemirror/state";
import { type Diagnostic as CmDiagnostic, linter, lintGutter } from "@codemirror/lint";
import { dlmLanguage } from "./dlm_language.ts";
import type { Request, Response, TensorInfo, WebDiagnostic } from "./protocol.ts";
import { EditorClient, fixActions, GraphLinks, languageService } from "./editor.ts";
import type { LintDiagnostic } from "./editor_protocol.ts";
import { clearState, editsOf, loadState, saveState } from "./persist.ts";
import { clearUploads, dimsBesideUploads, showUploads, uploads } from "./run_inputs.ts";
import "./train_panel.ts";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

// ---- the worker --------------------------------------------------------------------------------

/** A request without what `ask` adds (distributed over the request kinds). */
type Payload = Request extends infer R ? R extends Request ? Omit<R, "id" | "path" | "text"> : never
  : never;

const worker = new Worker("worker.js", { type: "module" });
/**
 * The language service answers in a second worker of the same script, so a check, a hover or a
 * completion never waits behind a compile, a run or its diff in the first (the reference
 * interpreter can take seconds). Both hold the edits of the files not open (`syncOthers`).
 */
const editorWorker = new Worker("worker.js", { type: "module" });
let nextId = 1;
const pending = new Map<number, (r: Response) => void>();
worker.onmessage = (e: MessageEvent<Response>) => {
  pending.get(e.data.id)?.(e.data);
  pending.delete(e.data.id);
};

function ask(p: Payload): Promise<Response> {
  const id = nextId++;
  const req = { ...p, id, path: current, text: view.state.doc.toString() } as Request;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    worker.postMessage(req);
  });
}

// ---- the editor --------------------------------------------------------------------------------

// The bundled examples with the edits saved by an earlier visit (persist.ts) on top.
const bundled = EXAMPLES as Record<string, string>;
const saved = loadState(globalThis.localStorage);
const files: Record<string, string> = { ...bundled, ...saved?.edits };
let current = saved && Object.hasOwn(files, saved.current) ? saved.current : "mlp.dlm";
let checks = 0;
const client = new EditorClient(editorWorker, () => current);
const graphLinks: GraphLinks = new GraphLinks(() => view, () => current);
/** Keystroke → diagnostics shown, in ms, for each check that followed an edit. */
const latencies: number[] = [];
/** The worker's part of each: the language service's check, in ms. */
const checkTimes: number[] = [];
let editedAt: number | undefined;

/** Save the open file and every edit (browser storage only), and give the worker the edits. */
function persist(): void {
  files[current] = view.state.doc.toString();
  const edits = editsOf(files, bundled);
  saveState(globalThis.localStorage, { current, edits });
  syncOthers(edits);
}

/**
 * Give the worker the edits of the files not open (the open one comes with every request): a
 * keystroke then changes nothing the worker holds, so its language service keeps its caches.
 */
function syncOthers(edits: Record<string, string>): void {
  const others = Object.fromEntries(Object.entries(edits).filter(([p]) => p !== current));
  const key = JSON.stringify(others);
  if (key === synced) return;
  synced = key;
  client.ask({ kind: "sync", files: others });
  // The compiling worker reads imports from the same edits; its answer is not waited for.
  worker.postMessage({ id: 0, kind: "sync", files: others });
}
let synced: string | undefined;
let persistTimer: ReturnType<typeof setTimeout> | undefined;

/** A compiler diagnostic as a CodeMirror one, at its line and column (1-based, clamped). */
export function toCm(state: EditorState, d: WebDiagnostic | LintDiagnostic): CmDiagnostic {
  const doc = state.doc;
  const pos = (line: number, col: number) => {
    const l = doc.line(Math.min(Math.max(1, line), doc.lines));
    return l.from + Math.min(Math.max(0, col - 1), l.length);
  };
  const from = pos(d.line ?? 1, d.col ?? 1);
  let to = pos(d.endLine ?? d.line ?? 1, d.endCol ?? d.col ?? 1);
  if (to <= from) to = Math.min(from + 1, doc.length);
  return {
    from,
    to,
    severity: d.severity,
    source: d.code,
    message: d.message,
    actions: fixActions(d),
  };
}

function showProblems(ds: WebDiagnostic[]): void {
  const ul = $("problems");
  ul.replaceChildren(
    ...ds.map((d) => {
      const li = document.createElement("li");
      li.className = d.severity;
      const where = d.file ? `${d.file}:${d.line}:${d.col}` : "";
      li.textContent = `${where} ${d.severity} ${d.code}: ${d.message.split("\n")[0]}`;
      li.dataset.code = d.code;
      if (d.line) li.dataset.line = String(d.line);
      return li;
    }),
  );
}

const dlmLinter = linter(async (v) => {
  const r = await client.lint(v);
  if (v.state.doc.toString() !== view.state.doc.toString()) return []; // stale: a newer check follows
  checks++;
  if (editedAt !== undefined) {
    checkTimes.push(r.checkMs ?? r.ms);
    latencies.push(performance.now() - editedAt);
    editedAt = undefined;
    document.body.dataset.latency = latencies[latencies.length - 1].toFixed(0);
  }
  const errors = r.diagnostics.filter((d) => d.severity === "error").length;
  setStatus(
    `${current}: checked in ${(r.checkMs ?? r.ms).toFixed(0)} ms, ${errors} error${
      errors === 1 ? "" : "s"
    }`,
  );
  showProblems(r.diagnostics);
  document.body.dataset.checks = String(checks);
  if (!document.body.dataset.ready) {
    document.body.dataset.ready = performance.now().toFixed(0);
  }
  return r.diagnostics.filter((d) => !d.file || d.file === current).map((d) => toCm(v.state, d));
}, { delay: 250 });

function setStatus(s: string): void {
  $("status").textContent = s;
}

/** The editor's extensions: highlighting, diagnostics, the language service, graph links. */
function extensions(): Extension[] {
  return [
    basicSetup,
    dlmLanguage,
    lintGutter(),
    dlmLinter,
    languageService(client),
    graphLinks.extension(),
    EditorView.updateListener.of((u) => {
      if (!u.docChanged) return;
      editedAt ??= performance.now();
      clearTimeout(persistTimer);
      persistTimer = setTimeout(persist, 300);
    }),
  ];
}

const view: EditorView = new EditorView({
  parent: $("editor"),
  state: EditorState.create({ doc: files[current], extensions: extensions() }),
});
syncOthers(editsOf(files, bundled));

function open(path: string): void {
  persist(); // edits survive switching examples and reloads
  current = path;
  view.setState(EditorState.create({ doc: files[path] ?? "", extensions: extensions() }));
  persist();
  graphLinks.clear();
  clearUploads($("uploads"));
  $("graph").replaceChildren();
  $("run-result").replaceChildren();
  $("dims").replaceChildren();
}

// ---- the gallery -------------------------------------------------------------------------------

const gallery = $<HTMLSelectElement>("gallery");
for (const path of Object.keys(files)) {
  const o = document.createElement("option");
  o.value = o.textContent = path;
  gallery.append(o);
}
gallery.value = current;
gallery.onchange = () => open(gallery.value);

// ---- graph, compile, run -----------------------------------------------------------------------

function failed(r: Response): boolean {
  if (r.kind === "failed" || r.diagnostics.some((d) => d.severity === "error")) {
    showProblems(r.diagnostics);
    const msg = r.kind === "failed" ? r.error : "fix the errors first";
    $("run-result").textContent = msg;
    setStatus(msg.split("\n")[0]);
    return true;
  }
  return false;
}

$("show-graph").onclick = async () => {
  setStatus("drawing the graph…");
  const r = await ask({ kind: "graph" });
  if (failed(r) || r.kind !== "graph" || !r.svg) return;
  // The SVG is the compiler's own output (compiler/viz/svg.ts escapes every label).
  $("graph").innerHTML = r.svg.replace(/^<\?xml[^>]*>\s*/, "");
  graphLinks.attach($("graph"), r.links ?? []);
  setStatus(`graph drawn in ${r.ms.toFixed(0)} ms`);
};

/** The symbolic dims of the inputs, each with a number field (kept across runs). */
function showDims(inputs: TensorInfo[]): void {
  const span = $("dims");
  const have = new Set([...span.querySelectorAll("input")].map((i) => i.name));
  for (const inp of inputs) {
    for (const d of inp.shape) {
      if (typeof d !== "string" || have.has(d)) continue;
      have.add(d);
      const label = document.createElement("label");
      label.textContent = `${d} `;
      const field = document.createElement("input");
      field.type = "number";
      field.min = "1";
      field.value = "1";
      field.name = d;
      label.append(field);
      span.append(label);
    }
  }
}

function dims(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of $("dims").querySelectorAll("input")) {
    const v = Number(i.value);
    if (Number.isInteger(v) && v >= 1) out[i.name] = v;
  }
  return out;
}

$("compile").onclick = async () => {
  setStatus("compiling…");
  const r = await ask({ kind: "compile" });
  if (failed(r) || r.kind !== "compile" || !r.onnx) return;
  showDims(r.inputs ?? []);
  inputs = r.inputs ?? [];
  showUploads($("uploads"), inputs);
  const url = URL.createObjectURL(
    new Blob([r.onnx as BlobPart], { type: "application/octet-stream" }),
  );
  const a = document.createElement("a");
  a.href = url;
  a.download = `${r.name}.onnx`;
  a.id = "download";
  a.textContent = `download ${r.name}.onnx (${r.onnx.byteLength.toLocaleString("en-US")} bytes)`;
  $("run-result").replaceChildren(a);
  a.click();
  setStatus(`compiled ${r.name} in ${r.ms.toFixed(0)} ms`);
};

/** The model's inputs, as the last compile or run reported them. */
let inputs: TensorInfo[] = [];

$("weights").onclick = async () => {
  setStatus("writing the weights…");
  const r = await client.ask({ kind: "weights", ...client.doc(view) });
  if (r.kind === "failed") {
    $("run-result").textContent = r.error;
    return setStatus(r.error.split("\n")[0]);
  }
  if (r.kind !== "weights" || !r.safetensors) {
    if (r.kind === "weights") showProblems(r.diagnostics);
    $("run-result").textContent = "fix the errors first";
    return;
  }
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([r.safetensors as BlobPart]));
  a.download = `${r.name}.safetensors`;
  a.id = "download-weights";
  a.textContent = `download ${r.name}.safetensors (${r.tensors} tensors, ${
    r.safetensors.byteLength.toLocaleString("en-US")
  } bytes)`;
  $("run-result").replaceChildren(a);
  a.click();
  setStatus(`weights written in ${r.ms.toFixed(0)} ms`);
};

$("reset").onclick = () => {
  if (!confirm("Forget every edit and reopen the bundled examples?")) return;
  clearTimeout(persistTimer);
  clearState(globalThis.localStorage);
  // A reload, without the unload-time save: the page starts as on a first visit.
  resetting = true;
  location.reload();
};
let resetting = false;
addEventListener("pagehide", () => {
  if (!resetting) persist();
});

const num = (v: number) => Number.isFinite(v) ? Number(v.toPrecision(5)).toString() : String(v);

$("run").onclick = async () => {
  setStatus("running on onnxruntime-web and the reference interpreter…");
  const r = await ask({
    kind: "run",
    dims: dimsBesideUploads(dims(), inputs),
    seed: 0,
    uploads: uploads(),
  });
  if (failed(r) || r.kind !== "run" || !r.outputs || !r.diff) return;
  showDims(r.inputs ?? []);
  inputs = r.inputs ?? [];
  showUploads($("uploads"), inputs);
  const rows = r.outputs.map((o) =>
    `<tr><td style="text-align:left">${esc(o.name)}</td><td>${o.dtype}[${
      o.shape.join(", ")
    }]</td>` +
    `<td>${num(o.min)}</td><td>${num(o.max)}</td><td>${num(o.mean)}</td><td>${num(o.std)}</td></tr>`
  ).join("");
  const verdict = r.diff.ok
    ? `<p class="verdict-ok" id="verdict">diff against the reference interpreter: ok</p>`
    : `<p class="verdict-fail" id="verdict">diff against the reference interpreter: FAIL${
      r.diff.divergence ? `; first divergence: ${esc(r.diff.divergence)}` : ""
    }</p>`;
  const other = r.diff.backend !== r.backend ? `; the diff's run: ${r.diff.backend}` : "";
  const backend = `<p id="backend">onnxruntime-web backend: <b>${r.backend ?? "wasm"}</b>${
    r.note ? ` <span class="note">(${esc(r.note)})</span>` : ""
  }${other}</p>`;
  $("run-result").innerHTML = `${backend}<table><tr><th style="text-align:left">output</th>` +
    `<th>shape</th><th>min</th><th>max</th><th>mean</th><th>std</th></tr>${rows}</table>` +
    `${verdict}<pre>${esc(r.diff.text)}</pre>`;
  document.body.dataset.backend = r.backend ?? "wasm";
  document.body.dataset.diffBackend = r.diff.backend;
  document.body.dataset.verdict = r.diff.ok ? "ok" : "fail";
  setStatus(`ran in ${r.ms.toFixed(0)} ms`);
};

function esc(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}

(globalThis as unknown as { dlmPlayground: unknown }).dlmPlayground = {
  view,
  get path() {
    return current;
  },
  open,
  latencies,
  checkTimes,
  graphLinks,
};
