/**
 * onnxruntime-web's WebGPU build, an entry of its own (web/build.ts writes it to `ort/webgpu.js`):
 * ort_web.ts imports it by URL only once the browser has given a WebGPU adapter, so a page without
 * one never downloads it or its runtime (`ort-wasm-simd-threaded.asyncify.{mjs,wasm}`).
 */
export * from "onnxruntime-web/webgpu";
