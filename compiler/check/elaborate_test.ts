import assert from "node:assert/strict";
import { compileFile, type CompileOptions } from "../compile.ts";
import type { Diagnostic } from "../diagnostics.ts";
import type { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";

/** Compile in-memory files; the first one is the main file. */
function compile(files: Record<string, string> | string, opts: CompileOptions = {}) {
  const fs = typeof files === "string" ? { "main.dlm": files } : files;
  const main = Object.keys(fs)[0];
  return compileFile(main, { ...opts, read: (p) => (p in fs ? fs[p] : new Error("no such file")) });
}

function ok(src: string | Record<string, string>, opts: CompileOptions = {}): Graph {
  const r = compile(src, opts);
  assert.deepEqual(r.diagnostics.map((d) => `${d.code} ${d.message}`), []);
  return r.graph!;
}

function errors(src: string | Record<string, string>, opts: CompileOptions = {}): Diagnostic[] {
  const r = compile(src, opts);
  assert.equal(r.graph, undefined, "expected errors");
  return r.diagnostics.filter((d) => d.severity === "error");
}

function codes(ds: Diagnostic[]): string[] {
  return ds.map((d) => d.code);
}

const names = (g: Graph) => g.params.map((p) => p.name);
const w = (g: Graph, n: string) => g.initializers.get(n)!.data as Float32Array;

Deno.test("labels, groups and automatic names give hierarchical parameter names", () => {
  const g = ok(`model M {
    input x: f32[N, 3, 8, 8]
    output y = x |> conv2d(4, kernel: 3) |> stem: conv2d(4, kernel: 1)
      |> down: (conv2d(8, kernel: 1, bias: false) |> relu |> batch_norm)
      |> conv2d(8, kernel: 1)
  }`);
  assert.deepEqual(names(g), [
    "conv2d_0.weight",
    "conv2d_0.bias",
    "stem.weight",
    "stem.bias",
    "down.0.weight",
    "down.2.weight",
    "down.2.bias",
    "down.2.running_mean",
    "down.2.running_var",
    "down.2.num_batches_tracked",
    "conv2d_1.weight",
    "conv2d_1.bias",
  ]);
});

Deno.test("a layer bound with let and applied twice shares its weights", () => {
  const g = ok(`model M {
    input x: f32[N, 4]
    let f = linear(4)
    output y = x |> f |> relu |> f
  }`);
  assert.deepEqual(names(g), ["f.weight", "f.bias"]);
  assert.equal(g.nodes.filter((n) => n.op === "Gemm").length, 2);
});

Deno.test("a block instance applied twice shares all the weights inside it", () => {
  const g = ok(`block Tower()(x) { return x |> a: linear(3) |> relu |> b: linear(2) }
  model Siamese {
    input l: f32[N, 5]
    input r: f32[N, 5]
    let tower = Tower()
    output d = (l |> tower) - (r |> tower)
  }`);
  assert.deepEqual(names(g), ["tower.a.weight", "tower.a.bias", "tower.b.weight", "tower.b.bias"]);
});

Deno.test("a shared layer applied to inputs of different widths is an error at the second use", () => {
  const ds = errors(`model M {
    input x: f32[N, 4]
    input z: f32[N, 6]
    let f = linear(2)
    output a = x |> f
    output b = z |> f
  }`);
  assert.deepEqual(codes(ds), ["DLM0235"]);
  assert.match(
    ds[0].message,
    /Shared layer 'f' needs f\.weight of shape \[2, 6\] here, but it was created as \[2, 4\]/,
  );
  assert.equal(ds[0].span?.line, 6);
});

Deno.test("a label used twice in one scope is an error that suggests let for sharing", () => {
  const ds = errors(`model M {
    input x: f32[N, 4]
    output y = x |> fc: linear(4) |> fc: linear(4)
  }`);
  assert.deepEqual(codes(ds), ["DLM0106"]);
  assert.match(ds[0].message, /bind the layer with let/);
});

Deno.test("loops, interpolated labels and reassignment unroll at compile time", () => {
  const g = ok(`model M {
    input x: f32[N, 2]
    let h = x
    for (i, width) in enumerate([3, 5, 7]) {
      h = h |> "layer\${i + 1}": linear(width)
    }
    output y = h
  }`);
  assert.deepEqual(names(g).filter((n) => n.endsWith("weight")), [
    "layer1.weight",
    "layer2.weight",
    "layer3.weight",
  ]);
  assert.deepEqual(g.outputs[0].type.shape, ["N", 7]);
});

Deno.test("recursion expands FractalNet's rule: depth 3 has 7 convolutions", () => {
  const g = ok(`block F(c: int, depth: int)(x) {
    if depth == 1 { return x |> conv2d(c, kernel: 3, pad: 1) }
    return join(x |> F(c, depth - 1) |> F(c, depth - 1), x |> conv2d(c, kernel: 3, pad: 1))
  }
  model M { input x: f32[N, 2, 8, 8]  output y = x |> F(4, 3) }`);
  assert.equal(g.nodes.filter((n) => n.op === "Conv").length, 7);
  assert.equal(g.nodes.filter((n) => n.op === "Mean").length, 3);
});

Deno.test("recursion without a base case stops with DLM0301 and the call chain", () => {
  const t0 = performance.now();
  const ds = errors(`block Loop(n: int)(x) { return x |> Loop(n + 1) }
  model M { input x: f32[N, 2]  output y = x |> Loop(0) }`);
  assert.deepEqual(codes(ds), ["DLM0301"]);
  assert.match(ds[0].notes?.[0] ?? "", /Loop -> Loop/);
  assert.ok(performance.now() - t0 < 60_000); // a hang guard, not a benchmark
});

Deno.test("a loop of a billion iterations is refused at once", () => {
  const t0 = performance.now();
  const ds = errors(`model M {
    input x: f32[N, 2]
    let h = x
    for i in 0..1000000000 { h = h + 1.0 }
    output y = h
  }`);
  assert.deepEqual(codes(ds), ["DLM0312"]);
  assert.ok(performance.now() - t0 < 60_000); // a hang guard, not a benchmark
});

Deno.test("a parameter of 1e12 elements is refused before any allocation", () => {
  const ds = errors(`model M { input x: f32[N, 1000000]  output y = x |> linear(1000000) }`);
  assert.deepEqual(codes(ds), ["DLM0303"]);
});

Deno.test("if on a symbolic dim is not known at compile time", () => {
  const ds = errors(`block B()(x: f32[N, C]) { if N == 3 { return x } else { return x } }
  model M { input x: f32[N, 4]  output y = x |> B }`);
  assert.deepEqual(codes(ds), ["DLM0309"]);
});

Deno.test("if on a tensor suggests where()", () => {
  const ds = errors(`model M { input x: f32[N, 4]  output y = if x > 0.0 { x } else { x } }`);
  assert.deepEqual(codes(ds), ["DLM0305"]);
  assert.match(ds[0].message, /where\(cond, a, b\)/);
});

Deno.test("block input patterns bind dims usable as ints", () => {
  const g = ok(`block Proj(width: int)(x: f32[N, C, H, W]) {
    if C == width { return x }
    return x |> conv2d(width, kernel: 1)
  }
  model M { input x: f32[N, 4, 8, 8]  output a = x |> Proj(4)  output b = x |> Proj(6) }`);
  assert.equal(g.nodes.filter((n) => n.op === "Conv").length, 1);
});

Deno.test("a block input of the wrong rank is reported against its declared pattern", () => {
  const ds = errors(`block B()(x: f32[N, C, H, W]) { return x }
  model M { input x: f32[N, 4]  output y = x |> B }`);
  assert.deepEqual(codes(ds), ["DLM0208"]);
  assert.match(
    ds[0].message,
    /B's input 'x' is declared f32\[N, C, H, W\] but is f32\[N, 4\]: its rank is 2, expected 4/,
  );
});

Deno.test("a declared output type is checked", () => {
  const ds = errors(`model M { input x: f32[N, 4]  output y: f32[N, 5] = x |> linear(3) }`);
  assert.deepEqual(codes(ds), ["DLM0208"]);
  assert.match(ds[0].message, /dim 1 is 3, expected 5/);
});

Deno.test("independent errors are all reported in one run", () => {
  const ds = errors(`model M {
    input x: f32[N, 4]
    let a = x |> linar(3)
    let b = x |> linear("three")
    let c = x + (x |> linear(3))
    output y = x |> relu(1, 2, 3)
  }`);
  assert.deepEqual(codes(ds), ["DLM0101", "DLM0201", "DLM0204", "DLM0202"]);
  assert.match(ds[0].message, /did you mean 'linear'/);
});

Deno.test("unknown and missing named arguments are reported at the call", () => {
  const ds = errors(`model M { input x: f32[N, 2, 8, 8]  output y = x |> conv2d(4, kernal: 3) }`);
  assert.deepEqual(codes(ds), ["DLM0205"]);
  const ds2 = errors(`model M { input x: f32[N, 2, 8, 8]  output y = x |> conv2d(4) }`);
  assert.deepEqual(codes(ds2), ["DLM0206"]);
});

Deno.test("tensors of different element types do not mix", () => {
  const ds = errors(`model M { input a: f32[N]  input b: i64[N]  output y = a + b }`);
  assert.deepEqual(codes(ds), ["DLM0207"]);
});

Deno.test("init rules by layer kind and by name pattern, and explicit arguments beat rules", () => {
  const g = ok(`model M {
    input x: f32[N, 4]
    init linear.weight = ones
    init "b.*" = constant(3)
    output y = x |> a: linear(2) |> b: linear(2) |> c: linear(2, init: zeros)
  }`);
  assert.ok(w(g, "a.weight").every((v) => v === 1));
  assert.ok(w(g, "b.weight").every((v) => v === 3));
  assert.ok(w(g, "b.bias").every((v) => v === 3));
  assert.ok(w(g, "c.weight").every((v) => v === 0));
});

Deno.test("initial values depend on the seed and the parameter's name only", () => {
  const one = ok(`model M { input x: f32[N, 4]  output y = x |> a: linear(3) }`, { seed: 7 });
  const two = ok(
    `model M { input x: f32[N, 4]  output y = x |> z: linear(5) |> relu |> a: linear(3, init: kaiming_uniform(a: 2.23606797749979)) }`,
    { seed: 7 },
  );
  // a.weight has shape [3, 4] in one and [3, 5] in two: compare the bias stream instead, same name and fan-in rule.
  const other = ok(`model M { input x: f32[N, 4]  output y = x |> a: linear(3) }`, { seed: 8 });
  assert.deepEqual(
    w(one, "a.weight"),
    w(ok(`model M { input x: f32[N, 4]  output y = x |> a: linear(3) }`, { seed: 7 }), "a.weight"),
  );
  assert.notDeepEqual(w(one, "a.weight"), w(other, "a.weight"));
  assert.ok(two.initializers.has("z.weight"));
  // Adding a layer before `a` leaves a's values unchanged when its shape is unchanged.
  const three = ok(`model M { input x: f32[N, 4]  output y = x |> z: linear(4) |> a: linear(3) }`, {
    seed: 7,
  });
  assert.deepEqual(w(three, "a.weight"), w(one, "a.weight"));
});

Deno.test("kaiming_normal(fan_out) has the standard deviation it promises", () => {
  const g = ok(
    `model M { input x: f32[N, 64, 8, 8]  init conv2d.weight = kaiming_normal(mode: "fan_out")
    output y = x |> c: conv2d(128, kernel: 3, bias: false) }`,
  );
  const d = w(g, "c.weight");
  let s2 = 0;
  for (const v of d) s2 += v * v;
  const std = Math.sqrt(s2 / d.length);
  const want = Math.SQRT2 / Math.sqrt(128 * 9);
  assert.ok(Math.abs(std - want) / want < 0.02, `std ${std} vs ${want}`);
});

Deno.test("freeze marks parameters by name pattern and by label", () => {
  const g = ok(`model M {
    input x: f32[N, 4]
    freeze "body.*"
    freeze head
    output y = x |> body: (linear(4) |> relu |> linear(4)) |> head: linear(2) |> out: linear(2)
  }`);
  const frozen = g.params.filter((p) => p.frozen).map((p) => p.name);
  assert.deepEqual(frozen, [
    "body.0.weight",
    "body.0.bias",
    "body.2.weight",
    "body.2.bias",
    "head.weight",
    "head.bias",
  ]);
});

Deno.test("a freeze that names no parameter is an error at the statement, with the nearest name", () => {
  const ds = errors(`block B()(x: f32[N, 4]) {
    freeze fc2
    return x |> fc: linear(4)
  }
  model M {
    input x: f32[N, 4]
    freeze bnn1
    freeze "nothing*"
    freeze "a.*"
    output y = x |> bn1: linear(4) |> a: B() |> b: B()
  }`);
  assert.deepEqual(ds.map((d) => `${d.span?.line}: ${d.code} ${d.message}`).sort(), [
    // Once for the statement in the block, however often the block is applied.
    "2: DLM0215 freeze fc2 matches no parameter; did you mean 'fc'?",
    "7: DLM0215 freeze bnn1 matches no parameter; did you mean 'bn1'?",
    '8: DLM0215 freeze "nothing*" matches no parameter (see dlm params)',
  ]);
});

Deno.test("params() in a block matches the names below its own instance", () => {
  const g = ok(`block B()(x: f32[N, 4]) {
    let h = x |> fc: linear(4)
    return h + reduce_sum(stack(params("*.weight"), axis: 0)) * 0.0
  }
  model M {
    input x: f32[N, 4]
    output y = x |> a: B() |> b: B()
  }`);
  // b's params("*.weight") sees b.fc.weight only, not a's: each ReduceSum reads one stack.
  const stacks = g.nodes.filter((n) => n.op === "Concat" || n.op === "Unsqueeze");
  const read = stacks.flatMap((n) => n.inputs).filter((i) => i.endsWith(".weight"));
  assert.deepEqual(read, ["a.fc.weight", "b.fc.weight"]);
});

Deno.test("the _ label splices a block's names into the caller's level", () => {
  const g = ok(`block Body()(x) { return x |> conv1: linear(3) |> relu }
  model M { input x: f32[N, 4]  output y = x |> _: Body() |> fc: linear(2) }`);
  assert.deepEqual(names(g), ["conv1.weight", "conv1.bias", "fc.weight", "fc.bias"]);
});

Deno.test("imports resolve relative to the importing file, and cycles are reported", () => {
  const g = ok({
    "nets/main.dlm":
      `import "../lib/blocks.dlm"\nmodel M { input x: f32[N, 4]  output y = x |> Twice(3) }`,
    "lib/blocks.dlm": `block Twice(w: int)(x) { return x |> linear(w) |> linear(w) }`,
  });
  assert.equal(g.nodes.filter((n) => n.op === "Gemm").length, 2);
  const ds = errors({
    "a.dlm": `import "b.dlm"\nmodel M { input x: f32[N]  output y = x }`,
    "b.dlm": `import "a.dlm"`,
  });
  assert.deepEqual(codes(ds), ["DLM0105"]);
  assert.match(ds[0].message, /a\.dlm -> b\.dlm -> a\.dlm/);
  const missing = errors({
    "a.dlm": `import "nope.dlm"\nmodel M { input x: f32[N]  output y = x }`,
  });
  assert.deepEqual(codes(missing), ["DLM0104"]);
  assert.equal(missing[0].span?.line, 1);
});

Deno.test("model parameters take --set overrides, and unknown ones are errors", () => {
  const g = ok(
    `model M(classes: int = 10) { input x: f32[N, 4]  output y = x |> linear(classes) }`,
    {
      overrides: { classes: 3 },
    },
  );
  assert.deepEqual(g.outputs[0].type.shape, ["N", 3]);
  const ds = errors(
    `model M(classes: int = 10) { input x: f32[N, 4]  output y = x |> linear(classes) }`,
    {
      overrides: { clases: 3 },
    },
  );
  assert.deepEqual(codes(ds), ["DLM0205"]);
});

Deno.test("--model picks a model by name; an unknown one lists the models", () => {
  const src =
    `model A { input x: f32[N]  output y = x }  model B { input x: f32[N]  output z = x |> relu }`;
  assert.equal(ok(src).outputs[0].name, "y");
  assert.equal(ok(src, { model: "B" }).outputs[0].name, "z");
  const ds = errors(src, { model: "C" });
  assert.deepEqual(codes(ds), ["DLM0103"]);
  assert.match(ds[0].message, /the models are: A, B/);
});

Deno.test("scalar arithmetic lifts to tensors of the tensor's dtype", () => {
  const g = ok(`model M { input x: f32[N, 2]  output y = 0.5 * x + 1 }`);
  const consts = [...g.initializers.values()] as Tensor[];
  assert.ok(consts.every((t) => t.dtype === "f32" && t.shape.length === 0));
  assert.deepEqual(g.nodes.map((n) => n.op), ["Mul", "Add"]);
});

Deno.test("compile-time division by zero is an error at the expression", () => {
  const ds = errors(
    `model M(k: int = 0) { input x: f32[N, 4]  output y = x |> linear(floor(8 / k)) }`,
  );
  assert.deepEqual(codes(ds), ["DLM0304"]);
});

Deno.test("variadic tensor functions take a list or tuple of tensors as their items", () => {
  const g = ok(`model M {
    input a: f32[N, 2]
    input b: f32[N, 3]
    let parts = [a, b]
    output y = concat(parts, axis: 1)
    output w = stack([a, a], axis: 0)
  }`);
  assert.deepEqual(g.outputs.map((o) => o.type.shape), [["N", 5], [2, "N", 2]]);
});

Deno.test("the elaborator shares one constant for 0.0 and -0.0, as its cache always has", () => {
  // Pinned so that compiled models stay byte-identical: `x * -0.0` reads the 0.0 made before it.
  const g = ok(`model M {
    input x: f32[3]
    output y = x * 0.0 + x * -0.0
  }`);
  assert.deepEqual([...g.initializers.keys()], ["const"]);
  const muls = g.nodes.filter((n) => n.op === "Mul").map((n) => n.inputs);
  assert.deepEqual(muls, [["x", "const"], ["x", "const"]]);
});
