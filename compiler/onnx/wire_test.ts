/**
 * wire.ts writes the bytes protobufjs (onnx-proto's generated encoders)
 * writes for the same messages: the emitter is run with each encoder and
 * every byte range but the weights' raw data must be equal, for every
 * example model and for the corners of the wire format (negative and
 * saturated int64s, lengths of one, two and three varint bytes, non-ASCII
 * text, subgraphs, string tensors, external data).
 */
import assert from "node:assert/strict";
import { compileFile } from "../compile.ts";
import type { Graph } from "../ir/graph.ts";
import { lazyInitTensor } from "../ir/init.ts";
import { tensor } from "../ir/tensor.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { register } from "../ops/op_def.ts";
import { runPasses } from "../passes/manager.ts";
import { pipelineFor, TARGETS } from "../passes/targets.ts";
import { emitModelParts, type EmitOptions, type Encoder } from "./emit.ts";
import { onnx } from "./proto.ts";
import { encode, writeTensor } from "./wire.ts";

/** Bytes from protobufjs, which gives a Node Buffer: as a plain Uint8Array. */
const plain = (b: Uint8Array) => new Uint8Array(b);

/** The oracle: onnx-proto's encoders. */
const PROTOBUFJS: Encoder = {
  model: (m) => plain(onnx.ModelProto.encode(m).finish()),
  graph: (m) => plain(onnx.GraphProto.encode(m).finish()),
  tensor: (m) => plain(onnx.TensorProto.encode(m).finish()),
};

/** Emit `g` with both encoders; the byte ranges must match (weights not drawn: by length). */
function assertSameBytes(g: Graph, opts: EmitOptions = {}, what = ""): void {
  const ours = emitModelParts(g, opts);
  const theirs = emitModelParts(g, { ...opts, encoder: PROTOBUFJS });
  for (const key of ["parts", "data"] as const) {
    const a = ours[key] ?? [], b = theirs[key] ?? [];
    assert.equal(a.length, b.length, `${what} ${key}: ${a.length} ranges, protobufjs ${b.length}`);
    for (let i = 0; i < a.length; i++) {
      if (a[i] instanceof Uint8Array || b[i] instanceof Uint8Array) {
        assert.deepEqual(a[i], b[i], `${what} ${key}[${i}]`);
      } else assert.equal(a[i].length, b[i].length, `${what} ${key}[${i}]`);
    }
  }
}

const dir = new URL("../../lang-examples/", import.meta.url).pathname;

/** Examples whose passes are quick (the Transformers' take seconds: tools/replay.ts covers them). */
const WITH_PASSES = new Set(["alexnet.dlm", "googlenet.dlm", "fractalnet.dlm", "resnet18.dlm"]);

Deno.test("every example model emits protobufjs's bytes, and some after each target's passes", () => {
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".dlm"));
  assert.ok(files.length > 20, files.join(", "));
  for (const file of files.sort()) {
    const build = (target?: (typeof TARGETS)[number]) => {
      const r = compileFile(dir + file, { mode: "eval" });
      assert.ok(r.graph, `${file}: ${r.diagnostics.map((d) => d.message).join("; ")}`);
      if (target) runPasses(r.graph, pipelineFor(target, "eval"), { mode: "eval" });
      return r.graph;
    };
    assertSameBytes(build(), {}, file);
    if (!WITH_PASSES.has(file)) continue;
    for (const t of TARGETS) assertSameBytes(build(t), { opset: 21 }, `${file} --target ${t}`);
  }
});

register({
  op: "WireAttrs",
  domain: "dlm.test",
  since: 2,
  inputs: [{ name: "x" }],
  outputs: [{ name: "y" }],
  attrs: {
    i: { type: "int" },
    j: { type: "int" },
    k: { type: "int" },
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

/** A graph with every attribute kind and the wire format's corners. */
function corners(): Graph {
  const sub = new GraphBuilder("body ünïcode");
  const si = sub.input("a", { dtype: "i64", shape: [2] });
  const k = sub.initializer("k", tensor("i64", [2], [-1, 2]));
  const [so] = sub.addNode("Add", [si, k], {}, { name: "" });
  sub.output(so, "out");

  const b = new GraphBuilder("corners");
  const x = b.input("x", { dtype: "f32", shape: ["N", 0, 3] });
  b.initializer("words", { dtype: "str", shape: [3], data: ["", "ü", "😀 emoji"] });
  b.initializer("empty", tensor("f32", [0], []));
  b.initializer("scalar", tensor("f64", [], [-0.5]));
  const long = "x".repeat(20_000); // a length of three varint bytes
  const [y] = b.addNode("WireAttrs", [x], {
    i: 2 ** 63, // saturates to INT64_MAX
    j: -(2 ** 64), // saturates to INT64_MIN
    k: -300,
    f: Number.NaN,
    s: "héllo \u{1F600}",
    is: [-1, 0, 127, 128, 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER],
    fs: [1.5, -0, Infinity, 1e-45, 3.4e38],
    ss: ["a", "", "é".repeat(100)],
    t: tensor("i32", [2], [7, -8]),
    g: sub.graph,
  }, { domain: "dlm.test", name: "n".repeat(200), spans: [] });
  const [z] = b.addNode("Relu", [y], {}, {
    name: "relu",
    spans: [{ file: long, line: 1, col: 1, endLine: 1, endCol: 2 }],
  });
  b.output(z, "z");
  b.graph.packs = [];
  return b.graph;
}

Deno.test("the corners of the wire format encode as protobufjs encodes them", () => {
  assertSameBytes(corners(), {}, "corners");
  assertSameBytes(corners(), { docString: "a model ✓", opset: 19 }, "corners, opset 19");
});

Deno.test("external data and lazy weights encode as protobufjs encodes them", () => {
  const g = (() => {
    const b = new GraphBuilder("ext");
    const x = b.input("x", { dtype: "f32", shape: ["N", 64] });
    const spec = { kind: "normal", mean: 0, std: 1 } as const;
    const w = b.initializer("w", lazyInitTensor(spec, [64, 300], "w", 1));
    const s = b.initializer("small", tensor("f32", [300], new Array(300).fill(2)));
    const [h] = b.addNode("MatMul", [x, w]);
    const [y] = b.addNode("Mul", [h, s]);
    b.output(y, "y");
    b.graph.packs = [{ name: "p", dtype: "f32", size: 0, members: [] }];
    return b.graph;
  })();
  assertSameBytes(g, {}, "inline");
  assertSameBytes(g, { externalData: { location: "m.onnx.data", threshold: 0 } }, "external");
});

Deno.test("a tensor message with each field, and a negative data type, matches protobufjs", () => {
  const m = {
    dims: [2, -3, { low: 0, high: -2147483648, unsigned: false }],
    dataType: -7,
    name: "",
    rawData: new Uint8Array(300).fill(9),
    docString: "d",
    externalData: [{ key: "location", value: "f" }, { key: "offset" }],
    dataLocation: 0,
  };
  assert.deepEqual(encode(writeTensor, m), plain(onnx.TensorProto.encode(m).finish()));
});
