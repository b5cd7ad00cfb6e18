/**
 * `deno task bench:matching`: the time of linear_sum_assignment alone, as DETR uses it: a batch
 * of 8 images, 20 objects (padded, a mask of the valid ones) matched to 100 queries, and the
 * transposed form (100 x 20, no mask), in onnxruntime-node and the reference interpreter.
 * Float costs from tests/matching_cases.ts's generator; median of the runs after one warm-up.
 */
import { compileFile } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import { type Tensor, tensor } from "../compiler/ir/tensor.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { generate } from "../tests/matching_cases.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { Dataset } from "../runtime/data/mod.ts";
import { train } from "../runtime/train/mod.ts";
import { formatMachineFacts, machineFacts } from "./machine.ts";

const B = 8, ORT_RUNS = 50, REF_RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Costs as at the start of DETR's training, when every query predicts about the same box: a
 * value per row plus a small one per column (and noise). Every row prefers the same cheapest
 * columns, so row k's shortest path runs through the k columns taken before it: the inner Loop
 * runs about R^2 / 2 times in all instead of about R.
 */
function alike(R: number, C: number): Float32Array {
  let s = 3;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const rows = Array.from({ length: B * R }, rnd), cols = Array.from({ length: B * C }, rnd);
  const cost = new Float32Array(B * R * C);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < R; i++) {
      for (let j = 0; j < C; j++) {
        cost[(b * R + i) * C + j] = rows[b * R + i] + 0.01 * cols[b * C + j] + 0.001 * rnd();
      }
    }
  }
  return cost;
}

async function bench(R: number, C: number, masked: boolean, same = false) {
  const src = `model M {\n  input cost: f32[B, ${R}, ${C}]\n` +
    (masked ? `  input mask: bool[B, ${R}]\n` : "") +
    `  let (cols, rows) = linear_sum_assignment(cost${masked ? ", mask: mask" : ""})\n` +
    "  output cols\n  output rows\n}";
  const r = compileFile("main.dlm", { read: () => src });
  if (!r.graph) throw new Error(r.diagnostics.map((d) => formatDiagnostic(d, r.sources)).join());
  const g = r.graph;
  const { cost, mask } = generate({
    R,
    C,
    B,
    kind: "float",
    mask: masked ? "prefix" : "none",
    seed: 2024,
  });
  const feeds: Record<string, Tensor> = {
    cost: tensor("f32", [B, R, C], same ? alike(R, C) : cost),
  };
  if (masked) feeds.mask = tensor("bool", [B, R], mask);
  const s = await createSession(emitModel(g).model);
  const ort: number[] = [];
  for (let k = 0; k <= ORT_RUNS; k++) {
    const t0 = performance.now();
    await s.run(feeds);
    if (k > 0) ort.push(performance.now() - t0);
  }
  await s.release();
  const ref: number[] = [];
  for (let k = 0; k <= REF_RUNS; k++) {
    const t0 = performance.now();
    runGraph(g, feeds);
    if (k > 0) ref.push(performance.now() - t0);
  }
  const what = `${B} x ${R} x ${C}${masked ? ", masked rows" : ""}${same ? ", alike" : ""}`;
  console.log(
    `${what.padEnd(36)} onnxruntime-node ${median(ort).toFixed(2).padStart(7)} ms` +
      `  (min ${Math.min(...ort).toFixed(2)})   reference ${median(ref).toFixed(1).padStart(7)} ms`,
  );
}

console.log(formatMachineFacts(machineFacts()));
await bench(20, 100, true);
await bench(20, 100, false);
await bench(100, 20, false);
await bench(100, 20, true);
await bench(20, 100, false, true);

/**
 * The matcher inside a training step: a DETR-sized set loss (8 images, 100 queries of 4 box
 * numbers from a small MLP, 20 padded targets), trained with the exact matching and with a
 * greedy one (each target its cheapest query, one TopK); the difference per step is what the
 * exact matching costs inside the step.
 */
async function inStep() {
  const model = (match: string) =>
    `model D {
  input x: f32[N, 64]
  output boxes = reshape(x |> a: linear(256) |> relu |> b: linear(400), (-1, 100, 4))
}
train D {
  input t: f32[N, 20, 4]
  input valid: f32[N, 20]
  let cost = reduce_sum(abs(unsqueeze(t, (2)) - unsqueeze(boxes, (1))), (3))
  let q = ${match}
  let idx = expand(unsqueeze(where(q < 0, zeros_like(q), q), (2)), (-1, 20, 4))
  loss = reduce_sum(abs(take_along_axis(boxes, idx, axis: 1) - t) * unsqueeze(valid, (2))) / 80.0
  optimizer = adam(lr: 0.001)
}`;
  const steps = 40, n = 8 * steps;
  let s = 7;
  const next = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const data = new Dataset({
    x: tensor("f32", [n, 64], Array.from({ length: n * 64 }, next)),
    t: tensor("f32", [n, 20, 4], Array.from({ length: n * 80 }, next)),
    valid: tensor(
      "f32",
      [n, 20],
      Array.from({ length: n * 20 }, (_, k) => (k % 20 < 5 + (k % 7) ? 1 : 0)),
    ),
  });
  const perStep: Record<string, number> = {};
  for (
    const [name, match] of [
      ["exact (linear_sum_assignment)", "linear_sum_assignment(cost, mask: valid)[0]"],
      ["greedy (TopK)", "squeeze(topk(cost, 1, largest: false)[1], (2))"],
    ]
  ) {
    const c = compileTrain("d.dlm", { read: () => model(match), seed: 0 });
    if (!c.step) throw new Error(c.diagnostics.map((d) => formatDiagnostic(d, c.sources)).join());
    const opts = { data, epochs: 1, batchSize: 8, seed: 1, backend: "node" as const };
    await train({ ...opts, step: c.step }); // warm-up (session creation, caches)
    const t0 = performance.now();
    await train({ ...opts, step: c.step });
    perStep[name] = (performance.now() - t0) / steps;
    console.log(`training step, ${name.padEnd(30)} ${perStep[name].toFixed(2)} ms per step`);
  }
}

await inStep();
