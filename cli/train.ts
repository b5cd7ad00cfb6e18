/**
 * `dlm train`: run a training-step ONNX model (compiler/train/contract.ts)
 * over data files, with validation, early stopping, checkpoints and curves.
 * Training a .dlm file directly comes with the compiler's `train` sections.
 */
import { DlmError, formatDiagnostic } from "../compiler/diagnostics.ts";
import { loadWeights, readWeightsFile, readWeightsMap, rename } from "../runtime/weights.ts";
import type { Graph } from "../compiler/ir/graph.ts";
import { compileTrain, type TrainSettings } from "../compiler/train/mod.ts";
import { multiStep } from "../compiler/train/multistep.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { Dataset, loadData, parseDataSpecs } from "../runtime/data/mod.ts";
import { writeSafetensors } from "../runtime/formats/mod.ts";
import { writeFileAtomic } from "../runtime/fs.ts";
import { stderrSink, train } from "../runtime/train/mod.ts";
import { dimsOf, overridesOf, type Parsed, UsageError } from "./args.ts";
import type { Command } from "./commands.ts";
import type { Io } from "./main.ts";

const DATA_HELP = "a named array (repeatable): NAME=FILE.npy, NAME=FILE.csv:COLS[@DTYPE] " +
  "(COLS: 0-based columns '0-63', '64', '0,2,5-7' or header names; one plain column gives " +
  "a vector, else a matrix; dtype i64 for one all-integer column, else f32), 'digits' as FILE " +
  "for the bundled digits set (pixels divided by 16), or 'digits' alone for " +
  "image=digits:0-63 label=digits:64";

function backendOf(args: Parsed): "node" | "web" | "reference" {
  const b = (args.opts.backend as string | undefined) ?? "node";
  if (b === "node" || b === "web" || b === "reference") return b;
  throw new UsageError(`--backend must be node, web or reference, got '${b}'`);
}

function positiveInt(args: Parsed, flag: string, dflt: number, min = 1): number {
  const v = (args.opts[flag] as number | undefined) ?? dflt;
  if (!Number.isInteger(v) || v < min) {
    throw new UsageError(`--${flag} needs an integer >= ${min}, got ${v}`);
  }
  return v;
}

/** The `dlm train` command; register it as `train: trainCommand` in COMMANDS. */
export const trainCommand: Command = {
  summary: "train a model: a .dlm file's train section, or training-step ONNX models, over data",
  usage: "FILE.dlm|STEP.onnx --data NAME=PATH ... [--eval EVAL.onnx] [--epochs E] " +
    "[--batch-size B] [--val-split F] [--out DIR] [options]",
  options: {
    data: { kind: "multi", arg: "NAME=PATH[:COLS][@DTYPE]", help: DATA_HELP },
    eval: {
      kind: "string",
      arg: "EVAL.onnx",
      help: "evaluation model (parameters, buffers and batch in; loss and metric:* out)",
    },
    model: {
      kind: "string",
      arg: "NAME",
      help: "the model whose train section to use (.dlm files; default: the file's first)",
    },
    dim: {
      kind: "multi",
      arg: "SYM=N",
      help: "fix a symbolic input dim (.dlm files), e.g. --dim T=35 to unroll recurrent layers",
    },
    set: {
      kind: "multi",
      arg: "KEY=VALUE",
      help: "override a model parameter (.dlm files), e.g. --set classes=10 (repeatable)",
    },
    epochs: { kind: "number", arg: "E", help: "passes over the data (default 1)" },
    "batch-size": { kind: "number", arg: "B", help: "samples per step (default 32)" },
    "no-shuffle": { kind: "bool", help: "keep the data order (default: shuffle every epoch)" },
    "steps-per-run": {
      kind: "number",
      arg: "K",
      help:
        "training steps per onnxruntime run (.dlm files: default 8, the state stays inside the runtime between them; 1: one step per run)",
    },
    weights: {
      kind: "multi",
      arg: "INIT.safetensors|INIT.onnx",
      help:
        "initial parameters (and any other state) by name, from safetensors or an ONNX model's initializers (repeatable: later files override earlier ones)",
    },
    "weights-map": {
      kind: "string",
      arg: "MAP.json",
      help: "regex renames from another framework's names",
    },
    save: {
      kind: "string",
      arg: "OUT.safetensors",
      help: "write the trained parameters and buffers",
    },
    "save-adapter": {
      kind: "string",
      arg: "OUT.safetensors",
      help:
        "write only the fine-tuning methods' trained parameters (LoRA, IA3, adapters, prefixes)",
    },
    "val-split": {
      kind: "number",
      arg: "F",
      help: "hold out this fraction of the data for validation (needs --eval)",
    },
    stratify: {
      kind: "string",
      arg: "NAME",
      help: "keep the class shares of this label array in the validation split",
    },
    seed: { kind: "number", arg: "S", help: "seed of the shuffles and the split (default 0)" },
    backend: {
      kind: "string",
      arg: "node|web|reference",
      help: "where to run the steps (default node: onnxruntime-node)",
    },
    resume: {
      kind: "string",
      arg: "CKPT",
      help: "continue from a checkpoint (DIR/checkpoint.safetensors of an earlier run)",
    },
    out: {
      kind: "string",
      arg: "DIR",
      help: "write checkpoint.safetensors every epoch and history.csv/history.svg at the end",
    },
    "early-stop": {
      kind: "string",
      arg: "NAME",
      help: "stop when this history value stops improving (val_loss, val_accuracy, ...)",
    },
    patience: {
      kind: "number",
      arg: "N",
      help: "epochs without improvement before early stopping (default 3)",
    },
  },
  async run(args: Parsed, io: Io): Promise<number> {
    if (args.positional.length !== 1) {
      throw new UsageError(`expected one step model file, got ${args.positional.length}`);
    }
    const file = args.positional[0];
    const items = (args.opts.data as string[] | undefined) ?? [];
    if (items.length === 0) throw new UsageError("missing --data NAME=PATH");
    const weights = (args.opts.weights as string[] | undefined) ?? [];
    const map = args.opts["weights-map"] as string | undefined;
    if (map && !weights.length) throw new UsageError("--weights-map needs --weights");
    const rules = map ? readWeightsMap(map) : [];
    const arrays = loadData(parseDataSpecs(items));
    const data = new Dataset(arrays);
    // A .dlm file: its train section compiles to the step and evaluation models, and
    // sets defaults (epochs, batch size, validation split) that flags override.
    let step: string | Graph = file;
    // The one-step graph of a .dlm file (parameter lists, frozen values), whatever runs.
    let stepGraph: Graph | undefined;
    const perRun = positiveInt(args, "steps-per-run", 8);
    let evalModel: string | Graph | undefined = args.opts.eval as string | undefined;
    let defaults: TrainSettings = { metrics: [] };
    if (file.toLowerCase().endsWith(".dlm")) {
      const c = compileTrain(file, {
        model: args.opts.model as string | undefined,
        seed: (args.opts.seed as number | undefined) ?? 0,
        overrides: overridesOf(args),
        dims: dimsOf(args),
        // Small parameters update as flat vectors: fewer, larger operations per step.
        pack: true,
        // A sequence length the model leaves symbolic is the data's: recurrent layers unroll over it.
        dataShapes: Object.fromEntries(Object.entries(arrays).map(([k, t]) => [k, t.shape])),
      });
      if (!c.step || !c.eval) {
        throw new DlmError(c.diagnostics.filter((d) => d.severity === "error"), c.sources);
      }
      // Weights load by name into both models: the trained state and the frozen constants.
      if (weights.length) {
        for (const d of loadWeights(c.step, weights, rules).warnings) io.err(formatDiagnostic(d));
        loadWeights(c.eval, weights, rules);
      }
      // K steps per run: the step becomes a Scan over K stacked batches (compiler/train/multistep.ts).
      stepGraph = c.step;
      step = perRun > 1 ? multiStep(c.step) : c.step;
      evalModel = c.eval;
      defaults = c.settings!;
    } else if (!file.toLowerCase().endsWith(".onnx")) {
      throw new UsageError(`expected a .dlm file or a .onnx step model, got '${file}'`);
    }
    // --save-adapter needs a fine-tuned model: say so before training, not after.
    const saveAdapter = args.opts["save-adapter"] as string | undefined;
    const methods = stepGraph ? stepGraph.params.filter((p) => p.adapter) : [];
    if (saveAdapter && methods.length === 0) {
      throw new DlmError({
        code: "DLM0501",
        severity: "error",
        message: "--save-adapter: the model has no fine-tuning methods (with lora(...), ...)",
      });
    }
    const seed = (args.opts.seed as number | undefined) ?? 0;
    const evalFile = evalModel;
    const frac = (args.opts["val-split"] as number | undefined) ?? defaults.valSplit;
    let trainSet = data;
    let val: Dataset | undefined;
    if (frac !== undefined && frac > 0) {
      if (!evalFile) throw new UsageError("--val-split needs --eval EVAL.onnx");
      ({ train: trainSet, val } = data.split(frac, {
        seed,
        stratify: args.opts.stratify as string | undefined,
      }));
    }
    let initial: Map<string, Tensor> | undefined;
    if (weights.length && typeof step === "string") {
      // An ONNX step model: the files' tensors, renamed, are the initial state (later files win).
      initial = new Map();
      for (const w of weights) {
        for (const [name, t] of readWeightsFile(w)) initial.set(rename(name, rules), t);
      }
    }
    const monitor = (args.opts["early-stop"] as string | undefined) ?? defaults.earlyStop;
    const r = await train({
      step,
      eval: evalFile,
      data: trainSet,
      val,
      epochs: positiveInt(args, "epochs", defaults.epochs ?? 1, 0),
      batchSize: positiveInt(args, "batch-size", defaults.batchSize ?? 32),
      shuffle: !args.opts["no-shuffle"],
      seed: args.opts.seed as number | undefined,
      backend: backendOf(args),
      initial,
      resume: args.opts.resume as string | undefined,
      stepsPerRun: perRun,
      outDir: args.opts.out as string | undefined,
      earlyStopping: monitor
        ? { monitor, patience: positiveInt(args, "patience", defaults.patience ?? 3) }
        : undefined,
      progress: stderrSink(),
    });
    const save = args.opts.save as string | undefined;
    if (save) {
      // Every parameter under its dlm name: the trained ones and, for a .dlm file, the frozen ones.
      const all = new Map(r.weights);
      if (stepGraph) {
        for (const p of stepGraph.params) {
          const t = all.get(p.name) ?? stepGraph.initializers.get(p.name);
          if (t && !all.has(p.name)) all.set(p.name, t);
        }
      }
      writeFileAtomic(save, writeSafetensors([...all]));
      r.files.push(save);
    }
    if (saveAdapter) {
      const entries = methods.map((p): [string, Tensor] => [
        p.name,
        r.weights.get(p.name) ?? stepGraph!.initializers.get(p.name)!,
      ]);
      writeFileAtomic(saveAdapter, writeSafetensors(entries));
      r.files.push(saveAdapter);
    }
    const last = r.history.at(-1);
    io.err(
      `trained ${r.epochs} epoch${r.epochs === 1 ? "" : "s"}` +
        (r.stoppedEarly ? " (stopped early)" : "") +
        (last
          ? `: ${Object.entries(last.values).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ")}`
          : ""),
    );
    for (const f of r.files) io.err(`wrote ${f}`);
    return 0;
  },
};
