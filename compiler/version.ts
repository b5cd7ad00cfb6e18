/**
 * The dlm version, written into every ONNX model as `producer_version`. One
 * constant (not read from deno.json at run time) so emitted bytes depend only
 * on the graph and this file.
 */
export const DLM_VERSION = "0.1.0";
