/**
 * `dlm probe`: how well a model's features separate labelled classes, read
 * out by the nearest class mean (runtime/data/probe.ts) on a held-out split,
 * for the given weights and, beside them, for the model's initial random
 * weights (the same seed): what a self-supervised encoder learnt, against
 * what a random encoder of the same shape already gives. The held-out rows
 * are those `dlm train` holds out for validation at the same seed and
 * fraction.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import type { Graph } from "../../compiler/ir/graph.ts";
import { numel, type Tensor } from "../../compiler/ir/tensor.ts";
import { loadData, parseDataSpecs, permutation, takeRows } from "../../runtime/data/mod.ts";
import { nearestClassMean } from "../../runtime/data/probe.ts";
import { overridesOf } from "../args.ts";
import { backendOf, type Io, one, type Parsed, UsageError } from "../command.ts";
import { buildGraph, type BuildOptions } from "../pipeline.ts";
import { warn } from "../report.ts";
import { runForward } from "../forward.ts";

/** Rows a forward run takes at a time. */
const CHUNK = 512;

/** Run `dlm probe FILE --weights W --data ...`; returns the exit code. */
export async function run(args: Parsed, io: Io): Promise<number> {
  const file = one(args, "file");
  const backend = backendOf(args, true);
  const seed = (args.opts.seed as number | undefined) ?? 0;
  const weights = (args.opts.weights as string[] | undefined) ?? [];
  if (!weights.length) throw new UsageError(...diag("DLM0506", "--weights W.safetensors"));
  const labelName = (args.opts.label as string | undefined) ?? "label";
  const split = (args.opts["val-split"] as number | undefined) ?? 0.2;
  const data = loadData(parseDataSpecs((args.opts.data as string[] | undefined) ?? ["digits"]));
  const o: BuildOptions = {
    model: args.opts.model as string | undefined,
    seed,
    weightsMap: args.opts["weights-map"] as string | undefined,
    overrides: overridesOf(args),
  };
  const trained = buildGraph(file, { ...o, weights });
  warn(trained, io);
  const initial = buildGraph(file, o).graph;
  const g = trained.graph;

  const label = data[labelName];
  if (!label) {
    fail(...diag("DLM0423", "dlm probe", `a label array '${labelName}' in --data`, "none"));
  }
  if (label.shape.length !== 1 || !(label.data instanceof BigInt64Array)) {
    fail(
      ...diag(
        "DLM0423",
        `--label ${labelName}`,
        "integer class labels [N] (@i64)",
        `${label.dtype}[${label.shape.join(", ")}]`,
      ),
    );
  }
  const labels = Array.from(label.data as BigInt64Array, Number);
  for (const inp of g.inputs) {
    if (!data[inp.name] && !g.initializers.has(inp.name)) {
      fail(...diag("DLM0419", `'${inp.name}'`, "an array of that name in --data"));
    }
  }
  const outName = (args.opts.output as string | undefined) ?? g.outputs[0]?.name;
  if (!g.outputs.some((x) => x.name === outName)) {
    fail(...diag("DLM0420", `'${outName}'`, g.outputs.map((x) => `'${x.name}'`).join(", ")));
  }
  const n = labels.length;
  // The rows `dlm train --val-split F --seed S` holds out (runtime/data/dataset.ts, unstratified):
  // a probe of trained weights scores rows their training never saw.
  const perm = permutation(n, seed * 7919);
  const nTest = Math.min(n - 1, Math.max(1, Math.round(n * split)));
  const test = perm.slice(0, nTest), fit = perm.slice(nTest);
  if (!fit.length) {
    fail(...diag("DLM0423", "--val-split", "rows left to fit the class means", "none"));
  }

  const features = async (graph: Graph) => {
    const parts: Tensor[] = [];
    for (let s = 0; s < n; s += CHUNK) {
      const rows = Array.from({ length: Math.min(CHUNK, n - s) }, (_, i) => s + i);
      const feeds: Record<string, Tensor> = {};
      for (const inp of graph.inputs) {
        if (data[inp.name]) feeds[inp.name] = takeRows(data[inp.name], rows);
      }
      parts.push((await runForward(graph, feeds, backend, io))[outName]);
    }
    return concatRows(parts);
  };
  const a = await features(g), b = await features(initial);
  const accTrained = nearestClassMean(a, labels, fit, test);
  const accRandom = nearestClassMean(b, labels, fit, test);
  const dims = numel(a.shape.slice(1));
  io.out(
    `nearest-class-mean probe of '${outName}' (${dims} features, cosine), ` +
      `${fit.length} rows fit the means, ${test.length} held out (seed ${seed}):`,
  );
  io.out(`  trained weights        ${accTrained.toFixed(4)}`);
  io.out(`  random encoder (init)  ${accRandom.toFixed(4)}`);
  return 0;
}

/** Row blocks stacked: [n1, ...] + [n2, ...] -> [n1 + n2, ...] (as f64, for the probe). */
function concatRows(parts: Tensor[]): Tensor {
  const rest = parts[0].shape.slice(1);
  const per = numel(rest);
  const rows = parts.reduce((s, p) => s + p.shape[0], 0);
  const data = new Float64Array(rows * per);
  let at = 0;
  for (const p of parts) {
    const d = p.data as ArrayLike<number>;
    for (let i = 0; i < d.length; i++) data[at + i] = Number(d[i]);
    at += d.length;
  }
  return { dtype: "f64", shape: [rows, ...rest], data };
}
