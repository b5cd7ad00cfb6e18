/**
 * `dlm eval`: a trained model scored on data.
 *
 * `--metric map` (the default): COCO-style average precision of a detector
 * (runtime/eval/average_precision.ts) from its detections, read from its
 * outputs by runtime/eval/detections.ts's convention, against the data's
 * ground-truth boxes. `--metric accuracy`: top-1 accuracy of a classifier's
 * logits against integer labels. `--val-split F --seed S` scores only the
 * rows `dlm train` holds out for validation at that fraction and seed.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import type { Graph } from "../../compiler/ir/graph.ts";
import type { Tensor } from "../../compiler/ir/tensor.ts";
import { type ApResult, averagePrecision } from "../../runtime/eval/average_precision.ts";
import { loadData, parseDataSpecs, takeRows } from "../../runtime/data/mod.ts";
import { buildOptionsOf } from "../build.ts";
import { backendOf, type Io, one, type Parsed, UsageError } from "../command.ts";
import { buildGraph } from "../pipeline.ts";
import { warn } from "../report.ts";
import { runForward } from "../forward.ts";
import { detect, noWeights, rolesOf, rowsOf, truthArrays, truthOf } from "../detector.ts";

const METRICS = ["map", "accuracy"] as const;

/** Run `dlm eval FILE --weights W --data ... [--metric map|accuracy]`; returns the exit code. */
export async function run(args: Parsed, io: Io): Promise<number> {
  const file = one(args, "file");
  const backend = backendOf(args, true);
  const metric = (args.opts.metric as string | undefined) ?? "map";
  if (!(METRICS as readonly string[]).includes(metric)) {
    throw new UsageError(...diag("DLM0515", "--metric", METRICS.join(" or "), `'${metric}'`));
  }
  const data = (args.opts.data as string[] | undefined) ?? [];
  if (!data.length) throw new UsageError(...diag("DLM0506", "--data NAME=PATH"));
  const arrays = loadData(parseDataSpecs(data));
  const built = buildGraph(file, buildOptionsOf(args));
  warn(built, io);
  noWeights(args, built, "dlm eval", io);
  const roles = rolesOf(args);
  const what = `dlm eval --metric ${metric}`;
  const truth = truthArrays(args, arrays, what, metric === "map" ? "required" : "none")!;
  const n = arrays[truth.labels].shape[0];
  for (const [name, t] of Object.entries(arrays)) {
    if (t.shape[0] !== n) {
      fail(
        ...diag(
          "DLM0423",
          `--data ${name}`,
          `${n} rows, as many as '${truth.labels}'`,
          `${t.shape[0]}`,
        ),
      );
    }
  }
  const { rows, which } = rowsOf(args, n);
  const json = args.opts.json === true;

  if (metric === "accuracy") {
    const acc = await accuracy(built.graph, arrays, rows, truth.labels, roles.logits, backend, io);
    if (json) io.out(JSON.stringify({ metric, images: rows.length, rows: which, ...acc }));
    else {
      io.out(`accuracy of '${acc.output}' on ${rows.length} rows (${which}): ${fmt(acc.accuracy)}`);
    }
    return 0;
  }

  const threshold = args.opts["score-threshold"] as number | undefined;
  const detections = await detect(built, arrays, rows, roles, {
    scoreThreshold: threshold,
    backend,
    io,
  });
  const gt = truthOf(arrays, truth!, rows);
  const maxDetections = (args.opts["max-detections"] as number | undefined) ?? 100;
  const r = averagePrecision(detections, gt, { maxDetections });
  if (json) {
    io.out(JSON.stringify({
      metric,
      images: rows.length,
      rows: which,
      boxes: gt.length,
      detections: detections.length,
      maxDetections,
      ...r,
    }));
    return 0;
  }
  io.out(
    `average precision on ${rows.length} images (${which}): ${gt.length} boxes, ` +
      `${detections.length} detections (at most ${maxDetections} an image and class)`,
  );
  for (const line of apTable(r)) io.out(line);
  return 0;
}

/** The summary and the per-class table of an AP result. */
export function apTable(r: ApResult): string[] {
  const lines = [
    `  AP     ${fmt(r.ap)}   IoU 0.50:0.05:0.95, 101-point interpolated (COCO)`,
    `  AP50   ${fmt(r.ap50)}`,
    `  AP75   ${fmt(r.ap75)}`,
    `  AR     ${fmt(r.ar)}`,
    "",
    "  class  boxes  detections  AP      AP50    AP75    AR",
  ];
  for (const c of r.classes) {
    const ar = c.ap === null ? null : c.recall.reduce((s: number, x) => s + (x ?? 0), 0) /
      c.recall.length;
    lines.push(
      `  ${String(c.label).padEnd(5)}  ${String(c.boxes).padStart(5)}  ${
        String(c.detections).padStart(10)
      }  ${fmt(c.ap).padEnd(6)}  ${fmt(c.ap50).padEnd(6)}  ${fmt(c.ap75).padEnd(6)}  ${fmt(ar)}`,
    );
  }
  return lines;
}

function fmt(x: number | null): string {
  return x === null ? "-" : x.toFixed(4);
}

/** Top-1 accuracy of logits [N, C] (the `logits` role, else the first output) against labels [N]. */
async function accuracy(
  g: Graph,
  data: Record<string, Tensor>,
  rows: number[],
  labelName: string,
  outName: string | undefined,
  backend: "node" | "web" | "reference",
  io: Io,
): Promise<{ output: string; accuracy: number; correct: number }> {
  const name = outName ?? g.outputs[0]?.name;
  if (!g.outputs.some((o) => o.name === name)) {
    fail(...diag("DLM0420", `'${name}'`, g.outputs.map((o) => `'${o.name}'`).join(", ")));
  }
  const fed = g.inputs.filter((i) => !g.initializers.has(i.name));
  for (const inp of fed) {
    if (!data[inp.name]) {
      fail(...diag("DLM0419", `'${inp.name}'`, "an array of that name in the data"));
    }
  }
  const labels = takeRows(data[labelName], rows);
  if (labels.shape.length !== 1 || Array.isArray(labels.data)) {
    fail(
      ...diag(
        "DLM0423",
        `--metric accuracy`,
        `integer labels [N] in '${labelName}'`,
        `${labels.dtype}[${labels.shape.join(", ")}]`,
      ),
    );
  }
  let correct = 0;
  for (let s = 0; s < rows.length; s += 256) {
    const part = rows.slice(s, s + 256);
    const feeds: Record<string, Tensor> = {};
    for (const inp of fed) feeds[inp.name] = takeRows(data[inp.name], part);
    const y = (await runForward(g, feeds, backend, io))[name];
    if (y.shape.length !== 2 || y.shape[0] !== part.length || Array.isArray(y.data)) {
      fail(
        ...diag(
          "DLM0423",
          `--metric accuracy`,
          `class logits [${part.length}, C] in output '${name}'`,
          `${y.dtype}[${y.shape.join(", ")}]`,
        ),
      );
    }
    const c = y.shape[1], d = y.data as ArrayLike<number>;
    for (let i = 0; i < part.length; i++) {
      let best = 0;
      for (let q = 1; q < c; q++) if (d[i * c + q] > d[i * c + best]) best = q;
      if (best === Number(labels.data[s + i])) correct++;
    }
  }
  return { output: name, accuracy: correct / rows.length, correct };
}
