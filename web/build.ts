/**
 * `deno task web:build`: the playground bundled by esbuild into `web/dist/`, a folder of static
 * files that works offline from any static server.
 *
 * - `src/main.ts` (the page: CodeMirror 6, the gallery, the graph view, run and diff) and
 *   `src/worker.ts` (the compiler, the reference interpreter and onnxruntime-web, off the page's
 *   thread) are bundled as ES modules for the browser.
 * - Every `.dlm` file of `lang-examples/` (with `lib/`) is bundled as the page's in-memory
 *   workspace: the virtual module `dlm:examples` is a map from workspace path to text, which the
 *   compiler's `ReadFile` reads instead of a disk (`import "lib/transformer.dlm"` resolves in it).
 * - `runtime/ort/mod.ts` (which picks onnxruntime-node or -web by a dynamic import) is replaced by
 *   `src/ort_web.ts`, which creates onnxruntime-web sessions only, so the runtime's diff code
 *   (`runtime/diff/diff.ts`) is reused as it is, without onnxruntime-node in the bundle.
 * - `src/train_worker.ts` (training in the page, train.ts's loop on onnxruntime-web) is a third
 *   entry, a worker of its own, loaded at the first training or classification; the digits set it
 *   trains on, `lang-examples/data/digits.csv` (what `dlm train --data digits` reads), is packed
 *   into `dist/digits.bin` (src/digits.ts: one byte a value), and the build fails without it.
 * - onnxruntime-web's WASM runtime (`ort-wasm-simd-threaded.{mjs,wasm}`) is copied to
 *   `dist/ort/`, where the worker points `ort.env.wasm.wasmPaths`: nothing comes from a CDN.
 * - The run's WebGPU backend: onnxruntime-web's WebGPU build is a fourth entry, `ort/webgpu.js`
 *   (src/ort_webgpu.ts), beside its runtime `ort-wasm-simd-threaded.asyncify.{mjs,wasm}` (in 1.30
 *   the WebGPU execution provider is C++ in the asyncify build, no longer the JSEP one);
 *   src/ort_web.ts imports it by URL only once `navigator.gpu.requestAdapter()` gives an adapter,
 *   so a browser without WebGPU downloads what it did before.
 */
import * as esbuild from "esbuild";
import { encodeDigits } from "./src/digits.ts";

const ROOT = new URL("../", import.meta.url);
const here = (p: string) => new URL(p, import.meta.url).pathname;
const root = (p: string) => new URL(p, ROOT).pathname;

export interface BuildResult {
  outDir: string;
  /** Every file written, with its size in bytes. */
  files: { path: string; bytes: number }[];
  ms: number;
}

/** The workspace bundled into the page: every .dlm file under lang-examples/, by relative path. */
export function exampleFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, prefix: string) => {
    const entries = [...Deno.readDirSync(root(`lang-examples/${dir}`))].sort((a, b) =>
      a.name < b.name ? -1 : 1
    );
    for (const e of entries) {
      const rel = prefix + e.name;
      if (e.isDirectory) walk(`${dir}${e.name}/`, rel + "/");
      else if (e.name.endsWith(".dlm")) {
        out[rel] = Deno.readTextFileSync(root(`lang-examples/${dir}${e.name}`));
      }
    }
  };
  walk("", "");
  return out;
}

const workspacePlugin: esbuild.Plugin = {
  name: "dlm-workspace",
  setup(b) {
    b.onResolve({ filter: /^dlm:examples$/ }, (a) => ({ path: a.path, namespace: "dlm" }));
    b.onLoad({ filter: /.*/, namespace: "dlm" }, () => ({
      contents: `export default ${JSON.stringify(exampleFiles())};`,
      loader: "js",
    }));
    // The runtime's backend switch, replaced by the browser's only backend.
    const ortMod = root("runtime/ort/mod.ts");
    b.onResolve(
      { filter: /\/ort\/mod\.ts$/ },
      (a) =>
        new URL(a.path, `file://${a.resolveDir}/`).pathname === ortMod
          ? { path: here("src/ort_web.ts") }
          : undefined,
    );
  },
};

/** The digits set the page trains on: the file `dlm train --data digits` reads. */
export const DIGITS_CSV = root("lang-examples/data/digits.csv");

/** The digits set packed for the page; a missing or malformed file fails the build, saying which. */
export function packDigits(path = DIGITS_CSV): Uint8Array {
  let csv: string;
  try {
    csv = Deno.readTextFileSync(path);
  } catch (e) {
    throw new Error(
      `web/build.ts: the page's training set ${path} cannot be read (${(e as Error).message}); ` +
        "it is the digits set dlm train reads (lang-examples/data/digits.csv)",
    );
  }
  try {
    return encodeDigits(csv);
  } catch (e) {
    throw new Error(`web/build.ts: ${path}: ${(e as Error).message}`);
  }
}

const ORT_FILES = [
  "ort-wasm-simd-threaded.mjs",
  "ort-wasm-simd-threaded.wasm",
  // The WebGPU build's runtime, fetched only by a page whose browser has an adapter.
  "ort-wasm-simd-threaded.asyncify.mjs",
  "ort-wasm-simd-threaded.asyncify.wasm",
];

/** Build the playground into `outDir` (default web/dist/). */
export async function buildWeb(
  opts: { outDir?: string; minify?: boolean; digits?: string } = {},
): Promise<BuildResult> {
  const t0 = performance.now();
  // Before anything is removed or written: a missing data set leaves the last build as it was.
  const digits = packDigits(opts.digits);
  const outDir = opts.outDir ?? here("dist");
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  Deno.mkdirSync(`${outDir}/ort`, { recursive: true });
  try {
    await esbuild.build({
      entryPoints: {
        main: here("src/main.ts"),
        worker: here("src/worker.ts"),
        "train-worker": here("src/train_worker.ts"),
        // onnxruntime-web's WebGPU build, imported by URL only where an adapter exists.
        "ort/webgpu": here("src/ort_webgpu.ts"),
      },
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      outdir: outDir,
      minify: opts.minify ?? true,
      sourcemap: false,
      logLevel: "warning",
      plugins: [workspacePlugin],
      // onnxruntime-web's Node branch, never taken in a browser.
      external: ["node:*", "fs", "path", "os", "worker_threads", "perf_hooks"],
      define: { "process.env.NODE_ENV": '"production"' },
    });
  } finally {
    await esbuild.stop();
  }
  for (const f of ["index.html", "style.css"]) {
    Deno.copyFileSync(here(`src/${f}`), `${outDir}/${f}`);
  }
  Deno.writeFileSync(`${outDir}/digits.bin`, digits);
  const ortDist = new URL("./", import.meta.resolve("onnxruntime-web")).pathname;
  for (const f of ORT_FILES) Deno.copyFileSync(`${ortDist}${f}`, `${outDir}/ort/${f}`);
  const files: { path: string; bytes: number }[] = [];
  const list = (dir: string, rel: string) => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isDirectory) list(`${dir}/${e.name}`, `${rel}${e.name}/`);
      else files.push({ path: rel + e.name, bytes: Deno.statSync(`${dir}/${e.name}`).size });
    }
  };
  list(outDir, "");
  files.sort((a, b) => a.path < b.path ? -1 : 1);
  return { outDir, files, ms: performance.now() - t0 };
}

/** Bytes over the wire: each file gzip-compressed, as a static server would send it. */
export async function compressedSize(dir: string, files: { path: string }[]): Promise<number> {
  let total = 0;
  for (const f of files) {
    const s = new Blob([Deno.readFileSync(`${dir}/${f.path}`)]).stream()
      .pipeThrough(new CompressionStream("gzip"));
    total += (await new Response(s).arrayBuffer()).byteLength;
  }
  return total;
}

if (import.meta.main) {
  const r = await buildWeb();
  const total = r.files.reduce((s, f) => s + f.bytes, 0);
  for (const f of r.files) console.log(`${f.path.padEnd(36)} ${(f.bytes / 1024).toFixed(1)} KiB`);
  const gz = await compressedSize(r.outDir, r.files);
  console.log(
    `web/dist: ${(total / 1024).toFixed(0)} KiB, ${
      (gz / 1024).toFixed(0)
    } KiB gzip-compressed; built in ${r.ms.toFixed(0)} ms`,
  );
}
