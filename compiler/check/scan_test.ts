import assert from "node:assert/strict";
import { compileFile, type CompileOptions } from "../compile.ts";
import type { Graph } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { createSession } from "../../runtime/ort/mod.ts";
import { emitModel } from "../onnx/emit.ts";
import { inferencePipeline, runPasses } from "../passes/mod.ts";
import { compareTensors } from "../../runtime/diff/compare.ts";

function compile(src: string, opts: CompileOptions = {}) {
  return compileFile("main.dlm", {
    ...opts,
    read: (p) => (p === "main.dlm" ? src : new Error("no such file")),
  });
}

function ok(src: string, opts: CompileOptions = {}): Graph {
  const r = compile(src, opts);
  assert.deepEqual(r.diagnostics.map((d) => `${d.code} ${d.message}`), []);
  return r.graph!;
}

const CELL = `
block Cell(hidden: int)(h: f32[N, H], x: f32[N, C]) {
  let h2 = tanh((x |> wx: linear(hidden)) + (h |> wh: linear(hidden, bias: false)))
  return (h2, h2)
}`;

function model(xType: string, extra = ""): string {
  return `${CELL}
model M {
  input x: ${xType}
  input h0: f32[N, 3]
  let (h, ys) = scan(Cell(3), h0, x${extra})
  output last = h
  output seq = ys
}`;
}

const feeds = (t: number) => ({
  x: tensor("f32", [2, t, 4], Array.from({ length: 2 * t * 4 }, (_, i) => Math.sin(i))),
  h0: tensor("f32", [2, 3], [0.1, -0.2, 0.3, 0, 0.5, -0.5]),
});

Deno.test("scan() over a symbolic length is one ONNX Scan whose body reads the cell's weights", () => {
  const g = ok(model("f32[N, T, 4]"));
  assert.deepEqual(g.nodes.map((n) => n.op), ["Scan"]);
  assert.deepEqual(g.params.map((p) => p.name), [
    "Cell_0.wx.weight",
    "Cell_0.wx.bias",
    "Cell_0.wh.weight",
  ]);
  const body = g.nodes[0].attrs.body as Graph;
  assert.equal(body.initializers.size, 0, "weights stay in the outer graph");
  assert.deepEqual(g.outputs.map((o) => o.type.shape), [["N", 3], ["N", "T", 3]]);
});

Deno.test("scan() over a known length unrolls with shared weights", () => {
  const g = ok(model("f32[N, 4, 4]"));
  assert.equal(g.nodes.filter((n) => n.op === "Scan").length, 0);
  assert.equal(g.nodes.filter((n) => n.op === "Tanh").length, 4);
  assert.equal(g.params.length, 3);
});

Deno.test("the unrolled and the Scan forms compute the same thing, forwards and backwards", () => {
  for (const extra of ["", ", reverse: true"]) {
    const sym = ok(model("f32[N, T, 4]", extra), { seed: 3 });
    const fixed = ok(model("f32[N, 5, 4]", extra), { seed: 3 });
    const a = runGraph(sym, feeds(5)).outputs, b = runGraph(fixed, feeds(5)).outputs;
    for (const k of ["last", "seq"]) {
      assert.ok(compareTensors(a[k], b[k], 1e-6, 1e-7).ok, `${k}${extra}`);
    }
  }
});

Deno.test("onnxruntime runs the Scan model and agrees with the reference interpreter at two lengths", async () => {
  const g = ok(model("f32[N, T, 4]"));
  runPasses(g, inferencePipeline("eval"), { mode: "eval", verify: true });
  const s = await createSession(emitModel(g).model);
  try {
    for (const t of [3, 7]) {
      const got = await s.run(feeds(t));
      const want = runGraph(g, feeds(t)).outputs;
      for (const k of ["last", "seq"]) {
        assert.ok(compareTensors(got[k], want[k], 1e-4, 1e-5).ok, `${k} at T=${t}`);
      }
    }
  } finally {
    await s.release();
  }
});

Deno.test("scan() threads a tuple state, as an LSTM-style cell needs", () => {
  const g = ok(`
block Two()(h: f32[N, 3], c: f32[N, 3], x: f32[N, 3]) {
  let c2 = c + x
  let h2 = tanh(c2) * h
  return ((h2, c2), h2)
}
model M {
  input x: f32[N, T, 3]
  input h0: f32[N, 3]
  input c0: f32[N, 3]
  let ((h, c), ys) = scan(Two(), (h0, c0), x)
  output hn = h
  output cn = c
  output seq = ys
}`);
  assert.deepEqual(g.outputs.map((o) => o.type.shape), [["N", 3], ["N", 3], ["N", "T", 3]]);
});

Deno.test("a cell whose state changes type is reported at the scan", () => {
  const r = compile(`
block Bad()(h: f32[N, 3], x: f32[N, 4]) { return (x, x) }
model M { input x: f32[N, T, 4]  input h0: f32[N, 3]  let (h, ys) = scan(Bad(), h0, x)  output y = ys }`);
  assert.deepEqual(r.diagnostics.map((d) => d.code), ["DLM0203"]);
  assert.match(r.diagnostics[0].message, /state must keep its type/);
});

Deno.test("scan() with steps and no sequence unrolls a cell on its state (greedy decoding)", () => {
  const g = ok(`
block Count()(s: f32[N, 2]) { let s2 = s + 1.0 return (s2, s2 * 2.0) }
model M { input s0: f32[N, 2]  let (s, ys) = scan(Count(), s0, steps: 3)  output last = s  output seq = ys }`);
  assert.deepEqual(g.outputs.map((o) => o.type.shape), [["N", 2], ["N", 3, 2]]);
  const out = runGraph(g, { s0: tensor("f32", [1, 2], [0, 10]) }).outputs;
  assert.deepEqual(Array.from(out.last.data as Float32Array), [3, 13]);
  assert.deepEqual(Array.from(out.seq.data as Float32Array), [2, 22, 4, 24, 6, 26]);
});

Deno.test("training() tells the model which mode it is compiled for", () => {
  const src = `model M { input x: f32[N]  output y = if training() { x * 2.0 } else { x } }`;
  assert.ok(!ok(src).nodes.some((n) => n.op === "Mul"));
  assert.deepEqual(ok(src, { mode: "train" }).nodes.map((n) => n.op), ["Mul"]);
});

Deno.test("param() declares a learned tensor named at its level, and tensor() a constant from lists", () => {
  const g = ok(`
block Tok(dim: int)(x: f32[N, T, D]) {
  let cls = param((1, 1, dim), name: "cls_token", init: zeros)
  return x + cls + tensor([[[1.0]]])
}
model M { input x: f32[N, 3, 4]  output y = x |> embed: Tok(4) }`);
  assert.deepEqual(g.params.map((p) => p.name), ["embed.cls_token"]);
  const out = runGraph(g, { x: tensor("f32", [1, 3, 4], Array(12).fill(2)) }).outputs.y;
  assert.ok(Array.from(out.data as Float32Array).every((v) => v === 3));
  const r = compile(`model M { input x: f32[N]  output y = x + tensor([[1, 2], [3]]) }`);
  assert.deepEqual(r.diagnostics.map((d) => d.code), ["DLM0201"]);
});
