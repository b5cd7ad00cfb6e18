/**
 * Builds a command's bundle for the CLI's code cache (code_cache.ts): the
 * command module, runtime/fs.ts's output checks and the CLI's error classes
 * and failure report (errors the bundle throws are its own classes' objects),
 * with everything they import, as one script that `node:vm` compiles.
 *
 * esbuild bundles the module graph as CommonJS inside a function of
 * `module` and `require`: the script's value is that function, and calling it
 * fills `module.exports`. `require` loads what stays outside the bundle:
 * Node's built-ins (`node:v8`) and onnxruntime's packages (a native addon,
 * which no script can hold), resolved from the command module's folder.
 * Modules the command imports on demand stay on demand (esbuild initialises a
 * module reached by `import()` when it is first imported), and three
 * module-relative forms are made literal, since a script has no
 * `import.meta`:
 *
 * - `import(import.meta.resolve("./x.ts"))` (the computed specifiers that
 *   keep Deno from loading a graph before it is needed) becomes
 *   `import("./x.ts")`, which esbuild bundles;
 * - `import.meta.resolve("s")` becomes the URL it resolves to (a package's
 *   name through deno.json's import map, as the module resolves it), and
 *   `import.meta.url` the module's own URL, both as string literals;
 * - `import.meta.main` becomes `false` (a bundled module is never the
 *   program's main module).
 *
 * Anything else esbuild cannot bundle (another `import.meta`, a top-level
 * `await`, a dynamic `import()` of a computed name or of a module left
 * outside) makes the build fail or is found in its output, and the command
 * runs from its modules: `buildBundle` returns undefined and the cache stays
 * out of the way.
 */
import * as esbuild from "esbuild";
import { BUNDLE_FORMAT, type Manifest } from "./code_cache.ts";

const ROOT = new URL("../", import.meta.url);

/** The name of the generated entry module (it is no file: esbuild reads it from `stdin`). */
const ENTRY_NAME = "dlm-bundle-entry.ts";

/**
 * How long a source must have been left alone before a bundle is built from it: a file written
 * during the build (or within a file system's time granularity before it) may have been read
 * half-written or in its older version.
 */
const SETTLE_MS = 2000;

/** The files beside the sources that decide what the bundle holds: the import map and the lock. */
const CONFIG = ["deno.json", "deno.lock"];

/** The module-relative forms made literal (see the module comment), for one module's text. */
export function literalMeta(src: string, url: string): string {
  return src
    .replace(
      /import\(\s*import\.meta\.resolve\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\)\s*\)/g,
      (_m, s: string) => `import(${JSON.stringify(resolveLiteral(s))})`,
    )
    .replace(
      /import\.meta\.resolve\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\)/g,
      (_m, s: string) => {
        const spec = resolveLiteral(s);
        // A package's name resolves as the module would resolve it: through deno.json's import
        // map, which is the builder's too (and part of the bundle's manifest).
        const bare = !/^(\.{0,2}\/|[a-z][a-z0-9+.-]*:)/i.test(spec);
        return JSON.stringify(bare ? import.meta.resolve(spec) : new URL(spec, url).href);
      },
    )
    .replace(/import\.meta\.url\b/g, JSON.stringify(url))
    .replace(/import\.meta\.main\b/g, "false");
}

/** A quoted specifier's text. */
function resolveLiteral(quoted: string): string {
  return quoted.startsWith("'") ? JSON.parse(`"${quoted.slice(1, -1)}"`) : JSON.parse(quoted);
}

const literalPlugin: esbuild.Plugin = {
  name: "dlm-literal-meta",
  setup(b) {
    b.onLoad({ filter: /\.(ts|mts|js|mjs)$/ }, async (a) => {
      if (a.path.includes("/node_modules/")) return undefined;
      const src = await Deno.readTextFile(a.path);
      const loader = /\.m?ts$/.test(a.path) ? "ts" : "js";
      return { contents: literalMeta(src, `file://${a.path}`), loader };
    });
  },
};

/**
 * The bundle of the command module `entry` (with runtime/fs.ts at `fsUrl`): its text (the
 * manifest line, then the script) and manifest; undefined when esbuild cannot bundle it as a
 * script (see the module comment).
 */
export async function buildBundle(
  entry: string,
  fsUrl: string,
): Promise<{ text: string; manifest: Manifest } | undefined> {
  const root = ROOT.pathname;
  const path = (url: string | URL) => JSON.stringify(new URL(url).pathname);
  const entrySource = `export { run } from ${path(entry)};\n` +
    `export { checkOutputDir, checkOutputFile } from ${path(fsUrl)};\n` +
    `export { UsageError } from ${path(new URL("cli/args.ts", ROOT))};\n` +
    `export { reportFailure } from ${path(new URL("cli/report.ts", ROOT))};\n`;
  const started = Date.now();
  let result: esbuild.BuildResult & {
    metafile: esbuild.Metafile;
    outputFiles: esbuild.OutputFile[];
  };
  try {
    result = await esbuild.build({
      stdin: { contents: entrySource, resolveDir: root, sourcefile: ENTRY_NAME, loader: "ts" },
      absWorkingDir: root,
      bundle: true,
      format: "cjs",
      platform: "neutral",
      mainFields: ["module", "main"],
      conditions: ["import", "module", "default"],
      target: "es2022",
      minifyWhitespace: true,
      minifySyntax: true,
      write: false,
      metafile: true,
      logLevel: "silent",
      // Node's built-ins and onnxruntime (a native addon; its web build a package of its own)
      // stay outside: the bundle requires them at run time (code_cache.ts gives it `require`).
      external: ["node:*", "onnxruntime-node", "onnxruntime-web"],
      plugins: [literalPlugin],
    });
  } catch {
    return undefined;
  } finally {
    await esbuild.stop();
  }
  if (result.errors.length || result.warnings.length) return undefined;
  const body = result.outputFiles[0]?.text;
  // A dynamic import() left in the output is one esbuild could not resolve at build time:
  // a script cannot run it as the module could.
  if (body === undefined || /\bimport\(/.test(body)) return undefined;
  const inputs: Manifest["inputs"] = [];
  const paths = Object.keys(result.metafile.inputs)
    .filter((p) => p !== ENTRY_NAME && !p.startsWith("<stdin>") && !p.includes("node_modules/"))
    .map((p) => new URL(p, ROOT).pathname);
  for (const path of [...paths.sort(), ...CONFIG.map((c) => new URL(c, ROOT).pathname)]) {
    try {
      const st = Deno.statSync(path);
      const mtime = st.mtime?.getTime() ?? -1;
      // A file changed while (or just before) esbuild read it may hold other text than the
      // bundle does under the size and time recorded now: no bundle this time.
      if (mtime >= started - SETTLE_MS) return undefined;
      inputs.push([path, st.size, mtime]);
    } catch {
      if (!CONFIG.some((c) => path.endsWith(`/${c}`))) return undefined;
    }
  }
  const manifest: Manifest = {
    format: BUNDLE_FORMAT,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    entry,
    build: crypto.randomUUID(),
    inputs,
  };
  const text = `//${JSON.stringify(manifest)}\n(function (module, require) {\n${body}\n})`;
  return { text, manifest };
}
