/**
 * ort_web.ts's choice of backend, in Deno: onnxruntime-web's WASM build runs here (its runtime
 * files read from node_modules), and the WebGPU build is a stand-in given to `preferWebGpu`, whose
 * sessions are WASM sessions that can be made to fail at creation or at the first run. The real
 * WebGPU build runs in tests/web_test.ts, in Chromium.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-web/wasm";
import { configureOrt, createSession, preferWebGpu, webGpuFallback } from "./ort_web.ts";
import { handle } from "./service.ts";
import { DlmError } from "../../compiler/diagnostics.ts";

configureOrt(new URL("./", import.meta.resolve("onnxruntime-web")).href);

type Ort = typeof ort;
const MODEL =
  "model M {\n  input x: f32[N, 4]\n  output y: f32[N, 4] = x |> fc: linear(4) |> relu\n}\n";

/** A stand-in WebGPU build: asked for "webgpu", it makes WASM sessions, or fails as told. */
function fakeWebGpu(
  fail: { create?: string; run?: string } = {},
): { ort: Ort; created: string[][] } {
  const created: string[][] = [];
  const InferenceSession = {
    async create(model: Uint8Array, o: { executionProviders: string[] }) {
      created.push(o.executionProviders);
      if (fail.create) throw new Error(fail.create);
      const real = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
      if (!fail.run) return real;
      return {
        inputNames: real.inputNames,
        outputNames: real.outputNames,
        run: () => Promise.reject(new Error(fail.run)),
        release: () => real.release(),
      };
    },
  };
  return { ort: { ...ort, InferenceSession } as unknown as Ort, created };
}

async function run(text = MODEL) {
  const r = await handle({ id: 1, kind: "run", path: "m.dlm", text, dims: { N: 3 }, seed: 0 }, {});
  assert.equal(r.kind, "run", JSON.stringify(r));
  if (r.kind !== "run") throw new Error("unreachable");
  assert.equal(r.diff?.ok, true, r.diff?.text ?? "no diff");
  return r;
}

Deno.test("a worker that does not ask for WebGPU (training's) runs on WASM, without a note", async () => {
  preferWebGpu(false);
  const r = await run();
  assert.equal(r.backend, "wasm");
  assert.equal(r.note, undefined);
});

Deno.test("the run is on WebGPU when the build loads", async () => {
  const fake = fakeWebGpu();
  preferWebGpu(true, () => Promise.resolve(fake.ort));
  const r = await run();
  assert.equal(r.backend, "webgpu");
  assert.equal(r.note, undefined);
  // The run's session. (The diff's comes from runtime/ort/mod.ts, which only the bundle replaces
  // by ort_web.ts: in Deno it is onnxruntime-node's.)
  assert.deepEqual(fake.created, [["webgpu"]]);
  preferWebGpu(false);
});

Deno.test("no adapter: the run is on WASM with a note saying why", async () => {
  let asked = 0;
  preferWebGpu(true, () => Promise.resolve((asked++, "WebGPU gave no adapter")));
  const r = await run();
  assert.equal(r.backend, "wasm");
  assert.equal(r.note, "WebGPU gave no adapter; ran on WASM");
  await run();
  assert.equal(asked, 1, "the adapter is asked for once per worker");
  preferWebGpu(false);
});

Deno.test("a session WebGPU cannot create falls back to WASM with onnxruntime's reason", async () => {
  preferWebGpu(true, () => Promise.resolve(fakeWebGpu({ create: "no kernel for Foo" }).ort));
  const r = await run();
  assert.equal(r.backend, "wasm");
  assert.equal(r.note, "WebGPU could not create the session (no kernel for Foo); ran on WASM");
  preferWebGpu(false);
});

Deno.test("a first run WebGPU cannot do is run again on WASM, and the session says so", async () => {
  preferWebGpu(true, () => Promise.resolve(fakeWebGpu({ run: "device lost" }).ort));
  const r = await run();
  assert.equal(r.backend, "wasm");
  assert.match(r.note ?? "", /^WebGPU could not run the model \(.*device lost.*\); ran on WASM$/);
  preferWebGpu(false);
});

Deno.test("wrong feeds on a WebGPU session are reported, not retried on WASM", async () => {
  const fake = fakeWebGpu();
  preferWebGpu(true, () => Promise.resolve(fake.ort));
  const c = await handle({ id: 1, kind: "compile", path: "m.dlm", text: MODEL }, {});
  assert.ok(c.kind === "compile" && c.onnx);
  const s = await createSession(c.onnx);
  await assert.rejects(s.run({}), (e) => e instanceof DlmError && /DLM0419/.test(e.message));
  assert.equal(s.backend, "webgpu");
  assert.equal(webGpuFallback(), undefined);
  await s.release();
  preferWebGpu(false);
});
