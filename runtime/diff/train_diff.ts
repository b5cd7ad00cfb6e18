/**
 * `dlm diff FILE.dlm --train K`: K training steps of the same step model
 * (compiler/train/contract.ts) on the reference interpreter and on
 * onnxruntime, from the same initial state and on the same batches. Each
 * side feeds its own `next:` outputs back, so errors compound as they would
 * in a real run; after every step the loss and every state tensor
 * (parameters, buffers, optimiser state, `step`) are compared.
 *
 * Dropout in train mode draws its mask from a runtime-specific generator, so
 * the two sides would never agree. As in the training loop, every random draw
 * (a train-mode Dropout's mask, drop-path's RandomUniformLike noise) is an
 * input (runtime/train/draws.ts), drawn per step from the seed and fed to
 * both sides.
 */
import { diag, DlmError, fail } from "../../compiler/diagnostics.ts";
import { formatSpan } from "../../compiler/ir/graph.ts";
import type { Graph } from "../../compiler/ir/graph.ts";
import { type Tensor, toNumbers } from "../../compiler/ir/tensor.ts";
import {
  fedInput,
  LOSS_OUTPUT,
  nextName,
  parseOptSlot,
  stateInputs,
} from "../../compiler/train/contract.ts";
import { unpackValues } from "../../compiler/train/pack_values.ts";
import { loadModel } from "../train/model.ts";
import { batchSizes, drawFeeds } from "../train/draws.ts";
import { initialState } from "../train/loop.ts";
import { openRunner } from "../train/runner.ts";
import { checkData, Dataset, digitsFit, loadDigits } from "../data/mod.ts";
import { prepareInputs } from "../inputs.ts";
import { compareTensors, type Comparison } from "./compare.ts";
import { checkNodes, type NodeCheck } from "./nodes.ts";

/** Options of `diffTrain`. */
export interface TrainDiffOptions {
  /** Number of training steps K. */
  steps: number;
  /** Samples per batch (default 8). */
  batchSize?: number;
  rtol: number;
  atol: number;
  backend: "node" | "web";
  /** Batch data by input name; default: the digits set for `image`/`label` models, else random. */
  data?: Dataset;
  /** Seed of random batches and dropout masks (default 0). */
  seed?: number;
}

/** One state tensor (or the loss) after one step. */
export interface TensorDiff extends Comparison {
  name: string;
}

/** Everything compared after one step. */
export interface StepDiff {
  /** 1-based step number. */
  step: number;
  lossReference: number;
  lossRuntime: number;
  /** The loss first, then `next:<X>` for every state input X. */
  tensors: TensorDiff[];
  /** The tensor with the largest relative error (ties: absolute). */
  worst: TensorDiff;
  /** Every tensor within tolerance, or the tensors that are not were checked node by node. */
  ok: boolean;
  /** The first tensor out of tolerance, in output order. */
  firstBad?: TensorDiff;
  /**
   * When a tensor is out of tolerance: onnxruntime's step checked node by node against the
   * reference kernels on its own inputs (runtime/diff/nodes.ts). No disagreeing node makes
   * the step ok: the difference is rounding the step magnifies.
   */
  byNode?: NodeCheck;
  /** Why the node-by-node check could not run, when it could not. */
  byNodeUnavailable?: string;
}

/** The result of `diffTrain`. */
export interface TrainDiffResult {
  steps: StepDiff[];
  ok: boolean;
  batchSize: number;
  /** Where the batches came from: "digits", "data" or "random". */
  batchSource: string;
  /** Random draws made shared inputs (train-mode Dropout masks, drop-path noise). */
  sharedMasks: number;
  referenceMs: number;
  runtimeMs: number;
  /** Time spent checking steps node by node (both runtimes). */
  nodeCheckMs: number;
}

/**
 * Run K steps on both sides and compare after each. A step with a tensor out
 * of tolerance is checked node by node (runtime/diff/nodes.ts): it fails if a
 * node of onnxruntime's step disagrees with its reference kernel on the same
 * inputs, and is ok otherwise, both sides then continuing from onnxruntime's
 * state. Stops at the first failing step (later steps would only compound
 * the difference).
 *
 * @example
 * ```ts
 * const c = compileTrain("lang-examples/mlp_digits.dlm");
 * const r = await diffTrain(c.step!, { steps: 3, rtol: 1e-4, atol: 1e-5, backend: "node" });
 * console.log(formatTrainDiff(r, opts));
 * ```
 */
export async function diffTrain(
  stepGraph: Graph,
  opts: TrainDiffOptions,
): Promise<TrainDiffResult> {
  if (!Number.isInteger(opts.steps) || opts.steps < 1) {
    fail(...diag("DLM0210", "dlm diff --train", "a positive integer step count", opts.steps));
  }
  const seed = opts.seed ?? 0;
  const loaded = loadModel(stepGraph, "step model", { draws: true });
  if (!loaded.outputNames.includes(LOSS_OUTPUT)) {
    fail(
      ...diag(
        "DLM0422",
        "The step model",
        `an output '${LOSS_OUTPUT}'`,
        loaded.outputNames.map((n) => `'${n}'`).join(", "),
      ),
    );
  }
  const stateNames = stateInputs(loaded.outputNames);
  const stateSet = new Set(stateNames);
  const drawn = new Set(loaded.draws.map((d) => d.input));
  const batchNames = loaded.inputNames.filter((n) => !stateSet.has(n) && !drawn.has(n));
  // A model compiled for a fixed batch size (--dim N=32) takes batches of that size alone.
  const batchAxis = loaded.multiStep ? 1 : 0;
  const fixed = loaded.graph.inputs.find((i) =>
    batchNames.includes(i.name) && typeof i.type.shape[batchAxis] === "number"
  )?.type.shape[batchAxis] as number | undefined;
  const batchSize = opts.batchSize ?? fixed ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    fail(...diag("DLM0210", "dlm diff --train", "a positive integer batch size", batchSize));
  }
  const { batches, source } = makeBatches(loaded.graph, batchNames, opts, batchSize, seed);
  const dims = batchSizes(loaded.graph.inputs, batches[0]);
  const initial = initialState(loaded);

  const ref = await openRunner(loaded, "reference");
  const ort = await openRunner(loaded, opts.backend);
  let refState = new Map(initial), ortState = new Map(initial);
  const steps: StepDiff[] = [];
  let referenceMs = 0, runtimeMs = 0, nodeCheckMs = 0;
  try {
    for (let k = 0; k < opts.steps; k++) {
      const batch = batches[k % batches.length];
      const maskFeeds = drawFeeds(loaded.draws, dims, seed, [k]);
      const feed = (state: Map<string, Tensor>) => ({
        ...Object.fromEntries(state),
        ...batch,
        ...maskFeeds,
      });
      let t0 = performance.now();
      const a = await ref.run(feed(refState));
      referenceMs += performance.now() - t0;
      t0 = performance.now();
      const b = await ort.run(feed(ortState));
      runtimeMs += performance.now() - t0;
      for (const name of [LOSS_OUTPUT, ...stateNames.map(nextName)]) {
        if (!b[name] || !a[name]) {
          fail(
            ...diag(
              "DLM0602",
              b[name] ? "The reference interpreter" : "onnxruntime",
              "the step model",
              `it did not return '${name}'`,
            ),
          );
        }
      }
      // Packed parameters are compared one by one, under their own names.
      const named = (out: Record<string, Tensor>) =>
        unpackValues(
          loaded.packs,
          new Map(stateNames.map((n) => [n, out[nextName(n)]])),
          loaded.defaults,
        );
      const want = named(a), got = named(b);
      const tensors: TensorDiff[] = [
        {
          name: LOSS_OUTPUT,
          ...compareTensors(b[LOSS_OUTPUT], a[LOSS_OUTPUT], opts.rtol, opts.atol),
        },
      ];
      for (const [n, t] of want) {
        tensors.push({
          name: nextName(n),
          ...compareTensors(got.get(n)!, t, opts.rtol, opts.atol),
        });
      }
      const worst = tensors.reduce((w, t) =>
        t.maxRel > w.maxRel || (t.maxRel === w.maxRel && t.maxAbs > w.maxAbs) ? t : w
      );
      const firstBad = tensors.find((t) => !t.ok);
      // Out of tolerance: is it a node computing something else, or rounding the step magnifies
      // (Adam's update of a gradient near zero)? Check onnxruntime's step node by node.
      let byNode: NodeCheck | undefined;
      let byNodeUnavailable: string | undefined;
      if (firstBad && !tensors.some((t) => t.problem)) {
        t0 = performance.now();
        try {
          byNode = await checkNodes(loaded.graph, feed(ortState), opts);
        } catch (e) {
          if (!(e instanceof DlmError)) throw e;
          byNodeUnavailable = e.diagnostics.map((d) => d.message).join("; ");
        }
        nodeCheckMs += performance.now() - t0;
      }
      const ok = !firstBad || (byNode !== undefined && !byNode.first);
      steps.push({
        step: k + 1,
        lossReference: toNumbers(a[LOSS_OUTPUT])[0],
        lossRuntime: toNumbers(b[LOSS_OUTPUT])[0],
        tensors,
        worst,
        ok,
        firstBad,
        byNode,
        byNodeUnavailable,
      });
      if (!ok) break;
      ortState = new Map(stateNames.map((n) => [n, b[nextName(n)]]));
      // After a step whose difference is magnified rounding, both continue from onnxruntime's
      // state, so that the next step is compared on its own, not on the trajectories' spread.
      refState = firstBad ? ortState : new Map(stateNames.map((n) => [n, a[nextName(n)]]));
    }
  } finally {
    await ref.release();
    await ort.release();
  }
  return {
    steps,
    ok: steps.length === opts.steps && steps.every((s) => s.ok),
    batchSize,
    batchSource: source,
    sharedMasks: loaded.draws.length,
    referenceMs,
    runtimeMs,
    nodeCheckMs,
  };
}

/**
 * A per-step table; for a step out of tolerance that every node agrees on, why that is fine;
 * for a failing step, the first tensor out of tolerance and the first node that disagrees; the
 * tolerance line.
 */
export function formatTrainDiff(
  r: TrainDiffResult,
  opts: Pick<TrainDiffOptions, "rtol" | "atol" | "backend" | "steps">,
): string {
  const w = Math.max(12, ...r.steps.map((s) => s.worst.name.length));
  const lines = [
    `${"step".padStart(4)}  ${"loss (ref)".padStart(12)}  ${"loss (ort)".padStart(12)}  ${
      "worst tensor".padEnd(w)
    }  ${"max abs err".padStart(11)}  ${"max rel err".padStart(11)}  verdict`,
  ];
  for (const s of r.steps) {
    const verdict = !s.ok ? "FAIL" : s.firstBad ? "ok (node by node)" : "ok";
    lines.push(
      `${String(s.step).padStart(4)}  ${s.lossReference.toPrecision(7).padStart(12)}  ${
        s.lossRuntime.toPrecision(7).padStart(12)
      }  ${s.worst.name.padEnd(w)}  ${fmt(s.worst.maxAbs).padStart(11)}  ${
        fmt(s.worst.maxRel).padStart(11)
      }  ${verdict}`,
    );
  }
  // Steps out of tolerance that agree node by node, grouped by what they say.
  const agreed = new Map<string, number[]>();
  for (const s of r.steps) {
    if (!s.ok || !s.firstBad || !s.byNode) continue;
    const bad = s.tensors.filter((t) => !t.ok);
    const which = `'${bad[0].name}'${bad.length > 1 ? ` and ${bad.length - 1} more` : ""}`;
    const text = `${which} out of tolerance, but each of onnxruntime's ${s.byNode.values} ` +
      `values agrees with the reference kernel on onnxruntime's own inputs: ` +
      (updateHint(s, bad[0]) ?? "the step magnifies rounding (a relu or comparison decided " +
          "differently near 0, an update that divides by a small root)");
    agreed.set(text, [...agreed.get(text) ?? [], s.step]);
  }
  for (const [text, at] of agreed) {
    lines.push(
      `step${at.length > 1 ? "s" : ""} ${at.join(", ")}: ${text}; both sides continued from ` +
        `onnxruntime's state`,
    );
  }
  const bad = r.steps.find((s) => !s.ok);
  if (bad?.firstBad) {
    const t = bad.firstBad;
    const why = t.problem ?? `${t.bad} elements outside tolerance`;
    lines.push(
      `first tensor out of tolerance: '${t.name}' after step ${bad.step}: ${why}, max abs err ${
        fmt(t.maxAbs)
      }, max rel err ${fmt(t.maxRel)}`,
    );
    const d = bad.byNode?.first;
    if (d) {
      const where = d.node?.spans?.length ? ` at ${d.node.spans.map(formatSpan).join(", ")}` : "";
      lines.push(
        `node by node: value '${d.value}' from ${d.node?.op ?? "?"} node '${
          d.node?.name ?? "?"
        }'${where} differs from the reference kernel on onnxruntime's own inputs: max abs err ${
          fmt(d.comparison.maxAbs)
        }, max rel err ${fmt(d.comparison.maxRel)}`,
      );
    } else if (!t.problem) {
      // Without the node-by-node check, the old explanation is still the likely one.
      const hint = updateHint(bad, t);
      if (hint) lines.push(`${hint} (--atol sets the tolerance)`);
      if (bad.byNodeUnavailable) {
        lines.push(`(the node-by-node check could not run: ${bad.byNodeUnavailable})`);
      }
    }
  }
  const masks = r.sharedMasks
    ? `; ${r.sharedMasks} random draw(s) shared (dropout masks, random tensors)`
    : "";
  const nodes = r.nodeCheckMs ? `, node by node ${r.nodeCheckMs.toFixed(1)} ms` : "";
  lines.push(
    `${r.steps.length} of ${opts.steps} steps, batch ${r.batchSize} (${r.batchSource})${masks}; ` +
      `tolerance rtol ${opts.rtol}, atol ${opts.atol}; reference ${
        r.referenceMs.toFixed(1)
      } ms, onnxruntime-${opts.backend} ${r.runtimeMs.toFixed(1)} ms${nodes}`,
  );
  return lines.join("\n");
}

/**
 * When a parameter is out of tolerance but its optimiser state agrees, the
 * difference arises in the update itself: Adam's lr m / (sqrt(v) + eps)
 * turns a gradient near zero into a step near +-lr, so rounding differences
 * of 1e-10 in such a gradient move the parameter by 1e-5.
 */
function updateHint(step: StepDiff, bad: TensorDiff): string | undefined {
  const param = fedInput(bad.name);
  if (!param || parseOptSlot(param) || bad.problem) return undefined;
  const state = step.tensors.filter((x) => parseOptSlot(fedInput(x.name) ?? "")?.param === param);
  if (state.length === 0 || !state.every((x) => x.ok)) return undefined;
  return `its optimiser state (${
    state.map((x) => `'${x.name}'`).join(", ")
  }) agrees, so the difference arises in the update: Adam-style updates lr m / (sqrt(v) + eps) ` +
    `magnify rounding in gradients near zero`;
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toExponential(2) : String(v);
}

/** The K batches: from the given data, else the digits set, else seeded random inputs. */
function makeBatches(
  g: Graph,
  names: string[],
  opts: TrainDiffOptions,
  batchSize: number,
  seed: number,
): { batches: Record<string, Tensor>[]; source: string } {
  let data = opts.data;
  let source = "data";
  if (!data && digitsFit(g, names)) {
    data = new Dataset(loadDigits());
    source = "digits";
  }
  if (data) {
    const lacking = names.filter((n) => !(n in data!.arrays));
    if (lacking.length) {
      fail(
        ...diag(
          "DLM0423",
          "The step model",
          `data for ${lacking.map((n) => `'${n}'`).join(", ")}`,
          `data for ${data.names.map((n) => `'${n}'`).join(", ")}`,
        ),
      );
    }
    // As dlm train does: the data against what the step reads, before a step runs. A last,
    // smaller batch is never used when a full one comes before it (the loop below).
    checkData(g, data, {
      what: "The step model",
      names,
      batchSize,
      dropLast: data.size >= batchSize,
    });
    const batches: Record<string, Tensor>[] = [];
    for (const b of data.batches(batchSize, { seed })) {
      if (b.size < batchSize && batches.length > 0) break;
      batches.push(Object.fromEntries(names.map((n) => [n, b.arrays[n]])));
      if (batches.length >= opts.steps) break;
    }
    return { batches, source };
  }
  // Random batches: every symbolic dim of the batch inputs is the batch size.
  const sub: Graph = { ...g, inputs: g.inputs.filter((i) => names.includes(i.name)) };
  const dims: Record<string, number> = {};
  for (const i of sub.inputs) {
    for (const d of i.type.shape) if (typeof d === "string") dims[d] = batchSize;
  }
  const batches: Record<string, Tensor>[] = [];
  for (let k = 0; k < opts.steps; k++) {
    batches.push(prepareInputs(sub, { seed: seed + k, dims, dimsOption: "--batch-size" }));
  }
  return { batches, source: "random" };
}
