/**
 * What the browser tests share: the Chromium to drive (`$DLM_CHROMIUM`, else chromium or
 * chromium-browser on PATH), whether to skip without one (a missing browser fails under
 * `CI=true`), where screenshots go, and a headless launch.
 */
import puppeteer, { type Browser } from "puppeteer-core";

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
