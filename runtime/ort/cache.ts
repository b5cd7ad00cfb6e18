/**
 * A cache of onnxruntime's optimised models, so that a second `dlm train`
 * or `dlm run` of the same model skips the graph optimisation.
 *
 * onnxruntime can write the graph it optimised while creating a session
 * (session option `optimizedModelFilePath`); loading that graph again with
 * optimisations disabled gives the same session without redoing them
 * ("offline mode" in onnxruntime's graph-optimizations documentation). The
 * documentation's caveats shape the key: the saved graph is only valid for
 * the same onnxruntime build and the same session options, and with layout
 * optimisations (level "all": NCHWc convolutions, whose block size follows
 * the CPU's vector width) only on a CPU with the same instruction set. So an
 * entry is keyed by the SHA-256 of the model's bytes, the onnxruntime
 * version, the session options and the machine (OS, architecture, CPU model
 * and feature flags), and stores that key and the SHA-256 of its payload:
 * an entry whose key differs, whose payload is truncated or whose hash does
 * not match is ignored (and rebuilt), never loaded.
 *
 * Where: `$DLM_CACHE_DIR`, else `$XDG_CACHE_HOME/dlm`, else `~/.cache/dlm`;
 * entries live in its `onnxruntime/` folder, one file per entry named by
 * the key's hash (`<sha256>.ortc`). Size: at most `$DLM_CACHE_MAX_MB` MiB
 * (default 1024); past it, the least recently used entries (file
 * modification time, refreshed on every hit) are deleted.
 *
 * Safe under concurrent runs: an entry is written to a temporary file of
 * a unique name in the same folder and renamed over its final name, so a
 * reader sees a whole entry or none; a reader reads an entry in one go and
 * checks it before use. The cache only ever writes or deletes files of its
 * own name patterns in its own folder, and never follows a symbolic link.
 *
 * Entry layout: the optimised ONNX model as onnxruntime wrote it, then a
 * trailer: the header as UTF-8 JSON (`{ key, bytes, sha256 }`), its length
 * (u32, little-endian) and the 8-byte magic `DLMORTC1`. A trailer (not a
 * header) lets the entry be the file onnxruntime wrote, with the trailer
 * appended, instead of a copy.
 */
import { describeFsError } from "../fs.ts";

/** Where the cache is and how big it may grow. */
export interface CacheConfig {
  /** The entries' folder. */
  dir: string;
  /** Total size of the entries past which the least recently used are deleted. */
  maxBytes: number;
}

/** The default size bound: 1 GiB. */
export const DEFAULT_CACHE_MAX_MB = 1024;

/** The folder under the cache directory that holds onnxruntime's entries. */
export const ORT_SUBDIR = "onnxruntime";

const MAGIC = new TextEncoder().encode("DLMORTC1");
const ENTRY = /^[0-9a-f]{64}\.ortc$/;
const TEMP = /^[0-9a-f]{64}\.ortc\.[0-9a-f-]{36}\.tmp$/;
/** A temporary file older than this is a leftover of a killed run, not one being written. */
const STALE_TEMP_MS = 24 * 3600 * 1000;

function processEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: the defaults apply
  }
}

/**
 * The cache's configuration from the environment: `$DLM_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/dlm`, else `$HOME/.cache/dlm` (on Windows
 * `%LOCALAPPDATA%\dlm`), with `onnxruntime/` below it; `$DLM_CACHE_MAX_MB`
 * for the size bound. Undefined when no folder can be named (no home). `dir`
 * (`--cache-dir`) names the folder instead of the environment; `env` reads the variables
 * (the process's by default; a test passes its own rather than change the process's, which
 * parallel test files share).
 */
export function cacheConfigFromEnv(
  dir?: string,
  env: (name: string) => string | undefined = processEnv,
): CacheConfig | undefined {
  const base = cacheRoot(dir, env);
  if (!base) return undefined;
  const mb = Number(env("DLM_CACHE_MAX_MB") ?? DEFAULT_CACHE_MAX_MB);
  const maxBytes = Number.isFinite(mb) && mb >= 0 ? mb * 2 ** 20 : DEFAULT_CACHE_MAX_MB * 2 ** 20;
  return { dir: `${base.replace(/\/+$/, "")}/${ORT_SUBDIR}`, maxBytes };
}

/**
 * dlm's cache directory, which holds each cache's folder: `dir` when given, else
 * `$DLM_CACHE_DIR`, else `$XDG_CACHE_HOME/dlm`, else `%LOCALAPPDATA%\\dlm`, else
 * `$HOME/.cache/dlm`; undefined when none can be named.
 */
export function cacheRoot(
  dir?: string,
  env: (name: string) => string | undefined = processEnv,
): string | undefined {
  return dir ?? env("DLM_CACHE_DIR") ??
    (env("XDG_CACHE_HOME") ? `${env("XDG_CACHE_HOME")}/dlm` : undefined) ??
    (env("LOCALAPPDATA") ? `${env("LOCALAPPDATA")}/dlm` : undefined) ??
    (env("HOME") ? `${env("HOME")}/.cache/dlm` : undefined);
}

/** What identifies an entry: everything the optimised graph depends on. */
export interface CacheKey {
  format: 1;
  /** SHA-256 of the model's bytes, hex. */
  model: string;
  /** onnxruntime's version. */
  onnxruntime: string;
  /** The session options the graph was optimised under (level, threads, ...). */
  options: Record<string, string | number | boolean>;
  /** The machine: its optimised graphs can be specific to the CPU. */
  machine: MachineKey;
}

/** The parts of the machine an optimised graph can depend on. */
export interface MachineKey {
  os: string;
  arch: string;
  /** CPU model name and feature flags (/proc/cpuinfo), or the host name where there is none. */
  cpu: string;
  flags: string;
}

let machine: MachineKey | undefined;

/**
 * The CPU's model and instruction-set flags from a /proc/cpuinfo text: x86's
 * `model name` and `flags`, ARM's `CPU implementer`/`CPU part` and
 * `Features`. Empty strings for what is not there.
 */
export function cpuOf(cpuinfo: string): { cpu: string; flags: string } {
  const field = (k: string) =>
    cpuinfo.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, "m"))?.[1].trim().replace(/\s+/g, " ") ?? "";
  const cpu = [field("vendor_id"), field("model name"), field("CPU implementer"), field("CPU part")]
    .filter((s) => s).join(" / ");
  const flags = (field("flags") || field("Features")).split(" ").filter((s) => s).sort().join(" ");
  return { cpu, flags };
}

/** This machine's key (read once). */
export function machineKey(): MachineKey {
  if (machine) return machine;
  let info = "";
  try {
    info = Deno.readTextFileSync("/proc/cpuinfo");
  } catch { /* not Linux */ }
  let { cpu, flags } = cpuOf(info);
  if (!cpu && !flags) {
    // No CPU description: tie entries to this host, which has one CPU.
    try {
      cpu = `host ${Deno.hostname()}`;
    } catch {
      cpu = "unknown";
    }
  }
  machine = { os: Deno.build.os, arch: Deno.build.arch, cpu, flags };
  return machine;
}

/** SHA-256 of bytes, as lowercase hex. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A key's canonical text: JSON with sorted object keys. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${
      Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) =>
        `${JSON.stringify(k)}:${canonical(o[k])}`
      ).join(",")
    }}`;
  }
  return JSON.stringify(v);
}

/** The entry's file name for a key. */
export async function entryName(key: CacheKey): Promise<string> {
  return `${await sha256(new TextEncoder().encode(canonical(key)))}.ortc`;
}

/** Why a lookup found nothing usable (for --verbose style reports and tests). */
export type Miss =
  | "absent"
  | "not a file"
  | "unreadable"
  | "corrupt"
  | "truncated"
  | "other key"
  | "refused";

/**
 * An entry's optimised model, or why there is none. A present entry that
 * fails a check is deleted (it would only fail again); the caller rebuilds
 * it. A hit refreshes the entry's modification time (its last use).
 */
export async function lookup(
  cfg: CacheConfig,
  key: CacheKey,
): Promise<{ model: Uint8Array } | { miss: Miss }> {
  const path = `${cfg.dir}/${await entryName(key)}`;
  const read = readEntryFile(path);
  if ("miss" in read) return read;
  const checked = await check(read.bytes, key);
  if ("miss" in checked) {
    removeQuietly(path);
    return checked;
  }
  touch(path);
  return checked;
}

/**
 * A cache entry's bytes (this cache's and the compiled-step cache's), or why there are none:
 * absent, not a regular file (a link or a folder under an entry's name is not ours: neither
 * read nor deleted), or unreadable. The file read is the one checked: the same inode, not a
 * link swapped in since.
 */
export function readEntryFile(
  path: string,
): { bytes: Uint8Array } | { miss: "absent" | "not a file" | "unreadable" } {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(path);
  } catch {
    return { miss: "absent" };
  }
  if (!st.isFile) return { miss: "not a file" };
  let file: Deno.FsFile | undefined;
  try {
    file = Deno.openSync(path, { read: true });
    const opened = file.statSync();
    if (!opened.isFile || (st.ino !== null && opened.ino !== st.ino)) {
      return { miss: "not a file" };
    }
    let bytes = new Uint8Array(opened.size);
    for (let off = 0; off < bytes.length;) {
      const n = file.readSync(bytes.subarray(off));
      if (n === null || n === 0) {
        bytes = bytes.subarray(0, off);
        break;
      }
      off += n;
    }
    return { bytes };
  } catch {
    return { miss: "unreadable" };
  } finally {
    file?.close();
  }
}

/** Mark an entry as just used (its modification time orders eviction); a read-only cache still serves hits. */
export function touch(path: string): void {
  try {
    const now = new Date();
    Deno.utimeSync(path, now, now);
  } catch { /* read-only: the hit stands */ }
}

/** Delete a key's entry (one onnxruntime refused to load), if it is a regular file. */
export async function forget(cfg: CacheConfig, key: CacheKey): Promise<void> {
  const path = `${cfg.dir}/${await entryName(key)}`;
  try {
    if (Deno.lstatSync(path).isFile) removeQuietly(path);
  } catch { /* absent */ }
}

/** An entry's header: the key it was stored under, its model's length and SHA-256. */
export interface EntryHeader {
  key: unknown;
  bytes: unknown;
  sha256: unknown;
}

/**
 * The trailer both caches append to an entry's payload: the header as JSON, its length (u32,
 * little-endian) and the cache's magic, so that a file cut short is told by its missing end.
 */
export function trailer(header: unknown, magic: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(h.length + 4 + magic.length);
  out.set(h, 0);
  new DataView(out.buffer).setUint32(h.length, h.length, true);
  out.set(magic, h.length + 4);
  return out;
}

/**
 * An entry's payload and parsed header object, from its trailer; "truncated" without the magic
 * at the end (a file cut short), "corrupt" when the trailer does not parse to an object.
 */
export function splitTrailer(
  bytes: Uint8Array,
  magic: Uint8Array,
): { header: Record<string, unknown>; payload: Uint8Array } | { miss: "truncated" | "corrupt" } {
  const n = bytes.length;
  if (n < magic.length + 4) return { miss: "truncated" };
  for (let i = 0; i < magic.length; i++) {
    if (bytes[n - magic.length + i] !== magic[i]) return { miss: "truncated" };
  }
  const lenAt = n - magic.length - 4;
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset + lenAt, 4).getUint32(0, true);
  if (headerLen > lenAt) return { miss: "corrupt" };
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(lenAt - headerLen, lenAt),
    ));
  } catch {
    return { miss: "corrupt" };
  }
  if (!header || typeof header !== "object") return { miss: "corrupt" };
  return {
    header: header as Record<string, unknown>,
    payload: bytes.subarray(0, lenAt - headerLen),
  };
}

/** An entry's header and model, from its trailer (splitTrailer). */
export function readEntry(
  bytes: Uint8Array,
): { header: EntryHeader; model: Uint8Array } | { miss: "truncated" | "corrupt" } {
  const e = splitTrailer(bytes, MAGIC);
  return "miss" in e ? e : { header: e.header as unknown as EntryHeader, model: e.payload };
}

/** Check an entry's trailer, key and model hash; the model when all hold. */
export async function check(
  bytes: Uint8Array,
  key: CacheKey,
): Promise<{ model: Uint8Array } | { miss: Miss }> {
  const e = readEntry(bytes);
  if ("miss" in e) return e;
  if (canonical(e.header.key) !== canonical(key)) return { miss: "other key" };
  if (e.header.bytes !== e.model.length) return { miss: "truncated" };
  if (e.header.sha256 !== await sha256(e.model)) return { miss: "corrupt" };
  return { model: e.model };
}

/** A temporary file for onnxruntime to write an optimised model to, in the cache's folder. */
export interface Pending {
  /** Where onnxruntime writes the optimised model. */
  tmp: string;
  /** The entry's final path. */
  path: string;
  key: CacheKey;
}

/** Why the cache cannot be written, once per process per folder (a warning line). */
const warned = new Set<string>();

/** The warning for an unwritable cache folder, the first time it is seen; else undefined. */
function warnOnce(cfg: CacheConfig, e: unknown): string | undefined {
  if (warned.has(cfg.dir)) return undefined;
  warned.add(cfg.dir);
  return `dlm: warning: cannot write the session cache '${cfg.dir}' (${
    describeFsError(e)
  }); continuing without it (--no-cache skips the cache)`;
}

/** Forget the warnings given (tests). */
export function resetWarnings(): void {
  warned.clear();
}

/**
 * Prepare to store an entry: make the folder and claim a temporary file
 * name in it. An unwritable folder gives `{ warning }` (once per process,
 * then `{}`): the session is created without the cache.
 */
export async function prepareStore(
  cfg: CacheConfig,
  key: CacheKey,
): Promise<{ pending?: Pending; warning?: string }> {
  const name = await entryName(key);
  const tmp = `${cfg.dir}/${name}.${crypto.randomUUID()}.tmp`;
  try {
    Deno.mkdirSync(cfg.dir, { recursive: true });
    // Claim the name: createNew fails rather than write through anything already there.
    Deno.writeFileSync(tmp, new Uint8Array(0), { createNew: true });
  } catch (e) {
    return { warning: warnOnce(cfg, e) };
  }
  return { pending: { tmp, path: `${cfg.dir}/${name}`, key } };
}

/**
 * Turn the optimised model onnxruntime wrote at `p.tmp` into an entry:
 * append the trailer and rename it into place, then evict past the size
 * bound. Returns a warning when that fails (the session is unaffected).
 */
export async function commit(cfg: CacheConfig, p: Pending): Promise<string | undefined> {
  try {
    const st = Deno.lstatSync(p.tmp);
    if (!st.isFile || st.size === 0) throw new Error("onnxruntime wrote no optimised model");
    const model = Deno.readFileSync(p.tmp);
    const end = trailer({ key: p.key, bytes: model.length, sha256: await sha256(model) }, MAGIC);
    const f = Deno.openSync(p.tmp, { append: true });
    try {
      for (let off = 0; off < end.length;) off += f.writeSync(end.subarray(off));
    } finally {
      f.close();
    }
    Deno.renameSync(p.tmp, p.path);
  } catch (e) {
    removeQuietly(p.tmp);
    return warnOnce(cfg, e);
  }
  evict(cfg, p.path);
  return undefined;
}

/** Give up a pending entry (the session failed): remove its temporary file. */
export function abandon(p: Pending): void {
  removeQuietly(p.tmp);
}

/**
 * Delete the least recently used entries until the entries fit in
 * `cfg.maxBytes` (never `keep`, the entry just written), and temporary files
 * left by killed runs. Only regular files of the cache's own name patterns
 * in its folder are considered.
 */
export function evict(cfg: CacheConfig, keep?: string): void {
  evictFiles(cfg.dir, cfg.maxBytes, { entry: ENTRY, temp: TEMP }, keep);
}

/**
 * The eviction of a cache folder (this one's, and the compiled-step cache's,
 * runtime/train/step_cache.ts): the least recently used files named like
 * `names.entry` go until the rest fit in `maxBytes` (never `keep`), and files
 * named like `names.temp` older than a day (left by killed runs) go too.
 * Links, folders and other names are not the cache's and are left alone.
 */
export function evictFiles(
  dir: string,
  maxBytes: number,
  names: { entry: RegExp; temp: RegExp },
  keep?: string,
): void {
  let listed: Deno.DirEntry[];
  try {
    listed = [...Deno.readDirSync(dir)];
  } catch {
    return;
  }
  const now = Date.now();
  const entries: { path: string; size: number; used: number }[] = [];
  for (const e of listed) {
    if (!e.isFile) continue; // links and folders are not ours
    const path = `${dir}/${e.name}`;
    let st: Deno.FileInfo;
    try {
      st = Deno.lstatSync(path);
    } catch {
      continue; // deleted by a concurrent run
    }
    if (!st.isFile) continue;
    const used = st.mtime?.getTime() ?? 0;
    if (names.entry.test(e.name)) entries.push({ path, size: st.size, used });
    else if (names.temp.test(e.name) && now - used > STALE_TEMP_MS) removeQuietly(path);
  }
  let total = entries.reduce((s, e) => s + e.size, 0);
  entries.sort((a, b) => a.used - b.used);
  for (const e of entries) {
    if (total <= maxBytes) break;
    if (e.path === keep) continue;
    removeQuietly(e.path);
    total -= e.size;
  }
}

/** Delete a file; one already gone (a concurrent run removed it) is no error. */
export function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch { /* already gone: a concurrent run removed it */ }
}
