import assert from "node:assert/strict";
import { tuneAllocator } from "./allocator.ts";

Deno.test("tuneAllocator applies glibc's settings once where FFI is allowed, and says so", () => {
  const ffi = Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  const first = tuneAllocator();
  if (Deno.build.os === "linux" && ffi) assert.equal(first, true);
  if (!ffi) assert.equal(first, false);
  // Idempotent.
  assert.equal(tuneAllocator(), first);
});
