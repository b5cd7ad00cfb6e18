/**
 * Where a training step's time goes in onnxruntime-node: runs the step (or
 * evaluation) model of a .dlm file's train section with onnxruntime's own
 * profiler and prints the time per op type and the slowest nodes. For work on
 * the step/forward ratio (bench/bench_train.ts measures the ratio itself).
 *
 *   deno task profile:train FILE.dlm [--model NAME] [--eval] [--batch N] [--dim T=16,...] [--runs R]
 *     [--threads T]
 *
 * Times are each node's fastest run: on a shared machine another process's work lands on
 * whichever node was running, and minima are what comparisons of graph forms can rely on.
 * TOP=N in the environment lists the N slowest nodes (default 15); NODES_JSON=FILE writes every
 * node's fastest time as JSON.
 */
import * as ort from "onnxruntime-node";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { unpackValues } from "../compiler/train/pack.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { prepareInputs } from "../runtime/inputs.ts";
import { toOrt } from "../runtime/ort/mod.ts";
import { initialState, loadModel } from "../runtime/train/mod.ts";

const args = [...Deno.args];
const flag = (name: string, fallback: number) => {
  const k = args.indexOf(name);
  return k >= 0 ? Number(args.splice(k, 2)[1]) : fallback;
};
const text = (name: string) => {
  const k = args.indexOf(name);
  return k >= 0 ? args.splice(k, 2)[1] : undefined;
};
const evalOnly = args.includes("--eval");
const model = text("--model");
// --dim T=16,S=16: sizes of other symbolic input dims.
const dims: Record<string, number> = Object.fromEntries(
  (text("--dim") ?? "").split(",").filter(Boolean).map((kv) => {
    const [k, v] = kv.split("=");
    return [k, Number(v)];
  }),
);
const batch = flag("--batch", 16);
const runs = flag("--runs", 20);
const threads = flag("--threads", 2);
const file = args.find((a) => a.endsWith(".dlm"));
if (!file) {
  console.error(
    "usage: deno task profile:train FILE.dlm [--model NAME] [--eval] [--batch N] [--dim T=16,...] [--runs R]",
  );
  Deno.exit(2);
}
// Compiled as `dlm train` compiles it: small parameters packed.
const c = compileTrain(file, { pack: true, model, dims });
if (!c.step || !c.eval) {
  console.error(c.diagnostics.map((d) => d.message).join("\n"));
  Deno.exit(1);
}
const g = evalOnly ? c.eval : c.step;
// State as `dlm train` starts it (compiled initial values, zeros for optimiser state and step);
// the batch inputs random.
const loaded = loadModel(c.step, "step model");
const state = initialState(loaded);
const batchGraph = { ...g, inputs: g.inputs.filter((i) => !state.has(i.name)) };
const feeds: Record<string, Tensor> = prepareInputs(batchGraph, {
  seed: 0,
  dims: { N: batch, ...dims },
});
// The evaluation model reads packed parameters by name.
const named = unpackValues(c.step.packs ?? [], state, loaded.defaults);
for (const i of g.inputs) feeds[i.name] ??= state.get(i.name) ?? named.get(i.name)!;
const ortFeeds = Object.fromEntries(
  Object.entries(feeds).map(([k, t]) => [k, toOrt(t, ort.Tensor as never, k)]),
);
const dir = Deno.makeTempDirSync();
const session = await ort.InferenceSession.create(emitModel(g).model, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: "all",
  logSeverityLevel: 3,
  enableProfiling: true,
  profileFilePrefix: `${dir}/profile`,
});
for (let k = 0; k < runs; k++) await session.run(ortFeeds as never);
session.endProfiling();
await session.release();
const [json] = [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`);
const events = JSON.parse(Deno.readTextFileSync(json)) as {
  cat: string;
  name: string;
  dur: number;
  args: { op_name?: string };
}[];
Deno.removeSync(dir, { recursive: true });

// Each node's minimum over the runs, not its mean: on a shared machine a run that another
// process interrupts adds its wait to whichever node was running, and minima are what A/B
// comparisons of graph forms can rely on. The run total is the minimum run.
const byOp = new Map<string, { us: number; count: number }>();
const byNode = new Map<string, { op: string; min: number; count: number }>();
const runTimes: number[] = [];
for (const e of events) {
  if (e.name === "model_run") runTimes.push(e.dur);
  if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
  const op = e.args.op_name ?? "?";
  const node = `${op} ${e.name.slice(0, -"_kernel_time".length)}`;
  const v = byNode.get(node) ?? { op, min: Infinity, count: 0 };
  byNode.set(node, { op, min: Math.min(v.min, e.dur), count: v.count + 1 });
}
for (const v of byNode.values()) {
  const o = byOp.get(v.op) ?? { us: 0, count: 0 };
  byOp.set(v.op, { us: o.us + v.min, count: o.count + v.count / runs });
}
const runUs = Math.min(...runTimes);
const sumUs = [...byNode.values()].reduce((a, v) => a + v.min, 0);
const ms = (us: number) => (us / 1000).toFixed(3);
console.log(
  `${file} ${evalOnly ? "evaluation" : "step"} model, batch ${batch}, ${g.nodes.length} nodes: ` +
    `${ms(runUs)} ms in the fastest of ${runs} runs, ${ms(sumUs)} ms the sum of each node's ` +
    `fastest (onnxruntime-node, ${threads} thread(s))`,
);
console.log("\nop type                 ms min  nodes");
for (const [op, v] of [...byOp].sort((a, b) => b[1].us - a[1].us)) {
  console.log(`${op.padEnd(22)} ${ms(v.us).padStart(7)}  ${String(v.count).padStart(5)}`);
}
console.log("\nslowest nodes                                                     ms min");
const top = Number(Deno.env.get("TOP") ?? 15);
// NODES_JSON=FILE writes every node's fastest time (µs) for analyses of one's own.
const nodesJson = Deno.env.get("NODES_JSON");
if (nodesJson) {
  const rows = [...byNode].map(([name, v]) => ({ name, op: v.op, us: v.min }));
  Deno.writeTextFileSync(nodesJson, JSON.stringify(rows, null, 1));
}
for (const [n, v] of [...byNode].sort((a, b) => b[1].min - a[1].min).slice(0, top)) {
  console.log(`${n.slice(0, 64).padEnd(64)} ${ms(v.min).padStart(7)}`);
}
