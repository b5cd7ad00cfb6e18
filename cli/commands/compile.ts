/**
 * `dlm compile`: a model, or a train section's step or evaluation model, to
 * an ONNX file (and optionally its weights or adapters as safetensors).
 */
import { numel, type Tensor } from "../../compiler/ir/tensor.ts";
import { diag, DlmError, error } from "../../compiler/diagnostics.ts";
import { type Graph, tapWeights } from "../../compiler/ir/graph.ts";
import { formatPassReport, newPassReport } from "../../compiler/passes/manager.ts";
import { writeModelAsync } from "../../runtime/formats/onnx_file.ts";
import { compileTrain } from "../../compiler/train/mod.ts";
import { unpackValues } from "../../compiler/train/pack_values.ts";
import { writeSafetensors } from "../../runtime/formats/mod.ts";
import { weightsChunks } from "../../runtime/save_weights.ts";
import type { FileBytes } from "../../runtime/fs.ts";
import { dimsOf } from "../args.ts";
import { type Io, one, type Parsed, UsageError } from "../command.ts";
import { buildGraphWith, buildOptionsOf, onnxInputFor, opsetOf } from "../build.ts";
import { groupDigits, warn } from "../report.ts";

/**
 * Run `dlm compile`; returns the exit code. It builds through build.ts, not
 * pipeline.ts, so that the ONNX decoder is loaded only for an .onnx input or
 * `--weights`.
 */
export async function run(args: Parsed, io: Io): Promise<number> {
  const file = one(args, "file");
  const out = args.opts.out as string | undefined;
  if (!out) throw new UsageError(...diag("DLM0506", "-o OUT.onnx"));
  const save = args.opts["save-weights"] as string | undefined;
  if (save && samePath(save, out)) {
    throw new UsageError(...diag("DLM0509", "-o and --save-weights", out));
  }
  const saveAdapter = args.opts["save-adapter"] as string | undefined;
  if (saveAdapter && (samePath(saveAdapter, out) || (save && samePath(saveAdapter, save)))) {
    throw new UsageError(...diag("DLM0509", "--save-adapter and another output", saveAdapter));
  }
  for (const target of [out, save, saveAdapter, out + ".data"]) {
    if (target && samePath(target, file)) {
      throw new UsageError(...diag("DLM0510", file));
    }
  }
  const opset = opsetOf(args);
  if (args.opts.train || args.opts.eval) {
    if (args.opts.train && args.opts.eval) {
      throw new UsageError(
        ...diag("DLM0508", "--train", "--eval", "they write different models; give one"),
      );
    }
    if (args.opts["pack-params"] && !args.opts.train) {
      throw new UsageError(
        ...diag("DLM0507", "--pack-params", "--train (it applies to the training-step model)"),
      );
    }
    const o = buildOptionsOf(args);
    const report = args.opts["explain-passes"]
      ? { step: newPassReport(), eval: newPassReport() }
      : undefined;
    const c = compileTrain(file, {
      model: o.model,
      seed: o.seed,
      overrides: o.overrides,
      dims: dimsOf(args),
      pack: !!args.opts["pack-params"],
      report,
    });
    if (!c.step || !c.eval) {
      throw new DlmError(c.diagnostics.filter((d) => d.severity === "error"), c.sources);
    }
    // Warnings (a loss that reaches no parameter, ...) are worth seeing before a long run.
    warn({ warnings: c.diagnostics, sources: c.sources }, io);
    const g = args.opts.train ? c.step : c.eval;
    if (report) {
      // The forward model as `dlm compile` writes it (eval mode, inference passes): what the
      // step's size is measured against.
      const fo = { ...o, mode: "eval" as const, model: c.step.name };
      const forward = buildGraphWith(file, fo, await onnxInputFor(file, fo)).graph;
      io.out(formatPassReport(args.opts.train ? report.step : report.eval));
      io.out(formatSizes(forward, c.step, c.eval));
    }
    // State values are inputs; their initial values go to --save-weights, not into the model,
    // so that any onnxruntime session takes them as ordinary feeds.
    // So are those of weights trained at some taps only (their other taps: compiler/train/pack.ts).
    const initial = new Map<string, Tensor>();
    for (const name of [...g.inputs.map((i) => i.name), ...tapWeights(g.packs)]) {
      const t = g.initializers.get(name);
      if (t) {
        initial.set(name, t);
        g.initializers.delete(name);
      }
    }
    // Packed parameters are saved under their own names; a runner packs them again.
    const named = unpackValues(g.packs ?? [], initial, initial);
    const written = await writeModelAsync(g, out, {
      opset,
      also: save ? [{ path: save, bytes: writeSafetensors([...named], { producer: "dlm" }) }] : [],
    });
    io.err(
      `wrote ${written.model}: the ${
        args.opts.train ? "training-step" : "evaluation"
      } model of train ${g.name}, ` +
        `${g.nodes.length} nodes, ${g.inputs.length} inputs, ${g.outputs.length} outputs` +
        (save ? `; initial state in ${save}` : "; initial state: --save-weights FILE"),
    );
    return 0;
  }
  const bo = {
    ...buildOptionsOf(args),
    passes: !args.opts["no-passes"],
    explainPasses: !!args.opts["explain-passes"],
  };
  const b = buildGraphWith(file, bo, await onnxInputFor(file, bo));
  warn(b, io);
  if (b.passReport) io.out(b.passReport);
  // Streamed: lazy weights are drawn a chunk at a time and never held whole.
  const also: { path: string; bytes: FileBytes }[] = save
    ? [{ path: save, bytes: weightsChunks(b.declared ?? b.graph) }]
    : [];
  if (saveAdapter) {
    if (!b.adapterWeights?.size) {
      throw new DlmError(error(...diag("DLM0512", "--save-adapter", b.graph.name)));
    }
    also.push({
      path: saveAdapter,
      bytes: writeSafetensors([...b.adapterWeights], { producer: "dlm", format: "pt" }),
    });
  }
  const written = await writeModelAsync(b.graph, out, {
    opset,
    externalData: args.opts["external-data"] ? { threshold: 0 } : undefined,
    also,
  });
  const nodes = b.graph.nodes.length;
  const params = (b.declared ?? b.graph).params.reduce(
    (s, p) => s + numel(((b.declared ?? b.graph).initializers.get(p.name)?.shape) ?? []),
    0,
  );
  io.err(
    `wrote ${written.model}${written.data ? ` and ${written.data}` : ""}: ${nodes} nodes, ${
      groupDigits(params)
    } parameter elements, opset ${opset}`,
  );
  return 0;
}

/**
 * The node counts of a train section's models against its forward model's, and the step's
 * nodes by op, most frequent first:
 *
 * ```text
 * forward ResNet18Small: 49 nodes; training step: 784 nodes (16.0x); evaluation model: 94 nodes (1.9x)
 * training step by op: Mul 205, Reshape 160, ...
 * ```
 */
export function formatSizes(forward: Graph, step: Graph, evaluation: Graph): string {
  const f = forward.nodes.length;
  const ratio = (n: number) => (f ? ` (${(n / f).toFixed(1)}x)` : "");
  const ops = new Map<string, number>();
  for (const n of step.nodes) ops.set(n.op, (ops.get(n.op) ?? 0) + 1);
  const byOp = [...ops].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([op, k]) => `${op} ${k}`).join(", ");
  return `forward ${forward.name}: ${f} nodes; training step: ${step.nodes.length} nodes${
    ratio(step.nodes.length)
  }; evaluation model: ${evaluation.nodes.length} nodes${ratio(evaluation.nodes.length)}\n` +
    `training step by op: ${byOp}`;
}

/** Do two paths name one file? (Absolute, normalised; real paths when both exist.) */
function samePath(a: string, b: string): boolean {
  const abs = (p: string) => {
    const full = p.startsWith("/") ? p : `${Deno.cwd()}/${p}`;
    const out: string[] = [];
    for (const seg of full.split("/")) {
      if (seg === "" || seg === ".") continue;
      if (seg === "..") out.pop();
      else out.push(seg);
    }
    return "/" + out.join("/");
  };
  try {
    return Deno.realPathSync(a) === Deno.realPathSync(b);
  } catch {
    return abs(a) === abs(b);
  }
}
