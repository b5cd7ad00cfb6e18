/**
 * The language items of issue 13, as a user writes them: `()` as the empty shape, statements in the
 * branches of an `if` expression (and the recovery around an error inside one), scalars where a
 * tensor function expects a tensor, torch's `expand`, contextual keywords as labels, and a block
 * that owns a built-in layer's parameters at its own level.
 */
import assert from "node:assert/strict";
import type { Diagnostic } from "../diagnostics.ts";
import { formatType, type Graph } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { runGraph } from "../../runtime/reference/interpreter.ts";
import { compileOk as ok, compileSource as compile } from "./testing.ts";

/** `line:col code` of each diagnostic. */
function located(src: string): string[] {
  return compile(src).diagnostics.map((d: Diagnostic) =>
    `${d.span?.line}:${d.span?.col} ${d.code}`
  );
}

function types(g: Graph): string[] {
  return g.outputs.map((o) => formatType(g.types.get(o.name)!));
}

const f32 = (shape: number[], values: number[]) => tensor("f32", shape, values);
const out = (g: Graph, inputs: Record<string, ReturnType<typeof f32>>, name: string) =>
  Array.from(runGraph(g, inputs).outputs[name].data as Float32Array);

// ---- () as the empty shape

Deno.test("() is the empty shape: a scalar parameter and a reshape to rank 0", () => {
  const g = ok(`model M {
    input x: f32[N, 2]
    let s = param((), name: "scale", init: ones)
    output r = reshape(x[0, 0], ())
    output y = x * s
  }`);
  assert.deepEqual(g.params.map((p) => [p.name, g.initializers.get(p.name)!.shape]), [[
    "scale",
    [],
  ]]);
  assert.deepEqual(types(g), ["f32[]", "f32[N, 2]"]);
});

Deno.test("() is an empty tuple: its length is 0 and it equals no other tuple", () => {
  const g = ok(`model M {
    input x: f32[N, 2]
    assert(len(()) == 0 && () == () && () != (1,), "empty tuple")
    output y = x
  }`);
  assert.equal(g.outputs.length, 1);
});

// ---- statements in if expressions

const ifModel = (flag: string) =>
  `model M {
  input x: f32[N, 2]
  let y = if ${flag} {
    let t = x * 2
    t + 1
  } else if x.rank == 3 {
    x
  } else {
    let u = -x
    u
  }
  output o = y
}`;

Deno.test("a branch of an if expression runs its statements, then gives its last expression", () => {
  const x = f32([1, 2], [1, -3]);
  assert.deepEqual(out(ok(ifModel("true")), { x }, "o"), [3, -5]);
  assert.deepEqual(out(ok(ifModel("false")), { x }, "o"), [-1, 3]);
});

Deno.test("an if statement with both branches ending in a value is a branch's value", () => {
  const g = ok(`model M(deep: bool = true) {
    input x: f32[N, 2]
    let y = if deep {
      let t = x + 1
      if t.rank == 2 { let v = t * t; v } else { t }
    } else { x }
    output o = y
  }`);
  assert.deepEqual(out(g, { x: f32([1, 2], [1, 2]) }, "o"), [4, 9]);
});

Deno.test("a let in a branch of an if expression ends with the branch", () => {
  assert.deepEqual(
    located(`model M {
  input x: f32[N, 2]
  let y = if true { let t = x; t } else { x }
  output o = t
}`),
    ["4:14 DLM0101"],
  );
});

Deno.test("an assignment in a branch of an if expression reaches the enclosing scope", () => {
  const g = ok(`model M {
    input x: f32[N, 2]
    let k = 1
    let y = if true { k = 3; x * k } else { x }
    output o = y * k
  }`);
  assert.deepEqual(out(g, { x: f32([1, 2], [1, 2]) }, "o"), [9, 18]);
});

Deno.test("a branch of an if expression must end with its value (DLM0012)", () => {
  const src = (branch: string) =>
    `model M {
  input x: f32[N, 2]
  let y = if true ${branch} else { x }
  output o = y
}`;
  assert.deepEqual(located(src("{ let t = x }")), ["3:21 DLM0012"]);
  assert.deepEqual(located(src("{ }")), ["3:19 DLM0012"]);
  assert.deepEqual(located(src("{ if true { x } }")), ["3:21 DLM0012"]);
  const r = compile(src("{ }"));
  assert.match(r.diagnostics[0].message, /must end with its value.*found an empty branch/);
});

Deno.test("input, output, return, init and freeze in a branch of an if expression are DLM0011", () => {
  for (
    const stmt of [
      "output q = x",
      "return x",
      "init x.weight = zeros",
      "freeze a",
      "input z: f32[N]",
    ]
  ) {
    const r = compile(`model M {
  input x: f32[N, 2]
  let y = if true { ${stmt}; x } else { x }
  output o = y
}`);
    assert.deepEqual(r.diagnostics.map((d) => `${d.span?.line}:${d.span?.col} ${d.code}`), [
      "3:21 DLM0011",
    ], stmt);
    assert.match(r.diagnostics[0].message, new RegExp(`cannot hold '${stmt.split(" ")[0]}'`));
  }
});

Deno.test("one syntax error inside an if expression is one diagnostic, not a cascade", () => {
  // Each line below has one mistake inside the if; the lines after it are valid.
  for (
    const [line, col] of [
      ["let y = if true { let t = x * ; t } else { x }", 33],
      ["let y = if true { let t = (x * 2; t } else { x }", 35],
      ["let y = if true { let t = [x, ; t } else { x }", 33],
      ["let y = if true { let = x; x } else { x }", 25],
      ["let y = if true { x * } else { x }", 25],
      ["let y = if true { x } else { let t = x ** ; t }", 45],
      ["let y = if (true { x } else { x }", 20],
      // A misspelt else, in an expression and in a statement.
      ["let y = if true { x } els { x }", 25],
      ["let y = if true { x } els if false { x } else { x }", 25],
      ["let y = x; if true { let q = x } els { let r = x }", 36],
    ] as const
  ) {
    assert.deepEqual(
      located(`model M {
  input x: f32[N, 4]
  ${line}
  let z = y + 1
  output o = relu(z)
}`),
      [`3:${col} DLM0002`],
      line,
    );
  }
});

// ---- keywords as labels

Deno.test("a keyword is a label: block:, model:, input:, output:, train: name levels", () => {
  const g = ok(`block Bottleneck(c: int)(x) {
  return x |> conv1: conv2d(c, kernel: 1) |> relu
}
model M {
  input x: f32[N, 4, 8, 8]
  let h = x |> block: Bottleneck(4) |> model: conv2d(4, kernel: 1)
  let g = input: linear(3)(h[:, :, 0, 0])
  freeze block.conv1
  init "model.weight" = zeros
  output y = g |> train: (relu |> output: linear(2))
}`);
  assert.deepEqual(
    g.params.map((p) => `${p.name}${p.frozen ? " (frozen)" : ""}`),
    [
      "block.conv1.weight (frozen)",
      "block.conv1.bias (frozen)",
      "model.weight",
      "model.bias",
      "input.weight",
      "input.bias",
      "train.1.weight",
      "train.1.bias",
    ].map((n) => n.replace("train.1", "train.output")),
  );
  assert.ok((g.initializers.get("model.weight")!.data as Float32Array).every((v) => v === 0));
});

Deno.test("a keyword alone after freeze or init is a level's name, not a declaration", () => {
  const g = ok(`model M {
  input x: f32[N, 4]
  freeze model
  output y = x |> model: linear(2)
}`);
  assert.ok(g.params.every((p) => p.frozen));
});

Deno.test("a keyword as a let, for or constant name is DLM0013, one diagnostic each", () => {
  const r = compile(`let block = 3
model M {
  input x: f32[N, 4]
  let model = linear(2)
  for train in 0..2 { }
  let (a, output) = (1, 2)
  output y = x |> input: linear(2)
}`);
  assert.deepEqual(r.diagnostics.map((d) => `${d.span?.line}:${d.span?.col} ${d.code}`), [
    "1:5 DLM0013",
    "4:7 DLM0013",
    "5:7 DLM0013",
    "6:11 DLM0013",
  ]);
  assert.match(
    r.diagnostics[0].message,
    /'block' is a keyword: it can label a layer \(block: \.\.\.\)/,
  );
});

// ---- numbers where a tensor function expects a tensor

Deno.test("a number where a function expects a tensor is a constant of the other tensor's dtype", () => {
  const g = ok(`model M {
    input x: f32[N, 3]
    input i: i64[N]
    input c: bool[N, 3]
    let k = 0.8
    output a = maximum(x, k)
    output b = minimum(0, x)
    output d = where(c, x, 0.0)
    output e = where(c, 1.0, 0)
    output f = maximum(i, 2)
    output h = x |> maximum(0.5)
  }`);
  assert.deepEqual(types(g), [
    "f32[N, 3]",
    "f32[N, 3]",
    "f32[N, 3]",
    "f32[N, 3]",
    "i64[N]",
    "f32[N, 3]",
  ]);
  const r = runGraph(g, {
    x: f32([1, 3], [0.2, 1.5, -1]),
    i: tensor("i64", [1], [1]),
    c: tensor("bool", [1, 3], [1, 0, 1]),
  }).outputs;
  const vals = (n: string) => Array.from(r[n].data as ArrayLike<number | bigint>, Number);
  assert.deepEqual(vals("a").map((v) => +v.toFixed(5)), [0.8, 1.5, 0.8]);
  assert.deepEqual(vals("b"), [0, 0, -1]);
  assert.deepEqual(vals("d").map((v) => +v.toFixed(5)), [0.2, 0, -1]);
  assert.deepEqual(vals("e"), [1, 0, 1]);
  assert.deepEqual(vals("f"), [2]);
  assert.deepEqual(vals("h").map((v) => +v.toFixed(5)), [0.5, 1.5, 0.5]);
});

Deno.test("a number for a tensor: a fraction beside an int tensor, or no tensor at all, is an error", () => {
  const src = (line: string) =>
    `model M {
  input x: f32[N, 3]
  input i: i64[N]
  ${line}
}`;
  assert.deepEqual(located(src("output y = maximum(i, 0.5)")), ["4:25 DLM0207"]);
  assert.deepEqual(located(src("output y = maximum(0.5, 1.0)")), ["4:22 DLM0201"]);
  assert.deepEqual(located(src("output y = relu(0.5)")), ["4:19 DLM0201"]);
  const [d] = compile(src("output y = maximum(0.5, 1.0)")).diagnostics;
  assert.match(d.message, /only beside a tensor argument, whose dtype it takes/);
});

// ---- torch's expand

Deno.test("expand grows size-1 dims and adds leading ones, reading a missing symbolic dim at run time", () => {
  const g = ok(`model M {
    input x: f32[N, 3]
    let row = param((3,), name: "row", init: ones)
    output a = expand(unsqueeze(row, 0), (N, 3))
    output b = expand(row, (N, 3))
    output c = expand(x[:, 0:1], (-1, 3))
    output d = expand(row, (2, 1, -1))
    output e = x + expand(row, (N, 3))
  }`);
  assert.deepEqual(types(g), ["f32[N, 3]", "f32[N, 3]", "f32[N, 3]", "f32[2, 1, 3]", "f32[N, 3]"]);
  const r = runGraph(g, { x: f32([2, 3], [1, 2, 3, 4, 5, 6]) }).outputs;
  const vals = (n: string) => Array.from(r[n].data as Float32Array);
  assert.deepEqual(vals("a"), [1, 1, 1, 1, 1, 1]);
  assert.deepEqual(r.b.shape, [2, 3]);
  assert.deepEqual(vals("c"), [1, 1, 1, 4, 4, 4]);
  assert.deepEqual(r.d.shape, [2, 1, 3]);
  assert.deepEqual(vals("e"), [2, 3, 4, 5, 6, 7]);
});

Deno.test("expand reports a dim it cannot grow, a -1 on a new dim, and a size it cannot know", () => {
  const src = (line: string) =>
    `model M {
  input x: f32[N, 3]
  ${line}
}`;
  const msg = (line: string) => compile(src(line)).diagnostics.map((d) => `${d.code} ${d.message}`);
  assert.deepEqual(msg("output y = expand(x, (N, 4))"), [
    "DLM0232 expand() cannot grow dim 1 of f32[N, 3] from 3 to 4: only a dim of size 1 grows",
  ]);
  assert.deepEqual(located(src("output y = expand(x, (-1, N, 3))")), ["3:24 DLM0232"]);
  // A dim of an intermediate tensor (2 * N here) is no input's.
  const twice = "let d = concat(x, x, axis: 0).shape[0]\n  output y = expand(x[:, 0:1], (N, d))";
  assert.deepEqual(located(src(twice)), ["4:32 DLM0232"]);
  assert.match(
    msg(twice)[0],
    /size of 2 \* N at position 1: neither f32\[N, 1\] nor a model input/,
  );
});

// ---- layer_norm(axis:) and a block owning a built-in layer's parameters

Deno.test("layer_norm(axis: 1) normalises the channels of [N, C, H, W] with [C] parameters", () => {
  const g = ok(`model M {
    input x: f32[N, 2, 1, 2]
    output y = x |> ln: layer_norm(axis: 1)
    output z = x |> ln2: layer_norm(axis: 1, dims: 2)
    output w = x |> ln3: layer_norm(axis: -1)
  }`);
  assert.deepEqual(
    g.params.map((p) => `${p.name} [${g.initializers.get(p.name)!.shape}]`),
    [
      "ln.weight [2]",
      "ln.bias [2]",
      "ln2.weight [2,1]",
      "ln2.bias [2,1]",
      "ln3.weight [2]",
      "ln3.bias [2]",
    ],
  );
  // Per position (h, w), over the 2 channels: (a, b) -> (-1, 1) when a < b.
  const r = runGraph(g, { x: f32([1, 2, 1, 2], [1, 5, 3, 2]) }).outputs;
  const y = Array.from(r.y.data as Float32Array, (v) => Math.round(v * 1000) / 1000);
  assert.deepEqual(y, [-1, 1, 1, -1]);
  assert.deepEqual(types(g), ["f32[N, 2, 1, 2]", "f32[N, 2, 1, 2]", "f32[N, 2, 1, 2]"]);
});

Deno.test("layer_norm rejects an axis whose dims do not fit in the input", () => {
  const src = (line: string) =>
    `model M {
  input x: f32[N, 2, 3]
  ${line}
}`;
  assert.deepEqual(located(src("output y = x |> layer_norm(axis: 2, dims: 2)")), ["3:30 DLM0213"]);
  assert.deepEqual(located(src("output y = x |> layer_norm(axis: -4)")), ["3:30 DLM0213"]);
  assert.match(
    compile(src("output y = x |> layer_norm(axis: 2, dims: 2)")).diagnostics[0].message,
    /layer_norm\(dims: 2\) axis 2 is out of range for f32\[N, 2, 3\]/,
  );
});

Deno.test("_: on a built-in layer gives the level its parameters, as class LayerNorm2d(nn.LayerNorm)", () => {
  const g = ok(`block LayerNorm2d(eps: float = 1e-6)(x) {
  return x |> _: layer_norm(axis: 1, eps: eps)
}
block Twice(x) {
  let f = _: linear(4)
  return x |> f |> relu |> f
}
model M {
  input x: f32[N, 4, 2, 2]
  let h = x |> norm: LayerNorm2d() |> LayerNorm2d()
  output y = h[:, :, 0, 0] |> head: Twice
}`);
  assert.deepEqual(g.params.map((p) => p.name), [
    "norm.weight",
    "norm.bias",
    "LayerNorm2d_0.weight",
    "LayerNorm2d_0.bias",
    "head.weight",
    "head.bias",
  ]);
});

Deno.test("two built-in layers with _: in one level are DLM0129", () => {
  const r = compile(`block Two(x) {
  return x |> _: linear(4) |> _: linear(4)
}
model M {
  input x: f32[N, 4]
  output y = x |> two: Two
}`);
  assert.deepEqual(r.diagnostics.map((d) => `${d.span?.line}:${d.span?.col} ${d.code}`), [
    "2:31 DLM0129",
  ]);
  assert.match(r.diagnostics[0].message, /in 'two': the one at line 2 already owns its parameters/);
});
