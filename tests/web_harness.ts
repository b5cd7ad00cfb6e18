/**
 * What the browser tests share: the Chromium to drive (`$DLM_CHROMIUM`, else chromium or
 * chromium-browser on PATH), whether to skip without one (a missing browser fails under
 * `CI=true`), where screenshots go, and a headless launch.
 */
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { buildWeb } from "../web/build.ts";
import { serveDist } from "../web/serve.ts";

export const ARTIFACTS = new URL("../web/artifacts/", import.meta.url).pathname;

/** The Chromium to drive: `$DLM_CHROMIUM`, else the first on PATH. */
export function findChromium(): string | undefined {
  const given = Deno.env.get("DLM_CHROMIUM");
  if (given) return given;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    for (const name of ["chromium", "chromium-browser"]) {
      try {
        if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
      } catch { /* not here */ }
    }
  }
  return undefined;
}

export const chromium = findChromium();
const ci = Deno.env.get("CI") === "true";
/** No browser and not in CI: the browser tests are skipped (with a message). */
export const skip = !chromium && !ci;
if (skip) {
  console.warn(
    "browser tests skipped: no Chromium found (install Debian's chromium, or set DLM_CHROMIUM)",
  );
}

/**
 * Chromium's flag that gives headless Chromium here a WebGPU adapter: SwiftShader's software
 * Vulkan, reported as a fallback adapter (vendor "google", architecture "swiftshader"), even with
 * `--disable-gpu`. Without it `navigator.gpu.requestAdapter()` gives null.
 */
export const WEBGPU_ARGS = ["--enable-unsafe-webgpu"];

/** Headless Chromium, with no WebGPU adapter unless `extra` asks for one (WEBGPU_ARGS). */
export function launch(extra: string[] = []): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", ...extra],
  });
}

/** What a browser test gets from `withPlayground`: the served app and a way to open browsers. */
export interface Playground {
  /** The page's URL on loopback. */
  url: string;
  /** The folder the app was built into (for sizes of what the page fetched). */
  dist: string;
  /** Launch headless Chromium (`extra`: e.g. WEBGPU_ARGS); closed when the test ends. */
  launch(extra?: string[]): Promise<Browser>;
}

/**
 * Build the app into a temporary folder of its own (so a `deno task web` running meanwhile keeps
 * its web/dist/), serve it on loopback, run `body`, then close every browser it launched, stop the
 * server and remove the folder. Without a Chromium it fails, which only CI reaches (`skip`).
 */
export async function withPlayground(
  prefix: string,
  body: (p: Playground) => Promise<void>,
): Promise<void> {
  if (!chromium) throw new Error("CI=true and no Chromium: install Debian's chromium (see README)");
  const outDir = await Deno.makeTempDir({ prefix });
  const browsers: Browser[] = [];
  try {
    const built = await buildWeb({ outDir });
    const { server, url } = serveDist(built.outDir);
    Deno.mkdirSync(ARTIFACTS, { recursive: true });
    try {
      await body({
        url,
        dist: built.outDir,
        launch: async (extra) => {
          const b = await launch(extra);
          browsers.push(b);
          return b;
        },
      });
    } finally {
      for (const b of browsers) if (b.connected) await b.close();
      await server.shutdown();
    }
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
}

// The page's globals, for the functions page.evaluate runs there.
// deno-lint-ignore no-explicit-any
declare const document: any;

/** Replace the editor's text as a paste: one transaction (typing would meet auto-closed brackets). */
export async function setDoc(page: Page, text: string): Promise<void> {
  await page.evaluate((t) => {
    // deno-lint-ignore no-explicit-any
    const v = (globalThis as any).dlmPlayground.view;
    v.dispatch({
      changes: { from: 0, to: v.state.doc.length, insert: t },
      userEvent: "input.paste",
    });
  }, text);
}

/** How many checks the page has answered (its `data-checks`). */
export async function checks(page: Page): Promise<number> {
  return Number(await page.evaluate(() => document.body.dataset.checks ?? "0"));
}

/** What a browser test watches on a page: its errors, the app's files it fetched, and any request
 * that went elsewhere (the page must fetch nothing but its own files). */
export interface Watched {
  errors: string[];
  fetched: Set<string>;
  elsewhere: string[];
}

/** A new page of `browser`, watched (`Watched`), with the tests' viewport. */
export async function watchedPage(
  browser: Browser,
  url: string,
  viewport = { width: 1280, height: 760 },
): Promise<{ page: Page } & Watched> {
  const page = await browser.newPage();
  const w: Watched = { errors: [], fetched: new Set(), elsewhere: [] };
  page.on("pageerror", (e) => w.errors.push(String(e)));
  page.on("request", (r) => {
    if (!/^(blob:|data:)/.test(r.url()) && !r.url().startsWith(url)) w.elsewhere.push(r.url());
  });
  page.on("response", (r) => {
    if (r.url().startsWith(url) && r.status() === 200) {
      w.fetched.add(new URL(r.url()).pathname.slice(1) || "index.html");
    }
  });
  await page.setViewport(viewport);
  return { page, ...w };
}
