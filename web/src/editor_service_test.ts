import assert from "node:assert/strict";
import { EditorSide } from "./editor_service.ts";
import { handle } from "./service.ts";
import { exampleFiles } from "../build.ts";
import { readSafetensors } from "../../runtime/formats/safetensors.ts";
import { writeNpy } from "../../runtime/formats/npy.ts";
import { tensor } from "../../compiler/ir/tensor.ts";
import { clearState, editsOf, type KeyValueStore, loadState, saveState } from "./persist.ts";

const files = exampleFiles();

const TINY = `model Tiny {
  input x: f32[N, 4]
  output y: f32[N, 3] = x |> fc: linear(3) |> tanhx
}
`;

function at(text: string, needle: string, plus = 0) {
  const i = text.indexOf(needle) + plus;
  const before = text.slice(0, i).split("\n");
  return { line: before.length - 1, character: before[before.length - 1].length };
}

Deno.test("lint: the language service's diagnostic with its did-you-mean fix", () => {
  const s = new EditorSide(files);
  const r = s.handle({ id: 1, kind: "lint", path: "t.dlm", text: TINY, version: 1 });
  assert.equal(r.kind, "lint");
  if (r.kind !== "lint") return;
  assert.equal(r.diagnostics.length, 1);
  const d = r.diagnostics[0];
  assert.deepEqual([d.code, d.line, d.col, d.endCol], ["DLM0101", 3, 47, 52]);
  assert.deepEqual(d.fixes, [{
    label: "Change to 'tanh'",
    changes: [{
      from: { line: 2, character: 46 },
      to: { line: 2, character: 51 },
      newText: "tanh",
    }],
  }]);
});

Deno.test("hover shows a pipe stage's shape; completion offers built-ins; signature help", () => {
  const s = new EditorSide(files);
  const text = TINY.replace("tanhx", "tanh");
  const doc = { path: "t.dlm", text, version: 1 };
  const h = s.handle({ id: 1, kind: "hover", ...doc, pos: at(text, "linear", 1) });
  assert.equal(h.kind, "hover");
  if (h.kind === "hover") assert.match(h.markdown ?? "", /f32\[N, 3\]/);
  const c = s.handle({ id: 2, kind: "complete", ...doc, pos: at(text, "tanh", 2) });
  assert.equal(c.kind, "complete");
  if (c.kind === "complete") {
    const labels = c.items.map((i) => i.label);
    assert.ok(labels.includes("relu") && labels.includes("conv2d"), labels.slice(0, 20).join());
  }
  const sig = s.handle({ id: 3, kind: "signature", ...doc, pos: at(text, "linear(", 7) });
  assert.equal(sig.kind, "signature");
  if (sig.kind === "signature") assert.match(sig.label ?? "", /^linear\(/);
});

Deno.test("sync: an edited library file is what an importing file sees", () => {
  const lib = (act: string) => `block B()(x: f32[N, C]) {\n  return x |> ${act}\n}\n`;
  const s = new EditorSide({ "lib/l.dlm": lib("relu") });
  const text =
    `import "lib/l.dlm"\nmodel M {\n  input x: f32[2, 4]\n  output y: f32[2, 4] = x |> B\n}\n`;
  const lint = () => {
    const r = s.handle({ id: 1, kind: "lint", path: "m.dlm", text, version: 1 });
    return r.kind === "lint" ? r.diagnostics.map((d) => d.code) : ["failed"];
  };
  assert.deepEqual(lint(), []);
  const checkMs = (r: ReturnType<EditorSide["handle"]>) => r.kind === "lint" ? r.checkMs : -1;
  const before = checkMs(s.handle({ id: 1, kind: "lint", path: "m.dlm", text, version: 1 }));
  // The same edits again keep the service and its check (a keystroke in the open file syncs none).
  s.handle({ id: 2, kind: "sync", files: {} });
  assert.equal(checkMs(s.handle({ id: 1, kind: "lint", path: "m.dlm", text, version: 1 })), before);
  s.handle({ id: 2, kind: "sync", files: { "lib/l.dlm": lib("reluu") } });
  assert.equal(s.workspace()["lib/l.dlm"], lib("reluu"));
  assert.deepEqual(lint(), ["DLM0101"]);
});

Deno.test("weights: safetensors that the CLI's reader parses, one tensor per parameter", () => {
  const s = new EditorSide(files);
  const text = TINY.replace("tanhx", "tanh");
  const r = s.handle({ id: 1, kind: "weights", path: "t.dlm", text, version: 1 });
  assert.equal(r.kind, "weights");
  if (r.kind !== "weights" || !r.safetensors) throw new Error("no weights");
  const st = readSafetensors(r.safetensors, "Tiny.safetensors");
  assert.deepEqual([...st.tensors.keys()].sort(), ["fc.bias", "fc.weight"]);
  assert.deepEqual(st.tensors.get("fc.weight")!.shape, [3, 4]);
  assert.equal(r.tensors, 2);
  assert.equal(st.metadata.producer, "dlm");
  const bad = s.handle({ id: 2, kind: "weights", path: "t.dlm", text: TINY, version: 2 });
  assert.ok(bad.kind === "weights" && !bad.safetensors && bad.diagnostics.length === 1);
});

Deno.test("graph: one link per drawn vertex, the linear's node spanning its line", async () => {
  const text = TINY.replace("tanhx", "tanh");
  const r = await handle({ id: 1, kind: "graph", path: "t.dlm", text }, files);
  if (r.kind !== "graph" || !r.svg || !r.links) throw new Error("no graph");
  const drawn = [...r.svg.matchAll(/<g class="v[ "]/g)].length;
  assert.equal(r.links.length, drawn);
  assert.ok(r.links.some((l) => l.spans.some((s) => s.file === "t.dlm" && s.line === 3)));
});

// The good upload runs in the browser test (onnxruntime-web needs a page); here the check that
// refuses a wrong file before any session is made.
Deno.test("run: an uploaded .npy of the wrong shape is dlm run's DLM0411 message", async () => {
  const text = TINY.replace("tanhx", "tanh");
  const wrong = tensor("f32", [5, 3], new Float32Array(15));
  const bad = await handle({
    id: 2,
    kind: "run",
    path: "t.dlm",
    text,
    dims: {},
    seed: 0,
    uploads: [{ input: "x", file: "wrong.npy", bytes: writeNpy(wrong) }],
  }, files);
  assert.equal(bad.kind, "failed");
  if (bad.kind === "failed") {
    assert.equal(bad.diagnostics[0].code, "DLM0411");
    assert.match(bad.error, /wrong\.npy/);
  }
});

Deno.test("persist: edits and the open file round-trip; junk and a refusing store are ignored", () => {
  const m = new Map<string, string>();
  const store: KeyValueStore = {
    getItem: (k) => m.get(k) ?? null,
    setItem: (k, v) => void m.set(k, v),
    removeItem: (k) => void m.delete(k),
  };
  const bundled = { "a.dlm": "A", "b.dlm": "B" };
  const edits = editsOf({ "a.dlm": "A", "b.dlm": "B2", "new.dlm": "N" }, bundled);
  assert.deepEqual(edits, { "b.dlm": "B2", "new.dlm": "N" });
  assert.ok(saveState(store, { current: "b.dlm", edits }));
  assert.deepEqual(loadState(store), { current: "b.dlm", edits });
  clearState(store);
  assert.equal(loadState(store), undefined);
  m.set("dlm-playground:workspace:v1", "{not json");
  assert.equal(loadState(store), undefined);
  const full: KeyValueStore = {
    ...store,
    setItem: () => {
      throw new Error("QuotaExceededError");
    },
  };
  assert.equal(saveState(full, { current: "a.dlm", edits: {} }), false);
});
