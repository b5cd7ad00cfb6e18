/**
 * File helpers that never leave a half-written output: data goes to a
 * temporary file beside the target, which is renamed over it at the end.
 */
import { diag, fail } from "../compiler/diagnostics.ts";

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
    fail(...diag("DLM0409", `'${path}'`, describeFsError(e)));
  }
}

/**
 * What a file is written from: bytes, text (UTF-8), or consecutive byte
 * ranges read one at a time (a chunk may be a reused buffer: it is written
 * before the next is read).
 */
export type FileBytes = Uint8Array | string | Iterable<Uint8Array>;

/**
 * Write several files as one step: every file goes to a temporary file
 * first, and only when all of them are written are they renamed into
 * place. A failure leaves none of the targets changed (DLM0409).
 */
export function writeFilesAtomic(files: { path: string; bytes: FileBytes }[]): void {
  const temps: { tmp: string; path: string }[] = [];
  const cleanup = () => {
    for (const t of temps) {
      try {
        Deno.removeSync(t.tmp);
      } catch { /* already gone */ }
    }
  };
  for (const f of files) {
    const tmp = `${f.path}.${Deno.pid}.${Date.now().toString(36)}.tmp`;
    // Listed before it is written: a failure midway removes the partial temporary.
    temps.push({ tmp, path: f.path });
    try {
      if (typeof f.bytes === "string") Deno.writeFileSync(tmp, new TextEncoder().encode(f.bytes));
      else if (f.bytes instanceof Uint8Array) Deno.writeFileSync(tmp, f.bytes);
      else writeChunks(tmp, f.bytes);
    } catch (e) {
      cleanup();
      // A failure to produce the bytes is the producer's, not the file system's.
      if (e instanceof SourceFailed) throw e.cause;
      fail(...diag("DLM0409", `'${f.path}'`, describeFsError(e)));
    }
  }
  for (const t of temps) {
    try {
      Deno.renameSync(t.tmp, t.path);
    } catch (e) {
      cleanup();
      fail(...diag("DLM0409", `'${t.path}'`, describeFsError(e)));
    }
  }
}

/** Read a whole file, raising DLM0401 with the reason when it cannot be read. */
export function readFileOrFail(path: string, what = "file"): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch (e) {
    fail(...diag("DLM0401", `${what} '${path}'`, describeFsError(e)));
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
  if (e instanceof Deno.errors.AlreadyExists) return "a file of that name already exists";
  if (e instanceof Deno.errors.NotADirectory) return "a part of the path is not a folder";
  // Deno's messages end with "(os error N): op 'path'"; the path is already in our message.
  if (e instanceof Error) {
    return e.message.replace(/ \(os error \d+\).*$/, "").replace(
      /,? ?(open|read|write|rename|mkdir) '.*$/,
      "",
    ).toLowerCase();
  }
  return String(e);
}

/** Write consecutive byte ranges to one file without joining them in memory first. */
function writeChunks(path: string, chunks: Iterable<Uint8Array>): void {
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  try {
    const it = chunks[Symbol.iterator]();
    for (;;) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = it.next();
      } catch (e) {
        throw new SourceFailed(e);
      }
      if (r.done) break;
      const p = r.value;
      for (let off = 0; off < p.length;) off += file.writeSync(p.subarray(off));
    }
  } finally {
    file.close();
  }
}

/** An error thrown while producing a file's bytes (not while writing them). */
class SourceFailed {
  constructor(readonly cause: unknown) {}
}
