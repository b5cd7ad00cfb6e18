/**
 * The playground's worker: service.ts's requests answered off the page's thread, in order, so
 * that typing never waits on a check. Its workspace is the examples web/build.ts bundles.
 */
import EXAMPLES from "dlm:examples";
import { handle } from "./service.ts";
import { preferWebGpu } from "./ort_web.ts";
import type { Request, Response } from "./protocol.ts";
import { EditorSide } from "./editor_service.ts";
import { EDITOR_KINDS, type EditorRequest, type EditorResponse } from "./editor_protocol.ts";

const editor = new EditorSide(EXAMPLES);
// The page's run tries WebGPU where the browser has an adapter (ort_web.ts); the training worker
// does not ask, so training stays on WASM.
preferWebGpu();

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<Request | EditorRequest>) => void) | null;
  postMessage: (m: Response | EditorResponse, transfer?: Transferable[]) => void;
};
let queue = Promise.resolve();
scope.onmessage = (e) => {
  const r = e.data;
  if (EDITOR_KINDS.has(r.kind)) {
    // The language service and the weights (editor_service.ts), over the workspace with edits.
    queue = queue.then(() => {
      const res = editor.handle(r as EditorRequest);
      const bytes = res.kind === "weights" ? res.safetensors : undefined;
      scope.postMessage(res, bytes ? [bytes.buffer as ArrayBuffer] : []);
    });
    return;
  }
  queue = queue.then(async () => {
    const res = await handle(r as Request, editor.workspace());
    const transfer = res.kind === "compile" && res.onnx ? [res.onnx.buffer as ArrayBuffer] : [];
    scope.postMessage(res, transfer);
  });
};
