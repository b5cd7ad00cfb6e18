/**
 * Tensor file formats: NumPy `.npy` and safetensors. Pure byte-level
 * encoders and decoders; callers read and write the files (runtime/fs.ts).
 */
export { readNpy, writeNpy } from "./npy.ts";
export {
  MAX_HEADER_BYTES,
  readSafetensors,
  type Safetensors,
  writeSafetensors,
} from "./safetensors.ts";
