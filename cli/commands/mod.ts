/**
 * The commands of the dlm CLI: each one's name, summary, usage and options,
 * which `dlm --help`, `dlm <command> --help` and the argument parser read,
 * and the module that implements it (`./<name>.ts`, exporting `run`),
 * imported only when the command runs. A command module loads what it uses
 * and nothing else (mod_test.ts checks the heavy cases).
 *
 * Adding a command: its file here, exporting `run(args, io)`, and its entry
 * below.
 */
import {
  type Command,
  INPUTS,
  lazyCommand,
  MEMORY,
  MODEL,
  OPSET_RANGE,
  type OptSpec,
  SEED_RANGE,
  SESSION,
  WEIGHTS,
} from "../command.ts";

/** The tokenizer of `--data NAME=text:...` items, and of `--set NAME=[X]` values. */
const TOKENIZER: OptSpec = {
  kind: "string",
  arg: "T.json",
  help: "the tokenizer.json that --data NAME=text:FILE:T items are tokenized with; " +
    "--set NAME=[X] (or <|X|>) sets a model parameter to the id of its special token [X]",
};

const check = lazyCommand(
  {
    summary:
      "parse and check a .dlm file (its model and its train sections); print its diagnostics",
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
  },
  import.meta.resolve("./check.ts"),
  { codeCache: true },
);

const fmt = lazyCommand(
  {
    summary:
      "format .dlm files in place in the canonical layout (--check lists those that are not)",
    usage: "[FILES... | DIRS...] [--check] [--width N]",
    options: {
      check: {
        kind: "bool",
        help: "write nothing; list the files that are not formatted (exit 1)",
      },
      width: {
        kind: "number",
        arg: "N",
        range: { int: true, min: 20, max: 1000 },
        help: "the line width (default 100)",
      },
    },
  },
  import.meta.resolve("./fmt.ts"),
  { codeCache: true },
);

const compile = lazyCommand(
  {
    summary: "compile a model to ONNX",
    usage: "FILE.dlm -o OUT.onnx [options]",
    options: {
      out: {
        kind: "string",
        short: "o",
        arg: "OUT.onnx",
        output: "file",
        help: "the ONNX file to write",
      },
      ...MODEL,
      opset: {
        kind: "number",
        arg: "N",
        range: OPSET_RANGE,
        help: "target ONNX opset (default 17; 17-21)",
      },
      ...WEIGHTS,
      "save-weights": {
        kind: "string",
        arg: "OUT.safetensors",
        output: "file",
        help: "also write the (initialised or loaded) weights",
      },
      "save-adapter": {
        kind: "string",
        arg: "OUT.safetensors",
        output: "file",
        help: "also write only the fine-tuning methods' parameters (LoRA, IA3, adapters, prefixes)",
      },
      "no-passes": { kind: "bool", help: "emit the graph as declared, without graph passes" },
      "explain-passes": {
        kind: "bool",
        help: "print which rewrites fired, where, and node counts",
      },
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
          "with --train: update small parameters as flat vectors (pack:N inputs; layout in the model's dlm.packs metadata), and convolution weights read at some kernel taps only on those taps, as dlm train does",
      },
      dim: {
        kind: "multi",
        arg: "SYM=N",
        help:
          "fix a symbolic input dim, e.g. --dim T=35 (training unrolls recurrent layers over it)",
      },
    },
  },
  import.meta.resolve("./compile.ts"),
  { codeCache: true },
);

const params = lazyCommand({
  summary: "list every parameter and buffer with its name, shape, dtype, role and size",
  usage: "FILE.dlm [--model NAME] [--json]",
  options: { model: MODEL.model, set: MODEL.set, json: { kind: "bool", help: "print JSON" } },
}, import.meta.resolve("./params.ts"));

const run = lazyCommand(
  {
    summary: "run a model (.dlm or .onnx) on given or random inputs",
    usage:
      "FILE.dlm|FILE.onnx [--input NAME=PATH.npy ...] [--out DIR] [--backend node|web|reference]",
    options: {
      ...INPUTS,
      ...MODEL,
      ...WEIGHTS,
      out: { kind: "string", arg: "DIR", output: "dir", help: "write each output as DIR/NAME.npy" },
      backend: {
        kind: "string",
        arg: "node|web|reference",
        help: "where to run (default node: onnxruntime-node)",
      },
      ...SESSION,
    },
  },
  import.meta.resolve("./run.ts"),
  { codeCache: true },
);

const diff = lazyCommand({
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
      range: { int: true, min: 1 },
      help: "run K training steps of the file's train section on both sides and compare the state",
    },
    data: {
      kind: "multi",
      arg: "NAME=PATH",
      help:
        "batches for --train (as dlm train; default: digits for image/label models, else random)",
    },
    tokenizer: TOKENIZER,
    "batch-size": {
      kind: "number",
      arg: "B",
      range: { int: true, min: 1 },
      help: "samples per step for --train (default 8, or the batch size a model was compiled for)",
    },
    rtol: {
      kind: "number",
      arg: "R",
      range: { min: 0 },
      help: "relative tolerance (default 1e-4)",
    },
    atol: {
      kind: "number",
      arg: "A",
      range: { min: 0 },
      help: "absolute tolerance (default 1e-5)",
    },
    backend: {
      kind: "string",
      arg: "node|web",
      help: "the onnxruntime to compare with (default node)",
    },
    opset: { kind: "number", arg: "N", range: OPSET_RANGE, help: "target ONNX opset (default 17)" },
  },
}, import.meta.resolve("./diff.ts"));

const graph = lazyCommand({
  summary: "draw the graph as Graphviz DOT or a standalone SVG",
  usage: "FILE.dlm|FILE.onnx [--format dot|svg] [-o OUT]",
  options: {
    format: { kind: "string", arg: "dot|svg", help: "output format (default dot)" },
    out: {
      kind: "string",
      short: "o",
      arg: "OUT",
      output: "file",
      help: "write to a file instead of stdout",
    },
    ...MODEL,
    "no-passes": { kind: "bool", help: "draw the graph as declared, before graph passes" },
  },
}, import.meta.resolve("./graph.ts"));

const DATA_HELP = "a named array (repeatable): NAME=FILE.npy, NAME=FILE.csv:COLS[@DTYPE] " +
  "(COLS: 0-based columns '0-63', '64', '0,2,5-7' or header names; one plain column gives " +
  "a vector, else a matrix; dtype i64 for one all-integer column, else f32), 'digits' as FILE " +
  "for the bundled digits set (pixels divided by 16), 'digits' alone for " +
  "image=digits:0-63 label=digits:64, or NAME=text:FILE.txt:T[:next] for windows of T token " +
  "ids (:next one token on) of a text file, tokenized with --tokenizer";

const train = lazyCommand(
  {
    summary: "train a model: a .dlm file's train section, or training-step ONNX models, over data",
    usage: "FILE.dlm|STEP.onnx --data NAME=PATH ... [--eval EVAL.onnx] [--epochs E] " +
      "[--batch-size B] [--val-split F] [--out DIR] [options]",
    options: {
      data: { kind: "multi", arg: "NAME=PATH[:COLS][@DTYPE]", help: DATA_HELP },
      tokenizer: TOKENIZER,
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
      epochs: {
        kind: "number",
        arg: "E",
        range: { int: true, min: 0 },
        help: "passes over the data (default 1)",
      },
      "batch-size": {
        kind: "number",
        arg: "B",
        range: { int: true, min: 1 },
        help: "samples per step (default 32)",
      },
      "no-shuffle": { kind: "bool", help: "keep the data order (default: shuffle every epoch)" },
      "drop-last": {
        kind: "bool",
        help:
          "leave out each epoch's last batch when it is smaller (torch's drop_last=True; for a model of a fixed batch size, --dim N=32)",
      },
      "steps-per-run": {
        kind: "number",
        arg: "K",
        range: { int: true, min: 1 },
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
        output: "file",
        help: "write the trained parameters and buffers",
      },
      "save-adapter": {
        kind: "string",
        arg: "OUT.safetensors",
        output: "file",
        help:
          "write only the fine-tuning methods' trained parameters (LoRA, IA3, adapters, prefixes)",
      },
      "val-split": {
        kind: "number",
        arg: "F",
        range: { min: 0, below: 1 },
        help: "hold out this fraction of the data for validation (needs --eval)",
      },
      stratify: {
        kind: "string",
        arg: "NAME",
        help: "keep the class shares of this label array in the validation split",
      },
      "train-samples": {
        kind: "number",
        arg: "N",
        range: { int: true, min: 1 },
        help: "train on the first N samples left after the validation split (a small-data run)",
      },
      seed: {
        kind: "number",
        arg: "S",
        range: SEED_RANGE,
        help: "seed of the shuffles and the split (default 0)",
      },
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
        output: "dir",
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
        range: { int: true, min: 1 },
        help: "epochs without improvement before early stopping (default 3)",
      },
      ...SESSION,
      ...MEMORY,
    },
  },
  import.meta.resolve("./train.ts"),
  { codeCache: true },
);

const GENERATE_OPTIONS: Record<string, OptSpec> = {
  prompt: {
    kind: "string",
    arg: "TOKENS|TEXT",
    help: 'the prompt\'s token ids, e.g. "1 2 3", or with --tokenizer its text (required)',
  },
  tokenizer: {
    kind: "string",
    arg: "T.json",
    help: "a tokenizer.json: the prompt is text, and the output is printed as text",
  },
  "top-p": {
    kind: "number",
    arg: "P",
    range: { min: 0, max: 1 },
    help: "nucleus sampling: among the most likely tokens holding probability P (default 1: all)",
  },
  model: {
    kind: "string",
    arg: "NAME",
    help: "the plain model (default: the first in the file); its step model is NAMECached",
  },
  "max-new": {
    kind: "number",
    arg: "N",
    range: { int: true, min: 0 },
    help: "how many tokens to generate (default 16)",
  },
  temperature: {
    kind: "number",
    arg: "T",
    range: { min: 0 },
    help: "sample from softmax(logits / T); 0 (default) is greedy",
  },
  "top-k": {
    kind: "number",
    arg: "K",
    range: { int: true, min: 0 },
    help: "sample among the K most likely tokens (default all)",
  },
  seed: {
    kind: "number",
    arg: "S",
    range: SEED_RANGE,
    help: "seed for sampling and for initial weights (default 0)",
  },
  "no-kv-cache": {
    kind: "bool",
    help: "re-run the plain model on the whole sequence for each token (no step model needed)",
  },
  ...SESSION,
  ...WEIGHTS,
  set: {
    kind: "multi",
    arg: "KEY=VALUE",
    help: "override a model parameter of both models, e.g. --set layers=2 (repeatable)",
  },
  target: {
    kind: "string",
    arg: "onnx|ort",
    help: "standard ONNX ops only (default), or onnxruntime's fused contrib ops",
  },
  backend: {
    kind: "string",
    arg: "node|web|reference",
    help: "onnxruntime-node (default), onnxruntime-web or the reference interpreter",
  },
};

const generate = lazyCommand({
  summary: "generate tokens from a decoder language model, with its KV-cache step model\n\n" +
    "A model is a KV-cache step model when its inputs named past* (past_key, past_value)\n" +
    "are matched by outputs named present* (present_key, present_value): the keys and\n" +
    "values of the earlier positions, [..., P, head_dim] with P the cached length (0 at\n" +
    "first). The step model of model M is MCached in the same file, with M's parameter\n" +
    "names, so one weights file serves both. The prompt is run once with an empty cache,\n" +
    "then each new token alone; --no-kv-cache re-runs M on the whole sequence per token.\n" +
    "--optimize and --no-cache are the onnxruntime session's, as in run and train (until\n" +
    "this release --no-cache meant --no-kv-cache; it now warns, DLM0516, when given alone).",
  usage: 'FILE.dlm --prompt "1 2 3" [--model NAME] [--max-new N] [--temperature T] ' +
    "[--top-k K] [--seed S] [--no-kv-cache] [--optimize LEVEL] [--no-cache] " +
    "[--weights W.safetensors] [--backend node|web|reference]",
  options: GENERATE_OPTIONS,
}, import.meta.resolve("./generate.ts"));

const tokenizer = lazyCommand({
  summary:
    "train, encode and decode byte-level BPE tokenizers (Hugging Face's tokenizer.json)\n\n" +
    "train learns merges from corpus files as GPT-2's tokenizer was made (the 256 bytes, then the\n" +
    "most frequent adjacent pair merged until the vocabulary is full); encode prints the token\n" +
    "ids (what `dlm generate --prompt` takes) or writes them as .npy; decode turns ids into text.",
  usage: "train CORPUS... --vocab-size V -o tokenizer.json [--special TOKEN]...\n" +
    "       dlm tokenizer encode --tokenizer T.json (TEXT | --file F) [-o ids.npy]\n" +
    "       dlm tokenizer decode --tokenizer T.json (IDS... | --file ids.npy|ids.txt) [-o text.txt]",
  options: {
    tokenizer: { kind: "string", arg: "T.json", help: "the tokenizer.json (encode, decode)" },
    out: {
      kind: "string",
      short: "o",
      arg: "OUT",
      output: "file",
      help: "train: the tokenizer.json to write; encode: ids as .npy; decode: the text file",
    },
    "vocab-size": {
      kind: "number",
      arg: "V",
      range: { int: true, min: 256, max: 2 ** 21 - 1 },
      help: "train: tokens in the vocabulary, bytes and special tokens included",
    },
    "min-frequency": {
      kind: "number",
      arg: "N",
      range: { int: true, min: 1 },
      help: "train: stop when no pair occurs N times (default 2)",
    },
    special: {
      kind: "multi",
      arg: "TOKEN",
      help: "train: a special token such as <|endoftext|> (repeatable), given the last ids",
    },
    file: { kind: "string", arg: "F", help: "encode: the text file; decode: ids as .npy or text" },
    "no-special": { kind: "bool", help: "encode: special tokens in the text are ordinary text" },
  },
}, import.meta.resolve("./tokenizer.ts"));

const sample = lazyCommand({
  summary:
    "draw a generative model's samples (or an autoencoder's reconstructions) as a PNG grid\n\n" +
    "Inputs: --set NAME=VALUE sets an input (one value for all, or a list a,b,... cycled over\n" +
    "the batch, or one row's values); --input NAME=DATA takes the first --n rows of data and\n" +
    "draws each output beside its input; every other float input is noise, N(0, 1) from\n" +
    "--seed; an integer input must be set. A --set key naming a model parameter overrides it.\n" +
    "The output drawn is [N, C, H, W], [N, H, W] or [N, D] (square, or --shape), C 1 or 3.",
  usage: "FILE.dlm -o OUT.png [--model NAME] [--weights W.safetensors] [--n N] [--nrow R] " +
    "[--seed S] [--set NAME=VALUE ...] [--input NAME=DATA ...] [--output NAME] [--range auto|LO,HI]",
  options: {
    out: { kind: "string", short: "o", arg: "OUT.png", output: "file", help: "the PNG to write" },
    model: MODEL.model,
    ...WEIGHTS,
    set: {
      kind: "multi",
      arg: "NAME=VALUE",
      help:
        "set an input (a condition: class label, guidance weight) for the whole batch, or override a model parameter (repeatable)",
    },
    input: {
      kind: "multi",
      arg: "NAME=DATA",
      help:
        "an input from data, as dlm train's --data (NAME=FILE.npy, NAME=FILE.csv:COLS, NAME=digits:0-63); each output is drawn beside it",
    },
    n: {
      kind: "number",
      arg: "N",
      range: { int: true, min: 1, max: 4096 },
      help: "how many samples (default 16, or the rows of --input if fewer)",
    },
    nrow: {
      kind: "number",
      arg: "R",
      range: { int: true, min: 1, max: 4096 },
      help: "samples a row of the grid (default ceil(sqrt(N)))",
    },
    seed: {
      kind: "number",
      arg: "S",
      range: SEED_RANGE,
      help: "seed of the noise inputs and of initial weights (default 0)",
    },
    output: { kind: "string", arg: "NAME", help: "the output to draw (default the first)" },
    shape: {
      kind: "string",
      arg: "H,W|C,H,W",
      help: "an item's image shape for [N, D] outputs (default square grey, else square RGB)",
    },
    range: {
      kind: "string",
      arg: "auto|LO,HI",
      help:
        "values mapped to black..white (default auto: [0, 1] if all lie in it, else [-1, 1] if all lie in it, else min..max)",
    },
    zoom: {
      kind: "number",
      arg: "K",
      range: { int: true, min: 1, max: 64 },
      help: "draw every pixel as a K x K block (default 1)",
    },
    npy: {
      kind: "string",
      arg: "OUT.npy",
      output: "file",
      help: "also write the drawn output as .npy",
    },
    dim: INPUTS.dim,
    backend: {
      kind: "string",
      arg: "node|web|reference",
      help: "where to run (default node: onnxruntime-node)",
    },
  },
}, import.meta.resolve("./sample.ts"));

const sweep = lazyCommand({
  summary: "a scaling-law sweep: train each configuration of the --set lists, fit L(N)\n\n" +
    "Every configuration (the product of the --set lists) trains as dlm train would, on the\n" +
    "same data split, seed and token budget. DIR/sweep.csv gets a row for each: parameters N\n" +
    "(in all and without embeddings), tokens, compute C = 6*N*tokens (N non-embedding), final\n" +
    "training and validation loss, seconds, or the error of a configuration that failed (the\n" +
    "sweep goes on without it, then exits 1). DIR/fit.json and the log-log DIR/sweep.svg hold\n" +
    "the fit of L(N) = a*N^-alpha + c over the non-embedding N and the validation loss (the\n" +
    "training loss without a validation split) at the largest budget; with several budgets\n" +
    "(--tokens 1e5,4e5) the compute-optimal frontier is marked and fitted as well.",
  usage: "FILE.dlm --set KEY=V1,V2,... [--set ...] --data NAME=PATH ... [--tokenizer T.json] " +
    "[--epochs E | --tokens B[,B...]] -o DIR [options]",
  options: {
    set: {
      kind: "multi",
      arg: "KEY=V1,V2,...",
      help:
        "a model parameter's values: several are swept, one is fixed for every run (repeatable)",
    },
    data: { kind: "multi", arg: "NAME=PATH[:COLS][@DTYPE]", help: DATA_HELP },
    tokenizer: TOKENIZER,
    out: {
      kind: "string",
      short: "o",
      arg: "DIR",
      output: "dir",
      help: "the folder for sweep.csv, sweep.svg and fit.json",
    },
    model: {
      kind: "string",
      arg: "NAME",
      help: "the model whose train section to use (default: the file's first)",
    },
    dim: {
      kind: "multi",
      arg: "SYM=N",
      help: "fix a symbolic input dim, e.g. --dim T=35",
    },
    epochs: {
      kind: "number",
      arg: "E",
      range: { int: true, min: 1 },
      help: "passes over the data of every run (default: the train section's)",
    },
    tokens: {
      kind: "string",
      arg: "B[,B...]",
      help:
        "train every configuration on B tokens (steps = B / (batch size * window)); several budgets sweep them too",
    },
    "batch-size": {
      kind: "number",
      arg: "B",
      range: { int: true, min: 1 },
      help: "samples per step (default: the train section's, else 32)",
    },
    "val-split": {
      kind: "number",
      arg: "F",
      range: { min: 0, below: 1 },
      help: "the held-out fraction the validation loss is measured on (default: the section's)",
    },
    seed: {
      kind: "number",
      arg: "S",
      range: SEED_RANGE,
      help: "seed of the weights, the split and the shuffles, the same for every run (default 0)",
    },
    "steps-per-run": {
      kind: "number",
      arg: "K",
      range: { int: true, min: 1 },
      help: "training steps per onnxruntime run (default 8, as dlm train)",
    },
    metric: {
      kind: "string",
      arg: "NAME",
      help:
        "record each run's last value of this metric of the section (validation when split) and plot it against N",
    },
    "reference-model": {
      kind: "string",
      arg: "NAME",
      help:
        "train this model's section once the same way first, and report the fewest parameters N whose --metric reaches --reach of its value (d_90)",
    },
    reach: {
      kind: "number",
      arg: "F",
      range: { min: 0.01, max: 1 },
      help: "the share of the reference's --metric to reach (default 0.9)",
    },
    mode: {
      kind: "string",
      arg: "max|min",
      help:
        "whether a larger or a smaller --metric is better (default min for losses, perplexities and errors, else max); with min, reaching F means at most the reference's value / F",
    },
    backend: {
      kind: "string",
      arg: "node|web|reference",
      help: "where to run the steps (default node: onnxruntime-node)",
    },
    ...SESSION,
    ...MEMORY,
  },
}, import.meta.resolve("./sweep.ts"));

const probe = lazyCommand({
  summary:
    "how well a model's features separate labelled classes (a nearest-class-mean probe)\n\n" +
    "A nearest-class-mean probe (cosine) on a held-out split, for the given weights and for the\n" +
    "initial random weights beside them.",
  usage: "FILE.dlm --weights W.safetensors [--model NAME] [--output NAME] [--data NAME=PATH ...] " +
    "[--label NAME] [--val-split F] [--seed S]",
  options: {
    model: MODEL.model,
    set: MODEL.set,
    ...WEIGHTS,
    output: { kind: "string", arg: "NAME", help: "the features: an output (default the first)" },
    data: {
      kind: "multi",
      arg: "NAME=PATH[:COLS][@DTYPE]",
      help: "the model's inputs and the labels, as dlm train's --data (default digits)",
    },
    label: { kind: "string", arg: "NAME", help: "the data's class labels (default label)" },
    "val-split": {
      kind: "number",
      arg: "F",
      range: { min: 0.01, below: 1 },
      help:
        "the fraction held out to score (default 0.2: the rows dlm train holds out at the same --seed); the rest fit the class means",
    },
    seed: {
      kind: "number",
      arg: "S",
      range: SEED_RANGE,
      help: "seed of the split and of the initial weights (default 0, as dlm train's)",
    },
    backend: {
      kind: "string",
      arg: "node|web|reference",
      help: "where to run (default node: onnxruntime-node)",
    },
  },
}, import.meta.resolve("./probe.ts"));

const DETECTION_OUTPUTS =
  "which output plays a role of the detections convention (repeatable): boxes, labels, " +
  "logits, scores, objectness, count, selected (default: outputs named boxes|box, labels, " +
  "class_logits|logits, scores|score, objectness, count, selected)";

const TRUTH: OptSpec = {
  kind: "multi",
  arg: "ROLE=NAME",
  help:
    "the data arrays of the ground truth: boxes=NAME ([N, 4] or padded [N, M, 4]) and labels=NAME ([N] or [N, M]; default arrays gt|boxes|box and labels|label)",
};

const evalCommand = lazyCommand({
  summary: "score a trained model on data: COCO-style detection AP (--metric map) or accuracy\n\n" +
    "Detections are read from the model's outputs by role. Per box, one row an image:\n" +
    "boxes [N, K, 4] or [N, 4] (x1, y1, x2, y2 in input pixels); labels [N, K] (integers; a\n" +
    "negative label is padding) or class logits [N, K, C] (label: argmax, p: its softmax);\n" +
    "scores [N, K], else p * sigmoid(objectness) (objectness [N, K], or [N, A] for one box an\n" +
    "image, the top-scoring of A anchors: its maximum); count [N] valid boxes an image; a model\n" +
    "run one image at a time may drop the batch dim (boxes [K, 4], detection.dlm's kept_boxes). Or the\n" +
    "batched nms triples: selected [K, 3] (image, class, box) with boxes [N, M, 4] and scores\n" +
    "[N, C, M]. Ground truth: --truth boxes [N, 4] with labels [N], or padded [N, M, 4] with\n" +
    "[N, M] (a negative label or an all-zero box is padding). AP is COCO's: 101-point\n" +
    "interpolated precision, IoU 0.50:0.05:0.95, AP50, AP75, AR, and each class's.",
  usage: "FILE.dlm --weights W.safetensors --data NAME=PATH ... [--metric map|accuracy] " +
    "[--output ROLE=NAME ...] [--truth ROLE=NAME ...] [--val-split F] [--seed S] [--json]",
  options: {
    model: MODEL.model,
    set: MODEL.set,
    ...WEIGHTS,
    data: {
      kind: "multi",
      arg: "NAME=PATH[:COLS][@DTYPE]",
      help: "the model's inputs and the ground truth, as dlm train's --data",
    },
    metric: { kind: "string", arg: "map|accuracy", help: "what to compute (default map)" },
    output: { kind: "multi", arg: "ROLE=NAME", help: DETECTION_OUTPUTS },
    truth: TRUTH,
    "score-threshold": {
      kind: "number",
      arg: "T",
      range: {},
      help: "drop detections scored below T (default: keep all, as COCO does)",
    },
    "max-detections": {
      kind: "number",
      arg: "K",
      range: { int: true, min: 1 },
      help: "detections kept an image and class, highest scores first (default 100, COCO's)",
    },
    "val-split": {
      kind: "number",
      arg: "F",
      range: { min: 0, below: 1 },
      help:
        "score only the rows dlm train holds out for validation at this fraction and --seed (default: all rows)",
    },
    seed: {
      kind: "number",
      arg: "S",
      range: SEED_RANGE,
      help: "seed of the split (and of initial weights without --weights; default 0)",
    },
    json: { kind: "bool", help: "print the figures as JSON" },
    backend: {
      kind: "string",
      arg: "node|web|reference",
      help: "where to run (default node: onnxruntime-node)",
    },
  },
}, import.meta.resolve("./eval.ts"));

const detect = lazyCommand({
  summary: "draw images with a detector's boxes and labels (and the ground truth) as a PNG\n\n" +
    "Detections are read from the outputs as dlm eval --metric map reads them. Each box is\n" +
    "drawn in its class's colour with the class number on a tag at its top-left corner; the\n" +
    "ground truth (given --truth or arrays gt|boxes|box and labels|label in --input) in green.",
  usage: "FILE.dlm --weights W.safetensors --input image=DATA -o OUT.png [--n N] [--start I] " +
    "[--val-split F] [--seed S] " +
    "[--output ROLE=NAME ...] [--truth ROLE=NAME ...] [--score-threshold T] [--zoom K]",
  options: {
    out: { kind: "string", short: "o", arg: "OUT.png", output: "file", help: "the PNG to write" },
    model: MODEL.model,
    set: MODEL.set,
    ...WEIGHTS,
    input: {
      kind: "multi",
      arg: "NAME=DATA",
      help:
        "the model's inputs (and the ground truth's arrays), as dlm train's --data; the first image input is drawn",
    },
    output: { kind: "multi", arg: "ROLE=NAME", help: DETECTION_OUTPUTS },
    truth: TRUTH,
    n: {
      kind: "number",
      arg: "N",
      range: { int: true, min: 1, max: 1024 },
      help: "how many images, in a grid (default 1)",
    },
    start: {
      kind: "number",
      arg: "I",
      range: { int: true, min: 0 },
      help: "the first row drawn (default 0), counted among the rows --val-split picks if given",
    },
    "val-split": {
      kind: "number",
      arg: "F",
      range: { min: 0, below: 1 },
      help: "draw from the rows dlm train holds out for validation at this fraction and --seed",
    },
    nrow: {
      kind: "number",
      arg: "R",
      range: { int: true, min: 1, max: 1024 },
      help: "images a row of the grid (default ceil(sqrt(N)))",
    },
    "score-threshold": {
      kind: "number",
      arg: "T",
      range: {},
      help: "draw detections scored T or more (default 0.3)",
    },
    zoom: {
      kind: "number",
      arg: "K",
      range: { int: true, min: 1, max: 64 },
      help: "draw every pixel as a K x K block (default: enough for 128 pixels a side)",
    },
    seed: {
      kind: "number",
      arg: "S",
      range: SEED_RANGE,
      help: "seed of the split (and of initial weights without --weights; default 0)",
    },
    backend: {
      kind: "string",
      arg: "node|web|reference",
      help: "where to run (default node: onnxruntime-node)",
    },
  },
}, import.meta.resolve("./detect.ts"));

const lsp = lazyCommand({
  summary: "the language server: diagnostics, hover with shapes, definitions, completion " +
    "and more for any editor with an LSP client, over stdin and stdout",
  usage: "[--stdio]",
  options: {
    stdio: { kind: "bool", help: "talk over stdin and stdout (the default and only transport)" },
  },
}, import.meta.resolve("./lsp.ts"));

/** Every command by name, in the order `dlm --help` lists them. */
export const COMMANDS: Record<string, Command> = {
  check,
  fmt,
  compile,
  params,
  run,
  diff,
  graph,
  generate,
  train,
  sweep,
  tokenizer,
  sample,
  probe,
  eval: evalCommand,
  detect,
  lsp,
};

/** `dlm generate` (tests call it directly). */
export const generateCommand: Command = generate;
/** `dlm train` (tests call it directly). */
export const trainCommand: Command = train;
