/**
 * topk, sort, argsort, take_along_axis, scatter, scatter_add and log_sigmoid against torch 1.13:
 * values and gradients, in the reference interpreter and onnxruntime-node. The fixtures are made
 * by tests/fixtures/torch/make_sorting_fixtures.py; ties are compared with torch's stable sort.
 */
import assert from "node:assert/strict";
import { compileFile } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import type { Graph } from "../compiler/ir/graph.ts";
import { type DType, type Tensor, tensor, toNumbers } from "../compiler/ir/tensor.ts";
import { GraphBuilder } from "../compiler/ops/builder.ts";
import { buildGradients } from "../compiler/grad/autodiff.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { FIXTURES, pathOf } from "./torch_fixtures.ts";

interface Encoded {
  dtype: DType;
  shape: number[];
  data: number[];
}
interface Case extends Encoded {
  expr: string;
  w?: Encoded;
  grads?: Record<string, Encoded>;
}

const FIX: { inputs: Record<string, Encoded>; cases: Case[] } = JSON.parse(
  Deno.readTextFileSync(pathOf(new URL("sorting_fixtures.json", FIXTURES))),
);

const decode = (v: Encoded): Tensor => tensor(v.dtype, v.shape, v.data);
const feedsOf = (names: string[]) =>
  Object.fromEntries(names.map((n) => [n, decode(FIX.inputs[n])]));
const decls = (names: string[]) =>
  names.map((n) => `  input ${n}: ${FIX.inputs[n].dtype}[${FIX.inputs[n].shape.join(", ")}]`);

function compile(src: string): Graph {
  const r = compileFile("main.dlm", { read: () => src });
  if (!r.graph || r.diagnostics.some((d) => d.severity === "error")) {
    assert.fail(r.diagnostics.map((d) => formatDiagnostic(d, r.sources)).join("\n"));
  }
  return r.graph;
}

function close(got: Tensor, want: Encoded, what: string) {
  assert.equal(got.dtype, want.dtype, `${what}: dtype`);
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const g = toNumbers(got);
  want.data.forEach((w, i) => {
    // Indices and integers exactly; floats to 1e-5 (f32 through different kernels).
    const ok = want.dtype === "f32" ? Math.abs(g[i] - w) <= 1e-5 + 1e-5 * Math.abs(w) : g[i] === w;
    assert.ok(ok, `${what}[${i}]: got ${g[i]}, torch says ${w}`);
  });
}

async function runBoth(g: Graph, feeds: Record<string, Tensor>) {
  const ref = runGraph(g, feeds).outputs;
  const s = await createSession(emitModel(g).model);
  try {
    return { ref, ort: await s.run(feeds) };
  } finally {
    await s.release();
  }
}

Deno.test("sorting and along-an-axis built-ins give torch's values in both runtimes", async () => {
  const names = Object.keys(FIX.inputs);
  const outs = FIX.cases.map((c, i) => `  output y${i} = ${c.expr}`);
  const g = compile(`model M {\n${[...decls(names), ...outs].join("\n")}\n}`);
  const { ref, ort } = await runBoth(g, feedsOf(names));
  FIX.cases.forEach((c, i) => {
    close(ref[`y${i}`], c, `${c.expr} (reference)`);
    close(ort[`y${i}`], c, `${c.expr} (onnxruntime)`);
  });
});

Deno.test("their gradients are torch's in both runtimes", async () => {
  const withGrads = FIX.cases.filter((c) => c.grads);
  assert.ok(withGrads.length >= 10);
  for (const c of withGrads) {
    const names = Object.keys(FIX.inputs).filter((n) => new RegExp(`\\b${n}\\b`).test(c.expr));
    const g = compile(
      `model M {\n${decls(names).join("\n")}\n  input w: f32[${c.shape.join(", ")}]\n` +
        `  output loss = reduce_sum((${c.expr}) * w)\n}`,
    );
    const b = new GraphBuilder(g);
    const wrt = Object.keys(c.grads!);
    const grads = buildGradients(b, g.outputs[0].name, wrt);
    for (const n of wrt) b.output(grads.get(n)!, `grad_${n}`);
    const { ref, ort } = await runBoth(b.graph, { ...feedsOf(names), w: decode(c.w!) });
    for (const [n, want] of Object.entries(c.grads!)) {
      close(ref[`grad_${n}`], want, `d/d${n} of ${c.expr} (reference)`);
      close(ort[`grad_${n}`], want, `d/d${n} of ${c.expr} (onnxruntime)`);
    }
  }
});
