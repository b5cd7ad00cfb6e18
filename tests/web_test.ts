/**
 * The playground in a real browser: web/ built by web/build.ts, served on loopback, driven in
 * headless Chromium by puppeteer-core. It loads the page, types an error into a program and sees
 * the diagnostic at its line, fixes it, compiles, runs and sees the diff verdict, and saves a
 * screenshot of each state in web/artifacts/.
 *
 * Without a Chromium (`DLM_CHROMIUM`, else chromium or chromium-browser on PATH) the test is
 * skipped with a message, except under `CI=true`, where a missing browser fails it.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "puppeteer-core";
import {
  ARTIFACTS,
  checks,
  setDoc,
  skip,
  watchedPage,
  WEBGPU_ARGS,
  withPlayground,
} from "./web_harness.ts";
import { compressedSize } from "../web/build.ts";

// The functions given to page.evaluate run in the page; this module is checked with Deno's types,
// not the DOM's, so the page's globals are declared loosely here.
declare const document: any;

// The program the test types: its line 3 calls a layer that does not exist.
const PROGRAM = `// typed by tests/web_test.ts
model Tiny(features: int = 4) {
  input x: f32[N, features]
  output y: f32[N, 3] = x |> fc: linear(3) |> tanh
}
`;

/** Put the cursor in the editor just after the first occurrence of `after`. */
async function cursorAfter(page: Page, after: string): Promise<void> {
  await page.evaluate((s) => {
    const v = (globalThis as any).dlmPlayground.view;
    const at = v.state.doc.toString().indexOf(s) + s.length;
    v.focus();
    v.dispatch({ selection: { anchor: at } });
  }, after);
}

/** Wait until a check newer than `since` has been answered, and return the problems shown. */
async function nextCheck(page: Page, since: number): Promise<{ code: string; line: number }[]> {
  await page.waitForFunction((n) => Number(document.body.dataset.checks ?? "0") > n, {
    timeout: 60_000,
  }, since);
  return await page.evaluate(() =>
    [...document.querySelectorAll("#problems li")].map((li) => ({
      code: (li as any).dataset.code ?? "",
      line: Number((li as any).dataset.line ?? 0),
    }))
  );
}

Deno.test({
  name: "the playground in Chromium: diagnostic at its line, fix, compile, run, diff verdict",
  ignore: skip,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withPlayground("dlm_web_test_", async ({ url, dist, launch }) => {
      const browser = await launch();
      // What the page downloads, for the size report.
      const { page, errors, fetched, elsewhere } = await watchedPage(browser, url);
      await page.goto(url, { waitUntil: "load" });
      // The first example is checked without a keystroke: the time to an editable, checked page.
      await page.waitForFunction(() => document.body.dataset.ready, { timeout: 120_000 });
      const ready = Number(await page.evaluate(() => document.body.dataset.ready));
      const first = await page.evaluate(() => document.querySelectorAll("#problems li").length);
      assert.equal(first, 0, "mlp.dlm checks clean in the page");
      const gallery = await page.$$eval("#gallery option", (os) => os.map((o) => o.textContent));
      assert.ok(gallery.includes("lenet_digits.dlm") && gallery.includes("lib/transformer.dlm"));

      // Type an error: `tanh` becomes `tanhx` on line 4, keystroke by keystroke.
      await setDoc(page, PROGRAM);
      let n = await checks(page);
      await nextCheck(page, n);
      await cursorAfter(page, "|> tanh");
      n = await checks(page);
      await page.keyboard.type("x");
      let problems = await nextCheck(page, n);
      assert.deepEqual(problems, [{ code: "DLM0101", line: 4 }]);
      // The lint marker sits on line 4 of the editor, with the code in its message.
      await page.waitForSelector(".cm-lintRange-error", { timeout: 30_000 });
      const marked = await page.evaluate(() => {
        const el = document.querySelector(".cm-lintRange-error")!;
        const v = (globalThis as any).dlmPlayground.view;
        const pos = v.posAtDOM(el);
        return { line: v.state.doc.lineAt(pos).number, text: el.textContent };
      });
      assert.deepEqual(marked, { line: 4, text: "tanhx" });
      await page.screenshot({ path: `${ARTIFACTS}diagnostic.png` });

      // Fix it.
      n = await checks(page);
      await page.keyboard.press("Backspace");
      problems = await nextCheck(page, n);
      assert.deepEqual(problems, []);

      // Compile: the ONNX model is offered for download.
      await page.click("#compile");
      await page.waitForSelector("#download", { timeout: 60_000 });
      const link = await page.$eval("#download", (a) => ({
        name: (a as any).download,
        text: a.textContent,
      }));
      assert.equal(link.name, "Tiny.onnx");
      const bytes = await page.$eval("#download", async (a) => {
        const buf = await (await fetch((a as any).href)).arrayBuffer();
        return buf.byteLength;
      });
      assert.ok(bytes > 100, `the model has ${bytes} bytes`);
      // The dims form has the symbolic dim N: run with N = 5.
      await page.$eval('#dims input[name="N"]', (i) => (i as any).value = "5");

      await page.click("#run");
      await page.waitForFunction(() => document.body.dataset.verdict, { timeout: 120_000 });
      const verdict = await page.evaluate(() => document.body.dataset.verdict);
      const table = await page.$$eval(
        "#run-result tr",
        (rows) => rows.map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent)),
      );
      assert.equal(verdict, "ok");
      // Launched with --disable-gpu and without --enable-unsafe-webgpu: no adapter, so WASM, noted.
      assert.equal(await page.evaluate(() => document.body.dataset.backend), "wasm");
      assert.equal(await page.evaluate(() => document.body.dataset.diffBackend), "wasm");
      assert.ok(
        ![...fetched].some((f) => /webgpu|asyncify/.test(f)),
        `without an adapter the page fetches no WebGPU build: ${[...fetched].join(", ")}`,
      );
      assert.match(
        await page.$eval("#backend", (p) => p.textContent ?? ""),
        /backend: wasm \(WebGPU gave no adapter; ran on WASM\)/,
      );
      assert.equal(table[1][0], "y");
      assert.equal(table[1][1], "f32[5, 3]");
      const [min, max] = [Number(table[1][2]), Number(table[1][3])];
      assert.ok(min >= -1 && max <= 1 && min < max, `tanh output in [-1, 1]: ${min}..${max}`);
      await page.click("#show-graph");
      await page.waitForSelector("#graph svg", { timeout: 60_000 });
      await page.screenshot({ path: `${ARTIFACTS}run_and_graph.png` });
      assert.deepEqual(errors, []);
      assert.deepEqual(elsewhere, [], "the page fetches nothing but its own files");
      const downloaded = [...fetched].sort().map((path) => ({ path }));
      const gz = await compressedSize(dist, downloaded);
      console.log(
        `playground: the page downloaded ${downloaded.map((f) => f.path).join(", ")}: ${
          (gz / 1024).toFixed(0)
        } KiB gzip-compressed; first example checked ${ready} ms after navigation (machine shared, noisy)`,
      );
      await browser.close();

      // A second launch whose Chromium has a (software) WebGPU adapter: the run is on WebGPU.
      await runOnWebGpu(await launch(WEBGPU_ARGS), url, dist);
    });
  },
});

// The WebGPU run's program: matrix products long enough (784 terms) for the GPU's summation order
// to differ from the reference interpreter's, and exp and a reduction in the softmax.
const WIDE = `// typed by tests/web_test.ts, run on WebGPU
model Wide(features: int = 784) {
  input x: f32[N, features]
  output p: f32[N, 10] = x |> h: linear(256) |> relu |> out: linear(10) |> softmax
}
`;

/**
 * A small MLP (WIDE: 784 → 256 → 10, softmax) run on onnxruntime-web's WebGPU
 * backend and diffed against the reference interpreter, at the WASM run's tolerance. A Chromium
 * that gives no adapter even with WEBGPU_ARGS skips this part with a message: whether a browser has
 * WebGPU is the machine's business, not the playground's.
 */
async function runOnWebGpu(browser: Browser, url: string, dist: string): Promise<void> {
  const { page, errors, fetched } = await watchedPage(browser, url);
  await page.goto(url, { waitUntil: "load" });
  const adapter = await page.evaluate(async () => {
    const a = await (navigator as any).gpu?.requestAdapter();
    return a ? `${a.info?.vendor ?? "?"} ${a.info?.architecture ?? "?"}` : undefined;
  });
  if (!adapter) {
    console.warn(
      `WebGPU part skipped: this Chromium gives no WebGPU adapter with ${WEBGPU_ARGS.join(" ")}`,
    );
    return;
  }
  await page.waitForFunction(() => document.body.dataset.ready, { timeout: 120_000 });
  const n = await checks(page);
  await setDoc(page, WIDE);
  assert.deepEqual(await nextCheck(page, n), []);
  const t0 = performance.now();
  await page.click("#run");
  await page.waitForFunction(() => document.body.dataset.verdict, { timeout: 180_000 });
  const ms = performance.now() - t0;
  const shown = await page.$eval("#backend", (p) => p.textContent ?? "");
  assert.equal(await page.evaluate(() => document.body.dataset.backend), "webgpu", shown);
  assert.equal(await page.evaluate(() => document.body.dataset.diffBackend), "webgpu", shown);
  const diff = await page.$eval("#run-result pre", (p) => p.textContent ?? "");
  assert.equal(await page.evaluate(() => document.body.dataset.verdict), "ok", diff);
  const table = await page.$$eval(
    "#run-result tr",
    (rows) => rows.map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent)),
  );
  assert.equal(table[1][0], "p");
  assert.match(table[1][1] ?? "", /^f32\[\d+, 10\]$/);
  const [min, max] = [Number(table[1][2]), Number(table[1][3])];
  assert.ok(min >= 0 && max <= 1 && min < max, `softmax output in [0, 1]: ${min}..${max}`);
  await page.screenshot({ path: `${ARTIFACTS}run_webgpu.png` });
  assert.deepEqual(errors, []);
  assert.ok(fetched.has("ort/webgpu.js"), [...fetched].join(", "));
  const downloaded = [...fetched].sort().map((path) => ({ path }));
  const gz = await compressedSize(dist, downloaded);
  console.log(
    `playground: Wide ran on WebGPU (adapter ${adapter}) and diffed ok in ${
      ms.toFixed(0)
    } ms, its first session included (machine shared, noisy); the page downloaded ${
      downloaded.map((f) => f.path).join(", ")
    }: ${(gz / 1024).toFixed(0)} KiB gzip-compressed\n${diff}`,
  );
}
