import assert from "node:assert/strict";
import type { Graph } from "../../ir/graph.ts";
import { formatType } from "../../ir/graph.ts";
import { compileOk as ok, compileSource as compile } from "../testing.ts";

/** The error diagnostics as "CODE message". */
function errors(src: string): string[] {
  const r = compile(src);
  assert.equal(r.graph, undefined, "expected errors");
  return r.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.message}`);
}

const outputTypes = (g: Graph) =>
  Object.fromEntries(g.outputs.map((o) => [o.name, formatType(g.types.get(o.name)!)]));

Deno.test("lstm() names its parameters as nn.LSTM does, layer by layer and direction by direction", () => {
  const g = ok(`model M {
    input x: f32[N, T, 3]
    let (y, s) = x |> enc: lstm(5, layers: 2, bidirectional: true)
    output out = y
  }`);
  const shapes = g.params.map((p) => `${p.name} [${g.initializers.get(p.name)!.shape}]`);
  const layer = (l: number, sfx: string, inSize: number) => [
    `enc.weight_ih_l${l}${sfx} [20,${inSize}]`,
    `enc.weight_hh_l${l}${sfx} [20,5]`,
    `enc.bias_ih_l${l}${sfx} [20]`,
    `enc.bias_hh_l${l}${sfx} [20]`,
  ];
  assert.deepEqual(shapes, [
    ...layer(0, "", 3),
    ...layer(0, "_reverse", 3),
    ...layer(1, "", 10),
    ...layer(1, "_reverse", 10),
  ]);
});

Deno.test("recurrent parameters are drawn from U(-1/sqrt(hidden), 1/sqrt(hidden))", () => {
  const g = ok(`model M {
    input x: f32[N, T, 3]
    let (y, h) = x |> enc: gru(16)
    output out = y
  }`);
  for (const p of g.params) {
    const v = [...(g.initializers.get(p.name)!.data as Float32Array)];
    assert.ok(v.every((e) => Math.abs(e) <= 0.25), p.name);
    assert.ok(v.some((e) => Math.abs(e) > 0.2), `${p.name} spans the range`);
  }
});

Deno.test("recurrent layers keep the batch and time dims symbolic in their results", () => {
  const g = ok(`model M {
    input x: f32[N, T, 3]
    input t: f32[S, B, 3]
    let (y, hc) = x |> lstm(4, layers: 3)
    let (h, c) = hc
    let (y2, h2) = t |> rnn(6, bidirectional: true, batch_first: false)
    let (y3, h3) = x |> gru(2, bias: false)
    output a = y
    output b = h
    output c2 = c
    output d = y2
    output e = h2
    output f = y3
    output g3 = h3
  }`);
  assert.deepEqual(outputTypes(g), {
    a: "f32[N, T, 4]",
    b: "f32[3, N, 4]",
    c2: "f32[3, N, 4]",
    d: "f32[S, B, 12]",
    e: "f32[2, B, 6]",
    f: "f32[N, T, 2]",
    g3: "f32[1, N, 2]",
  });
});

Deno.test("each layer of a stack is one ONNX node; gru() resets after the recurrent product as torch does", () => {
  const g = ok(`model M {
    input x: f32[N, T, 3]
    let (y, h) = x |> gru(4, layers: 2)
    let (y2, h2) = x |> rnn(4, nonlinearity: "relu", bidirectional: true)
    output out = y
    output out2 = y2
  }`);
  const grus = g.nodes.filter((n) => n.op === "GRU");
  assert.equal(grus.length, 2);
  for (const n of grus) assert.equal(n.attrs.linear_before_reset, 1);
  const rnn = g.nodes.find((n) => n.op === "RNN")!;
  assert.deepEqual(rnn.attrs.activations, ["Relu", "Relu"]);
  assert.equal(rnn.attrs.direction, "bidirectional");
});

Deno.test("h0:, c0: and lengths: become the nodes' initial states and sequence lengths", () => {
  const g = ok(`model M {
    input x: f32[N, T, 3]
    input h: f32[2, N, 4]
    input c: f32[2, N, 4]
    input n: i64[N]
    let (y, hc) = x |> lstm(4, layers: 2)(h0: h, c0: c, lengths: n)
    output out = y
  }`);
  const lstms = g.nodes.filter((n) => n.op === "LSTM");
  assert.equal(lstms.length, 2);
  for (const n of lstms) {
    assert.equal(n.inputs.length, 7);
    assert.ok(n.inputs[4] && n.inputs[5] && n.inputs[6], "sequence_lens, initial_h, initial_c");
  }
  // i64 lengths are cast to ONNX's i32 sequence_lens.
  assert.ok(g.nodes.some((n) => n.op === "Cast" && n.attrs.to === 6));
});

Deno.test("recurrent layers reject a wrong input, state or configuration in the layer's words", () => {
  const head = `model M {
    input x: f32[N, T, 3]
    input v: f32[N, 3]
    input h: f32[1, N, 5]
    input bad: f32[2, N, 5]
    input ids: i64[N, T]
    input len: f32[N]`;
  const cases: [string, string][] = [
    [
      "let (y, s) = v |> lstm(5)",
      "DLM0203 lstm() needs a 3-D float input [N, T, C], got f32[N, 3]",
    ],
    [
      "let (y, s) = ids |> gru(5, batch_first: false)",
      "DLM0203 gru() needs a 3-D float input [T, N, C] (batch_first: false), got i64[N, T]",
    ],
    [
      "let (y, s) = x |> rnn(5, layers: 2)(h0: h)",
      "DLM0203 rnn() needs 'h0:' of type f32[2, N, 5] (layers * directions, batch, hidden), got f32[1, N, 5]",
    ],
    [
      "let (y, s) = x |> lstm(5)(h0: h, c0: bad)",
      "DLM0203 lstm() needs 'c0:' of type f32[1, N, 5] (layers * directions, batch, hidden), got f32[2, N, 5]",
    ],
    [
      "let (y, s) = x |> gru(5)(lengths: len)",
      "DLM0203 gru() needs 'lengths:' of type i32[N] (one length per sequence), got f32[N]",
    ],
    [
      "let (y, s) = x |> gru(5)(c0: h)",
      "DLM0217 gru is applied to tensors by position; it takes h0:, lengths: by name; 'c0:' is not one of them",
    ],
    [
      'let (y, s) = x |> rnn(5, nonlinearity: "gelu")',
      'DLM0214 rnn() nonlinearity must be "tanh" or "relu", got "gelu"',
    ],
    ["let (y, s) = x |> lstm(0)", "DLM0210 lstm() needs a positive hidden size, got 0"],
    [
      "let (y, s) = x |> gru(4, layers: 0)",
      "DLM0210 gru() needs a positive number of layers, got 0",
    ],
  ];
  for (const [line, message] of cases) {
    assert.deepEqual(errors(`${head}\n    ${line}\n    output o = x\n  }`), [message], line);
  }
});
