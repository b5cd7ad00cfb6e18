/// <reference lib="dom" />
/**
 * The playground's training panel: an example's train section (`lenet_digits.dlm` first, and the
 * generative examples) trained in the page by the training worker (train_worker.ts), a live loss
 * and accuracy chart (chart.ts), pause and resume, the trained weights to download (safetensors,
 * as `dlm train --save` writes them) and kept in IndexedDB (store.ts) across reloads; a drawing
 * pad (pad.ts) that the trained LeNet classifies; and a sample viewer (samples.ts) that draws a
 * generative example's samples from weights trained here or uploaded (`dlm train --save`).
 *
 * For tests, the panel's state is on `document.body.dataset`: `trainState` (starting, running,
 * paused, done, restored, error), `trainEpochs` (epochs completed), `valAccuracy` (the last
 * epoch's), `trainSteps`, `msPerStep` (the mean over the runs after the first), `stored` (steps
 * when the weights were last stored), `prediction` (the pad's class) and `samples` (the file
 * whose samples are drawn); `window.dlmTraining.record` is the shown run's record.
 */
import EXAMPLES from "dlm:examples";
import { chartSvg, type Panel, smooth } from "./chart.ts";
import { digitPixels } from "./pad.ts";
import { SAMPLERS } from "./sampler_specs.ts";
import { loadTrained, saveTrained, type TrainedRecord } from "./store.ts";
import type { EpochRecord } from "./train.ts";
import type { TrainEvent, TrainRequest } from "./train_protocol.ts";

const LENET = "lenet_digits.dlm";
const TRAINABLE = [LENET, ...SAMPLERS.map((s) => s.file)];
/**
 * A file's text: the editor's when it shows that file (an edited LeNet trains as edited), else
 * the bundled example's.
 */
function textOf(f: string): string {
  const pg = (globalThis as { dlmPlayground?: { path: string; view: { state: { doc: unknown } } } })
    .dlmPlayground;
  if (pg?.path === f) return String(pg.view.state.doc);
  return (EXAMPLES as Record<string, string>)[f];
}
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const data = document.body.dataset;
const options = (files: string[]) => files.map((f) => `<option>${f}</option>`).join("");

const panel = $("train-panel");
panel.innerHTML = `
<h2>train in the page</h2>
<p class="note">The digits set (1,797 8x8 images) is bundled with the page; steps are compiled by
dlm's training compiler and run by onnxruntime-web (WASM) in a worker. Nothing is sent anywhere.</p>
<div class="train-controls">
  <select id="train-file">${options(TRAINABLE)}</select>
  <label>epochs <input id="train-epochs" type="number" min="1" max="200" value="10"></label>
  <label>seed <input id="train-seed" type="number" min="0" value="0"></label>
  <button id="train-start">train</button>
  <button id="train-pause" disabled>pause</button>
  <a id="train-download" hidden>download weights</a>
</div>
<div id="train-status">not trained yet</div>
<div id="train-chart"></div>
<h3>draw a digit for LeNet</h3>
<div class="pad-row">
  <canvas id="pad" width="192" height="192"></canvas>
  <div>
    <canvas id="pad-preview" width="64" height="64" title="what the model sees: 8x8, 0..16"></canvas>
    <br><button id="pad-clear">clear</button>
  </div>
  <div id="pad-probs"></div>
</div>
<h3>samples of a generative example</h3>
<div class="train-controls">
  <select id="sample-file">${options(SAMPLERS.map((s) => s.file))}</select>
  <label>weights <input id="sample-upload" type="file" accept=".safetensors"></label>
  <label>seed <input id="sample-seed" type="number" min="0" value="0"></label>
  <button id="sample-draw">draw samples</button>
</div>
<div id="sample-status">weights trained above (choose the file there) or uploaded from
<code>dlm train FILE --data digits --save W.safetensors</code></div>
<canvas id="sample-grid" width="0" height="0"></canvas>`;

// ---- the worker --------------------------------------------------------------------------------

let worker: Worker | undefined;
function send(r: TrainRequest): void {
  if (!worker) {
    worker = new Worker("train-worker.js", { type: "module" });
    worker.onmessage = (e: MessageEvent<TrainEvent>) => onEvent(e.data);
  }
  worker.postMessage(r);
}

// ---- state: each file's record (chart points, weights), the storage ---------------------------

const recs = new Map<string, TrainedRecord>();
/** The file the chart shows, and the one being trained (one run at a time). */
let shown = LENET;
let training: string | undefined;
/** The weights the classifier was last given (sent again only when they change). */
let classifierHas: Uint8Array | undefined;
let runTimes: number[] = [];

function empty(epochs: number): TrainedRecord {
  return {
    weights: new Uint8Array(),
    history: [],
    loss: [],
    accuracy: [],
    steps: 0,
    seconds: 0,
    epochs,
    finished: false,
  };
}

const recOf = (f: string) => recs.get(f) ?? empty(0);

function drawChart(): void {
  const rec = recOf(shown);
  const val = (k: string) =>
    rec.history.filter((h) => k in h.values).map((h): [number, number] => [h.step, h.values[k]]);
  const panels: Panel[] = [{
    title: "loss",
    series: [
      { name: "train", color: "#36c", points: smooth(rec.loss) },
      { name: "val", color: "#c33", points: val("val_loss"), dots: true },
    ],
  }];
  // An accuracy panel for a section that reports one (LeNet's, before its first step too).
  if (shown === LENET || rec.accuracy.length) {
    panels.push({
      title: "accuracy",
      range: [0, 1],
      legend: "bottom",
      series: [
        { name: "train", color: "#36c", points: smooth(rec.accuracy) },
        { name: "val", color: "#c33", points: val("val_accuracy"), dots: true },
      ],
    });
  }
  $("train-chart").innerHTML = chartSvg(panels);
}

function status(s: string): void {
  $("train-status").textContent = s;
}

function offerDownload(): void {
  const a = $<HTMLAnchorElement>("train-download");
  const w = recOf(shown).weights;
  if (a.href) URL.revokeObjectURL(a.href);
  a.hidden = w.byteLength === 0;
  if (a.hidden) return;
  a.href = URL.createObjectURL(new Blob([w as BlobPart]));
  a.download = shown.replace(/\.dlm$/, ".safetensors");
  a.textContent = `download weights (${w.byteLength.toLocaleString("en-US")} bytes)`;
}

function lastEpoch(h: EpochRecord[]): string {
  const e = h.at(-1);
  if (!e) return "";
  return Object.entries(e.values).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ");
}

function describe(f: string): string {
  const r = recs.get(f);
  if (!r || !r.weights.byteLength) return `${f}: not trained yet`;
  if (!r.history.length) return `${f}: uploaded weights`;
  return `${f}: ${r.history.length} epoch${r.history.length === 1 ? "" : "s"}, ${r.steps} steps, ` +
    `${r.seconds.toFixed(1)} s${r.finished ? "" : " (paused)"}: ${lastEpoch(r.history)}`;
}

/** Show `f`'s record (the chart, the download, the status). */
function show(f: string): void {
  shown = f;
  $<HTMLSelectElement>("train-file").value = f;
  drawChart();
  offerDownload();
  if (training !== f) status(describe(f));
}

function store(f: string): Promise<unknown> {
  return saveTrained(f, recOf(f)).catch(() => {});
}

function onEvent(e: TrainEvent): void {
  const f = training ?? shown;
  const rec = recOf(f);
  switch (e.kind) {
    case "ready":
      data.trainState = "running";
      status(
        `${f}: compiled and loaded in ${e.ms.toFixed(0)} ms: ${e.trainSize} training and ` +
          `${e.valSize} validation samples, ${e.batches} batches of ${e.batchSize} an epoch, ` +
          `${e.perRun} steps a run`,
      );
      return;
    case "step": {
      rec.loss.push([e.steps, e.loss]);
      if (e.accuracy !== undefined) rec.accuracy.push([e.steps, e.accuracy]);
      rec.steps = e.steps;
      rec.seconds = e.seconds;
      runTimes.push(e.msPerStep);
      const later = runTimes.slice(1);
      const ms = later.length ? later.reduce((a, b) => a + b, 0) / later.length : e.msPerStep;
      data.trainSteps = String(e.steps);
      data.msPerStep = ms.toFixed(3);
      if (shown === f) {
        status(
          `${f}: epoch ${e.epoch}/${e.epochs}, batch ${e.batch}/${e.batches}, step ${e.steps}, ` +
            `${e.seconds.toFixed(1)} s training, ${ms.toFixed(2)} ms a step` +
            (rec.history.length ? `; last epoch: ${lastEpoch(rec.history)}` : ""),
        );
        drawChart();
      }
      return;
    }
    case "epoch":
      rec.history.push(e.record);
      rec.weights = e.weights;
      data.trainEpochs = String(e.record.epoch);
      if ("val_accuracy" in e.record.values) {
        data.valAccuracy = e.record.values.val_accuracy.toFixed(4);
      }
      if (shown === f) {
        drawChart();
        offerDownload();
      }
      void store(f);
      return;
    case "paused":
    case "done": {
      rec.weights = e.weights;
      rec.finished = e.kind === "done";
      data.trainState = e.kind;
      $("train-start").removeAttribute("disabled");
      const pause = $<HTMLButtonElement>("train-pause");
      pause.textContent = e.kind === "done" ? "pause" : "resume";
      pause.disabled = e.kind === "done";
      if (e.kind === "done") training = undefined;
      status(
        `${f}: ${e.kind === "done" ? "trained" : "paused after"} ${rec.history.length} epoch${
          rec.history.length === 1 ? "" : "s"
        }, ${e.steps} steps, ${e.seconds.toFixed(1)} s` +
          (rec.history.length ? `: ${lastEpoch(rec.history)}` : ""),
      );
      if (shown === f) offerDownload();
      void store(f).then(() => (data.stored = String(e.steps)));
      if (f === LENET) classifyPad();
      return;
    }
    case "probs":
      showProbs(e.probs);
      return;
    case "samples":
      showSamples(e);
      return;
    case "error":
      if (data.trainState === "starting" || data.trainState === "running") {
        data.trainState = "error";
        training = undefined;
        $("train-start").removeAttribute("disabled");
      }
      status(`error: ${e.message}`);
      $("sample-status").textContent = `error: ${e.message}`;
      return;
  }
}

$<HTMLSelectElement>("train-file").onchange = () => show($<HTMLSelectElement>("train-file").value);

$("train-start").onclick = () => {
  const epochs = Math.max(1, Math.floor(Number($<HTMLInputElement>("train-epochs").value) || 1));
  const seed = Math.max(0, Math.floor(Number($<HTMLInputElement>("train-seed").value) || 0));
  const f = shown;
  recs.set(f, empty(epochs));
  training = f;
  runTimes = [];
  show(f);
  data.trainState = "starting";
  delete data.trainEpochs;
  delete data.valAccuracy;
  status(`${f}: compiling the train section and loading the digits…`);
  $("train-start").setAttribute("disabled", "");
  const pause = $<HTMLButtonElement>("train-pause");
  pause.disabled = false;
  pause.textContent = "pause";
  send({ kind: "start", path: f, text: textOf(f), epochs, seed });
};

$("train-pause").onclick = () => {
  const b = $<HTMLButtonElement>("train-pause");
  if (b.textContent === "pause") {
    send({ kind: "pause" });
    b.disabled = true; // until the worker says it paused
  } else {
    b.textContent = "pause";
    data.trainState = "running";
    $("train-start").setAttribute("disabled", "");
    send({ kind: "resume" });
  }
};

// ---- the pad -----------------------------------------------------------------------------------

const pad = $<HTMLCanvasElement>("pad");
const ctx = pad.getContext("2d", { willReadFrequently: true })!;
let drawing = false;
let inked = false;

function at(e: PointerEvent): [number, number] {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
}

pad.onpointerdown = (e) => {
  drawing = inked = true;
  pad.setPointerCapture?.(e.pointerId);
  ctx.lineWidth = 16;
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.strokeStyle = "#000";
  ctx.beginPath();
  ctx.moveTo(...at(e));
  ctx.lineTo(...at(e));
  ctx.stroke();
};
pad.onpointermove = (e) => {
  if (!drawing) return;
  ctx.lineTo(...at(e));
  ctx.stroke();
};
pad.onpointerup = pad.onpointercancel = () => {
  if (!drawing) return;
  drawing = false;
  classifyPad();
};
$("pad-clear").onclick = () => {
  ctx.clearRect(0, 0, pad.width, pad.height);
  inked = false;
  $("pad-probs").replaceChildren();
  $<HTMLCanvasElement>("pad-preview").getContext("2d")!.clearRect(0, 0, 64, 64);
  delete data.prediction;
};

/** The pad as the data set's 8x8 image of 0..16, shown in the preview. */
function padPixels(): number[] {
  const img = ctx.getImageData(0, 0, pad.width, pad.height).data;
  const ink = new Float32Array(pad.width * pad.height);
  for (let i = 0; i < ink.length; i++) ink[i] = img[i * 4 + 3] / 255;
  const px = digitPixels(ink, pad.width, pad.height);
  const pv = $<HTMLCanvasElement>("pad-preview").getContext("2d")!;
  px.forEach((v, i) => {
    const g = Math.round(255 * (1 - v / 16));
    pv.fillStyle = `rgb(${g},${g},${g})`;
    pv.fillRect((i % 8) * 8, Math.floor(i / 8) * 8, 8, 8);
  });
  return px;
}

function classifyPad(): void {
  if (!inked) return;
  const pixels = padPixels();
  const w = recOf(LENET).weights;
  if (!w.byteLength) {
    $("pad-probs").textContent = `train ${LENET} first (or reload weights trained before)`;
    return;
  }
  const weights = classifierHas === w ? undefined : w;
  classifierHas = w;
  send({ kind: "classify", path: LENET, text: textOf(LENET), pixels, weights });
}

function showProbs(probs: number[]): void {
  const best = probs.indexOf(Math.max(...probs));
  data.prediction = String(best);
  $("pad-probs").innerHTML = `<p>it is a <strong id="pad-class">${best}</strong></p>` +
    probs.map((p, k) =>
      `<div class="prob${k === best ? " best" : ""}"><span>${k}</span>` +
      `<span class="bar" style="width:${(p * 120).toFixed(1)}px"></span>` +
      `<span>${(p * 100).toFixed(1)}%</span></div>`
    ).join("");
}

// ---- the sample viewer -------------------------------------------------------------------------

const uploaded = new Map<string, { name: string; bytes: Uint8Array }>();

$<HTMLInputElement>("sample-upload").onchange = async () => {
  const input = $<HTMLInputElement>("sample-upload");
  const file = input.files?.[0];
  if (!file) return;
  const f = $<HTMLSelectElement>("sample-file").value;
  uploaded.set(f, {
    name: `the uploaded ${file.name}`,
    bytes: new Uint8Array(await file.arrayBuffer()),
  });
  $("sample-status").textContent = `${f}: weights from ${file.name} (${file.size} bytes)`;
};
$<HTMLSelectElement>("sample-file").onchange = () => {
  $<HTMLInputElement>("sample-upload").value = "";
};

$("sample-draw").onclick = () => {
  const f = $<HTMLSelectElement>("sample-file").value;
  const up = uploaded.get(f);
  const weights = up?.bytes ?? recOf(f).weights;
  const weightsName = up?.name ?? `the weights trained in the page`;
  if (!weights.byteLength) {
    $("sample-status").textContent = `${f}: no weights: train it above, or upload a .safetensors`;
    return;
  }
  const seed = Math.max(0, Math.floor(Number($<HTMLInputElement>("sample-seed").value) || 0));
  const spec = SAMPLERS.find((s) => s.file === f)!;
  delete data.samples;
  $("sample-status").textContent = `${f}: compiling ${spec.sampler} and drawing ${spec.n} samples…`;
  send({ kind: "sample", file: f, text: textOf(f), weights, weightsName, seed });
};

function showSamples(e: Extract<TrainEvent, { kind: "samples" }>): void {
  const spec = SAMPLERS.find((s) => s.file === e.file)!;
  const zoom = 4;
  const c = $<HTMLCanvasElement>("sample-grid");
  c.width = e.width * zoom;
  c.height = e.height * zoom;
  const g = c.getContext("2d")!;
  const img = g.createImageData(c.width, c.height);
  for (let y = 0; y < c.height; y++) {
    for (let x = 0; x < c.width; x++) {
      const v = e.pixels[Math.floor(y / zoom) * e.width + Math.floor(x / zoom)];
      const o = (y * c.width + x) * 4;
      img.data[o] = img.data[o + 1] = img.data[o + 2] = v;
      img.data[o + 3] = 255;
    }
  }
  g.putImageData(img, 0, 0);
  data.samples = e.file;
  $("sample-status").textContent = `${e.file}: ${spec.n} samples of ${spec.what}, values ` +
    `[${e.range.map((v) => +v.toPrecision(3)).join(", ")}] to black..white, in ` +
    `${e.ms.toFixed(0)} ms` + e.warnings.map((w) => `\n${w}`).join("");
}

// ---- the panel's toggle and what a reload restores ---------------------------------------------

(globalThis as unknown as { dlmTraining: unknown }).dlmTraining = {
  get record() {
    return recOf(shown);
  },
};

$("train-toggle").onclick = () => {
  panel.hidden = !panel.hidden;
};

show(LENET);
void Promise.all(TRAINABLE.map(async (f) => [f, await loadTrained(f)] as const)).then((all) => {
  for (const [f, stored] of all) {
    if (!stored?.weights?.byteLength || recs.has(f)) continue;
    recs.set(f, stored);
  }
  const lenet = recs.get(LENET);
  if (!lenet || training) return;
  show(shown);
  data.trainEpochs = String(lenet.history.length);
  const acc = lenet.history.at(-1)?.values.val_accuracy;
  if (acc !== undefined) data.valAccuracy = acc.toFixed(4);
  data.trainState = "restored";
  status(`weights restored from browser storage: ${describe(LENET)}`);
});
