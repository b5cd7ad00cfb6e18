/**
 * Every example in lang-examples/, at a small configuration: it compiles
 * without diagnostics, the IR verifier accepts it after every pass, and
 * onnxruntime-node agrees with the reference interpreter within
 * rtol 1e-4 / atol 1e-5 (the tolerance `dlm diff` uses), on every output,
 * those drawn from in-graph noise included (the draws are shared). Full-size runs
 * belong to the benchmarks.
 */
import assert from "node:assert/strict";
import { compileFile } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import { inferencePipeline, runPasses } from "../compiler/passes/mod.ts";
import { prepareInputs } from "../runtime/inputs.ts";
import { diffGraph } from "../runtime/diff/diff.ts";

const dir = new URL("../lang-examples/", import.meta.url).pathname;

interface Case {
  file: string;
  model?: string;
  set?: Record<string, number>;
  dims?: Record<string, number>;
  /** Compile for train mode (teacher forcing, dropout on). */
  mode?: "eval" | "train";
}

/** Small configurations: widths and image sizes cut so the reference interpreter stays fast. */
export const CASES: Case[] = [
  { file: "mlp.dlm", model: "Perceptron" },
  { file: "mlp.dlm", model: "MLP", dims: { N: 3 } },
  { file: "lenet5.dlm", dims: { N: 2 } },
  { file: "alexnet.dlm", model: "AlexNet", set: { scale: 16, classes: 10 } },
  { file: "alexnet.dlm", model: "AlexNetLRN", set: { scale: 16, classes: 10 } },
  { file: "vgg16.dlm", set: { width: 8, hidden: 64, size: 32, classes: 10 }, dims: { N: 2 } },
  { file: "googlenet.dlm", set: { size: 64, classes: 10 } },
  { file: "resnet18.dlm", set: { size: 64, classes: 10 }, dims: { N: 2 } },
  { file: "resnet50.dlm", set: { size: 64, classes: 10 } },
  { file: "fractalnet.dlm", set: { width: 8, size: 32 } },
  { file: "resnet_stochastic_depth.dlm", set: { blocks: 2 } },
  { file: "transfer.dlm", set: { size: 64 } },
  { file: "rnn.dlm", set: { vocab: 20, dim: 8, hidden: 16 }, dims: { N: 2, T: 5 } },
  { file: "birnn.dlm", set: { vocab: 20, dim: 8, hidden: 8, tags: 5 }, dims: { N: 2, T: 5 } },
  { file: "lstm.dlm", set: { vocab: 20, dim: 8, hidden: 16 }, dims: { N: 2, T: 5 } },
  { file: "gru.dlm", set: { features: 8, hidden: 16, layers: 2 }, dims: { N: 2, T: 5 } },
  { file: "transformer.dlm", model: "TransformerTiny", dims: { N: 2, S: 7, T: 5 } },
  { file: "bert.dlm", model: "BertSmall", dims: { N: 2, T: 6 } },
  {
    file: "bert_factbook.dlm",
    set: { vocab: 300, positions: 16, dim: 32, layers: 1, heads: 2, hidden: 64 },
    dims: { N: 2, T: 6 },
  },
  { file: "gpt2.dlm", model: "GPT2Tiny", dims: { N: 2, T: 6 } },
  { file: "gpt2.dlm", model: "GPT2TinyCached", dims: { N: 2, T: 2, P: 3 } },
  {
    file: "gpt_factbook.dlm",
    model: "GPTFactbook",
    set: { vocab: 300, positions: 16, dim: 32, layers: 1, heads: 2 },
    dims: { N: 2, T: 6 },
  },
  {
    file: "gpt_factbook.dlm",
    model: "GPTFactbookCached",
    set: { vocab: 300, positions: 16, dim: 32, layers: 1, heads: 2 },
    dims: { N: 2, T: 2, P: 3 },
  },
  { file: "vit.dlm", model: "ViTTiny", dims: { N: 2 } },
  { file: "mlp_digits.dlm", dims: { N: 4 } },
  { file: "moco.dlm", dims: { N: 4 } },
  { file: "transfer_digits.dlm", dims: { N: 4 } },
  { file: "gan.dlm", set: { hidden: 16 }, dims: { N: 4 } },
  { file: "lenet_digits.dlm", set: { c1: 4, c2: 8 }, dims: { N: 2 } },
  { file: "lstm_digits.dlm", set: { hidden: 8 }, dims: { N: 2 } },
  { file: "swin.dlm", model: "SwinTiny", dims: { N: 2 } },
  { file: "gpt2_lora.dlm", model: "GPT2TinyLoRA", dims: { N: 2, T: 6 } },
  { file: "gpt2_adapters.dlm", model: "GPT2TinyAdapters", dims: { N: 2, T: 6 } },
  { file: "gpt2_adapters.dlm", model: "GPT2TinyIA3", dims: { N: 2, T: 6 } },
  { file: "gpt2_prefix.dlm", model: "GPT2TinyPrefix", dims: { N: 2, T: 6 } },
  { file: "resnet_lora.dlm", set: { size: 32, classes: 10 }, dims: { N: 2 } },
  { file: "vae_digits.dlm", dims: { N: 4 } },
  { file: "vae_digits.dlm", model: "VaeDecoder", dims: { N: 4 } },
  { file: "cgan_digits.dlm", set: { hidden: 16 }, dims: { N: 4 } },
  { file: "cgan_digits.dlm", model: "CganSampler", dims: { N: 4 } },
  { file: "siamese_digits.dlm", dims: { N: 4 } },
  { file: "denoising_autoencoder_digits.dlm", dims: { N: 4 } },
  { file: "denoising_autoencoder_digits.dlm", model: "Denoiser", dims: { N: 4 } },
  { file: "denoising_autoencoder_digits.dlm", mode: "train", dims: { N: 4 } },
  { file: "rotation_digits.dlm", dims: { N: 4 } },
  { file: "sparse_autoencoder_digits.dlm", dims: { N: 4 } },
  { file: "detection.dlm" },
  { file: "digit_detector.dlm", dims: { N: 2 } },
  { file: "ssd_digits.dlm", set: { width: 4 }, dims: { N: 2 } },
  { file: "yolo_digits.dlm", set: { width: 4 }, dims: { N: 2 } },
  {
    file: "faster_rcnn_digits.dlm",
    set: { canvas: 32, width: 8, proposals: 8, pool: 3, hidden: 32, pre_nms: 64, detections: 8 },
    dims: { N: 2 },
  },
  {
    file: "detr_digits.dlm",
    set: { size: 32, width: 16, dim: 32, heads: 2, hidden: 32, enc_layers: 1, queries: 5 },
    dims: { N: 2 },
  },
  { file: "simclr_digits.dlm", dims: { N: 4 } },
  { file: "ddpm_digits.dlm", set: { steps: 10, hidden: 32 }, dims: { N: 4 } },
  { file: "context_encoder_digits.dlm", dims: { N: 4 } },
  { file: "jigsaw_digits.dlm", dims: { N: 4 } },
  { file: "mae_digits.dlm", dims: { N: 4 } },
  { file: "clip_digits.dlm", dims: { N: 4 } },
  { file: "clip_digits.dlm", model: "ZeroShot", dims: { N: 4 } },
  // The U-Net DDPM's training forward and its samplers (the class-name table and the null class
  // read the label as indices; every draw of the unrolled chain is shared).
  { file: "unet_ddpm_digits.dlm", set: { steps: 4, width: 8, groups: 2 }, dims: { N: 3 } },
  {
    file: "unet_ddpm_digits.dlm",
    model: "GuidedSampler",
    set: { steps: 3, width: 8, groups: 2 },
    dims: { N: 2 },
  },
  {
    file: "unet_ddpm_digits.dlm",
    model: "ClassifierGuidedSampler",
    set: { steps: 3, width: 8, groups: 2, classifier_width: 4 },
    dims: { N: 2 },
  },
  {
    file: "unet_ddpm_digits.dlm",
    model: "NoisyClassifier",
    set: { steps: 4, width: 4 },
    dims: { N: 3 },
  },
  // Train mode: dropout masks and drop-path noise are drawn once and fed to both sides.
  { file: "lenet_digits.dlm", set: { c1: 4, c2: 8 }, dims: { N: 2 }, mode: "train" },
  // Train mode: each image's affine draw is shared by both sides.
  { file: "lenet_digits_augmented.dlm", set: { c1: 4, c2: 8 }, dims: { N: 3 }, mode: "train" },
  { file: "resnet_stochastic_depth.dlm", set: { blocks: 2 }, mode: "train" },
  { file: "intrinsic_dimension_digits.dlm", dims: { N: 4 } },
  { file: "intrinsic_dimension_digits.dlm", model: "MlpDigitsSubspace", dims: { N: 4 } },
  {
    file: "intrinsic_dimension_digits.dlm",
    model: "MlpDigitsSubspace",
    set: { d: 2000 },
    dims: { N: 4 },
  },
  { file: "split_brain_digits.dlm", dims: { N: 4 } },
  { file: "deep_clustering_digits.dlm", dims: { N: 4 } },
  { file: "split_brain_digits.dlm", model: "PlainAutoencoderDigits", dims: { N: 4 } },
  {
    file: "seq2seq_attention.dlm",
    set: { src_vocab: 30, tgt_vocab: 20, dim: 8, hidden: 16, max_len: 6 },
    dims: { N: 2, S: 5 },
  },
  {
    file: "seq2seq_attention.dlm",
    set: { src_vocab: 30, tgt_vocab: 20, dim: 8, hidden: 16 },
    dims: { N: 2, S: 5, T: 4 },
    mode: "train",
  },
  { file: "rlhf_sort.dlm", model: "SortSFT", set: { dim: 16 }, dims: { N: 2 } },
  { file: "rlhf_sort.dlm", model: "SortDPO", set: { dim: 16 }, dims: { N: 2 } },
  { file: "rlhf_sort.dlm", model: "SortGRPO", set: { dim: 16, group: 2 }, dims: { N: 2 } },
  { file: "rlhf_sort.dlm", model: "SortPPO", set: { dim: 16 }, dims: { N: 2 } },
];

for (const c of CASES) {
  const label = `${c.file}${c.model ? ` (${c.model})` : ""}${
    c.mode === "train" ? " in train mode" : ""
  }`;
  Deno.test(`example ${label} compiles and onnxruntime agrees with the reference interpreter`, async () => {
    const mode = c.mode ?? "eval";
    const r = compileFile(dir + c.file, { model: c.model, overrides: c.set, mode });
    assert.deepEqual(r.diagnostics.map((d) => formatDiagnostic(d, r.sources)), []);
    const g = r.graph!;
    runPasses(g, inferencePipeline(mode), { mode, verify: true });
    const feeds = prepareInputs(g, { seed: 1, dims: c.dims });
    const d = await diffGraph(g, feeds, { rtol: 1e-4, atol: 1e-5, backend: "node" });
    // Random nodes (randn_like, dropout in train mode) draw the same numbers on both sides.
    for (const o of d.outputs) {
      assert.ok(o.ok, `${o.name}: max abs ${o.maxAbs}, max rel ${o.maxRel}`);
    }
  });
}

Deno.test("every example file is covered by a test case", () => {
  const files = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".dlm")).map((e) => e.name)
    .sort();
  const covered = new Set(CASES.map((c) => c.file));
  assert.deepEqual(files.filter((f) => !covered.has(f)), []);
});

Deno.test("stochastic depth drops blocks only in train mode", () => {
  const path = dir + "resnet_stochastic_depth.dlm";
  const evalG = compileFile(path, { overrides: { blocks: 1 } }).graph!;
  const trainG = compileFile(path, { overrides: { blocks: 1 }, mode: "train" }).graph!;
  assert.equal(evalG.nodes.filter((n) => n.op === "RandomUniformLike").length, 0);
  // One random draw per residual block: 3 stages of 1 block.
  assert.equal(trainG.nodes.filter((n) => n.op === "RandomUniformLike").length, 3);
});
