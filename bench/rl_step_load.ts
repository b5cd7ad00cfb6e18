/**
 * The RLHF steps of lang-examples/rlhf_sort.dlm (issues 15 and 19): for each model, its step's
 * nodes (subgraph bodies included) and the time onnxruntime-node takes to create a session for
 * the step alone and for what `dlm train` loads (8 steps per run, compiler/train/multistep.ts),
 * at level `disabled` (`--level`), then the step's run time (median of a few runs, the first left out).
 * Each (model, kind) loads in a fresh process, so no cache or warm session helps the next.
 *
 *   deno run -A bench/rl_step_load.ts [--only SortPPO] [--runs N] [--level disabled|basic|extended|all]
 */
import { compileTrain } from "../compiler/train/mod.ts";
import { multiStep } from "../compiler/train/multistep.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { prepareInputs } from "../runtime/inputs.ts";
import { scanModel } from "../runtime/ort/model_scan.ts";
import { median } from "./stats.ts";
import { isOptimizeLevel, type OptimizeLevel } from "../runtime/ort/optimize.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { initialState, loadModel } from "../runtime/train/mod.ts";

const FILE = new URL("../lang-examples/rlhf_sort.dlm", import.meta.url).pathname;
const MODELS: Record<string, number> = { SortSFT: 64, SortDPO: 64, SortGRPO: 16, SortPPO: 64 };

async function child(
  model: string,
  kind: string,
  runs: number,
  level: OptimizeLevel,
): Promise<void> {
  const c = compileTrain(FILE, { model, pack: true });
  if (!c.step) throw new Error(c.diagnostics.map((d) => d.message).join("; "));
  const g = kind === "multi" ? multiStep(c.step) : c.step;
  const bytes = emitModel(g).model;
  const nodes = scanModel(bytes)?.nodes ?? 0;
  const t0 = performance.now();
  const s = await createSession(bytes, { optimize: level });
  const loadMs = performance.now() - t0;
  let stepMs: number | undefined;
  if (kind === "step") {
    const file = Deno.makeTempFileSync({ suffix: ".onnx" });
    Deno.writeFileSync(file, bytes);
    const m = loadModel(file, "model");
    Deno.removeSync(file);
    const state = initialState(m);
    const sub = { ...g, inputs: g.inputs.filter((i) => !state.has(i.name)) };
    const all: Record<string, Tensor> = {
      ...Object.fromEntries(state),
      ...prepareInputs(sub, { seed: 0, dims: { N: MODELS[model] }, intRange: [0, 10] }),
    };
    // Packed parameters whose initial values the model holds are not the session's inputs.
    const feeds = Object.fromEntries(s.inputNames.map((n) => [n, all[n]]));
    const times: number[] = [];
    for (let r = 0; r <= runs; r++) {
      const t = performance.now();
      await s.run(feeds);
      if (r > 0) times.push(performance.now() - t);
    }
    stepMs = median(times);
  }
  console.log(JSON.stringify({ model, kind, nodes, loadMs, stepMs }));
}

async function main(): Promise<void> {
  const args = Deno.args;
  const at = (k: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : undefined);
  const runs = Number(at("--runs") ?? 5);
  const level = at("--level") ?? "disabled";
  if (!isOptimizeLevel(level)) throw new Error(`--level: ${level}`);
  if (args.includes("--child")) return await child(at("--model")!, at("--kind")!, runs, level);
  const only = at("--only")?.split(",") ?? Object.keys(MODELS);
  console.log("model     kind   nodes   load (s)  step (ms)");
  for (const model of only) {
    for (const kind of ["step", "multi"]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL(import.meta.url).pathname,
          "--child",
          "--model",
          model,
          "--kind",
          kind,
          "--runs",
          `${runs}`,
          "--level",
          level,
        ],
        stderr: "inherit",
      }).output();
      const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
      try {
        const r = JSON.parse(line);
        console.log(
          `${model.padEnd(9)} ${kind.padEnd(6)} ${String(r.nodes).padStart(6)} ${
            (r.loadMs / 1000).toFixed(1).padStart(9)
          } ${r.stepMs === undefined ? "" : r.stepMs.toFixed(0).padStart(10)}`,
        );
      } catch {
        console.log(`${model} ${kind}: failed: ${line}`);
      }
    }
  }
}

if (import.meta.main) await main();
