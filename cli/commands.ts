/**
 * The commands of the dlm CLI. Each parses its options (cli/args.ts), calls
 * into the compiler and runtime, and prints; errors travel as DlmError.
 */
import type { Graph } from "../compiler/ir/graph.ts";
import { formatType } from "../compiler/ir/graph.ts";
import { numel } from "../compiler/ir/tensor.ts";
import {
  dedupeDiagnostics,
  DlmError,
  formatDiagnostic,
  sortDiagnostics,
} from "../compiler/diagnostics.ts";
import { compileFile, hasErrors } from "../compiler/compile.ts";
import { resolveNames } from "../compiler/check/resolve.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { writeModel } from "../runtime/formats/onnx_file.ts";
import { SUPPORTED_OPSETS } from "../compiler/ops/mod.ts";
import { graphToDot, graphToSvg } from "../compiler/viz/mod.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { writeNpy } from "../runtime/formats/mod.ts";
import { describeFsError, writeFileAtomic } from "../runtime/fs.ts";
import { prepareInputs, summarize } from "../runtime/inputs.ts";
import { loadWeights, readWeightsMap, weightsBytes } from "../runtime/weights.ts";
import { type Target, TARGETS } from "../compiler/passes/mod.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { unpackValues } from "../compiler/train/pack.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { writeSafetensors } from "../runtime/formats/mod.ts";
import { diffGraph, formatDiff } from "../runtime/diff/diff.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";
import { Dataset, loadData, parseDataSpecs } from "../runtime/data/mod.ts";
import { dimsOf, type OptSpec, overridesOf, type Parsed, UsageError } from "./args.ts";
import {
  ADAPTER_MODES,
  type AdapterMode,
  buildGraph,
  type BuildOptions,
  type Built,
  isOnnxPath,
} from "./pipeline.ts";
import type { Io } from "./main.ts";
import { generateCommand } from "./generate.ts";
import { trainCommand } from "./train.ts";

export interface Command {
  summary: string;
  usage: string;
  options: Record<string, OptSpec>;
  run(args: Parsed, io: Io): Promise<number>;
}

const MODEL: Record<string, OptSpec> = {
  model: {
    kind: "string",
    arg: "NAME",
    help: "the model to build (default: the first in the file)",
  },
  set: {
    kind: "multi",
    arg: "KEY=VALUE",
    help: "override a model parameter, e.g. --set classes=100 (repeatable)",
  },
  seed: {
    kind: "number",
    arg: "S",
    help: "seed for weight initialisation and random inputs (default 0)",
  },
  mode: {
    kind: "string",
    arg: "eval|train",
    help: "build the eval graph (default) or the train-mode forward graph",
  },
  target: {
    kind: "string",
    arg: "onnx|ort",
    help:
      "standard ONNX ops only (default), or onnxruntime's fused contrib ops (Gelu, SkipLayerNormalization, MultiHeadAttention)",
  },
  adapters: {
    kind: "string",
    arg: "unmerged|merged|inputs",
    help:
      "a fine-tuned model's LoRA/IA3 updates: beside the base weights (default), folded into them, or as graph inputs swappable at run time",
  },
};
const WEIGHTS: Record<string, OptSpec> = {
  weights: {
    kind: "multi",
    arg: "W.safetensors|W.onnx",
    help:
      "load weights by dlm parameter name from safetensors or an ONNX model's initializers (repeatable: later files override earlier ones)",
  },
  "weights-map": {
    kind: "string",
    arg: "MAP.json",
    help: "regex renames from another framework's names",
  },
};
const INPUTS: Record<string, OptSpec> = {
  input: {
    kind: "multi",
    arg: "NAME=PATH.npy",
    help: "an input from a .npy file (repeatable); others are random",
  },
  dim: {
    kind: "multi",
    arg: "SYM=N",
    help: "size of a symbolic dim for random inputs, e.g. --dim N=4 (default 1)",
  },
};

function one(args: Parsed, what: string): string {
  if (args.positional.length !== 1) {
    throw new UsageError(`expected one ${what}, got ${args.positional.length}`);
  }
  return args.positional[0];
}

function buildOptions(args: Parsed): BuildOptions {
  const mode = (args.opts.mode as string | undefined) ?? "eval";
  if (mode !== "eval" && mode !== "train") {
    throw new UsageError(`--mode must be eval or train, got '${mode}'`);
  }
  const overrides = overridesOf(args);
  const target = (args.opts.target as string | undefined) ?? "onnx";
  if (!TARGETS.includes(target as Target)) {
    throw new UsageError(`--target must be onnx or ort, got '${target}'`);
  }
  return {
    model: args.opts.model as string | undefined,
    mode,
    target: target as Target,
    seed: (args.opts.seed as number | undefined) ?? 0,
    weights: (args.opts.weights as string[] | undefined) ?? [],
    weightsMap: args.opts["weights-map"] as string | undefined,
    overrides,
    adapters: adaptersOf(args),
  };
}

function adaptersOf(args: Parsed): AdapterMode | undefined {
  const a = args.opts.adapters as string | undefined;
  if (a === undefined) return undefined;
  if (!ADAPTER_MODES.includes(a as AdapterMode)) {
    throw new UsageError(`--adapters must be one of ${ADAPTER_MODES.join(", ")}, got '${a}'`);
  }
  return a as AdapterMode;
}

function opsetOf(args: Parsed): number {
  const opset = (args.opts.opset as number | undefined) ?? 17;
  if (!SUPPORTED_OPSETS.includes(opset)) {
    throw new UsageError(`--opset must be one of ${SUPPORTED_OPSETS.join(", ")}, got ${opset}`);
  }
  return opset;
}

function warn(b: Built, io: Io): void {
  for (const d of sortDiagnostics(b.warnings)) io.err(formatDiagnostic(d, b.sources));
}

const check: Command = {
  summary: "parse and check a .dlm file (its model and its train sections); print its diagnostics",
  usage: "FILE.dlm [--model NAME]",
  options: {
    model: MODEL.model,
    set: MODEL.set,
    mode: MODEL.mode,
    dim: {
      kind: "multi",
      arg: "SYM=N",
      help: "fix a symbolic input dim for the train sections, e.g. --dim T=35",
    },
  },
  run(args, io) {
    const file = one(args, "file");
    const o = buildOptions(args);
    const r = compileFile(file, { model: o.model, mode: o.mode, overrides: o.overrides });
    let all = r.diagnostics;
    const decls = r.program?.main.decls ?? [];
    if (r.program && !o.model && !decls.some((d) => d.kind === "model")) {
      // A library of blocks, or train sections for imported models: no model of its own to
      // elaborate, so its names are resolved statically (and its train sections checked below).
      all = [...all.filter((d) => d.code !== "DLM0103"), ...resolveNames(r.program)];
    }
    if (!hasErrors(all) && r.program) {
      // Train sections are checked too: their losses and metrics, and that the loss differentiates.
      const dims = dimsOf(args);
      for (const t of r.program.main.decls) {
        if (t.kind !== "train") continue;
        const c = compileTrain(file, { model: t.model, overrides: o.overrides, dims });
        all = dedupeDiagnostics([...all, ...c.diagnostics]);
      }
    }
    const ds = sortDiagnostics(all);
    for (const d of ds) io.err(formatDiagnostic(d, r.sources));
    const n = ds.filter((d) => d.severity === "error").length;
    if (n > 1) io.err(`${n} errors`);
    return Promise.resolve(
      hasErrors(all) ? (ds.some((d) => d.code === "DLM0501") ? 2 : 1) : 0,
    );
  },
};

const compile: Command = {
  summary: "compile a model to ONNX",
  usage: "FILE.dlm -o OUT.onnx [options]",
  options: {
    out: { kind: "string", short: "o", arg: "OUT.onnx", help: "the ONNX file to write" },
    ...MODEL,
    opset: { kind: "number", arg: "N", help: "target ONNX opset (default 17; 17-21)" },
    ...WEIGHTS,
    "save-weights": {
      kind: "string",
      arg: "OUT.safetensors",
      help: "also write the (initialised or loaded) weights",
    },
    "save-adapter": {
      kind: "string",
      arg: "OUT.safetensors",
      help: "also write only the fine-tuning methods' parameters (LoRA, IA3, adapters, prefixes)",
    },
    "no-passes": { kind: "bool", help: "emit the graph as declared, without graph passes" },
    "explain-passes": { kind: "bool", help: "print which rewrites fired, where, and node counts" },
    "external-data": { kind: "bool", help: "store weights in OUT.onnx.data even under 2 GB" },
    train: {
      kind: "bool",
      help:
        "write the training-step model of the file's train section (state in, next:state out; see compiler/train/contract.ts)",
    },
    eval: { kind: "bool", help: "write the evaluation model of the file's train section" },
    "pack-params": {
      kind: "bool",
      help:
        "with --train: update small parameters as flat vectors (pack:N inputs; layout in the model's dlm.packs metadata), as dlm train does",
    },
    dim: {
      kind: "multi",
      arg: "SYM=N",
      help: "fix a symbolic input dim, e.g. --dim T=35 (training unrolls recurrent layers over it)",
    },
  },
  run(args, io) {
    const file = one(args, "file");
    const out = args.opts.out as string | undefined;
    if (!out) throw new UsageError("missing -o OUT.onnx");
    const save = args.opts["save-weights"] as string | undefined;
    if (save && samePath(save, out)) {
      throw new UsageError(`-o and --save-weights name the same file '${out}'`);
    }
    const saveAdapter = args.opts["save-adapter"] as string | undefined;
    if (saveAdapter && (samePath(saveAdapter, out) || (save && samePath(saveAdapter, save)))) {
      throw new UsageError(`--save-adapter names the same file as another output '${saveAdapter}'`);
    }
    for (const target of [out, save, saveAdapter, out + ".data"]) {
      if (target && samePath(target, file)) {
        throw new UsageError(`refusing to overwrite the source file '${file}' with an output`);
      }
    }
    const opset = opsetOf(args);
    if (args.opts.train || args.opts.eval) {
      if (args.opts.train && args.opts.eval) {
        throw new UsageError("--train and --eval write different models: give one");
      }
      if (args.opts["pack-params"] && !args.opts.train) {
        throw new UsageError("--pack-params applies to the training-step model: add --train");
      }
      const o = buildOptions(args);
      const c = compileTrain(file, {
        model: o.model,
        seed: o.seed,
        overrides: o.overrides,
        dims: dimsOf(args),
        pack: !!args.opts["pack-params"],
      });
      if (!c.step || !c.eval) {
        throw new DlmError(c.diagnostics.filter((d) => d.severity === "error"), c.sources);
      }
      const g = args.opts.train ? c.step : c.eval;
      // State values are inputs; their initial values go to --save-weights, not into the model,
      // so that any onnxruntime session takes them as ordinary feeds.
      const initial = new Map<string, Tensor>();
      for (const i of g.inputs) {
        const t = g.initializers.get(i.name);
        if (t) {
          initial.set(i.name, t);
          g.initializers.delete(i.name);
        }
      }
      // Packed parameters are saved under their own names; a runner packs them again.
      const named = unpackValues(g.packs ?? [], initial);
      const written = writeModel(g, out, {
        opset,
        also: save
          ? [{ path: save, bytes: writeSafetensors([...named], { producer: "dlm" }) }]
          : [],
      });
      io.err(
        `wrote ${written.model}: the ${
          args.opts.train ? "training-step" : "evaluation"
        } model of train ${g.name}, ` +
          `${g.nodes.length} nodes, ${g.inputs.length} inputs, ${g.outputs.length} outputs` +
          (save ? `; initial state in ${save}` : "; initial state: --save-weights FILE"),
      );
      return Promise.resolve(0);
    }
    const b = buildGraph(file, {
      ...buildOptions(args),
      passes: !args.opts["no-passes"],
      explainPasses: !!args.opts["explain-passes"],
    });
    warn(b, io);
    if (b.passReport) io.out(b.passReport);
    const also = save ? [{ path: save, bytes: weightsBytes(b.declared ?? b.graph) }] : [];
    if (saveAdapter) {
      if (!b.adapterWeights?.size) {
        throw new DlmError({
          code: "DLM0501",
          severity: "error",
          message:
            `--save-adapter: model ${b.graph.name} has no fine-tuning methods (derive one: model M = ${b.graph.name} with lora(...))`,
        });
      }
      also.push({
        path: saveAdapter,
        bytes: writeSafetensors([...b.adapterWeights], { producer: "dlm", format: "pt" }),
      });
    }
    const written = writeModel(b.graph, out, {
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
        params.toLocaleString("en-US")
      } parameter elements, opset ${opset}`,
    );
    return Promise.resolve(0);
  },
};

const params: Command = {
  summary: "list every parameter and buffer with its name, shape, dtype, role and size",
  usage: "FILE.dlm [--model NAME] [--json]",
  options: { model: MODEL.model, set: MODEL.set, json: { kind: "bool", help: "print JSON" } },
  run(args, io) {
    const file = one(args, "file");
    const b = buildGraph(file, { ...buildOptions(args), passes: false });
    warn(b, io);
    const g = b.graph;
    const rows = g.params.map((p) => {
      const t = g.initializers.get(p.name)!;
      return {
        name: p.name,
        shape: t.shape,
        dtype: t.dtype,
        role: p.role,
        kind: p.trainable ? "parameter" : "buffer",
        frozen: !!p.frozen,
        ...(p.adapter ? { adapter: p.adapter } : {}),
        count: numel(t.shape),
      };
    });
    const total = (f: (r: typeof rows[number]) => boolean) =>
      rows.filter(f).reduce((s, r) => s + r.count, 0);
    const totals = {
      parameters: total((r) => r.kind === "parameter"),
      trainable: total((r) => r.kind === "parameter" && !r.frozen),
      frozen: total((r) => r.kind === "parameter" && r.frozen),
      buffers: total((r) => r.kind === "buffer"),
    };
    if (args.opts.json) {
      io.out(JSON.stringify({ model: g.name, params: rows, totals }, null, 2));
      return Promise.resolve(0);
    }
    const cells = rows.map((
      r,
    ) => [
      r.name,
      r.adapter ? `${r.adapter} ${r.role}` : r.role + (r.frozen ? " (frozen)" : ""),
      `[${r.shape.join(", ")}]`,
      r.dtype,
      r.count.toLocaleString("en-US"),
    ]);
    const head = ["name", "role", "shape", "dtype", "count"];
    const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c: string[]) =>
      c.map((x, i) => (i === 4 ? x.padStart(w[i]) : x.padEnd(w[i]))).join("  ").trimEnd();
    io.out(line(head));
    for (const c of cells) io.out(line(c));
    const f = (n: number) => n.toLocaleString("en-US");
    io.out(
      `total: ${f(totals.parameters)} parameters (${f(totals.trainable)} trainable, ${
        f(totals.frozen)
      } frozen), ${f(totals.buffers)} buffer elements`,
    );
    return Promise.resolve(0);
  },
};

function backendOf(args: Parsed, allowReference: boolean): "node" | "web" | "reference" {
  const b = (args.opts.backend as string | undefined) ?? "node";
  if (b === "node" || b === "web" || (allowReference && b === "reference")) return b;
  throw new UsageError(
    `--backend must be node, web${allowReference ? " or reference" : ""}, got '${b}'`,
  );
}

const run: Command = {
  summary: "run a model (.dlm or .onnx) on given or random inputs",
  usage:
    "FILE.dlm|FILE.onnx [--input NAME=PATH.npy ...] [--out DIR] [--backend node|web|reference]",
  options: {
    ...INPUTS,
    ...MODEL,
    ...WEIGHTS,
    out: { kind: "string", arg: "DIR", help: "write each output as DIR/NAME.npy" },
    backend: {
      kind: "string",
      arg: "node|web|reference",
      help: "where to run (default node: onnxruntime-node)",
    },
  },
  async run(args, io) {
    const file = one(args, "file");
    const backend = backendOf(args, true);
    const o = buildOptions(args);
    const b = buildGraph(file, o);
    warn(b, io);
    const feeds = prepareInputs(b.graph, {
      files: args.opts.input as string[],
      seed: o.seed,
      dims: dimsOf(args),
    });
    let outputs: Record<string, import("../compiler/ir/tensor.ts").Tensor>;
    const t0 = performance.now();
    if (backend === "reference") outputs = runGraph(b.graph, feeds).outputs;
    else {
      // From the file when it is used as is (external data resolves beside it), else from the graph.
      const session = isOnnxPath(file) && !(o.weights as string[]).length
        ? await createSession(file, { backend })
        : await createSession(emitModel(b.graph).model, { backend });
      try {
        outputs = await session.run(feeds);
      } finally {
        await session.release();
      }
    }
    const ms = performance.now() - t0;
    const dir = args.opts.out as string | undefined;
    if (dir) {
      try {
        Deno.mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw new DlmError({
          code: "DLM0409",
          severity: "error",
          message: `Cannot create the folder '${dir}': ${describeFsError(e)}`,
        });
      }
    }
    const w = Math.max(...Object.keys(outputs).map((k) => k.length));
    for (const [name, t] of Object.entries(outputs)) {
      io.out(`${name.padEnd(w)}  ${summarize(t)}`);
      if (dir) writeFileAtomic(`${dir}/${safeName(name)}.npy`, writeNpy(t));
    }
    io.err(
      `ran on ${
        backend === "reference" ? "the reference interpreter" : `onnxruntime-${backend}`
      } in ${ms.toFixed(1)} ms`,
    );
    return 0;
  },
};

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

function safeName(n: string): string {
  return n.replace(/[^A-Za-z0-9_.-]/g, "_");
}

const diff: Command = {
  summary: "run the reference interpreter and onnxruntime on the same inputs and compare",
  usage: "FILE.dlm|FILE.onnx [--input NAME=PATH.npy ...] [--rtol R] [--atol A]\n" +
    "       FILE.dlm --train K [--data NAME=PATH ...] [--batch-size B] [--rtol R] [--atol A]",
  options: {
    ...INPUTS,
    ...MODEL,
    ...WEIGHTS,
    train: {
      kind: "number",
      arg: "K",
      help: "run K training steps of the file's train section on both sides and compare the state",
    },
    data: {
      kind: "multi",
      arg: "NAME=PATH",
      help:
        "batches for --train (as dlm train; default: digits for image/label models, else random)",
    },
    "batch-size": { kind: "number", arg: "B", help: "samples per step for --train (default 8)" },
    rtol: { kind: "number", arg: "R", help: "relative tolerance (default 1e-4)" },
    atol: { kind: "number", arg: "A", help: "absolute tolerance (default 1e-5)" },
    backend: {
      kind: "string",
      arg: "node|web",
      help: "the onnxruntime to compare with (default node)",
    },
    opset: { kind: "number", arg: "N", help: "target ONNX opset (default 17)" },
  },
  async run(args, io) {
    const file = one(args, "file");
    const o = buildOptions(args);
    const backend = backendOf(args, false) as "node" | "web";
    if (args.opts.train !== undefined) {
      // K training steps of the train section (runtime/diff/train_diff.ts).
      const k = args.opts.train as number;
      if (!Number.isInteger(k) || k < 1) {
        throw new UsageError(`--train needs an integer >= 1, got ${k}`);
      }
      if (!file.toLowerCase().endsWith(".dlm")) {
        throw new UsageError(`--train needs a .dlm file with a train section, got '${file}'`);
      }
      // The step as `dlm train` runs it (packed parameters).
      const c = compileTrain(file, {
        model: o.model,
        seed: o.seed,
        overrides: o.overrides,
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
      } else if (o.weightsMap) throw new UsageError("--weights-map needs --weights");
      const items = (args.opts.data as string[] | undefined) ?? [];
      const topts = {
        steps: k,
        batchSize: args.opts["batch-size"] as number | undefined,
        rtol: (args.opts.rtol as number) ?? 1e-4,
        atol: (args.opts.atol as number) ?? 1e-5,
        backend,
        seed: o.seed,
        data: items.length ? new Dataset(loadData(parseDataSpecs(items))) : undefined,
      };
      const r = await diffTrain(c.step, topts);
      io.out(formatTrainDiff(r, topts));
      return r.ok ? 0 : 1;
    }
    const b = buildGraph(file, o);
    warn(b, io);
    const feeds = prepareInputs(b.graph, {
      files: args.opts.input as string[],
      seed: o.seed,
      dims: dimsOf(args),
    });
    const opts = {
      rtol: (args.opts.rtol as number) ?? 1e-4,
      atol: (args.opts.atol as number) ?? 1e-5,
      backend,
      opset: opsetOf(args),
    };
    const r = await diffGraph(b.graph, feeds, opts);
    io.out(formatDiff(r, opts));
    return r.ok ? 0 : 1;
  },
};

const graph: Command = {
  summary: "draw the graph as Graphviz DOT or a standalone SVG",
  usage: "FILE.dlm|FILE.onnx [--format dot|svg] [-o OUT]",
  options: {
    format: { kind: "string", arg: "dot|svg", help: "output format (default dot)" },
    out: { kind: "string", short: "o", arg: "OUT", help: "write to a file instead of stdout" },
    ...MODEL,
    "no-passes": { kind: "bool", help: "draw the graph as declared, before graph passes" },
  },
  run(args, io) {
    const file = one(args, "file");
    const fmt = (args.opts.format as string | undefined) ?? "dot";
    if (fmt !== "dot" && fmt !== "svg") {
      throw new UsageError(`--format must be dot or svg, got '${fmt}'`);
    }
    const b = buildGraph(file, { ...buildOptions(args), passes: !args.opts["no-passes"] });
    warn(b, io);
    const text = fmt === "dot"
      ? graphToDot(b.graph, { title: b.graph.name })
      : graphToSvg(b.graph, { title: b.graph.name });
    const out = args.opts.out as string | undefined;
    if (out) writeFileAtomic(out, text);
    else io.out(text);
    return Promise.resolve(0);
  },
};

export const COMMANDS: Record<string, Command> = {
  check,
  compile,
  params,
  run,
  diff,
  graph,
  generate: generateCommand,
  train: trainCommand,
};

export type { Graph };
export { formatType };
