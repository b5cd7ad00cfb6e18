import assert from "node:assert/strict";
import { formatType, type Graph } from "../../ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../../ir/tensor.ts";
import { runGraph } from "../../../runtime/reference/interpreter.ts";
import { sinusoidalTable } from "./attention.ts";
import { compileOk as ok, compileSource as compile } from "../testing.ts";

function outType(g: Graph, name = "y"): string {
  return formatType(g.types.get(g.outputs.find((o) => o.name === name)!.name)!);
}

function run(g: Graph, feeds: Record<string, Tensor>, name = "y"): number[] {
  return Array.from(runGraph(g, feeds).outputs[name].data as Float32Array, Number);
}

function close(a: number[], b: number[], tol = 1e-5): void {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol, `at ${i}: ${v} vs ${b[i]}`));
}

/** Naive softmax(q k^T * s + maskAdd) v for one [T, d] x [S, d] head. */
function naive(
  q: number[][],
  k: number[][],
  v: number[][],
  allow: (i: number, j: number) => boolean,
) {
  const d = q[0].length;
  return q.map((qi, i) => {
    const s = k.map((kj, j) =>
      allow(i, j) ? qi.reduce((a, x, c) => a + x * kj[c], 0) / Math.sqrt(d) : -Infinity
    );
    const m = Math.max(...s);
    const e = s.map((x) => Math.exp(x - m));
    const z = e.reduce((a, b) => a + b, 0);
    return v[0].map((_, c) => e.reduce((a, w, j) => a + (w / z) * v[j][c], 0));
  });
}

const rows = (flat: number[], n: number) =>
  Array.from({ length: flat.length / n }, (_, r) => flat.slice(r * n, r * n + n));

Deno.test("scaled_dot_product_attention with causal: true matches the naive formula", () => {
  const g = ok(`model M {
    input q: f32[T, 4]
    input k: f32[T, 4]
    input v: f32[T, 3]
    output y = scaled_dot_product_attention(q, k, v, causal: true)
  }`);
  assert.equal(outType(g), "f32[T, 3]");
  const qd = [...Array(20).keys()].map((i) => Math.sin(i)), kd = qd.map((x) => x * 0.7 + 0.1);
  const vd = [...Array(15).keys()].map((i) => Math.cos(i));
  const y = run(g, {
    q: tensor("f32", [5, 4], qd),
    k: tensor("f32", [5, 4], kd),
    v: tensor("f32", [5, 3], vd),
  });
  close(y, naive(rows(qd, 4), rows(kd, 4), rows(vd, 3), (i, j) => j <= i).flat());
});

Deno.test("scaled_dot_product_attention treats a bool mask as true = attend", () => {
  const g = ok(`model M {
    input q: f32[2, 4]
    input k: f32[3, 4]
    input v: f32[3, 2]
    input m: bool[2, 3]
    output y = scaled_dot_product_attention(q, k, v, mask: m)
  }`);
  const qd = [1, 0, 2, 1, 0, 1, 1, 0], kd = [1, 1, 0, 0, 0, 1, 2, 1, 1, 0, 0, 1];
  const vd = [1, 2, 3, 4, 5, 6];
  const mask = [1, 0, 1, 0, 1, 1];
  const y = run(g, {
    q: tensor("f32", [2, 4], qd),
    k: tensor("f32", [3, 4], kd),
    v: tensor("f32", [3, 2], vd),
    m: tensor("bool", [2, 3], mask),
  });
  close(y, naive(rows(qd, 4), rows(kd, 4), rows(vd, 2), (i, j) => mask[i * 3 + j] === 1).flat());
});

Deno.test("causal_mask of a symbolic dim keeps the type bool[T, T]", () => {
  const g = ok(`model M {
    input ids: i64[N, T]
    output y = causal_mask(T, like: ids)
  }`);
  assert.equal(outType(g), "bool[T, T]");
  const out = runGraph(g, { ids: tensor("i64", [1, 3], [5, 6, 7]) }).outputs.y;
  assert.deepEqual(Array.from(out.data as Uint8Array), [1, 0, 0, 1, 1, 0, 1, 1, 1]);
});

Deno.test("padding_mask is true below each length", () => {
  const g = ok(`model M {
    input x: f32[N, T, 2]
    input lengths: i64[N]
    output y = padding_mask(lengths, x)
  }`);
  assert.equal(outType(g), "bool[N, T]");
  const out = runGraph(g, {
    x: tensor("f32", [2, 3, 2], Array(12).fill(0)),
    lengths: tensor("i64", [2], [1, 3]),
  }).outputs.y;
  assert.deepEqual(Array.from(out.data as Uint8Array), [1, 0, 0, 1, 1, 1]);
});

Deno.test("attention_bias is 0 where the mask is set and very negative elsewhere", () => {
  const g = ok(`model M {
    input m: i64[N, S]
    output y = attention_bias(m)
  }`);
  assert.equal(outType(g), "f32[N, 1, 1, S]");
  const y = run(g, { m: tensor("i64", [1, 3], [1, 0, 1]) });
  close([y[0], y[2]], [0, 0]);
  assert.ok(y[1] < -1e30);
});

Deno.test("sinusoidal_positions follows PE[pos, 2i] = sin(pos / 10000^(2i/d))", () => {
  const pe = toNumbers(sinusoidalTable(3, 4));
  close(pe.slice(4, 8), [Math.sin(1), Math.cos(1), Math.sin(1 / 100), Math.cos(1 / 100)]);
  close(pe.slice(0, 4), [0, 1, 0, 1]);
});

Deno.test("rotary rotates feature pairs by pos * base^(-2i/d) in both pairings", () => {
  for (const interleaved of [false, true]) {
    const g = ok(`model M {
      input x: f32[T, 4]
      output y = rotary(x, interleaved: ${interleaved})
    }`);
    assert.equal(outType(g), "f32[T, 4]");
    const xd = [1, 2, 3, 4, 1, 2, 3, 4];
    const y = run(g, { x: tensor("f32", [2, 4], xd) });
    // Position 0 is unchanged; at position 1 pair i turns by 1 / 100^i.
    close(y.slice(0, 4), xd.slice(0, 4));
    const pairs = interleaved ? [[0, 1], [2, 3]] : [[0, 2], [1, 3]];
    pairs.forEach(([a, b], i) => {
      const th = Math.pow(10000, (-2 * i) / 4);
      const [xa, xb] = [xd[4 + a], xd[4 + b]];
      close([y[4 + a], y[4 + b]], [
        xa * Math.cos(th) - xb * Math.sin(th),
        xa * Math.sin(th) + xb * Math.cos(th),
      ]);
    });
  }
});

Deno.test("rms_norm divides by the root mean square and owns a weight of ones", () => {
  const g = ok(`model M {
    input x: f32[N, 4]
    output y = x |> norm: rms_norm(eps: 0.0)
  }`);
  assert.deepEqual(g.params.map((p) => p.name), ["norm.weight"]);
  const y = run(g, { x: tensor("f32", [1, 4], [1, 2, 3, 4]) });
  const r = Math.sqrt((1 + 4 + 9 + 16) / 4);
  close(y, [1 / r, 2 / r, 3 / r, 4 / r]);
});

Deno.test("relative_position_keys gives [..., T, T] logits from clipped distances", () => {
  const g = ok(`model M {
    input q: f32[N, 2, T, 8]
    output y = q |> rel: relative_position_keys(2)
  }`);
  assert.equal(outType(g), "f32[N, 2, T, T]");
  assert.deepEqual(g.params.map((p) => p.name), ["rel.weight"]);
  assert.deepEqual(g.types.get("rel.weight")!.shape, [5, 8]);
});

Deno.test("relative_position_keys and _values compute Shaw et al.'s sums over clipped distances", () => {
  const g = ok(`model M {
    input q: f32[1, 3, 2]
    input a: f32[1, 3, 3]
    output lk = q |> rk: relative_position_keys(1)
    output lv = a |> rv: relative_position_values(2, 1)
  }`);
  assert.equal(outType(g, "lv"), "f32[1, 3, 2]");
  const wk = Array.from(g.initializers.get("rk.weight")!.data as Float32Array);
  const wv = Array.from(g.initializers.get("rv.weight")!.data as Float32Array);
  const q = [1, 2, -1, 0.5, 0.25, -2], a = [0.2, 0.3, 0.5, 0.1, 0.6, 0.3, 0.4, 0.4, 0.2];
  const clip = (d: number) => Math.max(-1, Math.min(1, d)) + 1;
  const outs =
    runGraph(g, { q: tensor("f32", [1, 3, 2], q), a: tensor("f32", [1, 3, 3], a) }).outputs;
  const lk: number[] = [], lv: number[] = [];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const e = clip(j - i);
      lk.push(q[2 * i] * wk[2 * e] + q[2 * i + 1] * wk[2 * e + 1]);
    }
    for (let c = 0; c < 2; c++) {
      let sum = 0;
      for (let j = 0; j < 3; j++) sum += a[3 * i + j] * wv[2 * clip(j - i) + c];
      lv.push(sum);
    }
  }
  close(Array.from(outs.lk.data as Float32Array), lk);
  close(Array.from(outs.lv.data as Float32Array), lv);
});

Deno.test("in_projection labelled in_proj owns torch's in_proj_weight and in_proj_bias", () => {
  const g = ok(`block A(x: f32[N, T, 8]) {
    let (q, k, v) = x |> in_proj: in_projection(8)
    return q + k + v
  }
  model M {
    input x: f32[N, T, 8]
    output y = x |> attn: A
  }`);
  assert.deepEqual(g.params.map((p) => p.name), ["attn.in_proj_weight", "attn.in_proj_bias"]);
  assert.equal(outType(g), "f32[N, T, 8]");
});

Deno.test("tied_linear reuses an embedding's weight instead of making a new one", () => {
  const g = ok(`model M {
    input ids: i64[N, T]
    output y = ids |> wte: embedding(10, 4) |> tied_linear("wte.weight", 10)
  }`);
  assert.deepEqual(g.params.map((p) => p.name), ["wte.weight"]);
  assert.equal(outType(g), "f32[N, T, 10]");
});

Deno.test("tied_linear reports a weight name that names no parameter, with the nearest one", () => {
  const r = compile(`model M {
    input ids: i64[N, T]
    output y = ids |> wte: embedding(10, 4) |> tied_linear("wte.weigth", 10)
  }`);
  const d = r.diagnostics.filter((d) => d.severity === "error");
  assert.deepEqual(d.map((d) => `${d.code} ${d.message}`), [
    `DLM0215 tied_linear("wte.weigth") matches no parameter; did you mean 'wte.weight'?`,
  ]);
  // At the weight's name, not at the call.
  assert.deepEqual([d[0].span?.line, d[0].span?.col], [3, 60]);
});

Deno.test("tied_linear in a block applied twice ties each application to its own embedding", () => {
  const g = ok(`block Lm()(ids: i64[N, T]) {
    return ids |> wte: embedding(10, 4) |> tied_linear("wte.weight", 10)
  }
  model M {
    input ids: i64[N, T]
    output y = (ids |> a: Lm()) + (ids |> b: Lm())
  }`);
  assert.deepEqual(g.params.map((p) => p.name), ["a.wte.weight", "b.wte.weight"]);
  const readers = (w: string) => g.nodes.filter((n) => n.inputs.includes(w)).map((n) => n.op);
  // Each weight is read by its own embedding's Gather and its own head's Gemm.
  assert.deepEqual(readers("a.wte.weight").sort(), ["Gather", "Gemm"]);
  assert.deepEqual(readers("b.wte.weight").sort(), ["Gather", "Gemm"]);
});

Deno.test("tied_linear names a weight from the enclosing levels outwards, and checks its shape", () => {
  // The head in a block names the model's embedding (the block's level has no wte).
  const g = ok(`block Head(vocab: int)(h: f32[N, T, D]) {
    return h |> ln_f: layer_norm |> tied_linear("wte.weight", vocab)
  }
  model M {
    input ids: i64[N, T]
    output y = ids |> wte: embedding(10, 4) |> head: Head(10)
  }`);
  assert.deepEqual(g.params.map((p) => p.name).filter((n) => n.includes("wte")), ["wte.weight"]);
  const r = compile(`model M {
    input ids: i64[N, T]
    output y = ids |> wte: embedding(10, 4) |> tied_linear("wte.weight", 12)
  }`);
  assert.deepEqual(r.diagnostics.map((d) => `${d.code} ${d.message}`), [
    "DLM0210 tied_linear() needs a weight [12, 4] (out, the input's last dim), got wte.weight f32[10, 4]",
  ]);
});

Deno.test("prepend_token and add_positions name their parameters by their label", () => {
  const g = ok(`model M {
    input x: f32[N, 4, 8]
    output y = x |> "emb.cls_token": prepend_token |> "emb.pos": add_positions
  }`);
  assert.deepEqual(g.params.map((p) => p.name), ["emb.cls_token", "emb.pos"]);
  assert.deepEqual(g.types.get("emb.pos")!.shape, [1, 5, 8]);
  assert.equal(outType(g), "f32[N, 5, 8]");
});

Deno.test(`gelu(approximate: "tanh") is the tanh form GPT-2 uses`, () => {
  const g = ok(`model M {
    input x: f32[3]
    output y = gelu(x, approximate: "tanh")
  }`);
  const xs = [-1, 0.5, 2];
  const want = xs.map((x) =>
    0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))
  );
  close(run(g, { x: tensor("f32", [3], xs) }), want);
});

Deno.test("scaled_dot_product_attention rejects an integer query", () => {
  const r = compile(`model M {
    input q: i64[T, 4]
    output y = scaled_dot_product_attention(q, q, q)
  }`);
  assert.deepEqual(r.diagnostics.map((d) => d.code), ["DLM0207"]);
});
