/**
 * The ONNX protobuf classes (onnx-proto, generated with protobufjs). One
 * import point so the rest of the code never touches the CommonJS package.
 */
import onnxProto from "onnx-proto";

// deno-lint-ignore no-explicit-any
export const onnx: any = (onnxProto as any).onnx;

export { longToBigInt, longToNumber } from "./long.ts";
