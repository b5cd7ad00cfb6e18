/**
 * The figure of merit of lang-examples/unet_ddpm_digits.dlm: how often a digit classifier trained
 * on its own (lang-examples/lenet_digits.dlm) assigns a sample to the class the sampler was asked
 * for, at classifier-free guidance weights w and at classifier-guidance scales s, `--n` samples
 * per class each.
 *
 *   deno task dlm train lang-examples/unet_ddpm_digits.dlm --data digits --save unet.safetensors
 *   deno task dlm train lang-examples/unet_ddpm_digits.dlm --model NoisyClassifier --data digits \
 *     --save noisy.safetensors
 *   deno task dlm train lang-examples/lenet_digits.dlm --data digits --save lenet.safetensors
 *   deno run -A tools/unet_ddpm_eval.ts --unet unet.safetensors --noisy noisy.safetensors \
 *     --judge lenet.safetensors [--n 20] [--w 0,2,5] [--s 0,1,3] [--seed 0]
 *
 * Every sample of one sampler is drawn in one batch (all classes and all weights together); the
 * samplers' noise comes from the ONNX graph's own random nodes, seeded from --seed as `dlm run`
 * seeds them. Prints a Markdown table, per-class agreement with --per-class, and with --out DIR
 * writes the samples as .npy. The time includes creating onnxruntime's session.
 */
import { parseArgs } from "node:util";
import { compileFile, hasErrors } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import type { Graph } from "../compiler/ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../compiler/ir/tensor.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { inferencePipeline, runPasses } from "../compiler/passes/mod.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { loadWeights } from "../runtime/weights.ts";
import { writeNpy } from "../runtime/formats/mod.ts";

const EXAMPLES = new URL("../lang-examples/", import.meta.url);
const file = (name: string) => decodeURIComponent(new URL(name, EXAMPLES).pathname);

function build(path: string, model: string, weights: string[], seed: number): Graph {
  const r = compileFile(path, { model, seed });
  if (hasErrors(r.diagnostics) || !r.graph) {
    throw new Error(r.diagnostics.map((d) => formatDiagnostic(d, r.sources)).join("\n"));
  }
  const report = loadWeights(r.graph, weights);
  const missing = r.graph.params.length - report.loaded;
  if (missing) throw new Error(`${model}: ${missing} parameters are not in ${weights.join(", ")}`);
  runPasses(r.graph, inferencePipeline("eval"), { mode: "eval" });
  return r.graph;
}

async function run(g: Graph, feeds: Record<string, Tensor>, output: string): Promise<Tensor> {
  const session = await createSession(emitModel(g).model);
  try {
    return (await session.run(feeds))[output];
  } finally {
    await session.release();
  }
}

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    unet: { type: "string" },
    noisy: { type: "string" },
    judge: { type: "string" },
    n: { type: "string", default: "20" },
    w: { type: "string", default: "0,2,5" },
    // s = 0 is the unconditional model (the null class alone): the baseline of chance.
    s: { type: "string", default: "0,1,3" },
    seed: { type: "string", default: "0" },
    "per-class": { type: "boolean", default: false },
    // Write each sampler's images (and their labels and guidance) as .npy files here.
    out: { type: "string" },
  },
});
if (!args.unet || !args.noisy || !args.judge) {
  console.error(
    "usage: tools/unet_ddpm_eval.ts --unet W --noisy W --judge W [--n 20] [--w 0,2,5] [--s 0,1,3]",
  );
  Deno.exit(2);
}
const n = Number(args.n), seed = Number(args.seed);
const ws = args.w.split(",").map(Number), ss = args.s.split(",").map(Number);
const judge = build(file("lenet_digits.dlm"), "LenetDigits", [args.judge], 0);

/** Sample n per class at each guidance value in one batch; the judge's agreement per value. */
async function measure(model: string, weights: string[], values: number[]) {
  const labels: number[] = [], guidance: number[] = [];
  for (const v of values) {
    for (let c = 0; c < 10; c++) {
      for (let k = 0; k < n; k++) labels.push(c), guidance.push(v);
    }
  }
  const g = build(file("unet_ddpm_digits.dlm"), model, weights, seed);
  const t0 = performance.now();
  const images = await run(g, {
    label: tensor("i64", [labels.length], labels),
    guidance: tensor("f32", [labels.length], guidance),
  }, "image");
  const seconds = (performance.now() - t0) / 1000;
  if (args.out) {
    Deno.mkdirSync(args.out, { recursive: true });
    Deno.writeFileSync(`${args.out}/${model}_image.npy`, writeNpy(images));
    Deno.writeFileSync(
      `${args.out}/${model}_label.npy`,
      writeNpy(tensor("i64", [labels.length], labels)),
    );
    Deno.writeFileSync(
      `${args.out}/${model}_guidance.npy`,
      writeNpy(tensor("f32", [labels.length], guidance)),
    );
  }
  const logits = toNumbers(await run(judge, { image: images }, "logits"));
  const hits = values.map(() => 0), perClass = values.map(() => Array(10).fill(0));
  labels.forEach((c, i) => {
    const row = logits.slice(i * 10, i * 10 + 10);
    if (row.indexOf(Math.max(...row)) === c) {
      hits[Math.floor(i / (10 * n))]++;
      perClass[Math.floor(i / (10 * n))][c]++;
    }
  });
  return values.map((v, j) => ({
    v,
    agreement: hits[j] / (10 * n),
    perClass: perClass[j],
    seconds,
  }));
}

console.log(
  `| sampler | guidance | agreement (${n} samples per class) | time (session and sampling) |`,
);
console.log("| --- | --- | --- | --- |");
for (
  const [model, weights, values, sym] of [
    ["GuidedSampler", [args.unet], ws, "w"],
    ["ClassifierGuidedSampler", [args.unet, args.noisy], ss, "s"],
  ] as const
) {
  for (const r of await measure(model, [...weights], [...values])) {
    const extra = args["per-class"] ? ` (per class: ${r.perClass.join(" ")})` : "";
    console.log(
      `| ${model} | ${sym} = ${r.v} | ${(100 * r.agreement).toFixed(1)}%${extra} | ${
        r.seconds.toFixed(1)
      } s |`,
    );
  }
}
