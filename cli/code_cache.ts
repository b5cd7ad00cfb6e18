/**
 * The CLI's code cache: a command's whole module graph as one script, and
 * V8's compiled code for it, so that `dlm check` (and `fmt`, `compile`)
 * start in a fraction of the time the module graph takes.
 *
 * Why: Deno caches the compiled code of each module (its V8 code cache), but
 * makes that cache when the module is compiled, before it runs. V8 compiles
 * a function when it is first called, so the cache holds the modules' top
 * levels and almost none of their functions: every `dlm check` compiled the
 * lexer, the parser, the elaborator and the op table's functions again, about
 * 10-15 ms of its ~60 ms of work on `lang-examples/resnet50.dlm`, and loading
 * ~150 modules one by one cost as much again. A script compiled by
 * `node:vm` can make its code cache after it ran (`createCachedData`), with
 * every function the run compiled, which is what Node's own compile cache
 * does. So a cached command is the bundle of its module graph
 * (`code_cache_build.ts`, esbuild; built on first use and whenever one of its
 * sources changes), compiled with the code cache its earlier runs left.
 *
 * Where: `<cache>/cli/` under the cache directory the onnxruntime cache uses
 * (`$DLM_CACHE_DIR`, else `$XDG_CACHE_HOME/dlm`, else `~/.cache/dlm`): for
 * each command `<name>.js` (the bundle) and `<name>.v8` (the code cache).
 * Two files per cached command, replaced when rebuilt: the folder does not
 * grow. `DLM_CLI_CACHE=0` turns the cache off (the command runs from its
 * modules, as it always can).
 *
 * Never trusted without its key:
 * - The bundle's first line is a comment holding its manifest: the format,
 *   the Deno and V8 versions, the command module it was built from, a
 *   random build id, and every local file the bundle was made of (and
 *   deno.json, deno.lock) with its size and modification time. A bundle
 *   whose manifest does not parse or does not match (a source edited, moved
 *   or deleted; another Deno) is rebuilt before the command runs.
 * - The code cache ends in a trailer (runtime/ort/cache.ts) holding the
 *   build id of the bundle it was made from, the V8 version and the SHA-256
 *   of its payload. V8 checks only a code cache's length and versions
 *   against the source (not its content, and in release builds not its
 *   checksum), so a code cache whose build id, V8 version, length or hash
 *   differs is ignored and made again, never given to V8.
 * - Both files are written to a temporary file and renamed: a concurrent run
 *   sees a whole file or none. A run that cannot write the folder prints one
 *   warning line and runs the command from its modules.
 *
 * The code cache is written after the command's run when there was none,
 * when V8 rejected it, and on the next two runs: each run's cache holds the
 * functions the runs before it compiled and those it compiled itself, so a
 * `dlm check` of a file with errors followed by one of a whole model ends
 * with both paths compiled.
 */
import type vm from "node:vm";
import type { BundledCommand, CachedCommand } from "./command.ts";
import { writeFileAtomic } from "../runtime/fs.ts";
import { cacheRoot, sha256, splitTrailer, trailer } from "../runtime/ort/cache.ts";

/** The folder under the cache directory that holds the commands' bundles. */
export const CLI_SUBDIR = "cli";

/** The bundle format: a change to the bundle's layout or manifest bumps it. */
export const BUNDLE_FORMAT = 2;

/** How many runs after the first rewrite the code cache (see the module comment). */
export const REFRESH_RUNS = 2;

const MAGIC = new TextEncoder().encode("DLMV8CC1");

/** What a bundle was made from: its first line, as JSON after `//`. */
export interface Manifest {
  format: number;
  deno: string;
  v8: string;
  /** The command module the bundle was built from (a file URL). */
  entry: string;
  /** A random id, which the code cache names to say which bundle it was made from. */
  build: string;
  /** Each local file the bundle holds (and deno.json, deno.lock): path, size, modification time. */
  inputs: [string, number, number][];
}

/** Where a command's files are, and how the cache reports a problem. */
export interface CacheOptions {
  /** The cache directory (`<dir>/cli/` holds the files); default from the environment. */
  root?: string;
  /** One line for a problem the user should know of (an unwritable folder). */
  warn?: (line: string) => void;
  /** Environment lookup (tests pass their own: parallel test files share the process's). */
  env?: (name: string) => string | undefined;
}

function processEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/** The folder of the cached commands, or undefined when the cache is off or has no folder. */
export function cliCacheDir(opts: CacheOptions = {}): string | undefined {
  const env = opts.env ?? processEnv;
  if (env("DLM_CLI_CACHE") === "0") return undefined;
  const root = opts.root ?? cacheRoot(undefined, env);
  return root === undefined ? undefined : `${root.replace(/\/+$/, "")}/${CLI_SUBDIR}`;
}

/** The command's name from its module's URL (`.../commands/check.ts` is "check"). */
export function commandName(entry: string): string {
  return entry.replace(/^.*\//, "").replace(/\.[^.]*$/, "");
}

/** The manifest of a bundle's text, or undefined when its first line is not one. */
export function readManifest(text: string): Manifest | undefined {
  if (!text.startsWith("//")) return undefined;
  const end = text.indexOf("\n");
  try {
    const m = JSON.parse(text.slice(2, end < 0 ? text.length : end));
    return m && typeof m === "object" && Array.isArray(m.inputs) ? m as Manifest : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `m` is a bundle of `entry` for this Deno and V8 whose every input is as it was
 * (size and modification time); false on any doubt. Synchronous on purpose: ~400 stats take
 * 1.5 ms one after another, and 6-28 ms as promises (each one's dispatch and resolution runs on
 * the main thread).
 */
export function isFresh(m: Manifest, entry: string): boolean {
  if (
    m.format !== BUNDLE_FORMAT || m.deno !== Deno.version.deno || m.v8 !== Deno.version.v8 ||
    m.entry !== entry || typeof m.build !== "string"
  ) {
    return false;
  }
  try {
    for (const [path, size, mtime] of m.inputs) {
      const st = Deno.statSync(path);
      if (!st.isFile || st.size !== size || (st.mtime?.getTime() ?? -1) !== mtime) return false;
    }
  } catch {
    return false;
  }
  return true;
}

/** The code cache in `bytes` for the bundle `build`, if they hold a whole, matching one. */
async function codeCacheOf(
  bytes: Uint8Array | undefined,
  build: string,
): Promise<{ data: Uint8Array; runs: number } | undefined> {
  if (!bytes) return undefined;
  const split = splitTrailer(bytes, MAGIC);
  if ("miss" in split) return undefined;
  const h = split.header;
  if (
    h.build !== build || h.v8 !== Deno.version.v8 || h.bytes !== split.payload.length ||
    typeof h.runs !== "number" || h.sha256 !== await sha256(split.payload)
  ) {
    return undefined;
  }
  return { data: split.payload, runs: h.runs };
}

/** Write `bytes` atomically; false (with one warning) when the folder cannot be written. */
function tryWrite(path: string, bytes: Uint8Array | string, opts: CacheOptions): boolean {
  try {
    Deno.mkdirSync(path.replace(/\/[^/]*$/, ""), { recursive: true });
    writeFileAtomic(path, bytes);
    return true;
  } catch (e) {
    warnUnwritable(e, opts);
    return false;
  }
}

function warnUnwritable(e: unknown, opts: CacheOptions): void {
  const why = e instanceof Error ? e.message : String(e);
  opts.warn?.(`warning: the CLI code cache cannot be written (${why}); running from source`);
}

/** runtime/fs.ts's URL: the bundle exports its output checks beside the command's `run`. */
const FS_URL = import.meta.resolve("../runtime/fs.ts");

/** code_cache_build.ts, imported (with esbuild) only when a bundle is built. */
const BUILD_URL = import.meta.resolve("./code_cache_build.ts");

/**
 * The command module `entry` from its bundle in the cache, building the bundle first when
 * there is none or it is stale; undefined when the cache is off, the bundle cannot be built
 * or the folder cannot be written (the caller imports the module itself).
 */
export async function loadCached(entry: string, opts: CacheOptions = {}): Promise<
  CachedCommand | undefined
> {
  const dir = cliCacheDir(opts);
  if (!dir || !entry.startsWith("file:")) return undefined;
  const name = commandName(entry);
  const jsPath = `${dir}/${name}.js`, v8Path = `${dir}/${name}.v8`;
  // A module runs once per process: a second run of the command in this process (the tests
  // call the CLI's main in-process) uses the same evaluation, as a second import would.
  const key = `${entry} ${jsPath}`;
  let loading = loaded.get(key);
  if (!loading) {
    loading = load(entry, name, jsPath, v8Path, opts).catch(() => undefined);
    loaded.set(key, loading);
  }
  return await loading;
}

/** The bundles this process evaluated, by command module and bundle path. */
const loaded = new Map<string, Promise<CachedCommand | undefined>>();

async function load(
  entry: string,
  name: string,
  jsPath: string,
  v8Path: string,
  opts: CacheOptions,
): Promise<CachedCommand | undefined> {
  const [text0, bytes] = await Promise.all([
    Deno.readTextFile(jsPath).catch(() => undefined),
    Deno.readFile(v8Path).catch(() => undefined),
  ]);
  let text = text0;
  let manifest = text === undefined ? undefined : readManifest(text);
  // The code cache's hash runs off the main thread while it loads node:vm (about 9 ms: Deno's
  // Node compatibility layer starts with the first node: module) and looks at the inputs.
  const hashed = manifest ? codeCacheOf(bytes, manifest.build) : undefined;
  const vm = (await import("node:vm")).default;
  const fresh = manifest !== undefined && isFresh(manifest, entry);
  let cached = fresh ? await hashed : undefined;
  if (!manifest || !fresh) {
    // A folder that cannot be made is found before the build, not after it.
    try {
      Deno.mkdirSync(jsPath.replace(/\/[^/]*$/, ""), { recursive: true });
    } catch (e) {
      warnUnwritable(e, opts);
      return undefined;
    }
    let built: Awaited<ReturnType<typeof import("./code_cache_build.ts").buildBundle>>;
    try {
      const { buildBundle } = await import(BUILD_URL) as typeof import("./code_cache_build.ts");
      built = await buildBundle(entry, FS_URL);
    } catch {
      return undefined; // esbuild cannot be loaded (not installed, no network to fetch it)
    }
    if (!built || !tryWrite(jsPath, built.text, opts)) return undefined;
    text = built.text;
    manifest = built.manifest;
    cached = undefined;
  }
  let script: vm.Script;
  const module = { exports: {} as Record<string, unknown> };
  try {
    script = new vm.Script(text!, { filename: jsPath, cachedData: cached?.data });
    const { createRequire } = await import("node:module");
    (script.runInThisContext() as (m: typeof module, r: NodeRequire) => void)(
      module,
      createRequire(entry),
    );
  } catch {
    return undefined; // a bundle that does not run: the modules will
  }
  const build = manifest.build;
  let finished = false;
  return {
    name,
    module: module.exports as unknown as BundledCommand,
    async finish() {
      const runs = !cached || script.cachedDataRejected ? 0 : cached.runs + 1;
      if (finished || runs > REFRESH_RUNS) return;
      finished = true;
      try {
        const data = script.createCachedData();
        const header = { build, v8: Deno.version.v8, runs, bytes: data.length };
        const t = trailer({ ...header, sha256: await sha256(data) }, MAGIC);
        const out = new Uint8Array(data.length + t.length);
        out.set(data, 0);
        out.set(t, data.length);
        tryWrite(v8Path, out, opts);
      } catch { /* the next run makes it */ }
    },
  };
}
