/**
 * Sessions on onnxruntime-node (the native CPU runtime). A model given by
 * path is loaded by onnxruntime itself, so external data files beside it
 * are found.
 *
 * Creating a session optimises the graph at the level chosen (optimize.ts);
 * with a cache (cache.ts) the optimised graph of a big model is kept, and a
 * later session of the same model loads it with optimisations disabled. A
 * load that may be slow says so on stderr (status.ts) when asked to.
 */
import * as ort from "onnxruntime-node";
import { diag, fail } from "../../compiler/diagnostics.ts";
import { describeFsError } from "../fs.ts";
import type { OrtTensorCtor } from "./convert.ts";
import { tuneAllocator } from "./allocator.ts";
import {
  abandon,
  type CacheKey,
  commit,
  forget,
  lookup,
  machineKey,
  type Pending,
  prepareStore,
  sha256,
} from "./cache.ts";
import { scanModel } from "./model_scan.ts";
import { defaultOptimizeLevel } from "./optimize.ts";
import {
  failLoad,
  type LoadInfo,
  type Session,
  type SessionOptions,
  wrapSession,
} from "./session.ts";
import { LoadStatus, mayBeSlow } from "./status.ts";

/**
 * ort.Tensor, except that float16 data stays the Uint16Array it was given.
 * onnxruntime-common wraps it in a Float16Array view where the platform has
 * one (Deno does), and the native binding (N-API) cannot read Float16Array:
 * it sees 0 bytes ("not enough space: expected 4, got 0").
 */
class NodeTensor extends (ort.Tensor as unknown as OrtTensorCtor) {
  constructor(type: any, data: any, dims?: readonly number[]) {
    super(type, data, dims);
    if (type === "float16" && data instanceof Uint16Array) {
      (this as unknown as { cpuData: Uint16Array }).cpuData = data;
    }
  }
}

/**
 * onnxruntime (1.30) starts its environment with the first session and then writes
 * telemetry files, a device id and a database, under
 * `~/.cache/Microsoft/DeveloperTools/.onnxruntime`, on every run. dlm writes nothing outside
 * the files it is asked for and its own cache, so it turns that off before any session,
 * unless the user set `ORT_DISABLE_TELEMETRY` themselves (`=0` keeps onnxruntime's default).
 */
export function quietOrtTelemetry(): void {
  try {
    if (Deno.env.get("ORT_DISABLE_TELEMETRY") === undefined) {
      Deno.env.set("ORT_DISABLE_TELEMETRY", "1");
    }
  } catch {
    // No permission to read or set the environment: onnxruntime's default stands.
  }
}
quietOrtTelemetry();

/** Threads per operator when not given: small models gain nothing from more, tests run in parallel. */
export const DEFAULT_THREADS = 2;

/**
 * Models of fewer nodes are not cached: onnxruntime creates their sessions
 * in about 50-150 ms at any level (forward models of 49-173 nodes, bench/
 * ort_levels.ts), about what hashing the model and loading the optimised
 * copy would cost. Training steps start at several hundred nodes.
 */
export const CACHE_MIN_NODES = 500;
/**
 * Models bigger than this are not cached: their weights, not their graphs,
 * are what takes the time. ResNet-50's forward (122 nodes, 100 MB) loads
 * in 2.2-2.3 s at level all; writing its optimised copy adds 3.4 s, and a
 * hit reads and hashes 100 MB (2-3 s) before a 1.0-1.5 s load: slower than
 * no cache (this machine under load, onnxruntime-node 1.30). Such entries
 * would also crowd out the ones that matter.
 */
export const CACHE_MAX_MODEL_BYTES = 64 * 2 ** 20;

/** onnxruntime-node's version (the native library's, which the binding pins). */
export function ortVersion(): string {
  return ort.env.versions.node ?? ort.env.versions.common;
}

/**
 * The cache key of a session of `bytes`: the model's hash, onnxruntime's
 * version, the options that shape the session, and the machine.
 */
export async function sessionCacheKey(
  bytes: Uint8Array,
  o: { level: string; threads: number; spin: boolean },
): Promise<CacheKey> {
  return {
    format: 1,
    model: await sha256(bytes),
    onnxruntime: ortVersion(),
    options: {
      level: o.level,
      threads: o.threads,
      interOpThreads: 1,
      spin: o.spin,
      providers: "cpu",
    },
    machine: machineKey(),
  };
}

/**
 * Load a model (bytes or a file path) in onnxruntime-node. A missing file
 * raises DLM0401, a model onnxruntime rejects DLM0405.
 */
export async function createNodeSession(
  model: Uint8Array | string,
  opts: Omit<SessionOptions, "backend"> = {},
): Promise<Session> {
  const t0 = performance.now();
  const what = typeof model === "string" ? `'${model}'` : "the model";
  let size = typeof model === "string" ? 0 : model.length;
  if (typeof model === "string") {
    try {
      size = Deno.statSync(model).size;
    } catch (e) {
      fail(...diag("DLM0401", `model '${model}'`, describeFsError(e)));
    }
  }
  // Large outputs (a training step's whole state) reuse heap pages instead of fresh ones.
  tuneAllocator();
  const cfg = opts.cache;
  // The bytes, where the cache, the status line or a step's default level (by its node count)
  // needs them; a file's only when it is small enough to cache: a bigger one is loaded by
  // onnxruntime from its path, unread here.
  let bytes = typeof model === "string" ? undefined : model;
  const needed = cfg || opts.report || (opts.kind === "step" && !opts.optimize);
  if (!bytes && needed && size <= CACHE_MAX_MODEL_BYTES) {
    try {
      bytes = Deno.readFileSync(model as string);
    } catch (e) {
      fail(...diag("DLM0401", `model '${model}'`, describeFsError(e)));
    }
  }
  const facts = bytes ? scanModel(bytes) : undefined;
  const level = opts.optimize ??
    defaultOptimizeLevel({ kind: opts.kind ?? "forward", nodes: facts?.nodes ?? 0 });
  const base = {
    intraOpNumThreads: opts.threads ?? DEFAULT_THREADS,
    interOpNumThreads: 1,
    // Errors reach the user once, as a diagnostic; onnxruntime's own log line would repeat them.
    logSeverityLevel: 4 as const,
    ...(opts.spin === false ? { extra: { session: { intra_op: { allow_spinning: "0" } } } } : {}),
  };
  const info: LoadInfo = { ms: 0, level, nodes: facts?.nodes, cache: "off" };
  const warnings: string[] = [];
  const create = async (m: Uint8Array | string, extra: ort.InferenceSession.SessionOptions) => {
    try {
      return typeof m === "string"
        ? await ort.InferenceSession.create(m, { ...base, ...extra })
        : await ort.InferenceSession.create(m, { ...base, ...extra });
    } catch (e) {
      failLoad("node", what, e);
    }
  };

  // At level disabled there is no optimisation for the cache to skip: ShuffleNetV2's 5,702-node
  // step loads in 1.69 s at disabled and in 1.71 s from the cache (at basic: 5.8 s, 2.3 s).
  const cacheable = cfg && bytes && facts && !facts.externalData && level !== "disabled" &&
    facts.nodes >= CACHE_MIN_NODES && bytes.length <= Math.min(CACHE_MAX_MODEL_BYTES, cfg.maxBytes);
  let key: CacheKey | undefined;
  let hit: Uint8Array | undefined;
  if (cacheable) {
    key = await sessionCacheKey(bytes!, {
      level,
      threads: base.intraOpNumThreads,
      spin: opts.spin !== false,
    });
    const found = await lookup(cfg!, key);
    if ("model" in found) hit = found.model;
    else info.miss = found.miss;
  } else if (cfg) info.cache = "skipped";

  const nodes = facts ? `${facts.nodes.toLocaleString("en")} nodes, ` : "";
  const status = opts.report && mayBeSlow(facts?.nodes ?? 0, size, !hit && level !== "disabled")
    ? LoadStatus.start(
      hit
        ? `dlm: loading the optimised ${
          opts.report.what.replace(/^the /, "")
        } (${nodes}level ${level}) from the cache`
        : `dlm: ${
          level === "disabled" ? "loading" : "optimising"
        } ${opts.report.what} (${nodes}level ${level}) in onnxruntime`,
      { tty: opts.report.tty },
    )
    : undefined;
  let inner: ort.InferenceSession | undefined;
  let note = "";
  try {
    if (hit) {
      try {
        // The graph is optimised already: onnxruntime's offline mode loads it as it is.
        inner = await create(hit, { graphOptimizationLevel: "disabled" });
        info.cache = "hit";
      } catch {
        // Checked, keyed and still refused: never try it again.
        info.miss = "refused";
        await forget(cfg!, key!);
      }
    }
    if (!inner && key) {
      const { pending, warning } = await prepareStore(cfg!, key);
      if (warning) warnings.push(warning);
      if (!pending) info.cache = "unwritable";
      inner = await createSaving(create, bytes!, level, pending);
      if (pending) {
        const w = await commit(cfg!, pending);
        if (w) warnings.push(w);
        info.cache = w ? "unwritable" : "stored";
        if (!w) note = ", cached for the next run";
      }
    }
    // Without the cache: from the path when given one (external data resolves beside it).
    inner ??= await create(typeof model === "string" && !cacheable ? model : bytes ?? model, {
      graphOptimizationLevel: level,
    });
  } finally {
    status?.stop(note);
  }
  info.ms = performance.now() - t0;
  if (warnings.length) {
    info.warning = warnings.join("\n");
    if (opts.report) { for (const w of warnings) (opts.report.warn ?? console.error)(w); }
  }
  // onnxruntime-node's outputs are fresh JS buffers nothing else refers to: no second copy; it
  // writes into pre-allocated outputs (onnxruntime-common's fetches) where given.
  const s = wrapSession(inner, "node", NodeTensor, true, true);
  s.load = info;
  return s;
}

/** Create a session that writes its optimised graph to `pending.tmp` (none without `pending`). */
async function createSaving(
  create: (m: Uint8Array, o: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>,
  bytes: Uint8Array,
  level: ort.InferenceSession.SessionOptions["graphOptimizationLevel"],
  pending: Pending | undefined,
): Promise<ort.InferenceSession> {
  try {
    return await create(bytes, {
      graphOptimizationLevel: level,
      ...(pending ? { optimizedModelFilePath: pending.tmp } : {}),
    });
  } catch (e) {
    if (pending) abandon(pending);
    throw e;
  }
}
