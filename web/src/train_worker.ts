/**
 * The training worker: train.ts's loop on onnxruntime-web (WASM), over the digits set that
 * web/build.ts packs beside it (`digits.bin`, fetched at the first start), and the pad's
 * classifier. Between any two runs of the step it lets the messages in (a pause, a classify),
 * through a message-channel turn: onnxruntime-web's run settles on microtasks alone, which would
 * otherwise keep the worker's message queue waiting until the whole run is over.
 */
import EXAMPLES from "dlm:examples";
import { DlmError } from "../../compiler/diagnostics.ts";
import { toNumbers } from "../../compiler/ir/tensor.ts";
import { Dataset } from "../../runtime/data/mod.ts";
import { openRunner, type Runner } from "../../runtime/train/runner.ts";
import { loadModel } from "../../runtime/train/model.ts";
import { decodeDigits } from "./digits.ts";
import { workspaceReader } from "./service.ts";
import { inferenceModel, prepare, softmax, TrainSession, weightsFile } from "./train.ts";
import { drawSamples } from "./samples.ts";
import { SAMPLERS } from "./sampler_specs.ts";
import type { TrainEvent, TrainRequest } from "./train_protocol.ts";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<TrainRequest>) => void) | null;
  postMessage: (m: TrainEvent) => void;
};
const post = (m: TrainEvent) => scope.postMessage(m);

/** Steps per run, as `dlm train --steps-per-run`'s default. */
const PER_RUN = 8;

let digits: Dataset | undefined;
async function data(): Promise<Dataset> {
  if (!digits) {
    const r = await fetch(new URL("./digits.bin", self.location.href));
    if (!r.ok) throw new Error(`digits.bin: ${r.status} ${r.statusText}`);
    digits = new Dataset(decodeDigits(new Uint8Array(await r.arrayBuffer())));
  }
  return digits;
}

/** One macrotask turn, so queued messages are handled. */
function turn(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(0);
  });
}

let session: TrainSession | undefined;
let paused = false;
let running = false;

async function drive(): Promise<void> {
  const s = session!;
  running = true;
  try {
    let stopped = false;
    const outcome = await s.advance(
      async () => {
        await turn();
        stopped = paused;
        return stopped;
      },
      (r) => {
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        post({
          kind: "step",
          epoch: r.epoch,
          epochs: r.epochs,
          batch: r.batch,
          batches: r.batches,
          steps: r.steps,
          loss: mean(r.losses),
          accuracy: r.metrics.accuracy ? mean(r.metrics.accuracy) : undefined,
          msPerStep: r.msPerStep,
          seconds: s.seconds,
        });
      },
      (record) => post({ kind: "epoch", record, weights: weightsFile(s.weights()) }),
    );
    post({
      kind: outcome === "done" ? "done" : "paused",
      steps: s.steps,
      seconds: s.seconds,
      weights: weightsFile(s.weights()),
    });
    if (outcome === "done") await s.release();
  } finally {
    running = false;
  }
}

// The pad's classifier, rebuilt when new weights come.
let classifier: Runner | undefined;

async function classify(r: Extract<TrainRequest, { kind: "classify" }>): Promise<void> {
  const t0 = performance.now();
  if (r.weights) {
    await classifier?.release();
    classifier = undefined;
    const read = workspaceReader(EXAMPLES, r.path, r.text);
    const { onnx } = inferenceModel(r.path, read, r.weights);
    classifier = await openRunner(loadModel(onnx, "classifier"), "web", { kind: "forward" });
  }
  if (!classifier) throw new Error("no trained weights yet: train the model first");
  const image = {
    dtype: "f32" as const,
    shape: [1, 64],
    data: Float32Array.from(r.pixels, (v) => v / 16),
  };
  const out = await classifier.run({ image });
  post({ kind: "probs", probs: softmax(toNumbers(out.logits)), ms: performance.now() - t0 });
}

async function handle(r: TrainRequest): Promise<void> {
  switch (r.kind) {
    case "start": {
      if (running) return;
      await session?.release();
      const t0 = performance.now();
      const all = await data();
      const read = workspaceReader(EXAMPLES, r.path, r.text);
      const prep = prepare(r.path, read, all.arrays, {
        seed: r.seed,
        perRun: PER_RUN,
        model: r.model,
      });
      const st = prep.settings;
      session = new TrainSession(prep, all, {
        epochs: r.epochs,
        batchSize: st.batchSize ?? 32,
        seed: r.seed,
        valSplit: st.valSplit,
        perRun: PER_RUN,
        dropLast: st.dropLast,
      }, (m, kind) => openRunner(m, "web", { kind }));
      paused = false;
      post({
        kind: "ready",
        trainSize: session.train.size,
        valSize: session.val?.size ?? 0,
        batches: session.batchesPerEpoch,
        epochs: r.epochs,
        batchSize: st.batchSize ?? 32,
        perRun: PER_RUN,
        ms: performance.now() - t0,
      });
      await drive();
      return;
    }
    case "pause":
      paused = true;
      return;
    case "resume":
      if (!session || running || session.done) return;
      paused = false;
      await drive();
      return;
    case "classify":
      await classify(r);
      return;
    case "sample": {
      const spec = SAMPLERS.find((s) => s.file === r.file);
      if (!spec) throw new Error(`no sampler for ${r.file}`);
      const t0 = performance.now();
      const read = workspaceReader(EXAMPLES, r.file, r.text);
      const s = await drawSamples(
        spec,
        read,
        r.weights,
        r.seed,
        (m, kind) => openRunner(m, "web", { kind }),
        r.weightsName,
      );
      post({
        kind: "samples",
        file: r.file,
        width: s.grid.width,
        height: s.grid.height,
        pixels: s.grid.data,
        range: s.range,
        warnings: s.warnings,
        ms: performance.now() - t0,
      });
      return;
    }
  }
}

/** An error as the panel shows it: a diagnostic with its code and, when it has one, its place. */
function message(e: unknown): string {
  if (e instanceof DlmError) {
    return e.diagnostics.map((d) =>
      `${d.code}: ${d.span ? `${d.span.file}:${d.span.line}:${d.span.col}: ` : ""}${d.message}`
    ).join("\n");
  }
  return e instanceof Error ? e.message : String(e);
}

// A start or resume runs for long: the other messages are handled meanwhile, not queued behind.
scope.onmessage = (e) => {
  handle(e.data).catch((err) => post({ kind: "error", message: message(err) }));
};
