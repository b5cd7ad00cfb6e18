/**
 * The reference interpreter: naive, obviously-correct kernels for the ONNX
 * operators (opset 17 semantics, older forms where they differ) and a
 * runner for IR graphs and ONNX files. The oracle for `dlm diff`.
 */
export { DEFAULT_OPSET, runGraph, runOp, type RunOptions, type RunResult } from "./interpreter.ts";
export { runModelBytes } from "./model_bytes.ts";
export { type Kernel, type KernelContext, KernelError } from "./kernel.ts";
export { kernelFor, KERNELS } from "./kernels/mod.ts";
