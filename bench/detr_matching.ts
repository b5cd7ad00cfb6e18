/**
 * `deno run -A bench/detr_matching.ts`: the exact matcher's share of a DETR training step at
 * 100 queries x 20 objects x batch 8. lang-examples/detr_digits.dlm at the Transformer's
 * DETR-R50 widths (256, 8 heads, feed-forward 2048, 6 encoder and 6 decoder layers, so six
 * matchings of 8 images a step, run as one batch of 48) with the small backbone on 128 x 128
 * canvases of up to 20 digits (a 16 x 16 map), trained with the exact matching and with the
 * matching swapped for a greedy stand-in of the same shapes (each object its cheapest query,
 * one ArgMax and one ScatterElements); the difference per step is what the exact matching
 * costs inside the step. onnxruntime-node, one step per run, a run's set-up timed away.
 * On a loaded machine that difference drowns in noise, so the matcher is also timed alone on
 * the step's problem (48 masked 20 x 100 cost matrices), as a share of the exact step.
 */
import { compileFile } from "../compiler/compile.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { tensor } from "../compiler/ir/tensor.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import { Dataset } from "../runtime/data/mod.ts";
import { train } from "../runtime/train/mod.ts";
import { digitsCanvases } from "../tools/digits_detection_data.ts";
import { formatMachineFacts, machineFacts } from "./machine.ts";

const FILE = new URL("../lang-examples/detr_digits.dlm", import.meta.url);
const EXACT = "let (query_of, object_of) = linear_sum_assignment(cost, mask: tm)";
const GREEDY = `let query_of = argmax(-cost, axis: 2)
  let object_of = scatter(cast(cost[:, 0, :] * 0.0, "i64") - 1, query_of,
    zeros_like(query_of) + unsqueeze(arange(K), 0), axis: 1)`;
const STEPS = Number(Deno.args[0] ?? 4), BATCH = 8;

const overrides = {
  size: 128,
  width: 64,
  dim: 256,
  heads: 8,
  hidden: 2048,
  enc_layers: 6,
  dec_layers: 6,
  queries: 100,
  objects: 20,
};

console.log(formatMachineFacts(machineFacts()));
const source = Deno.readTextFileSync(FILE);
if (!source.includes(EXACT)) throw new Error(`detr_digits.dlm no longer says '${EXACT}'`);
const d = digitsCanvases({ count: BATCH * (STEPS + 1), canvas: 128, objects: 20, seed: 5 });
const data = new Dataset({ image: d.image, boxes: d.boxes, labels: d.labels, mask: d.mask });
const counts = Array.from(d.mask.data as Float32Array).reduce((a, b) => a + b, 0) / d.mask.shape[0];
console.log(`${d.image.shape[0]} canvases, ${counts.toFixed(1)} digits each on average`);
const perStep: Record<string, number> = {};
for (
  const [name, text] of [["exact (linear_sum_assignment)", EXACT], ["greedy stand-in", GREEDY]]
) {
  const src = source.replace(EXACT, text);
  const c = compileTrain(FILE.pathname, {
    // The example with its matching swapped; its import (lib/transformer.dlm) as it is.
    read: (path) => path === FILE.pathname ? src : Deno.readTextFileSync(path),
    overrides,
    seed: 0,
  });
  if (!c.step) throw new Error(c.diagnostics.map((x) => formatDiagnostic(x, c.sources)).join("\n"));
  // A run's set-up (session creation) is timed away: (a run of STEPS + 1 steps - a run of 1) / STEPS.
  const opts = {
    data,
    epochs: 1,
    batchSize: BATCH,
    seed: 1,
    backend: "node" as const,
    stepsPerRun: 1,
  };
  await train({ ...opts, step: c.step, maxSteps: 1 }); // warm-up: onnxruntime's optimised-graph cache
  const timed = async (steps: number) => {
    const t0 = performance.now();
    await train({ ...opts, step: c.step!, maxSteps: steps });
    return performance.now() - t0;
  };
  const one = await timed(1), many = await timed(STEPS + 1);
  perStep[name] = (many - one) / STEPS;
  console.log(
    `${name.padEnd(30)} ${perStep[name].toFixed(0).padStart(6)} ms per step (mean of ${STEPS})`,
  );
}
const exact = perStep["exact (linear_sum_assignment)"], greedy = perStep["greedy stand-in"];
console.log(
  `the exact matching: ${(exact - greedy).toFixed(0)} ms of a ${exact.toFixed(0)} ms step ` +
    `(${((exact - greedy) / exact * 100).toFixed(1)}%)`,
);

/**
 * The matcher alone on the step's problem: the six layers' 8 images as one batch of 48 cost
 * matrices of 20 objects by 100 queries, with the data's masks, costs uniform in [0, 1) (the
 * step's own costs depend on the weights; bench/matching.ts times the slow "alike" case).
 */
const R = overrides.objects, C = overrides.queries, B = BATCH * overrides.dec_layers;
const m = compileFile("m.dlm", {
  read: () =>
    `model M {\n  input cost: f32[${B}, ${R}, ${C}]\n  input mask: f32[${B}, ${R}]\n` +
    "  let (q, o) = linear_sum_assignment(cost, mask: mask)\n  output q\n}",
});
if (!m.graph) throw new Error(m.diagnostics.map((x) => formatDiagnostic(x, m.sources)).join());
let seed = 11;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const maskRows = Array.from({ length: B * R }, (_, k) => d.mask.data[k % (BATCH * R)] as number);
const s = await createSession(emitModel(m.graph).model);
const feeds = {
  cost: tensor("f32", [B, R, C], Array.from({ length: B * R * C }, rnd)),
  mask: tensor("f32", [B, R], maskRows),
};
const runs: number[] = [];
for (let k = 0; k <= 10; k++) {
  const t0 = performance.now();
  await s.run(feeds);
  if (k > 0) runs.push(performance.now() - t0);
}
await s.release();
runs.sort((a, b) => a - b);
const alone = runs[5];
console.log(
  `the matcher alone on [${B}, ${R}, ${C}]: ${alone.toFixed(1)} ms (median of 10), ` +
    `${(alone / exact * 100).toFixed(1)}% of the exact step`,
);
