/**
 * Training in the playground, in a real browser (headless Chromium driven by puppeteer-core):
 * LeNet trained on the bundled digits by onnxruntime-web in the page's training worker, paused
 * (no step runs while paused) and resumed, to above 90% held-out accuracy; a "0" drawn on the pad
 * with mouse strokes is classified as one; a reload restores the weights from IndexedDB and the
 * pad classifies a "0" drawn by touch with them; the downloaded weights are the safetensors `dlm run --weights` reads
 * (web/src/train_test.ts runs that round trip in Deno). The sample viewer draws the VAE trained
 * in the page and the CGAN from an uploaded `dlm train --save` file. Screenshots in
 * web/artifacts/: train_chart.png (the chart README shows), train_pad.png, train_restored.png,
 * samples_vae.png, samples_cgan.png.
 *
 * Skipped without a Chromium as tests/web_test.ts is, except under CI=true.
 */
import assert from "node:assert/strict";
import type { Page } from "puppeteer-core";
import { readSafetensors } from "../runtime/formats/safetensors.ts";
import { ARTIFACTS, skip, withPlayground } from "./web_harness.ts";
import { dlm } from "./cli_testing.ts";

// The page's globals, for the functions page.evaluate runs there (checked with Deno's types).
declare const document: any;

const EPOCHS = 6;

const state = (page: Page) =>
  page.evaluate(() => ({ ...document.body.dataset })) as Promise<Record<string, string>>;

/** A "0" drawn as a user would, with the mouse or a finger: one closed stroke round an ellipse. */
async function drawZero(page: Page, by: "mouse" | "touch" = "mouse"): Promise<void> {
  const box = (await (await page.$("#pad"))!.boundingBox())!;
  const [cx, cy] = [box.x + box.width / 2, box.y + box.height / 2];
  const [rx, ry] = [box.width * 0.25, box.height * 0.36];
  const point = (i: number) => {
    const a = (i / 40) * 2 * Math.PI;
    return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)] as const;
  };
  if (by === "mouse") {
    await page.mouse.move(...point(0));
    await page.mouse.down();
    for (let i = 1; i <= 40; i++) await page.mouse.move(...point(i));
    await page.mouse.up();
  } else {
    const finger = await page.touchscreen.touchStart(...point(0));
    for (let i = 1; i <= 40; i++) await finger.move(...point(i));
    await finger.end();
  }
}

async function prediction(page: Page): Promise<string> {
  await page.waitForFunction(() => document.body.dataset.prediction !== undefined, {
    timeout: 60_000,
  });
  return await page.evaluate(() => document.body.dataset.prediction);
}

Deno.test({
  name: "training in the playground: LeNet above 90%, pause and resume, the pad, a reload",
  ignore: skip,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withPlayground("dlm_web_train_test_", async ({ url, launch }) => {
      const browser = await launch();
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.setViewport({ width: 1280, height: 860, hasTouch: true });
      await page.goto(url, { waitUntil: "load" });
      await page.waitForFunction(() => document.body.dataset.ready, { timeout: 120_000 });
      // The editor shows the file being trained.
      await page.select("#gallery", "lenet_digits.dlm");
      await page.click("#train-toggle");
      assert.equal((await state(page)).trainState, undefined, "a fresh browser has no weights");
      await page.$eval("#train-epochs", (i, n) => (i as any).value = String(n), EPOCHS);

      // The editor's text is what trains: an error in it is reported with its code, not run.
      const original = await page.evaluate(() =>
        (globalThis as any).dlmPlayground.view.state.doc.toString()
      );
      const broken = original.replace("|> relu", "|> reluu");
      const setDoc = (t: string) =>
        page.evaluate((t) => {
          const v = (globalThis as any).dlmPlayground.view;
          v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: t } });
        }, t);
      await setDoc(broken);
      await page.click("#train-start");
      await page.waitForFunction(() => document.body.dataset.trainState === "error", {
        timeout: 60_000,
      });
      assert.match(
        await page.$eval("#train-status", (s) => s.textContent!),
        /error: DLM0101: lenet_digits\.dlm:11:8: /,
      );
      await setDoc(original);

      // Train, pause after some steps, see that nothing runs while paused, resume.
      const t0 = performance.now();
      await page.click("#train-start");
      await page.waitForFunction(() => Number(document.body.dataset.trainSteps ?? 0) >= 40, {
        timeout: 120_000,
      });
      await page.click("#train-pause");
      await page.waitForFunction(() => document.body.dataset.trainState === "paused", {
        timeout: 60_000,
      });
      const atPause = Number((await state(page)).trainSteps);
      assert.ok(atPause < 90 * EPOCHS, `paused before the end (step ${atPause})`);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(Number((await state(page)).trainSteps), atPause, "no step runs while paused");
      assert.match(await page.$eval("#train-pause", (b) => b.textContent!), /resume/);
      await page.click("#train-pause");
      await page.waitForFunction(
        () => ["done", "error"].includes(document.body.dataset.trainState),
        { timeout: 600_000 },
      );
      const wall = (performance.now() - t0) / 1000;
      const done = await state(page);
      assert.equal(
        done.trainState,
        "done",
        await page.$eval("#train-status", (s) => s.textContent),
      );
      assert.equal(done.trainEpochs, String(EPOCHS));
      // 1,438 training samples in batches of 16: 90 steps an epoch, the pause lost none.
      assert.equal(done.trainSteps, String(90 * EPOCHS));
      const acc = Number(done.valAccuracy);
      assert.ok(acc > 0.9, `held-out accuracy ${acc} after ${EPOCHS} epochs`);
      // The same run as dlm train's (split, shuffles, dropout masks, initial weights): each
      // epoch's figures agree with the CLI's on onnxruntime-node, to float differences.
      const pageHistory: { values: Record<string, number> }[] = await page.evaluate(() =>
        (globalThis as any).dlmTraining.record.history
      );
      const cliDir = await Deno.makeTempDir({ prefix: "dlm_web_train_cli_" });
      try {
        const r = await dlm(
          "train",
          "lang-examples/lenet_digits.dlm",
          "--data",
          "digits",
          "--epochs",
          String(EPOCHS),
          "--out",
          cliDir,
          "--no-cache",
        );
        assert.equal(r.code, 0, r.err);
        const [head, ...rows] = Deno.readTextFileSync(`${cliDir}/history.csv`).trim().split("\n");
        const cols = head.split(",");
        assert.equal(rows.length, EPOCHS);
        rows.forEach((row, e) => {
          const cli = Object.fromEntries(row.split(",").map((v, k) => [cols[k], Number(v)]));
          for (const k of ["loss", "accuracy", "val_loss", "val_accuracy"]) {
            const got = pageHistory[e].values[k];
            assert.ok(
              Math.abs(got - cli[k]) < 0.02,
              `epoch ${e + 1} ${k}: page ${got}, cli ${cli[k]}`,
            );
          }
        });
      } finally {
        await Deno.remove(cliDir, { recursive: true });
      }
      const chart = await page.$eval("#train-chart", (c) => c.innerHTML);
      assert.equal(chart.match(/<polyline /g)?.length, 4, "train and val, loss and accuracy");
      await page.waitForFunction(() => document.body.dataset.stored, { timeout: 30_000 });
      await (await page.$("#train-panel"))!.screenshot({ path: `${ARTIFACTS}train_chart.png` });

      // The download: the weights as safetensors, by parameter name.
      const bytes = await page.$eval("#train-download", async (a) => {
        const buf = await (await fetch((a as any).href)).arrayBuffer();
        return [...new Uint8Array(buf)];
      });
      const names = [...readSafetensors(new Uint8Array(bytes)).tensors.keys()].sort();
      assert.deepEqual(names, [
        "conv1.bias",
        "conv1.weight",
        "conv2.bias",
        "conv2.weight",
        "fc1.bias",
        "fc1.weight",
        "fc2.bias",
        "fc2.weight",
        "fc3.bias",
        "fc3.weight",
      ]);

      // The pad: a drawn 0.
      await drawZero(page);
      assert.equal(await prediction(page), "0");
      const preview = await page.$eval("#pad-probs", (p) => p.textContent!);
      assert.match(preview, /it is a 0/);
      await (await page.$("#train-panel"))!.screenshot({ path: `${ARTIFACTS}train_pad.png` });

      // A reload keeps the weights: the panel says so, and the pad classifies with them.
      await page.reload({ waitUntil: "load" });
      await page.waitForFunction(() => document.body.dataset.trainState === "restored", {
        timeout: 60_000,
      });
      const restored = await state(page);
      assert.equal(restored.valAccuracy, done.valAccuracy);
      assert.equal(restored.trainEpochs, String(EPOCHS));
      await page.click("#train-toggle");
      // With a finger this time: touch strokes are pointer events too.
      await drawZero(page, "touch");
      assert.equal(await prediction(page), "0");
      await (await page.$("#train-panel"))!.screenshot({ path: `${ARTIFACTS}train_restored.png` });

      // The sample viewer: the VAE trained in the page, then the CGAN from an uploaded file.
      await page.select("#train-file", "vae_digits.dlm");
      await page.$eval("#train-epochs", (i) => (i as any).value = "3");
      await page.click("#train-start");
      await page.waitForFunction(
        () => ["done", "error"].includes(document.body.dataset.trainState),
        { timeout: 300_000 },
      );
      assert.equal((await state(page)).trainState, "done");
      const vae: { values: Record<string, number> }[] = await page.evaluate(() =>
        (globalThis as any).dlmTraining.record.history
      );
      assert.equal(vae.length, 3);
      assert.ok(vae[2].values.val_loss < vae[0].values.val_loss, "the VAE's held-out loss falls");
      await page.select("#sample-file", "vae_digits.dlm");
      await page.click("#sample-draw");
      await page.waitForFunction(() => document.body.dataset.samples === "vae_digits.dlm", {
        timeout: 120_000,
      });
      // 64 samples, 8 a row, 8x8 pixels with a pixel between, drawn 4x.
      const vaeGrid = await page.$eval(
        "#sample-grid",
        (c) => [(c as any).width, (c as any).height],
      );
      assert.deepEqual(vaeGrid, [73 * 4, 73 * 4]);
      await (await page.$("#train-panel"))!.screenshot({ path: `${ARTIFACTS}samples_vae.png` });

      const dir = await Deno.makeTempDir({ prefix: "dlm_web_cgan_" });
      try {
        const r = await dlm(
          "train",
          "lang-examples/cgan_digits.dlm",
          "--data",
          "digits",
          "--epochs",
          "2",
          "--save",
          `${dir}/cgan.safetensors`,
          "--no-cache",
        );
        assert.equal(r.code, 0, r.err);
        // A file that is not safetensors: the viewer says so, naming it, and draws nothing.
        Deno.writeFileSync(`${dir}/junk.safetensors`, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
        await page.select("#sample-file", "cgan_digits.dlm");
        await (await page.$("#sample-upload") as any).uploadFile(`${dir}/junk.safetensors`);
        await page.waitForFunction(
          () => /junk\.safetensors/.test(document.querySelector("#sample-status").textContent),
          { timeout: 30_000 },
        );
        await page.click("#sample-draw");
        await page.waitForFunction(
          () => /^error/.test(document.querySelector("#sample-status").textContent),
          { timeout: 60_000 },
        );
        const refused = await page.$eval("#sample-status", (e) => e.textContent!);
        assert.match(refused, /DLM04\d\d: .*the uploaded junk\.safetensors/);
        assert.equal((await state(page)).samples, undefined);
        const upload = await page.$("#sample-upload");
        await (upload as any).uploadFile(`${dir}/cgan.safetensors`);
        await page.waitForFunction(
          () => /cgan\.safetensors/.test(document.querySelector("#sample-status").textContent),
          { timeout: 30_000 },
        );
        await page.click("#sample-draw");
        await page.waitForFunction(() => document.body.dataset.samples === "cgan_digits.dlm", {
          timeout: 120_000,
        });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
      const cganGrid = await page.$eval(
        "#sample-grid",
        (c) => [(c as any).width, (c as any).height],
      );
      assert.deepEqual(cganGrid, [91 * 4, 91 * 4], "100 samples, 10 a row");
      await (await page.$("#train-panel"))!.screenshot({ path: `${ARTIFACTS}samples_cgan.png` });
      assert.deepEqual(errors, []);
      console.log(
        `playground training: LeNet ${EPOCHS} epochs (${
          90 * EPOCHS
        } steps of 16) in the page: held-out accuracy ${acc}, ${done.msPerStep} ms a step ` +
          `(onnxruntime-web WASM, 1 thread, 8 steps a run), ${
            wall.toFixed(1)
          } s wall with a pause ` +
          "(machine shared, noisy)",
      );
    });
  },
});
