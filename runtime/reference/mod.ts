/**
 * The reference interpreter: naive, obviously-correct kernels for the ONNX
 * operators (opset 17 semantics, older forms where they differ) and a
 * runner for IR graphs and ONNX files. The oracle for `dlm diff`.
 */
export { DEFAULT_OPSET, type RunOptions, type RunResult, runGraph, runModelBytes } from "./interpreter.ts";
export { type Kernel, type KernelContext, KernelError } from "./kernel.ts";
export { KERNELS, kernelFor } from "./kernels/mod.ts";
