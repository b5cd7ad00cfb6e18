/**
 * File helpers that never leave a half-written output: data goes to a
 * temporary file beside the target, which is renamed over it at the end.
 */
import { fail } from "../compiler/diagnostics.ts";

/** Write `bytes` to `path` atomically (temp file + rename). Raises DLM0409 on failure. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const tmp = `${path}.${Deno.pid}.${Date.now().toString(36)}.tmp`;
  try {
    Deno.writeFileSync(tmp, data);
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch { /* the temp file may not exist */ }
    fail("DLM0409", `Cannot write '${path}': ${describeFsError(e)}`);
  }
}

/** Read a whole file, raising DLM0401 with the reason when it cannot be read. */
export function readFileOrFail(path: string, what = "file"): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch (e) {
    fail("DLM0401", `Cannot read ${what} '${path}': ${describeFsError(e)}`);
  }
}

export function readTextOrFail(path: string, what = "file"): string {
  return new TextDecoder().decode(readFileOrFail(path, what));
}

/** A short, human reason for a file-system error. */
export function describeFsError(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file or directory";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  if (e instanceof Error) return e.message.replace(/,? ?(open|read|write|rename) '.*$/, "");
  return String(e);
}
