/**
 * Golden files: the text form of every stage for every example, and the
 * diagnostics of one small broken file per kind of source error. A refactor
 * that changes no behaviour shows zero diff here; one that does shows the
 * change as a readable diff to review.
 *
 * Update the goldens after an intended change, then review `git diff tests/golden`:
 *
 *     DLM_UPDATE_GOLDEN=1 deno test -A tests/golden_test.ts
 *
 * For each model of each `lang-examples/*.dlm`, at the small configuration in
 * CONFIGS, `tests/golden/<example>[.<Model>]`:
 * - `.ir.txt`: the graph straight out of the elaborator (`printGraph`);
 * - `.opt.ir.txt`: after the eval-mode inference passes, verified after each;
 * - `.onnx.txt`: the emitted ONNX model (`printOnnx`).
 * The model name is in the file name only for files that declare several.
 *
 * For each `tests/golden/errors/*.dlm`, `<name>.errors.txt` holds every
 * diagnostic of `compileFile` as `formatDiagnostic` prints it, sorted by
 * position as the CLI prints them. Each file's
 * first line names the code it is about (`// expect DLM0203`).
 *
 * Paths are given to the compiler relative to the repository root (files
 * are read through `read`), so spans in the goldens do not depend on where
 * the repository is checked out.
 */
import assert from "node:assert/strict";
import { compileFile } from "../compiler/compile.ts";
import { formatDiagnostic, sortDiagnostics } from "../compiler/diagnostics.ts";
import { type Graph, producers } from "../compiler/ir/graph.ts";
import { printGraph } from "../compiler/ops/print_graph.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { printOnnx } from "../compiler/onnx/print.ts";
import { inferencePipeline, runPasses } from "../compiler/passes/mod.ts";
import { loadProgram, type ReadFile, readFromDisk } from "../compiler/check/program.ts";
import { writeFileAtomic } from "../runtime/fs.ts";

const ROOT = new URL("../", import.meta.url);
const EXAMPLES = "lang-examples";
const GOLDEN = "tests/golden";
const ERRORS = "tests/golden/errors";
const UPDATE = Deno.env.get("DLM_UPDATE_GOLDEN") === "1";

/**
 * The small configuration of every example model: model parameter
 * overrides (`--set`). Every model of every example must be listed, so
 * that a new example cannot slip in at ImageNet size; `{}` keeps the
 * defaults. Widths and image sizes are cut to keep the goldens quick to
 * make; the structure (every stage, block and branch) stays.
 */
const CONFIGS: Record<string, Record<string, number>> = {
  AlexNet: { classes: 10, scale: 16, size: 64 },
  AlexNetLRN: { classes: 10, scale: 16 },
  FractalNet: { classes: 10, width: 8, size: 32 },
  GoogLeNet: { classes: 10, size: 32 },
  LeNet5: {},
  Perceptron: {},
  MLP: { features: 64, classes: 10 },
  ResNet18: { classes: 10, size: 32 },
  ResNet50: { classes: 10, size: 32 },
  StochasticDepthResNet: { classes: 10, blocks: 1, size: 32 },
  Transfer: { classes: 5, size: 32 },
  RnnClassifier: { vocab: 20, dim: 8, hidden: 16 },
  BiRnnTagger: { vocab: 20, dim: 8, hidden: 8, tags: 5 },
  LstmLanguageModel: { vocab: 20, dim: 8, hidden: 16 },
  GruEncoder: { features: 8, hidden: 16, layers: 2 },
  TransformerBase: {
    src_vocab: 32,
    tgt_vocab: 32,
    dim: 16,
    heads: 4,
    hidden: 32,
    layers: 1,
    max_len: 16,
  },
  TransformerTiny: {},
  BertBase: { vocab: 64, positions: 16, dim: 32, layers: 1, heads: 4, hidden: 64 },
  BertSmall: {},
  GPT2Small: { vocab: 64, positions: 16, dim: 32, layers: 1, heads: 4 },
  GPT2Tiny: {},
  BertFactbook: { vocab: 64, positions: 16, dim: 32, layers: 1, heads: 4, hidden: 64 },
  GPTFactbook: { vocab: 64, positions: 16, dim: 32, layers: 1, heads: 4 },
  GPTFactbookCached: { vocab: 64, positions: 16, dim: 32, layers: 1, heads: 4 },
  SortSFT: { dim: 16, layers: 1 },
  SortDPO: { dim: 16, layers: 1 },
  SortGRPO: { dim: 16, layers: 1, group: 2 },
  SortPPO: { dim: 16, layers: 1 },
  GPT2SmallLoRA: { vocab: 64, positions: 16, dim: 32, layers: 1, heads: 4 },
  GPT2TinyLoRA: {},
  GPT2SmallLoRACached: { vocab: 64, positions: 16, dim: 32, layers: 1, heads: 4 },
  GPT2TinyLoRACached: {},
  GPT2SmallAdapters: { vocab: 64, positions: 16, dim: 32, layers: 1, heads: 4 },
  GPT2TinyAdapters: {},
  GPT2SmallIA3: { vocab: 64, positions: 16, dim: 32, layers: 1, heads: 4 },
  GPT2TinyIA3: {},
  GPT2SmallPrefix: { vocab: 64, positions: 16, dim: 32, layers: 1, heads: 4 },
  GPT2TinyPrefix: {},
  GPT2SmallPrefixCached: { vocab: 64, positions: 16, dim: 32, layers: 1, heads: 4 },
  GPT2TinyPrefixCached: {},
  ResNet18LoRA: { classes: 10, size: 32 },
  VaeDigits: {},
  VaeDecoder: {},
  Cgan: { hidden: 16 },
  CganSampler: { hidden: 16 },
  Siamese: {},
  DenoisingAutoencoder: {},
  Denoiser: {},
  Rotation: {},
  SparseAutoencoder: {},
  Ddpm: { steps: 10, hidden: 32 },
  UNetDdpm: { steps: 2, width: 8, groups: 2, heads: 2 },
  GuidedSampler: { steps: 2, width: 8, groups: 2, heads: 2 },
  NoisyClassifier: { steps: 2, width: 4 },
  ClassifierGuidedSampler: { steps: 2, width: 8, groups: 2, heads: 2, classifier_width: 4 },
  SimClr: {},
  ContextEncoder: { hidden: 32, features: 16 },
  Jigsaw: { features: 8, head: 32 },
  Mae: { dim: 16, layers: 1, decoder_dim: 8 },
  Clip: { hidden: 16, embed: 8, width: 8, heads: 2 },
  ZeroShot: { hidden: 16, embed: 8, width: 8, heads: 2 },
  Detector: {},
  DigitDetector: {},
  SsdDigits: { width: 8 },
  YoloDigits: { width: 8 },
  FasterRcnnDigits: {
    canvas: 32,
    width: 8,
    proposals: 8,
    pool: 3,
    hidden: 32,
    pre_nms: 64,
    detections: 8,
  },
  DetrDigits: { size: 32, width: 8, dim: 16, heads: 2, hidden: 16, enc_layers: 1, queries: 4 },
  GPT2SmallCached: { vocab: 64, positions: 16, dim: 32, layers: 1, heads: 4 },
  GPT2TinyCached: {},
  ViTB16: { size: 32, patch: 8, dim: 32, layers: 1, heads: 4, hidden: 64, classes: 10 },
  ViTTiny: {},
  SwinT: { size: 32, patch: 2, dim: 24, window: 2, classes: 10 },
  SwinTiny: {},
  VGG16: { classes: 10, width: 4, hidden: 32, size: 32 },
  MlpDigits: {},
  MlpDigitsFull: { hidden: 8 },
  MlpDigitsSubspace: { hidden: 8, d: 20 },
  SplitBrainDigits: { hidden: 8, half: 4 },
  PlainAutoencoderDigits: { hidden: 8, half: 4 },
  DeepClusterDigits: { hidden: 8, features: 4 },
  Moco: { features: 8 },
  ParityHead: {},
  Gan: { hidden: 16 },
  LenetDigits: { c1: 4, c2: 8 },
  LenetDigitsAugmented: { c1: 4, c2: 8 },
  LstmDigits: { hidden: 8 },
  Seq2Seq: { src_vocab: 30, tgt_vocab: 20, dim: 8, hidden: 16, max_len: 4 },
};

/** Reads repository-relative paths, so the compiler sees (and spans show) `lang-examples/x.dlm`. */
const read: ReadFile = (path) => readFromDisk(decodeURIComponent(new URL(path, ROOT).pathname));

function listDlm(dir: string): string[] {
  return [...Deno.readDirSync(new URL(`${dir}/`, ROOT))]
    .filter((e) => e.isFile && e.name.endsWith(".dlm"))
    .map((e) => e.name)
    .sort();
}

/** The suffixes of one model's golden files: elaborated IR, optimised IR, ONNX. */
const STAGES = [".ir.txt", ".opt.ir.txt", ".onnx.txt"];

/** `tests/golden/<example>[.<Model>]`: the model name only when the file declares several. */
function goldenBase(file: string, model: string, models: number): string {
  return `${GOLDEN}/${file.replace(/\.dlm$/, "")}${models > 1 ? `.${model}` : ""}`;
}

/** Compare `actual` with the golden file `path` (repository-relative), or write it when updating. */
function golden(path: string, actual: string): void {
  const url = new URL(path, ROOT);
  let expected: string | undefined;
  try {
    expected = Deno.readTextFileSync(url);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (expected === actual) return;
  if (UPDATE) {
    writeFileAtomic(decodeURIComponent(url.pathname), actual);
    return;
  }
  if (expected === undefined) {
    assert.fail(
      `${path} does not exist; run DLM_UPDATE_GOLDEN=1 deno test -A tests/golden_test.ts`,
    );
  }
  assert.fail(
    `${path} differs from the output (- golden, + actual); if the change is intended, ` +
      `run DLM_UPDATE_GOLDEN=1 deno test -A tests/golden_test.ts\n${diffExcerpt(expected, actual)}`,
  );
}

/**
 * A unified-diff-like hunk around the first difference: the common prefix
 * and suffix are trimmed, the rest is shown as removed and added lines
 * (at most `limit` of each) with three lines of context.
 */
function diffExcerpt(expected: string, actual: string, limit = 20): string {
  // Text files end with "\n": compare lines, not a trailing empty string.
  const lines = (s: string) => (s.endsWith("\n") ? s.slice(0, -1) : s).split("\n");
  const a = lines(expected), b = lines(actual);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length, endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) endA--, endB--;
  const before = Math.min(3, start), after = Math.min(3, a.length - endA);
  const from = start - before;
  // Hunk header as in `diff -u`: 1-based start line and line count, context included.
  const out = [
    `@@ -${from + 1},${endA + after - from} +${from + 1},${endB + after - from} @@`,
  ];
  for (let i = from; i < start; i++) out.push(` ${a[i]}`);
  const side = (ls: string[], to: number, mark: string) => {
    for (let i = start; i < Math.min(to, start + limit); i++) out.push(`${mark}${ls[i]}`);
    if (to - start > limit) out.push(`${mark}... ${to - start - limit} more lines`);
  };
  side(a, endA, "-");
  side(b, endB, "+");
  for (let i = endA; i < endA + after; i++) out.push(` ${a[i]}`);
  return out.join("\n");
}

/** Models of one example file, in declaration order. */
function modelsOf(path: string): string[] {
  const p = loadProgram(path, read);
  if (!("main" in p)) {
    assert.fail(
      `${path} does not load:\n${
        p.diagnostics.map((d) => formatDiagnostic(d, p.sources)).join("\n")
      }`,
    );
  }
  return p.main.decls.filter((d) => d.kind === "model").map((d) => d.name);
}

function compileExample(path: string, model: string): Graph {
  const overrides = CONFIGS[model];
  assert.ok(
    overrides,
    `Model ${model} of ${path} has no small configuration: add it to CONFIGS in tests/golden_test.ts`,
  );
  const r = compileFile(path, { model, overrides, read });
  const text = r.diagnostics.map((d) => formatDiagnostic(d, r.sources)).join("\n");
  assert.ok(r.graph, `${path} (${model}) does not compile:\n${text}`);
  return r.graph;
}

/** What the eval-mode passes must have removed; one message per leftover. */
function leftovers(g: Graph): string[] {
  const prod = producers(g);
  const out: string[] = [];
  for (const n of g.nodes) {
    if (n.op === "Identity" || n.op === "Dropout") out.push(`${n.op} node '${n.name}' is left`);
    if (n.op === "BatchNormalization" && prod.get(n.inputs[0])?.op === "Conv") {
      out.push(
        `BatchNormalization '${n.name}' after Conv '${prod.get(n.inputs[0])!.name}' is not folded`,
      );
    }
  }
  return out;
}

for (const file of listDlm(EXAMPLES)) {
  Deno.test(`golden: every model of ${file} prints as its golden IR, optimised IR and ONNX`, async (t) => {
    const path = `${EXAMPLES}/${file}`;
    const models = modelsOf(path);
    assert.ok(models.length > 0, `${path} declares no model`);
    for (const model of models) {
      await t.step(model, () => {
        const base = goldenBase(file, model, models.length);
        const graph = compileExample(path, model);
        golden(`${base}${STAGES[0]}`, printGraph(graph));
        // The passes rewrite the graph in place, after it has been printed.
        runPasses(graph, inferencePipeline("eval"), { mode: "eval", verify: true });
        golden(`${base}${STAGES[1]}`, printGraph(graph));
        assert.deepEqual(leftovers(graph), [], `the eval-mode passes left work undone in ${model}`);
        golden(`${base}${STAGES[2]}`, printOnnx(emitModel(graph).model));
      });
    }
  });
}

Deno.test("golden: every broken example prints its diagnostics as its golden errors file", async (t) => {
  const files = listDlm(ERRORS);
  assert.ok(files.length > 0, `no .dlm files in ${ERRORS}`);
  for (const file of files) {
    await t.step(file, () => {
      const path = `${ERRORS}/${file}`;
      const first = read(path);
      assert.ok(typeof first === "string", `cannot read ${path}`);
      const expect = /^\/\/ expect (DLM\d{4})/.exec(first)?.[1];
      assert.ok(
        expect,
        `${path} must start with a line '// expect DLMxxxx' naming the code it is about`,
      );
      let r: ReturnType<typeof compileFile>;
      try {
        r = compileFile(path, { read });
      } catch (e) {
        // A user must never see an exception: every failure is a diagnostic.
        assert.fail(
          `compileFile threw on ${path} instead of reporting a diagnostic: ${(e as Error).stack}`,
        );
      }
      const codes = r.diagnostics.map((d) => d.code);
      golden(
        path.replace(/\.dlm$/, ".errors.txt"),
        // In the order the CLI prints them: by file, line and column.
        sortDiagnostics(r.diagnostics).map((d) => formatDiagnostic(d, r.sources) + "\n").join(""),
      );
      assert.ok(codes.length > 0, `${path} compiles without a diagnostic`);
      assert.ok(
        codes.includes(expect as never),
        `${path} should report ${expect}, but reports ${codes.join(", ")}`,
      );
    });
  }
});

Deno.test("golden: every golden file belongs to an example model or a broken file", () => {
  const expected = new Set<string>();
  for (const file of listDlm(EXAMPLES)) {
    const models = modelsOf(`${EXAMPLES}/${file}`);
    for (const model of models) {
      const base = goldenBase(file, model, models.length);
      for (const ext of STAGES) expected.add(`${base}${ext}`);
    }
  }
  for (const file of listDlm(ERRORS)) {
    expected.add(`${ERRORS}/${file.replace(/\.dlm$/, ".errors.txt")}`);
  }
  const orphans: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(new URL(`${dir}/`, ROOT))) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else if (e.name.endsWith(".txt") && !expected.has(path)) orphans.push(path);
    }
  };
  walk(GOLDEN);
  if (UPDATE) {
    for (const p of orphans) Deno.removeSync(new URL(p, ROOT));
    return;
  }
  assert.deepEqual(
    orphans.sort(),
    [],
    "these golden files belong to no example or broken file: delete them, or rerun with DLM_UPDATE_GOLDEN=1",
  );
});

Deno.test("diffExcerpt() shows the first differing lines with context, as a unified diff does", () => {
  const a = "1\n2\n3\n4\n5\n6\n7\n";
  const b = "1\n2\n3\n4\nfive\n6\n7\n";
  assert.equal(diffExcerpt(a, b), "@@ -2,6 +2,6 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7");
  assert.equal(diffExcerpt("x\n", "x\ny\n"), "@@ -1,1 +1,2 @@\n x\n+y");
  assert.equal(diffExcerpt("a\nb\n", "b\n"), "@@ -1,2 +1,1 @@\n-a\n b");
  assert.match(diffExcerpt("a\n", "b\nc\nd\n", 1), /\+b\n\+\.\.\. 2 more lines/);
});
