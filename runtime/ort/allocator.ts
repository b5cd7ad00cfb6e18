/**
 * glibc malloc tuning for processes that move large tensors through
 * onnxruntime-node. The binding copies every output into a fresh JavaScript
 * buffer; glibc serves allocations above its mmap threshold (128 KiB at
 * first) with fresh pages, so each large output pays page faults and
 * zeroing on every run, and returns the pages to the system when collected.
 * A training step outputs every parameter and its optimiser state: for
 * ResNet-18 that is 90 MB per step, and 16 outputs of 5.6 MB cost 86 ms in
 * all against 59 ms with the heap keeping them (this machine, onnxruntime-node
 * 1.30). Raising the mmap threshold to its maximum (32 MiB on 64-bit) and
 * keeping up to 1 GiB of freed heap lets later runs reuse the same pages.
 *
 * Applied once, on Linux, and only where FFI is already permitted (`deno run
 * -A`, as the tasks run dlm): without the permission, or without glibc, it
 * does nothing.
 */

const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;
const MMAP_THRESHOLD_MAX = 32 * 1024 * 1024;
const TRIM_THRESHOLD = 1024 * 1024 * 1024;

let done = false;

/** Tune glibc's allocator for large, short-lived buffers. True when it was applied (now or before). */
export function tuneAllocator(): boolean {
  if (done) return true;
  if (Deno.build.os !== "linux") return false;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return false;
    const lib = Deno.dlopen("libc.so.6", {
      mallopt: { parameters: ["i32", "i32"], result: "i32" },
    });
    // mallopt returns 1 on success; a libc without these knobs leaves things as they were.
    const ok = lib.symbols.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) === 1 &&
      lib.symbols.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) === 1;
    lib.close();
    done = ok;
    return ok;
  } catch {
    return false;
  }
}
