import assert from "node:assert/strict";
import { DlmError } from "../diagnostics.ts";
import { GraphBuilder } from "../ops/builder.ts";
import type { Graph, Span } from "../ir/graph.ts";
import { lazyInitTensor, pendingJob } from "../ir/init.ts";
import { emptyGraph } from "../ir/graph.ts";
import { tensor, toNumbers } from "../ir/tensor.ts";
import { register } from "../ops/op_def.ts";
import { DLM_VERSION } from "../version.ts";
import { createSession } from "../../runtime/ort/mod.ts";
import { chunksOf, emitModel, emitModelParts, EXTERNAL_ALIGN } from "./emit.ts";
import { longToBigInt, longToNumber, onnx } from "./proto.ts";
import { fromTensorProto } from "./tensor_proto.ts";

const span = (line: number, col: number): Span => ({
  file: "model.dlm",
  line,
  col,
  endLine: line,
  endCol: col + 4,
});

/**
 * y = Gemm(Flatten(Relu(Conv(x, W, B))), W2, C; alpha = 2, transB = 1) on x: f32[N, 1, 3, 3].
 * Conv channel 0 sums the main diagonal of each 2x2 window, channel 1 is
 * x[i][j+1] - x[i+1][j]; Gemm row 0 sums channel 0, row 1 weighs channel 1 by 1..4.
 */
function convNet(): Graph {
  const b = new GraphBuilder("convnet");
  const x = b.input("x", { dtype: "f32", shape: ["N", 1, 3, 3] }, span(1, 7));
  const w = b.initializer("conv.weight", tensor("f32", [2, 1, 2, 2], [1, 0, 0, 1, 0, 1, -1, 0]));
  const bias = b.initializer("conv.bias", tensor("f32", [2], [-10, 3]));
  const w2 = b.initializer(
    "fc.weight",
    tensor("f32", [2, 8], [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]),
  );
  const c = b.initializer("fc.bias", tensor("f32", [2], [0.5, -1]));
  const [h] = b.addNode("Conv", [x, w, bias], {
    kernel_shape: [2, 2],
    strides: [1, 1],
    pads: [0, 0, 0, 0],
  }, {
    name: "conv",
    spans: [span(3, 5), span(4, 1)],
  });
  const [r] = b.addNode("Relu", [h], {}, { name: "relu", spans: [span(3, 12)] });
  const [f] = b.addNode("Flatten", [r], { axis: 1 }, { name: "flatten" });
  const [y] = b.addNode("Gemm", [f, w2, c], { alpha: 2.0, transB: 1 }, {
    name: "fc",
    spans: [span(5, 3)],
  });
  b.output(y, "y", span(2, 3));
  return b.graph;
}

function decode(bytes: Uint8Array): any {
  return onnx.ModelProto.decode(bytes);
}

function dims(vi: any): (number | string)[] {
  return vi.type.tensorType.shape.dim.map((
    d: any,
  ) => (d.dimParam ? d.dimParam : longToNumber(d.dimValue)));
}

const X1 = [1, 2, 3, 4, 5, 6, 7, 8, 9];

Deno.test("emitModel() writes the model header: IR version, opset, producer", () => {
  const m = decode(emitModel(convNet(), { docString: "a test model" }).model);
  assert.equal(longToNumber(m.irVersion), 8);
  assert.deepEqual(m.opsetImport.map((o: any) => [o.domain, longToNumber(o.version)]), [["", 17]]);
  assert.equal(m.producerName, "dlm");
  assert.equal(m.producerVersion, DLM_VERSION);
  assert.equal(m.docString, "a test model");
  assert.equal(m.graph.name, "convnet");
});

Deno.test("emitModel() encodes nodes with names, registry attribute types and source spans", () => {
  const g = decode(emitModel(convNet()).model).graph;
  assert.deepEqual(g.node.map((n: any) => [n.name, n.opType]), [
    ["conv", "Conv"],
    ["relu", "Relu"],
    ["flatten", "Flatten"],
    ["fc", "Gemm"],
  ]);
  const [conv, relu, flatten, fc] = g.node;
  assert.deepEqual(conv.input, ["x", "conv.weight", "conv.bias"]);
  assert.deepEqual(conv.output, ["conv"]);
  assert.equal(conv.docString, "model.dlm:3:5; model.dlm:4:1");
  assert.equal(relu.docString, "model.dlm:3:12");
  assert.equal(flatten.docString, "");
  // Attributes sorted by name, typed by the registry: INTS = 7, INT = 2, FLOAT = 1.
  assert.deepEqual(conv.attribute.map((a: any) => [a.name, a.type]), [
    ["kernel_shape", 7],
    ["pads", 7],
    ["strides", 7],
  ]);
  assert.deepEqual(conv.attribute[0].ints.map(longToNumber), [2, 2]);
  assert.deepEqual(fc.attribute.map((a: any) => [a.name, a.type]), [["alpha", 1], ["transB", 2]]);
  assert.equal(fc.attribute[0].f, 2);
  assert.equal(longToNumber(fc.attribute[1].i), 1);
});

Deno.test("emitModel() declares inputs, outputs and intermediate types with symbolic dims as dim_param", () => {
  const g = decode(emitModel(convNet()).model).graph;
  assert.deepEqual(g.input.map((v: any) => v.name), ["x"]);
  assert.deepEqual(dims(g.input[0]), ["N", 1, 3, 3]);
  assert.equal(g.input[0].type.tensorType.elemType, 1);
  assert.equal(g.input[0].docString, "model.dlm:1:7");
  assert.deepEqual(g.output.map((v: any) => [v.name, dims(v)]), [["y", ["N", 2]]]);
  assert.deepEqual(g.valueInfo.map((v: any) => [v.name, dims(v)]), [
    ["conv", ["N", 2, 2, 2]],
    ["relu", ["N", 2, 2, 2]],
    ["flatten", ["N", 8]],
  ]);
});

Deno.test("emitModel() writes initializers in definition order as raw data, not as inputs", () => {
  const g = decode(emitModel(convNet()).model).graph;
  assert.deepEqual(g.initializer.map((t: any) => t.name), [
    "conv.weight",
    "conv.bias",
    "fc.weight",
    "fc.bias",
  ]);
  assert.ok(g.initializer.every((t: any) => t.rawData.length > 0));
  assert.deepEqual(toNumbers(fromTensorProto(g.initializer[1])), [-10, 3]);
  assert.deepEqual(g.initializer[0].dims.map(longToNumber), [2, 1, 2, 2]);
});

Deno.test("emitModel() gives byte-identical output for the same graph", () => {
  const a = emitModel(convNet()).model;
  assert.equal(a.constructor, Uint8Array);
  assert.equal(a.byteLength, a.buffer.byteLength, "the bytes own their buffer");
  const b = emitModel(convNet()).model;
  const g = convNet();
  assert.deepEqual(a, b);
  assert.deepEqual(emitModel(g).model, emitModel(g).model);
});

Deno.test("an emitted Conv/Relu/Gemm model gives hand-computed results in onnxruntime-node for two batch sizes", async () => {
  const s = await createSession(emitModel(convNet()).model);
  try {
    // Sample 1: channel 0 = [6, 8, 12, 14] - 10 -> relu [0, 0, 2, 4]; channel 1 = -2 + 3 = 1.
    // Gemm: 2 * [0+0+2+4, 1+2+3+4] + [0.5, -1] = [12.5, 19].
    const one = await s.run({ x: tensor("f32", [1, 1, 3, 3], X1) });
    assert.deepEqual(one.y.shape, [1, 2]);
    assert.deepEqual(toNumbers(one.y), [12.5, 19]);
    // Sample 2 = -sample 1: channel 0 all negative -> 0; channel 1 = 2 + 3 = 5 -> 2 * [0, 50] + C.
    const two = await s.run({ x: tensor("f32", [2, 1, 3, 3], [...X1, ...X1.map((v) => -v)]) });
    assert.deepEqual(two.y.shape, [2, 2]);
    assert.deepEqual(toNumbers(two.y), [12.5, 19, 0.5, 99]);
  } finally {
    await s.release();
  }
});

Deno.test("emitModel() picks the IR version of each opset 17..21 and onnxruntime loads them all", async () => {
  const want: Record<number, number> = { 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 };
  for (const [opset, ir] of Object.entries(want)) {
    const { model } = emitModel(convNet(), { opset: Number(opset) });
    const m = decode(model);
    assert.equal(longToNumber(m.irVersion), ir, `opset ${opset}`);
    assert.equal(longToNumber(m.opsetImport[0].version), Number(opset));
    const s = await createSession(model);
    assert.deepEqual(toNumbers((await s.run({ x: tensor("f32", [1, 1, 3, 3], X1) })).y), [
      12.5,
      19,
    ]);
    await s.release();
  }
});

Deno.test("emitModel() rejects an opset it cannot target", () => {
  assert.throws(() => emitModel(convNet(), { opset: 13 }), (e: unknown) => {
    assert.ok(e instanceof DlmError);
    assert.equal(e.diagnostics[0].code, "DLM0515");
    assert.match(e.message, /The opset must be one of 17, 18, 19, 20, 21, got 13/);
    return true;
  });
});

Deno.test("emitModel() keeps a scalar's empty shape and leaves decoder-unknown dims unset", () => {
  const b = new GraphBuilder("s");
  const x = b.input("x", { dtype: "f32", shape: [] });
  const v = b.input("v", { dtype: "f32", shape: ["?1", 3] });
  const [y] = b.addNode("Add", [x, v]);
  b.output(y, "y");
  const g = decode(emitModel(b.graph).model).graph;
  assert.ok(
    g.input[0].type.tensorType.shape,
    "a scalar has a shape with no dims, not a missing shape",
  );
  assert.equal(g.input[0].type.tensorType.shape.dim.length, 0);
  const d0 = g.input[1].type.tensorType.shape.dim[0];
  assert.ok(!d0.dimParam && !d0.dimValue);
});

Deno.test("emitModel() drops trailing omitted inputs but keeps inner ones", () => {
  const b = new GraphBuilder("opt");
  const x = b.input("x", { dtype: "f32", shape: [1, 1, 3, 3] });
  const w = b.initializer("w", tensor("f32", [1, 1, 1, 1], [2]));
  const [y] = b.addNode("Conv", [x, w, ""]);
  b.output(y, "y");
  const g = decode(emitModel(b.graph).model).graph;
  assert.deepEqual(g.node[0].input, ["x", "w"]);
});

// Ops registered only in this test module, to exercise attribute kinds, lowering and domains.

register({
  op: "AllAttrs",
  domain: "dlm.test",
  since: 3,
  inputs: [{ name: "x" }],
  outputs: [{ name: "y" }],
  attrs: {
    i: { type: "int" },
    f: { type: "float" },
    s: { type: "string" },
    is: { type: "ints" },
    fs: { type: "floats" },
    ss: { type: "strings" },
    t: { type: "tensor" },
    g: { type: "graph" },
  },
  infer: (ctx) => [ctx.inputs[0]!],
});

register({
  op: "Twice",
  domain: "dlm.test",
  since: 1,
  inputs: [{ name: "x" }],
  outputs: [{ name: "y" }],
  attrs: {},
  infer: (ctx) => [ctx.inputs[0]!],
  // Twice(x) = Add(x, x); keeps the node's name, outputs and spans.
  lower: (
    node,
  ) => [{ ...node, op: "Add", domain: undefined, inputs: [node.inputs[0], node.inputs[0]] }],
});

// com.microsoft Gelu is registered by compiler/ops/contrib (imported by ../ops/mod.ts).

Deno.test("emitModel() encodes every attribute kind, subgraphs included", () => {
  const sub = new GraphBuilder("body");
  const si = sub.input("a", { dtype: "i64", shape: [2] });
  const k = sub.initializer("k", tensor("i64", [2], [1, 2]));
  const [so] = sub.addNode("Add", [si, k], {}, { name: "inner" });
  sub.output(so, "out");

  const b = new GraphBuilder("attrs");
  const x = b.input("x", { dtype: "f32", shape: [2] });
  const [y] = b.addNode("AllAttrs", [x], {
    i: 2 ** 63, // saturates to INT64_MAX
    f: 0.25,
    s: "héllo",
    is: [-1, 3],
    fs: [1.5],
    ss: ["a", "b"],
    t: tensor("i32", [2], [7, 8]),
    g: sub.graph,
  }, { domain: "dlm.test" });
  b.output(y, "y");
  const m = decode(emitModel(b.graph).model);
  assert.deepEqual(m.opsetImport.map((o: any) => [o.domain, longToNumber(o.version)]), [["", 17], [
    "dlm.test",
    3,
  ]]);
  const n = m.graph.node[0];
  assert.equal(n.domain, "dlm.test");
  const a = Object.fromEntries(n.attribute.map((x: any) => [x.name, x]));
  assert.deepEqual(n.attribute.map((x: any) => x.name), [
    "f",
    "fs",
    "g",
    "i",
    "is",
    "s",
    "ss",
    "t",
  ]);
  assert.equal(a.i.type, 2);
  assert.equal(longToBigInt(a.i.i), 2n ** 63n - 1n);
  assert.equal(a.f.type, 1);
  assert.equal(a.f.f, 0.25);
  assert.equal(a.s.type, 3);
  assert.equal(new TextDecoder().decode(a.s.s), "héllo");
  assert.equal(a.is.type, 7);
  assert.deepEqual(a.is.ints.map(longToNumber), [-1, 3]);
  assert.equal(a.fs.type, 6);
  assert.deepEqual(a.fs.floats, [1.5]);
  assert.equal(a.ss.type, 8);
  assert.deepEqual(a.ss.strings.map((s: Uint8Array) => new TextDecoder().decode(s)), ["a", "b"]);
  assert.equal(a.t.type, 4);
  assert.deepEqual(toNumbers(fromTensorProto(a.t.t)), [7, 8]);
  assert.equal(a.g.type, 5);
  assert.equal(a.g.g.name, "body");
  assert.deepEqual(a.g.g.node.map((x: any) => x.name), ["inner"]);
  assert.deepEqual(a.g.g.initializer.map((x: any) => x.name), ["k"]);
  assert.deepEqual(a.g.g.output.map((x: any) => x.name), ["out"]);
});

Deno.test("emitModel() emits what an op's lower() returns, with the node's spans", async () => {
  const b = new GraphBuilder("lowered");
  const x = b.input("x", { dtype: "f32", shape: [3] });
  const [y] = b.addNode("Twice", [x], {}, {
    domain: "dlm.test",
    name: "twice",
    spans: [span(9, 2)],
  });
  b.output(y, "y");
  const { model } = emitModel(b.graph);
  const m = decode(model);
  assert.deepEqual(
    m.opsetImport.map((o: any) => o.domain),
    [""],
    "no import for a domain lowered away",
  );
  const n = m.graph.node[0];
  assert.deepEqual([n.name, n.opType, n.domain, n.input], ["twice", "Add", "", ["x", "x"]]);
  assert.equal(n.docString, "model.dlm:9:2");
  const s = await createSession(model);
  assert.deepEqual(toNumbers((await s.run({ x: tensor("f32", [3], [1, -2, 3]) })).y), [2, -4, 6]);
  await s.release();
});

Deno.test("emitModel() lowers ReduceMean's axes to an input from opset 18, with the same results", async () => {
  const b = new GraphBuilder("reduce");
  const x = b.input("x", { dtype: "f32", shape: [2, 3] });
  const [y] = b.addNode("ReduceMean", [x], { axes: [1], keepdims: 0 }, { name: "mean" });
  b.output(y, "y");
  const x0 = tensor("f32", [2, 3], [1, 2, 6, -3, 0, 0]);
  for (const opset of [17, 18]) {
    const { model } = emitModel(b.graph, { opset });
    const nodes = decode(model).graph.node.map((
      n: any,
    ) => [n.opType, n.input.length, n.attribute.length]);
    // ReduceMean(x; axes, keepdims) at 17; Constant(value) then ReduceMean(x, axes; keepdims) at 18.
    assert.deepEqual(
      nodes,
      opset === 17 ? [["ReduceMean", 1, 2]] : [["Constant", 0, 1], ["ReduceMean", 2, 1]],
    );
    const s = await createSession(model);
    assert.deepEqual(toNumbers((await s.run({ x: x0 })).y), [3, -1], `opset ${opset}`);
    await s.release();
  }
});

Deno.test("emitModel() imports com.microsoft for a contrib op and onnxruntime runs it", async () => {
  const b = new GraphBuilder("contrib");
  const x = b.input("x", { dtype: "f32", shape: [2] });
  const [y] = b.addNode("Gelu", [x], {}, { domain: "com.microsoft" });
  b.output(y, "y");
  const { model } = emitModel(b.graph);
  const m = decode(model);
  assert.deepEqual(m.opsetImport.map((o: any) => [o.domain, longToNumber(o.version)]), [["", 17], [
    "com.microsoft",
    1,
  ]]);
  const s = await createSession(model);
  const out = toNumbers((await s.run({ x: tensor("f32", [2], [0, 1]) })).y);
  await s.release();
  // Gelu(1) = 0.5 * (1 + erf(1 / sqrt 2)) = 0.8413447
  assert.ok(Math.abs(out[0]) < 1e-7 && Math.abs(out[1] - 0.8413447) < 1e-6, `${out}`);
});

function assertInternal(f: () => unknown, re: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof Error && !(e instanceof DlmError));
    assert.match(e.message, /^internal: /);
    assert.match(e.message, re);
    return true;
  });
}

Deno.test("emitModel() treats an unregistered op as an internal error", () => {
  const g = emptyGraph("bad");
  g.nodes.push({ name: "n", op: "NoSuchOp", inputs: [], outputs: ["y"], attrs: {} });
  assertInternal(() => emitModel(g), /node 'n' uses unregistered op NoSuchOp/);
});

Deno.test("emitModel() treats an attribute the registry does not describe as an internal error", () => {
  const g = emptyGraph("bad");
  g.nodes.push({ name: "r", op: "Relu", inputs: ["x"], outputs: ["y"], attrs: { alpha: 1 } });
  assertInternal(
    () => emitModel(g),
    /attribute 'alpha' of node 'r' \(Relu\) is not in the op registry/,
  );
});

Deno.test("emitModel() treats an attribute value of the wrong kind as an internal error", () => {
  const g = emptyGraph("bad");
  g.nodes.push({ name: "f", op: "Flatten", inputs: ["x"], outputs: ["y"], attrs: { axis: [1] } });
  assertInternal(
    () => emitModel(g),
    /attribute 'axis' of node 'f' \(Flatten\) must be int, found \[1\]/,
  );
  g.nodes[0].attrs = { axis: 1.5 };
  assertInternal(() => emitModel(g), /must be int, found 1\.5/);
});

// External data.

/** y = MatMul(x, W1) + b, z = MatMul(y, W2): W1 8 KiB, W2 4 KiB, b 256 bytes. */
function bigNet(): Graph {
  const b = new GraphBuilder("big");
  const x = b.input("x", { dtype: "f32", shape: ["N", 32] });
  const fill = (n: number, k: number) =>
    Array.from({ length: n }, (_, i) => ((i * k) % 17) / 16 - 0.5);
  const w1 = b.initializer("w1", tensor("f32", [32, 64], fill(32 * 64, 5)));
  const bias = b.initializer("b", tensor("f32", [64], fill(64, 3)));
  const w2 = b.initializer("w2", tensor("f32", [64, 16], fill(64 * 16, 7)));
  const [h] = b.addNode("MatMul", [x, w1]);
  const [hb] = b.addNode("Add", [h, bias]);
  const [z] = b.addNode("MatMul", [hb, w2]);
  b.output(z, "z");
  return b.graph;
}

Deno.test("emitModel() puts tensors of 1 KiB and more in 4096-aligned external data", () => {
  const { model, data } = emitModel(bigNet(), {
    externalData: { location: "m.onnx.data", threshold: 0 },
  });
  assert.ok(data);
  const inits = decode(model).graph.initializer;
  const ext = (t: any) => Object.fromEntries(t.externalData.map((kv: any) => [kv.key, kv.value]));
  assert.equal(inits[0].name, "w1");
  assert.equal(inits[0].dataLocation, 1);
  assert.deepEqual(ext(inits[0]), { location: "m.onnx.data", offset: "0", length: "8192" });
  assert.equal(inits[1].name, "b");
  assert.equal(inits[1].dataLocation, 0, "256 bytes stay inline");
  assert.equal(inits[1].rawData.length, 256);
  assert.deepEqual(ext(inits[2]), {
    location: "m.onnx.data",
    offset: String(2 * EXTERNAL_ALIGN),
    length: "4096",
  });
  assert.equal(data.length, 2 * EXTERNAL_ALIGN + 4096);
});

Deno.test("emitModel() keeps everything inline below the threshold", () => {
  const { model, data } = emitModel(bigNet(), { externalData: { location: "m.onnx.data" } });
  assert.equal(data, undefined);
  assert.ok(decode(model).graph.initializer.every((t: any) => t.dataLocation === 0));
});

Deno.test("emitModel() refuses weights over 2 GB without external data", () => {
  // The shape claims 4 GiB; the emitter checks sizes before touching the data.
  const g = emptyGraph("huge");
  g.initializers.set("w", { dtype: "f32", shape: [2 ** 30], data: new Float32Array(1) });
  assert.throws(() => emitModel(g), (e: unknown) => {
    assert.ok(e instanceof DlmError);
    assert.equal(e.diagnostics[0].code, "DLM0316");
    assert.match(e.message, /weights take 4294967296 bytes, more than one ONNX protobuf can hold/);
    return true;
  });
});

Deno.test("emitModelParts() draws a lazy weight as its range is read, the bytes emitModel() writes", () => {
  const lazyNet = () => {
    const g = bigNet();
    // 20,000 normals: several of the drawer's chunks and a partial one.
    const spec = { kind: "normal", mean: 0, std: 1 } as const;
    g.initializers.set("w1", lazyInitTensor(spec, [32, 64], "w1", 3));
    g.initializers.set("big", lazyInitTensor(spec, [200, 100], "big", 3));
    return g;
  };
  const g = lazyNet();
  const { parts } = emitModelParts(g);
  const streamed: number[] = [];
  for (const c of chunksOf(parts)) for (const b of c) streamed.push(b);
  assert.equal(streamed.length, parts.reduce((n, p) => n + p.length, 0));
  assert.ok(pendingJob(g.initializers.get("big")!), "streaming keeps the weight lazy");
  const whole = emitModel(lazyNet()).model;
  assert.deepEqual(new Uint8Array(streamed), whole);
  const external = { externalData: { location: "d", threshold: 0 } };
  const ext = emitModelParts(lazyNet(), external);
  const inMemory = emitModel(lazyNet(), external);
  assert.deepEqual(new Uint8Array([...chunksOf(ext.data!)].flatMap((c) => [...c])), inMemory.data);
  assert.deepEqual(new Uint8Array([...chunksOf(ext.parts)].flatMap((c) => [...c])), inMemory.model);
});
