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
import { formatMachineFacts, machineFacts } from "./machine.ts";

const B = 8, ORT_RUNS = 50, REF_RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function bench(R: number, C: number, masked: boolean) {
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
  const feeds: Record<string, Tensor> = { cost: tensor("f32", [B, R, C], cost) };
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
  const what = `${B} x ${R} x ${C}${masked ? ", masked rows" : ""}`;
  console.log(
    `${what.padEnd(28)} onnxruntime-node ${median(ort).toFixed(2).padStart(7)} ms` +
      `  (min ${Math.min(...ort).toFixed(2)})   reference ${median(ref).toFixed(1).padStart(7)} ms`,
  );
}

console.log(formatMachineFacts(machineFacts()));
await bench(20, 100, true);
await bench(20, 100, false);
await bench(100, 20, false);
await bench(100, 20, true);
