/**
 * A cache of compiled training steps, so that a second `dlm train` of the
 * same file skips building the step (elaborating the model, autodiff, the
 * passes and emitting the ONNX graph: about 330 ms of CPU for MobileNetV2)
 * and starts at onnxruntime's session, whose optimised graph has its own
 * cache (runtime/ort/cache.ts).
 *
 * An entry holds what `dlm train` builds from a .dlm file before its loop
 * runs: the step model and the evaluation model as the loop loads them
 * (`LoadedModel`: the graph, the ONNX bytes, initial state, pack layouts,
 * random draws), the one-step graph's parameter list and frozen values (for
 * `--save` and `--save-adapter`), the train section's settings, the
 * compiler's warnings and the sources they point into.
 *
 * It is keyed by everything that determines the result:
 * - the source text of the file and of every file it imports: the entry's
 *   name hashes the main file's text, and the entry lists every file the
 *   compiler read with the SHA-256 of its text, each read again and compared
 *   on lookup (an import's change is a miss);
 * - every option that reaches compilation (`--model`, `--seed`, `--dim`,
 *   `--set` and the tokenizer's ids, `--steps-per-run`, the data's shapes,
 *   whether an evaluation model is built, packing), as the caller gives them;
 * - the compiler itself: `buildId` hashes the path, size and modification
 *   time of every source file under compiler/, runtime/ and cli/, and
 *   Deno's version, so an edited compiler file makes every entry a miss.
 *
 * Where: the folder `steps/` beside the session cache's `onnxruntime/`
 * (`$DLM_CACHE_DIR`, else `$XDG_CACHE_HOME/dlm`, else `~/.cache/dlm`), one
 * file per entry named by the key's hash (`<sha256>.step`), at most
 * `$DLM_CACHE_MAX_MB` MiB (default 1024) in the folder: past it, the least
 * recently used entries (modification time, refreshed on every hit) are
 * deleted, and a step whose models and initial values alone exceed it is not
 * stored. `--no-cache` bypasses it, and so does `--weights` (the weights
 * are loaded into the compiled graphs).
 *
 * Entry layout: the payload (the value, `node:v8`'s structured
 * serialisation), then a trailer: the header as UTF-8 JSON (`{ key, files,
 * bytes, checksum }`), its length (u32, little-endian) and the 8-byte magic
 * `DLMSTEP1`, as the session cache's. An entry whose trailer is missing
 * (truncated), whose header does not parse, whose key differs, whose
 * payload length or checksum does not match, or whose payload does not
 * deserialise is ignored and deleted, and the caller rebuilds it. Written to
 * a temporary file of a unique name in the folder and renamed over the
 * entry's name: a reader sees a whole entry or none. A folder that cannot be
 * written gives one warning line and no cache. The cache only writes or
 * deletes regular files of its own name patterns in its own folder.
 */
import v8 from "node:v8";
import type { Diagnostic } from "../../compiler/diagnostics.ts";
import type { ParamInfo } from "../../compiler/ir/graph.ts";
import { DTYPES, numel, type Tensor } from "../../compiler/ir/tensor.ts";
import type { TrainSettings } from "../../compiler/train/mod.ts";
import { describeFsError } from "../fs.ts";
import {
  type CacheConfig,
  canonical,
  evictFiles,
  readEntryFile,
  removeQuietly,
  sha256,
  splitTrailer,
  touch,
  trailer,
} from "../ort/cache.ts";
import type { LoadedModel } from "./loaded.ts";

/** The folder under the cache directory that holds the compiled steps. */
export const STEPS_SUBDIR = "steps";

const MAGIC = new TextEncoder().encode("DLMSTEP1");
const ENTRY = /^[0-9a-f]{64}\.step$/;
const TEMP = /^[0-9a-f]{64}\.step\.[0-9a-f-]{36}\.tmp$/;

/** The step cache's configuration beside the session cache's (`<base>/onnxruntime`). */
export function stepCacheConfig(sessions: CacheConfig): CacheConfig {
  const base = sessions.dir.replace(/\/+$/, "").replace(/\/[^/]*$/, "");
  return { dir: `${base}/${STEPS_SUBDIR}`, maxBytes: sessions.maxBytes };
}

/** What a compiled step is: the value an entry holds. */
export interface CompiledStep {
  step: LoadedModel;
  eval?: LoadedModel;
  /** The one-step graph's name, parameters and the values of those that are not inputs. */
  graph: { name: string; params: ParamInfo[]; frozen: Map<string, Tensor> };
  settings: TrainSettings;
  /** The compiler's warnings, and the text of each file they may point into. */
  warnings: Diagnostic[];
  sources: [string, string][];
}

/** The key of an entry: the file, its text's hash, the options and the compiler's build. */
export interface StepKey {
  format: 1;
  file: string;
  text: string;
  options: unknown;
  build: string;
}

let build: string | undefined;

/**
 * The compiler's build: SHA-256 of the path, size and modification time of every source file
 * (.ts, .mjs, .json, tests left out) under compiler/, runtime/ and cli/ of the checkout this
 * module belongs to, with Deno's version. Undefined when the modules are not local files.
 */
export async function buildId(
  root = new URL("../../", import.meta.url),
): Promise<string | undefined> {
  const own = root.href === new URL("../../", import.meta.url).href;
  if (own && build !== undefined) return build;
  if (root.protocol !== "file:") return undefined;
  const files: string[] = [];
  const walk = (dir: string): boolean => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(new URL(dir, root))];
    } catch {
      return false;
    }
    for (const e of entries) {
      const path = `${dir}${e.name}`;
      if (e.isDirectory) {
        if (e.name !== "node_modules" && !walk(`${path}/`)) return false;
      } else if (/\.(ts|mjs|json)$/.test(e.name) && !e.name.endsWith("_test.ts")) files.push(path);
    }
    return true;
  };
  for (const dir of ["compiler/", "runtime/", "cli/"]) if (!walk(dir)) return undefined;
  files.sort();
  const lines: string[] = [`deno ${Deno.version.deno}`];
  try {
    for (const path of files) {
      const st = Deno.statSync(new URL(path, root));
      lines.push(`${path} ${st.size} ${st.mtime?.getTime() ?? ""}`);
    }
  } catch {
    return undefined;
  }
  const id = await sha256(
    new TextEncoder().encode([`deno ${Deno.version.deno}`, ...lines].join("\n")),
  );
  if (own) build = id;
  return id;
}

/** The key of `file` compiled with `options`; undefined when the file or the build is unknown. */
export async function stepKey(file: string, options: unknown): Promise<StepKey | undefined> {
  const id = await buildId();
  if (!id) return undefined;
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch {
    return undefined; // the compiler reports it
  }
  return {
    format: 1,
    file,
    text: await sha256(new TextEncoder().encode(text)),
    options: JSON.parse(canonical(options) ?? "null"),
    build: id,
  };
}

/** The files a compilation read, and their texts: wraps the compiler's `read`. */
export function recordingReads(
  read: (path: string) => string | Error,
): { read: (path: string) => string | Error; files: Map<string, string> } {
  const files = new Map<string, string>();
  return {
    files,
    read: (path) => {
      const t = read(path);
      if (typeof t === "string") files.set(path, t);
      return t;
    },
  };
}

/** Why a lookup found nothing usable. */
export type StepMiss =
  | "absent"
  | "not a file"
  | "unreadable"
  | "truncated"
  | "corrupt"
  | "other key"
  | "source changed";

/**
 * A fast 64-bit checksum of bytes (four 32-bit multiply-rotate lanes over 32-bit words, word i
 * in lane i mod 4, mixed into two 32-bit halves at the end): it detects a damaged entry; it is
 * no defence against a crafted one (nor is the cache folder meant to be written by anyone else).
 * Four independent lanes run about 1.6x as fast as two chained ones (DenseNet-121's 34 MB entry:
 * 10.6 ms against 17).
 */
export function checksum(bytes: Uint8Array): string {
  let a = 0x9e3779b1 ^ bytes.length, b = 0x85ebca77, c = 0xc2b2ae3d, d = 0x27d4eb2f;
  const words = bytes.length >>> 2;
  // 32-bit words of the bytes (copied when they do not start at a multiple of 4).
  const at = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const u32 = new Uint32Array(at.buffer, at.byteOffset, words);
  const quads = words & ~3;
  for (let i = 0; i < quads; i += 4) {
    a = Math.imul(a ^ u32[i], 0x85ebca6b);
    a = (a << 13) | (a >>> 19);
    b = Math.imul(b ^ u32[i + 1], 0xc2b2ae35);
    b = (b << 17) | (b >>> 15);
    c = Math.imul(c ^ u32[i + 2], 0x27d4eb2f);
    c = (c << 11) | (c >>> 21);
    d = Math.imul(d ^ u32[i + 3], 0x165667b1);
    d = (d << 15) | (d >>> 17);
  }
  // The last words and bytes go to lane a, in order.
  for (let i = quads; i < words; i++) a = Math.imul((a ^ u32[i]) + i, 0x85ebca6b);
  for (let i = words * 4; i < bytes.length; i++) a = Math.imul((a ^ bytes[i]) + i, 0xc2b2ae35);
  let h1 = Math.imul(a ^ (b >>> 15), 0x85ebca6b) ^ Math.imul(c ^ (d >>> 13), 0xc2b2ae35);
  let h2 = Math.imul(b ^ (c >>> 16), 0x27d4eb2f) ^ Math.imul(d ^ (a >>> 11), 0x165667b1);
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) ^ Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b) ^ Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
  return (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0");
}

async function entryName(key: StepKey): Promise<string> {
  return `${await sha256(new TextEncoder().encode(canonical(key)))}.step`;
}

interface Header {
  key: unknown;
  /** Each file the compiler read, and the SHA-256 of its text. */
  files: [string, string][];
  bytes: number;
  checksum: string;
}

/** An entry's bytes: the payload and its trailer. */
export function encodeEntry(header: Header, payload: Uint8Array): Uint8Array {
  const [, end] = entryParts(header, payload);
  const out = new Uint8Array(payload.length + end.length);
  out.set(payload, 0);
  out.set(end, payload.length);
  return out;
}

/** An entry as the file holds it: the payload, then the trailer. */
function entryParts(header: Header, payload: Uint8Array): [Uint8Array, Uint8Array] {
  return [payload, trailer(header, MAGIC)];
}

/** An entry's header and payload, or why it is not one (the key is not checked here). */
export function decodeEntry(
  bytes: Uint8Array,
): { header: Header; payload: Uint8Array } | { miss: "truncated" | "corrupt" } {
  const e = splitTrailer(bytes, MAGIC);
  if ("miss" in e) return e;
  const header = e.header as unknown as Header, payload = e.payload;
  if (!Array.isArray(header.files)) return { miss: "corrupt" };
  if (header.bytes !== payload.length) return { miss: "truncated" };
  if (header.checksum !== checksum(payload)) return { miss: "corrupt" };
  return { header, payload };
}

/**
 * The compiled step of `key`, or why there is none. A present entry that fails a check is
 * deleted (it would fail again); the caller compiles and stores it again.
 */
export async function lookupStep(
  cfg: CacheConfig,
  key: StepKey,
): Promise<{ value: CompiledStep } | { miss: StepMiss }> {
  const path = `${cfg.dir}/${await entryName(key)}`;
  const read = readEntryFile(path);
  if ("miss" in read) return read;
  const e = decodeEntry(read.bytes);
  if ("miss" in e) {
    removeQuietly(path);
    return e;
  }
  if (canonical(e.header.key) !== canonical(key)) {
    removeQuietly(path);
    return { miss: "other key" };
  }
  // Every file the compiler read (the main file, its imports) still has the text it had.
  for (const [file, hash] of e.header.files) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      return { miss: "source changed" };
    }
    if (await sha256(new TextEncoder().encode(text)) !== hash) return { miss: "source changed" };
  }
  let value: CompiledStep;
  try {
    value = v8.deserialize(e.payload) as CompiledStep;
  } catch {
    removeQuietly(path);
    return { miss: "corrupt" };
  }
  if (!value || typeof value !== "object" || !value.step?.bytes || !value.graph) {
    removeQuietly(path);
    return { miss: "corrupt" };
  }
  touch(path);
  return { value };
}

/** Why the cache cannot be written, once per process per folder (a warning line). */
const warned = new Set<string>();

/** Forget the warnings given (tests). */
export function resetStepWarnings(): void {
  warned.clear();
}

/**
 * Store a compiled step under `key`, with the files the compilation read (`files`: path ->
 * text). Returns a warning line the first time the folder cannot be written; the run goes on.
 */
export async function storeStep(
  cfg: CacheConfig,
  key: StepKey,
  files: ReadonlyMap<string, string>,
  value: CompiledStep,
): Promise<string | undefined> {
  const name = await entryName(key);
  const tmp = `${cfg.dir}/${name}.${crypto.randomUUID()}.tmp`;
  const path = `${cfg.dir}/${name}`;
  // A step whose weights alone exceed the size bound would only evict everything else.
  if (approximateBytes(value) > cfg.maxBytes) return undefined;
  let payload: Uint8Array;
  try {
    // node:v8 gives a Buffer: its bytes as they are, not a copy (19 MB for EfficientNet-B0).
    const b = v8.serialize(value);
    payload = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    // A value that cannot be serialised is a defect of ours, not of the folder: said once.
    if (warned.has("")) return undefined;
    warned.add("");
    return `dlm: warning: cannot cache the compiled step (${
      (e as Error).message
    }); continuing without it`;
  }
  let claimed = false;
  try {
    const hashed: [string, string][] = [];
    for (const [file, text] of files) {
      hashed.push([file, await sha256(new TextEncoder().encode(text))]);
    }
    const parts = entryParts(
      { key, files: hashed, bytes: payload.length, checksum: checksum(payload) },
      payload,
    );
    Deno.mkdirSync(cfg.dir, { recursive: true });
    // Claim the name: createNew fails rather than write through anything already there.
    const file = Deno.openSync(tmp, { write: true, createNew: true });
    claimed = true;
    try {
      // The payload and the trailer one after the other: no copy of the payload joins them.
      for (const part of parts) {
        for (let off = 0; off < part.length;) off += file.writeSync(part.subarray(off));
      }
    } finally {
      file.close();
    }
    Deno.renameSync(tmp, path);
  } catch (e) {
    if (claimed) removeQuietly(tmp);
    if (warned.has(cfg.dir)) return undefined;
    warned.add(cfg.dir);
    return `dlm: warning: cannot write the step cache '${cfg.dir}' (${
      describeFsError(e)
    }); continuing without it (--no-cache skips the cache)`;
  }
  evictSteps(cfg, path);
  return undefined;
}

/** The bytes of a compiled step's ONNX models and initial values: most of an entry's size. */
export function approximateBytes(value: CompiledStep): number {
  let n = 0;
  for (const m of [value.step, value.eval]) {
    if (!m) continue;
    n += m.bytes.length;
    // By shape: a lazy initial value is not drawn to be measured.
    for (const t of m.defaults.values()) n += numel(t.shape) * DTYPES[t.dtype].bytes;
  }
  return n;
}

/**
 * Delete the least recently used entries until the entries fit in `cfg.maxBytes` (never
 * `keep`, the entry just written), and temporary files left by killed runs. Only regular files
 * of the cache's own name patterns in its folder are considered.
 */
export function evictSteps(cfg: CacheConfig, keep?: string): void {
  evictFiles(cfg.dir, cfg.maxBytes, { entry: ENTRY, temp: TEMP }, keep);
}
