/**
 * `deno task bench:peft`: what fine-tuning costs at inference and compile
 * time, on GPT-2 small (lang-examples/gpt2_lora.dlm: LoRA rank 8 on the
 * query and value projections of every layer). Prints tables and writes
 * bench/results_peft.json (or `--out`).
 *
 * - onnxruntime-node latency, batch 1, 128 tokens, 2 intra-op threads,
 *   median of `--ort-runs` runs after 3 warm-ups, the models taking turns
 *   run by run: the base model (GPT2Small), the LoRA model merged
 *   (`--adapters merged`, target: within 3% of the base), unmerged (the
 *   default, target: under 10% over the base) and with the adapter as graph
 *   inputs. The adapter's B is non-zero (as after training) and the merged
 *   and unmerged logits are compared.
 * - compile time, whole path to ONNX bytes (elaborate, weight init, load
 *   the adapter file, merge, passes, emit), median of `--runs`: the base,
 *   the LoRA model unmerged, and merged, i.e. what applying an adapter adds.
 */
import { type Tensor, tensor } from "../compiler/ir/tensor.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { compileFile } from "../compiler/compile.ts";
import { mergeAdapters } from "../compiler/passes/merge_adapters.ts";
import { buildGraph, type BuildOptions } from "../cli/pipeline.ts";
import { writeSafetensors } from "../runtime/formats/mod.ts";
import { writeFileAtomic } from "../runtime/fs.ts";
import { formatMachineFacts, machineFacts } from "./machine.ts";
import { summarize, type Timing } from "./stats.ts";
import { formatTable, ms } from "./table.ts";
import { gc, ortLatencies, pathOf } from "./shared.ts";

const ROOT = new URL("../", import.meta.url);
const FILE = pathOf(new URL("lang-examples/gpt2_lora.dlm", ROOT));

function argValue(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}
const RUNS = argValue("--runs", 3);
const ORT_RUNS = Math.max(20, argValue("--ort-runs", 30));
const OUT = (() => {
  const i = Deno.args.indexOf("--out");
  return i >= 0 ? Deno.args[i + 1] : pathOf(new URL("bench/results_peft.json", ROOT));
})();
const TOKENS = 128;

/** Deterministic noise for the adapter: B non-zero, as after training. */
function noise(shape: number[], seed: number, a: number): Tensor {
  const n = shape.reduce((x, y) => x * y, 1);
  const d = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    d[i] = (s / 2 ** 32 * 2 - 1) * a;
  }
  return tensor("f32", shape, d);
}

function build(o: BuildOptions): { bytes: Uint8Array; nodes: number } {
  const b = buildGraph(FILE, o);
  const bytes = emitModel(b.graph).model;
  return { bytes, nodes: b.graph.nodes.length };
}

function timeCompile(o: BuildOptions): Timing {
  const t: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    gc();
    const t0 = performance.now();
    build(o);
    if (i > 0) t.push(performance.now() - t0);
  }
  return summarize(t);
}

async function main(): Promise<void> {
  const machine = machineFacts();
  const dir = Deno.makeTempDirSync({ prefix: "dlm_bench_peft_" });
  try {
    // The adapter file: every LoRA parameter of the model as noise.
    const plain = buildGraph(FILE, { model: "GPT2SmallLoRA", passes: false }).graph;
    const adapter: [string, Tensor][] = plain.params.filter((p) => p.adapter).map((p, k) => [
      p.name,
      noise([...plain.initializers.get(p.name)!.shape], 17 + k, 0.05),
    ]);
    const adapterPath = `${dir}/qv.safetensors`;
    Deno.writeFileSync(adapterPath, writeSafetensors(adapter));
    const adapterParams = adapter.reduce((n, [, t]) => n + t.data.length, 0);

    const lora = (adapters: BuildOptions["adapters"]): BuildOptions => ({
      model: "GPT2SmallLoRA",
      weights: [adapterPath],
      adapters,
    });
    const variants: { name: string; o: BuildOptions }[] = [
      { name: "base (GPT2Small)", o: { model: "GPT2Small" } },
      { name: "LoRA merged", o: lora("merged") },
      { name: "LoRA unmerged", o: lora("unmerged") },
      { name: "LoRA inputs", o: lora("inputs") },
    ];
    const models = variants.map((v) => ({ ...v, ...build(v.o) }));
    gc();
    const ids = tensor(
      "i64",
      [1, TOKENS],
      Array.from({ length: TOKENS }, (_, i) => (i * 37) % 50257),
    );
    const lat = await ortLatencies(
      models.map((m) => ({ model: m.bytes, feed: "ids" })),
      ids,
      ORT_RUNS,
    );
    const base = lat[0].latency.median;
    const diff = (a: Tensor, b: Tensor) => {
      let m = 0;
      for (let i = 0; i < a.data.length; i++) {
        m = Math.max(m, Math.abs((a.data[i] as number) - (b.data[i] as number)));
      }
      return m;
    };
    const mergedVsUnmerged = diff(lat[1].firstOutput, lat[2].firstOutput);
    const loraVsBase = diff(lat[0].firstOutput, lat[2].firstOutput);
    const latencyRows = models.map((m, i) => ({
      model: m.name,
      nodes: m.nodes,
      latency: lat[i].latency,
      vsBase: lat[i].latency.median / base,
    }));

    // What applying the adapter itself costs, without the 124M-parameter weight init around it:
    // elaboration (parse, check, build the graph) and the merge pass alone.
    const elab = (model: string) => {
      const t: number[] = [];
      for (let i = 0; i <= Math.max(RUNS, 5); i++) {
        gc();
        const t0 = performance.now();
        compileFile(FILE, { model });
        if (i > 0) t.push(performance.now() - t0);
      }
      return summarize(t);
    };
    const elabBase = elab("GPT2Small"), elabLora = elab("GPT2SmallLoRA");
    const mergeT: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const g = buildGraph(FILE, { ...lora("unmerged"), passes: false }).graph;
      for (const t of g.initializers.values()) void t.data;
      gc();
      const t0 = performance.now();
      mergeAdapters(g);
      if (i > 0) mergeT.push(performance.now() - t0);
    }
    const merge = summarize(mergeT);
    const compileRows = [
      { name: "base (GPT2Small)", t: timeCompile({ model: "GPT2Small" }) },
      { name: "LoRA unmerged", t: timeCompile(lora("unmerged")) },
      { name: "LoRA merged", t: timeCompile(lora("merged")) },
    ];

    const lines: string[] = [];
    lines.push(formatMachineFacts(machine));
    lines.push(
      `\nGPT-2 small with LoRA rank 8 on q and v (${
        adapterParams.toLocaleString("en-US")
      } adapter parameters), onnxruntime-node, batch 1, ${TOKENS} tokens, median of ${ORT_RUNS} interleaved runs`,
    );
    lines.push(formatTable(
      [
        { header: "model" },
        { header: "nodes", right: true },
        { header: "median ms", right: true },
        { header: "min ms", right: true },
        { header: "vs base", right: true },
      ],
      latencyRows.map((r) => [
        r.model,
        String(r.nodes),
        ms(r.latency.median),
        ms(r.latency.min),
        `${((r.vsBase - 1) * 100).toFixed(1)}%`,
      ]),
    ));
    lines.push(
      `merged vs unmerged logits: max abs diff ${
        mergedVsUnmerged.toExponential(2)
      } (the adapter moves them by ${loraVsBase.toExponential(2)})`,
    );
    lines.push(`\ncompile to ONNX bytes (with weight init; median of ${RUNS})`);
    lines.push(formatTable(
      [{ header: "model" }, { header: "median ms", right: true }, {
        header: "vs base",
        right: true,
      }],
      compileRows.map((r) => [
        r.name,
        ms(r.t.median),
        `+${ms(r.t.median - compileRows[0].t.median)}`,
      ]),
    ));
    lines.push(
      `elaborate only (no weight init): base ${ms(elabBase.median)} ms, LoRA ${
        ms(elabLora.median)
      } ms; merge_adapters pass on loaded weights: ${ms(merge.median)} ms`,
    );
    const text = lines.join("\n");
    console.log(text);
    writeFileAtomic(
      OUT,
      new TextEncoder().encode(
        JSON.stringify(
          {
            date: new Date().toISOString(),
            machine,
            adapterParams,
            tokens: TOKENS,
            ortRuns: ORT_RUNS,
            latency: latencyRows,
            mergedVsUnmergedMaxAbs: mergedVsUnmerged,
            loraVsBaseMaxAbs: loraVsBase,
            compile: compileRows,
            elaborate: { base: elabBase, lora: elabLora },
            mergePass: merge,
          },
          null,
          2,
        ) + "\n",
      ),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

await main();
