/**
 * Every file dlm writes goes through here, and none is ever left half-written
 * or destroyed:
 *
 * - Data goes to a temporary file beside the file it replaces, named
 *   `<target>.<pid>.<random>.tmp`, which is renamed over the target at the
 *   end. A failure dlm sees (no space left, a write error in any chunk of a
 *   streamed write, a failure to produce the bytes) removes the temporary.
 * - An output path that exists must be a regular file, or a symbolic link
 *   (through any chain of links) to one or to nothing yet: a link is written
 *   through, its target replaced and the link kept, as editors and `install`
 *   do; a directory, a device, a FIFO or a socket is refused (DLM0409) and
 *   left as it was. A replaced file keeps its permission bits.
 * - The temporary's data is flushed to the disk (fsync) before the rename, and
 *   the folder's entry after it where the platform allows (POSIX; Windows
 *   cannot open a folder for it): after a crash or a power cut the target is
 *   the old file or the whole new one, never an empty or a partial file that
 *   the journal renamed before the data arrived (ext4's delayed allocation,
 *   XFS). `fsOps` holds these calls, for tests to watch them.
 * - A temporary that outlived its process (kill -9, a power cut) is removed by
 *   the next write to the same path, when its pid names no running process.
 *   Whether a process runs is read from `/proc/<pid>` (Linux); where there is
 *   no `/proc`, no temporary is removed, since dlm cannot tell. Hosts that
 *   share a folder across pid namespaces (containers) may see another
 *   namespace's live writer as gone; do not point two such hosts at one output.
 *
 * `checkOutputFile` and `checkOutputDir` apply the same rules, plus a probe
 * that the folder takes a new file (a read-only file system, a folder
 * without write permission), before any work: the CLI runs them on every
 * output option (cli/command.ts).
 */
import { diag, fail } from "../compiler/diagnostics.ts";

/** Write `bytes` to `path` atomically (temp file + rename). Raises DLM0409 on failure. */
export function writeFileAtomic(path: string, bytes: FileBytes): void {
  writeFilesAtomic([{ path, bytes }]);
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
 * place. A failure leaves none of the targets changed and no temporary
 * behind (DLM0409; a failure to produce the bytes is rethrown as it is).
 */
export function writeFilesAtomic(files: { path: string; bytes: FileBytes }[]): void {
  const w = new AtomicWrite(files);
  files.forEach((f, i) => w.one(i, (tmp) => writeChunks(tmp, f.bytes)));
  w.commit();
}

/**
 * writeFilesAtomic, with each file's bytes written while its next ones are
 * produced: a chunk is copied into one of two 1 MiB buffers, and a full
 * buffer is written by an asynchronous write (which Deno runs off the main
 * thread) while the other fills. `dlm compile` draws ResNet-50's 100 MB of
 * weights on the main thread while the previous megabyte goes to the file,
 * instead of after it. The same guarantees, and the same errors.
 */
export async function writeFilesAtomicAsync(
  files: { path: string; bytes: FileBytes }[],
): Promise<void> {
  const w = new AtomicWrite(files);
  for (let i = 0; i < files.length; i++) {
    await w.oneAsync(i, (tmp) => writeChunksAsync(tmp, files[i].bytes));
  }
  w.commit();
}

/** The steps of an all-or-nothing write of several files (writeFilesAtomic). */
class AtomicWrite {
  readonly #targets: OutputTarget[];
  readonly #temps: { tmp: string; target: OutputTarget; path: string }[] = [];

  constructor(readonly files: { path: string; bytes: FileBytes }[]) {
    // Every path is checked before anything is written: a refused one changes nothing.
    const targets = files.map((f) => resolveOutput(f.path));
    // Two outputs leading to one file (through a link) would overwrite each other.
    targets.forEach((t, i) => {
      const j = targets.findIndex((u) => u.path === t.path);
      if (j < i) refuse(files[i].path, undefined, `'${files[j].path}' leads to the same file`);
    });
    this.#targets = targets;
  }

  #cleanup(): void {
    for (const t of this.#temps) {
      try {
        Deno.removeSync(t.tmp);
      } catch { /* already gone */ }
    }
  }

  /** A fresh temporary for file i, listed before it is written (a failure removes it). */
  #temp(i: number): string {
    const target = this.#targets[i];
    removeStaleTemps(target.path);
    const tmp = tempPathFor(target.path);
    this.#temps.push({ tmp, target, path: this.files[i].path });
    return tmp;
  }

  #written(tmp: string, i: number): void {
    const mode = this.#targets[i].mode;
    if (mode !== undefined) Deno.chmodSync(tmp, mode & 0o7777);
  }

  #failed(e: unknown, i: number): never {
    this.#cleanup();
    // A failure to produce the bytes is the producer's, not the file system's.
    if (e instanceof SourceFailed) throw e.cause;
    fail(...diag("DLM0409", `'${this.files[i].path}'`, describeFsError(e)));
  }

  one(i: number, write: (tmp: string) => void): void {
    const tmp = this.#temp(i);
    try {
      write(tmp);
      this.#written(tmp, i);
    } catch (e) {
      this.#failed(e, i);
    }
  }

  async oneAsync(i: number, write: (tmp: string) => Promise<void>): Promise<void> {
    const tmp = this.#temp(i);
    try {
      await write(tmp);
      this.#written(tmp, i);
    } catch (e) {
      this.#failed(e, i);
    }
  }

  /** Every temporary renamed into place (after all were written), then each folder synced. */
  commit(): void {
    const dirs = new Set<string>();
    for (const t of this.#temps) {
      try {
        fsOps.rename(t.tmp, t.target.path);
      } catch (e) {
        this.#cleanup();
        fail(...diag("DLM0409", `'${t.path}'`, describeFsError(e)));
      }
      dirs.add(parentOf(t.target.path));
    }
    // The renames are durable once each folder's entries are: one sync a folder.
    for (const d of dirs) fsOps.syncDir(d);
  }
}

/**
 * The file-system calls that make a write durable, as one object so that a test can see them
 * called in order (fs_test.ts): `syncFile` flushes a written temporary (fsync) before it is
 * renamed, `rename` puts it in place, `syncDir` flushes the folder's entries after the renames.
 * `syncDir` does nothing where a folder cannot be opened (Windows) or synced (some network file
 * systems): the data itself is safe by then, only the rename may be lost.
 */
export const fsOps = {
  syncFile(file: Deno.FsFile, _path: string): void {
    file.syncSync();
  },
  rename(from: string, to: string): void {
    Deno.renameSync(from, to);
  },
  syncDir(dir: string): void {
    let d: Deno.FsFile;
    try {
      d = Deno.openSync(dir, { read: true });
    } catch {
      return;
    }
    try {
      d.syncSync();
    } catch {
      /* a folder this platform does not sync */
    } finally {
      d.close();
    }
  },
};

/**
 * Check, before any work, that `path` can be written as a file: it is a
 * regular file, a symbolic link to one (or to a file not there yet) or
 * absent, and its folder exists and takes a new file. Raises DLM0409 naming
 * `what` (an option, `-o`) and the path; changes nothing.
 */
export function checkOutputFile(path: string, what?: string): void {
  const target = resolveOutput(path, what);
  probeFolder(target.path, path, what);
}

/**
 * Check, before any work, that `path` can hold output files: a folder (or a
 * link to one) that takes a new file, or absent with its nearest existing
 * ancestor such a folder (makeOutputDir creates it). Raises DLM0409.
 */
export function checkOutputDir(path: string, what?: string): void {
  let p = trimSlashes(path);
  for (;;) {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(p);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) refuse(path, what, describeFsError(e));
      const up = parentOf(p);
      if (up === p) refuse(path, what, "no such file or directory");
      p = up;
      continue;
    }
    // Only the path itself can be a non-folder: below a file, stat says "not a folder" (ENOTDIR).
    if (!info.isDirectory) refuse(path, what, `${kindOf(info)}, not a folder`);
    probeFolder(`${p}/.dlm-probe`, path, what);
    return;
  }
}

/** Create the folder `path` and its parents as needed (DLM0409 when it cannot). */
export function makeOutputDir(path: string, what?: string): void {
  try {
    Deno.mkdirSync(path, { recursive: true });
  } catch (e) {
    // mkdir of an existing non-folder says "already exists": say what it is instead.
    let reason = describeFsError(e);
    try {
      const info = Deno.statSync(path);
      if (!info.isDirectory) reason = `${kindOf(info)}, not a folder`;
    } catch { /* the path is not there: the error says why */ }
    refuse(path, what, reason);
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
  if (e instanceof Deno.errors.FilesystemLoop) return "too many levels of symbolic links";
  // Deno's messages end with "(os error N): op 'path'"; the path is already in our message.
  if (e instanceof Error) {
    return e.message.replace(/ \(os error \d+\).*$/, "").replace(
      /,? ?(open|read|write|rename|mkdir|chmod|stat|lstat|readlink) '.*$/,
      "",
    ).toLowerCase();
  }
  return String(e);
}

// ---------------------------------------------------------------- temporaries

/** A temporary of dlm's naming for `target`: `<target>.<pid>.<random>.tmp`, in its folder. */
export function tempPathFor(target: string): string {
  const rand = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, "0");
  return `${target}.${Deno.pid}.${Date.now().toString(36)}${rand}.tmp`;
}

/**
 * Remove the temporaries of dlm's naming for `target` whose process is gone
 * (a write killed before it could clean up). Returns the names removed.
 */
export function removeStaleTemps(target: string): string[] {
  const dir = parentOf(target);
  const base = target.slice(target.lastIndexOf("/") + 1);
  const pattern = new RegExp(`^${escapeRegExp(base)}\\.(\\d+)\\.[0-9a-z]+\\.tmp$`);
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return removed; // an unreadable folder: the write itself will say what is wrong
  }
  for (const e of entries) {
    const m = pattern.exec(e.name);
    if (!m || !e.isFile || !processGone(Number(m[1]))) continue;
    try {
      Deno.removeSync(`${dir}/${e.name}`);
      removed.push(e.name);
    } catch { /* another writer removed it first */ }
  }
  return removed;
}

/**
 * Is no process `pid` running? Read from /proc (Linux): a process, a zombie
 * included, has its folder there. Without /proc the answer is no, so that a
 * temporary whose owner may be alive is never removed.
 */
export function processGone(pid: number): boolean {
  if (pid === Deno.pid) return false;
  if (!hasProc()) return false;
  try {
    Deno.statSync(`/proc/${pid}`);
    return false;
  } catch (e) {
    return e instanceof Deno.errors.NotFound;
  }
}

let procKnown: boolean | undefined;
function hasProc(): boolean {
  if (procKnown === undefined) {
    try {
      procKnown = Deno.statSync(`/proc/${Deno.pid}`).isDirectory;
    } catch {
      procKnown = false;
    }
  }
  return procKnown;
}

/**
 * Test support: a failure injected into the streamed writes, to stand for a
 * disk that fills or fails midway where no small file system can be mounted.
 * `beforeChunk` runs before each chunk is written to a temporary; what it
 * throws, the write throws. Only runtime tests set it.
 */
export const writeFaults: { beforeChunk?: (tmp: string, chunk: number) => void } = {};

// ---------------------------------------------------------------- resolving outputs

/** The regular file (or the place for a new one) that a write to an output path replaces. */
interface OutputTarget {
  /** The path renamed over: the output path, or the end of its chain of symbolic links. */
  path: string;
  /** The permission bits of the file replaced, kept by its replacement. */
  mode?: number;
}

/**
 * Follow `path` through symbolic links to the file a write replaces.
 * Refuses (DLM0409) a directory, a device, a FIFO, a socket, a link loop, and a
 * path whose folder is missing or not a folder.
 */
function resolveOutput(path: string, what?: string): OutputTarget {
  let p = path;
  for (let hops = 0;; hops++) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(p);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) refuse(path, what, describeFsError(e));
      // A new file: its folder must be there.
      const dir = parentOf(p);
      let d: Deno.FileInfo;
      try {
        d = Deno.statSync(dir);
      } catch (e2) {
        refuse(path, what, via(path, p, describeFsError(e2)));
      }
      if (!d.isDirectory) refuse(path, what, via(path, p, "a part of the path is not a folder"));
      return { path: p };
    }
    if (info.isSymlink) {
      if (hops >= 40) refuse(path, what, "too many levels of symbolic links");
      const link = Deno.readLinkSync(p);
      p = link.startsWith("/") || !p.includes("/") ? link : `${parentOf(p)}/${link}`;
      continue;
    }
    if (info.isFile) return { path: p, mode: info.mode ?? undefined };
    refuse(
      path,
      what,
      info.isDirectory ? via(path, p, "is a directory") : via(
        path,
        p,
        `${kindOf(info)}, not a regular file`,
      ),
    );
  }
}

/** Does a new file in `target`'s folder get created? (As root, only a read-only mount says no.) */
function probeFolder(target: string, path: string, what?: string): void {
  const probe = tempPathFor(target);
  try {
    Deno.openSync(probe, { write: true, createNew: true }).close();
  } catch (e) {
    refuse(path, what, describeFsError(e));
  }
  try {
    Deno.removeSync(probe);
  } catch { /* removed by someone else */ }
}

/** A reason, said of the link's target when `path` led elsewhere. */
function via(path: string, resolved: string, reason: string): string {
  if (resolved === path) return reason;
  return `it links to '${resolved}'${
    reason.startsWith("is ") ? `, which ${reason}` : `: ${reason}`
  }`;
}

function refuse(path: string, what: string | undefined, reason: string): never {
  fail(...diag("DLM0409", `'${path}'${what ? ` (${what})` : ""}`, reason));
}

/** What a file system entry is, in a few words. */
function kindOf(info: Deno.FileInfo): string {
  if (info.isFile) return "a regular file";
  if (info.isDirectory) return "a directory";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isFifo) return "a named pipe (FIFO)";
  if (info.isSocket) return "a socket";
  return "a special file";
}

function parentOf(p: string): string {
  const t = trimSlashes(p);
  const i = t.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : t.slice(0, i);
}

function trimSlashes(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, "") || "/" : p;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// ---------------------------------------------------------------- writing

/** Write text, bytes or consecutive byte ranges to one file without joining them first. */
function writeChunks(path: string, bytes: FileBytes): void {
  const chunks = typeof bytes === "string"
    ? [new TextEncoder().encode(bytes)]
    : bytes instanceof Uint8Array
    ? [bytes]
    : bytes;
  const file = Deno.openSync(path, { write: true, createNew: true });
  try {
    for (const p of produced(path, chunks)) {
      for (let off = 0; off < p.length;) off += file.writeSync(p.subarray(off));
    }
    // On the disk before the rename makes it the target (see the module's comment).
    fsOps.syncFile(file, path);
  } finally {
    file.close();
  }
}

/**
 * The chunks of a file in order: a producer's failure is a SourceFailed (the
 * producer's error, not the file system's), and the test hook `writeFaults`
 * runs before each chunk is written.
 */
function* produced(path: string, chunks: Iterable<Uint8Array>): Generator<Uint8Array> {
  const it = chunks[Symbol.iterator]();
  for (let k = 0;; k++) {
    let r: IteratorResult<Uint8Array>;
    try {
      r = it.next();
    } catch (e) {
      throw new SourceFailed(e);
    }
    if (r.done) return;
    writeFaults.beforeChunk?.(path, k);
    yield r.value;
  }
}

/** The size of each of writeChunksAsync's two buffers. */
const STAGE_BYTES = 1 << 20;

/**
 * writeChunks with the writing overlapped with producing the chunks (see
 * writeFilesAtomicAsync). One write is in flight at a time, so the file's
 * bytes stay in order; a chunk is copied before the next is asked for, so a
 * producer may reuse its buffer as it does for writeChunks.
 */
async function writeChunksAsync(path: string, bytes: FileBytes): Promise<void> {
  if (typeof bytes === "string" || bytes instanceof Uint8Array) return writeChunks(path, bytes);
  const file = Deno.openSync(path, { write: true, createNew: true });
  const stages = [new Uint8Array(STAGE_BYTES), new Uint8Array(STAGE_BYTES)];
  let cur = 0, fill = 0;
  let pending: Promise<void> | undefined;
  const writeAll = async (b: Uint8Array) => {
    for (let off = 0; off < b.length;) off += await file.write(b.subarray(off));
  };
  // The buffer filled so far goes out once the previous write is done; the other one fills next.
  const flush = async () => {
    await pending;
    pending = writeAll(stages[cur].subarray(0, fill));
    cur ^= 1;
    fill = 0;
  };
  try {
    for (let p of produced(path, bytes)) {
      while (p.length > 0) {
        const n = Math.min(p.length, STAGE_BYTES - fill);
        stages[cur].set(p.subarray(0, n), fill);
        fill += n;
        p = p.subarray(n);
        if (fill === STAGE_BYTES) await flush();
      }
    }
    if (fill > 0) await flush();
    await pending;
    // On the disk before the rename makes it the target (see the module's comment).
    fsOps.syncFile(file, path);
  } finally {
    // A write still in flight finishes (its error, if any, was or is reported) before closing.
    await pending?.catch(() => {});
    file.close();
  }
}

/** An error thrown while producing a file's bytes (not while writing them). */
class SourceFailed {
  constructor(readonly cause: unknown) {}
}
