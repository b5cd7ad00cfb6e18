/// <reference lib="dom" />
/**
 * The playground's training panel: `lenet_digits.dlm` trained in the page by the training worker
 * (train_worker.ts), a live loss and accuracy chart (chart.ts), pause and resume, the trained
 * weights to download (safetensors, as `dlm train --save` writes them) and kept in IndexedDB
 * (store.ts) across reloads, and a drawing pad (pad.ts) the trained model classifies.
 *
 * For tests, the panel's state is on `document.body.dataset`: `trainState` (starting, running,
 * paused, done, restored, error), `trainEpochs` (epochs completed), `valAccuracy` (the last
 * epoch's), `trainSteps`, `msPerStep` (the mean over the runs after the first) and `prediction`
 * (the pad's class); `window.dlmTraining.record` is the run's record (history, chart points).
 */
import EXAMPLES from "dlm:examples";
import { chartSvg } from "./chart.ts";
import { digitPixels } from "./pad.ts";
import { loadTrained, saveTrained, type TrainedRecord } from "./store.ts";
import type { EpochRecord } from "./train.ts";
import type { TrainEvent, TrainRequest } from "./train_protocol.ts";

const FILE = "lenet_digits.dlm";
const text = (EXAMPLES as Record<string, string>)[FILE];
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const data = document.body.dataset;

const panel = $("train-panel");
panel.innerHTML = `
<h2>train <code>${FILE}</code> in the page</h2>
<p class="note">The digits set (1,797 8x8 images) is bundled with the page; steps are compiled by
dlm's training compiler and run by onnxruntime-web (WASM) in a worker. Nothing is sent anywhere.</p>
<div class="train-controls">
  <label>epochs <input id="train-epochs" type="number" min="1" max="200" value="10"></label>
  <label>seed <input id="train-seed" type="number" min="0" value="0"></label>
  <button id="train-start">train</button>
  <button id="train-pause" disabled>pause</button>
  <a id="train-download" hidden>download weights</a>
</div>
<div id="train-status">not trained yet</div>
<div id="train-chart"></div>
<h3>draw a digit</h3>
<div class="pad-row">
  <canvas id="pad" width="192" height="192"></canvas>
  <div>
    <canvas id="pad-preview" width="64" height="64" title="what the model sees: 8x8, 0..16"></canvas>
    <br><button id="pad-clear">clear</button>
  </div>
  <div id="pad-probs"></div>
</div>`;

// ---- the worker --------------------------------------------------------------------------------

let worker: Worker | undefined;
function send(r: TrainRequest): void {
  if (!worker) {
    worker = new Worker("train-worker.js", { type: "module" });
    worker.onmessage = (e: MessageEvent<TrainEvent>) => onEvent(e.data);
  }
  worker.postMessage(r);
}

// ---- state: the chart's points, the weights, the storage --------------------------------------

let rec: TrainedRecord = empty(0);
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

function drawChart(): void {
  const val = (k: string) =>
    rec.history.filter((h) => k in h.values).map((h): [number, number] => [h.step, h.values[k]]);
  $("train-chart").innerHTML = chartSvg([
    {
      title: "loss (cross-entropy)",
      series: [
        { name: "train", color: "#36c", points: rec.loss },
        { name: "val", color: "#c33", points: val("val_loss"), dots: true },
      ],
    },
    {
      title: "accuracy",
      range: [0, 1],
      legend: "bottom",
      series: [
        { name: "train", color: "#36c", points: rec.accuracy },
        { name: "val", color: "#c33", points: val("val_accuracy"), dots: true },
      ],
    },
  ]);
}

function status(s: string): void {
  $("train-status").textContent = s;
}

function offerDownload(): void {
  const a = $<HTMLAnchorElement>("train-download");
  if (a.href) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(new Blob([rec.weights as BlobPart]));
  a.download = "lenet_digits.safetensors";
  a.textContent = `download weights (${rec.weights.byteLength.toLocaleString("en-US")} bytes)`;
  a.hidden = false;
}

function lastEpoch(h: EpochRecord[]): string {
  const e = h.at(-1);
  if (!e) return "";
  return Object.entries(e.values).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ");
}

function onEvent(e: TrainEvent): void {
  switch (e.kind) {
    case "ready":
      data.trainState = "running";
      status(
        `compiled and loaded in ${e.ms.toFixed(0)} ms: ${e.trainSize} training and ${e.valSize} ` +
          `validation samples, ${e.batches} batches of ${e.batchSize} an epoch, ${e.perRun} steps a run`,
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
      status(
        `epoch ${e.epoch}/${e.epochs}, batch ${e.batch}/${e.batches}, step ${e.steps}, ` +
          `${e.seconds.toFixed(1)} s training, ${ms.toFixed(2)} ms a step` +
          (rec.history.length ? `; last epoch: ${lastEpoch(rec.history)}` : ""),
      );
      drawChart();
      return;
    }
    case "epoch":
      rec.history.push(e.record);
      rec.weights = e.weights;
      data.trainEpochs = String(e.record.epoch);
      if ("val_accuracy" in e.record.values) {
        data.valAccuracy = e.record.values.val_accuracy.toFixed(4);
      }
      drawChart();
      offerDownload();
      void saveTrained(FILE, rec);
      return;
    case "paused":
    case "done":
      rec.weights = e.weights;
      rec.finished = e.kind === "done";
      data.trainState = e.kind;
      $("train-start").removeAttribute("disabled");
      $<HTMLButtonElement>("train-pause").textContent = e.kind === "done" ? "pause" : "resume";
      $<HTMLButtonElement>("train-pause").disabled = e.kind === "done";
      status(
        `${e.kind === "done" ? "trained" : "paused after"} ${rec.history.length} epoch${
          rec.history.length === 1 ? "" : "s"
        }, ${e.steps} steps, ${e.seconds.toFixed(1)} s` +
          (rec.history.length ? `: ${lastEpoch(rec.history)}` : ""),
      );
      offerDownload();
      void saveTrained(FILE, rec).then(() => (data.stored = String(e.steps)));
      classifyPad();
      return;
    case "probs":
      showProbs(e.probs);
      return;
    case "error":
      data.trainState = "error";
      status(`error: ${e.message}`);
      $("train-start").removeAttribute("disabled");
      return;
  }
}

$("train-start").onclick = () => {
  const epochs = Math.max(1, Math.floor(Number($<HTMLInputElement>("train-epochs").value) || 1));
  const seed = Math.max(0, Math.floor(Number($<HTMLInputElement>("train-seed").value) || 0));
  rec = empty(epochs);
  runTimes = [];
  drawChart();
  data.trainState = "starting";
  delete data.trainEpochs;
  delete data.valAccuracy;
  status("compiling the train section and loading the digits…");
  $("train-start").setAttribute("disabled", "");
  const pause = $<HTMLButtonElement>("train-pause");
  pause.disabled = false;
  pause.textContent = "pause";
  send({ kind: "start", path: FILE, text, epochs, seed });
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
  if (!rec.weights.byteLength) {
    $("pad-probs").textContent = "train the model first (or reload weights trained before)";
    return;
  }
  const weights = classifierHas === rec.weights ? undefined : rec.weights;
  classifierHas = rec.weights;
  // A copy: the record keeps its bytes (postMessage clones, it does not transfer).
  send({ kind: "classify", path: FILE, text, pixels, weights });
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

(globalThis as unknown as { dlmTraining: unknown }).dlmTraining = {
  get record() {
    return rec;
  },
};

// ---- the panel's toggle and what a reload restores ---------------------------------------------

$("train-toggle").onclick = () => {
  panel.hidden = !panel.hidden;
};

drawChart();
void loadTrained(FILE).then((stored) => {
  if (!stored || !stored.weights?.byteLength || rec.weights.byteLength) return;
  rec = stored;
  drawChart();
  offerDownload();
  data.trainEpochs = String(stored.history.length);
  const acc = stored.history.at(-1)?.values.val_accuracy;
  if (acc !== undefined) data.valAccuracy = acc.toFixed(4);
  data.trainState = "restored";
  status(
    `weights restored from browser storage: ${stored.history.length} epochs, ${stored.steps} ` +
      `steps${stored.finished ? "" : " (paused)"}: ${lastEpoch(stored.history)}`,
  );
});
