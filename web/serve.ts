/**
 * `deno task web [--port N]`: build the playground (web/build.ts) and serve `web/dist/` on
 * 127.0.0.1, on a free port unless `--port` names one, printing the URL. `serveDist` is the
 * static server the browser tests use too.
 */
import { buildWeb } from "./build.ts";

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  wasm: "application/wasm",
  png: "image/png",
  svg: "image/svg+xml",
};

/** Serve the files of `dir` (GET only; no listing, nothing outside `dir`) on 127.0.0.1:`port`. */
export function serveDist(dir: string, port = 0): { server: Deno.HttpServer; url: string } {
  let resolveUrl = "";
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: ({ port }) => {
      resolveUrl = `http://127.0.0.1:${port}/`;
    },
  }, async (req) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed", { status: 405 });
    }
    let path = decodeURIComponent(new URL(req.url).pathname);
    if (path.endsWith("/")) path += "index.html";
    if (path.split("/").includes("..")) return new Response("not found", { status: 404 });
    try {
      const body = await Deno.readFile(`${dir}${path}`);
      const ext = path.slice(path.lastIndexOf(".") + 1);
      return new Response(req.method === "HEAD" ? null : body, {
        headers: { "content-type": TYPES[ext] ?? "application/octet-stream" },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const addr = server.addr as Deno.NetAddr;
  return { server, url: resolveUrl || `http://127.0.0.1:${addr.port}/` };
}

function portOf(args: string[]): number | undefined {
  const i = args.findIndex((a) => a === "--port" || a.startsWith("--port="));
  if (i < 0) return undefined;
  const v = args[i].includes("=") ? args[i].split("=")[1] : args[i + 1];
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`error: --port takes a port number from 0 to 65535, not '${v ?? ""}'`);
    Deno.exit(2);
  }
  return n;
}

if (import.meta.main) {
  const port = portOf(Deno.args) ?? 0;
  const built = await buildWeb();
  let url: string;
  try {
    url = serveDist(built.outDir, port).url;
  } catch (e) {
    if (!(e instanceof Deno.errors.AddrInUse)) throw e;
    console.error(`error: port ${port} on 127.0.0.1 is in use; give another with --port N`);
    Deno.exit(1);
  }
  console.log(`dlm playground: ${url}  (serving ${built.outDir}; Ctrl-C stops)`);
}
