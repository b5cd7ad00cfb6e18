/**
 * `dlm diff`: the reference interpreter and onnxruntime on the same inputs
 * (or K training steps of a train section on both sides), compared.
 */
import { diag, DlmError, formatDiagnostic } from "../../compiler/diagnostics.ts";
import { compileTrain } from "../../compiler/train/mod.ts";
import { loadWeights, readWeightsMap } from "../../runtime/weights.ts";
import { diffGraph, formatDiff } from "../../runtime/diff/diff.ts";
import { diffTrain, formatTrainDiff } from "../../runtime/diff/train_diff.ts";
import { loadDataset, parseDataSpecs } from "../../runtime/data/mod.ts";
import { dimsOf } from "../args.ts";
import { withTokenIds } from "../token_overrides.ts";
import { backendOf, type Io, one, type Parsed, UsageError } from "../command.ts";
import { buildOptionsOf, buildWithInputs, opsetOf } from "../pipeline.ts";

/** Run `dlm diff`; returns the exit code. */
export async function run(args: Parsed, io: Io): Promise<number> {
  const file = one(args, "file");
  const o = buildOptionsOf(args);
  const backend = backendOf(args, false) as "node" | "web";
  if (args.opts.train !== undefined) {
    // K training steps of the train section (runtime/diff/train_diff.ts).
    const k = args.opts.train as number;
    if (!file.toLowerCase().endsWith(".dlm")) {
      throw new UsageError(
        ...diag("DLM0501", "--train", "a .dlm file with a train section", `'${file}'`),
      );
    }
    // The step as `dlm train` runs it (packed parameters).
    const c = compileTrain(file, {
      model: o.model,
      seed: o.seed,
      overrides: await withTokenIds(o.overrides ?? {}, args.opts.tokenizer as string | undefined),
      dims: dimsOf(args),
      pack: true,
    });
    for (const d of c.diagnostics) {
      if (d.severity !== "error") io.err(formatDiagnostic(d, c.sources));
    }
    if (!c.step) {
      throw new DlmError(c.diagnostics.filter((d) => d.severity === "error"), c.sources);
    }
    // Weights load by name into the step model, whose initializers are the starting state.
    const weights = o.weights as string[];
    if (weights.length) {
      const rules = o.weightsMap ? readWeightsMap(o.weightsMap) : [];
      for (const d of loadWeights(c.step, weights, rules).warnings) io.err(formatDiagnostic(d));
    } else if (o.weightsMap) throw new UsageError(...diag("DLM0507", "--weights-map", "--weights"));
    const items = (args.opts.data as string[] | undefined) ?? [];
    const topts = {
      steps: k,
      batchSize: args.opts["batch-size"] as number | undefined,
      rtol: (args.opts.rtol as number) ?? 1e-4,
      atol: (args.opts.atol as number) ?? 1e-5,
      backend,
      seed: o.seed,
      data: items.length
        ? loadDataset(parseDataSpecs(items), {
          tokenizer: args.opts.tokenizer as string | undefined,
        })
        : undefined,
    };
    const r = await diffTrain(c.step, topts);
    io.out(formatTrainDiff(r, topts));
    return r.ok ? 0 : 1;
  }
  const { built: b, feeds } = await buildWithInputs(file, o, args, io);
  const opts = {
    rtol: (args.opts.rtol as number) ?? 1e-4,
    atol: (args.opts.atol as number) ?? 1e-5,
    backend,
    opset: opsetOf(args),
    seed: o.seed,
  };
  const r = await diffGraph(b.graph, feeds, opts);
  io.out(formatDiff(r, opts));
  return r.ok ? 0 : 1;
}
