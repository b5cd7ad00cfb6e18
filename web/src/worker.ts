/**
 * The playground's worker: service.ts's requests answered off the page's thread, in order, so
 * that typing never waits on a check. Its workspace is the examples web/build.ts bundles.
 */
import EXAMPLES from "dlm:examples";
import { handle } from "./service.ts";
import type { Request, Response } from "./protocol.ts";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<Request>) => void) | null;
  postMessage: (m: Response, transfer?: Transferable[]) => void;
};
let queue = Promise.resolve();
scope.onmessage = (e) => {
  queue = queue.then(async () => {
    const res = await handle(e.data, EXAMPLES);
    const transfer = res.kind === "compile" && res.onnx ? [res.onnx.buffer as ArrayBuffer] : [];
    scope.postMessage(res, transfer);
  });
};
