import assert from "node:assert/strict";
import { decodeModel, decodeTensorFile } from "./decode.ts";
import { onnx } from "./proto.ts";
import { toTensorProto } from "./tensor_proto.ts";
import { DlmError } from "../diagnostics.ts";
import { tensor } from "../ir/tensor.ts";
import type { Graph, Node } from "../ir/graph.ts";

const enc = new TextEncoder();

function valueInfo(name: string, elemType: number, dims: (number | string | null)[]) {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) =>
            d === null ? {} : typeof d === "number" ? { dimValue: d } : { dimParam: d }
          ),
        },
      },
    },
  };
}

function modelBytes(graph: unknown, opsetImport = [{ domain: "", version: 17 }]): Uint8Array {
  const m = onnx.ModelProto.create({ irVersion: 8, opsetImport, graph });
  return onnx.ModelProto.encode(m).finish();
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof DlmError, `expected a DlmError, got ${e}`);
    return e.diagnostics[0].code;
  }
  assert.fail("expected an error");
}

const sample = {
  name: "g",
  input: [valueInfo("x", 1, ["N", 3, null]), valueInfo("w", 1, [3])],
  output: [valueInfo("y", 1, ["N", 3, null])],
  valueInfo: [valueInfo("t", 1, ["N", 3, null])],
  initializer: [toTensorProto(tensor("f32", [3], [1, 2, 3]), "w")],
  node: [
    {
      opType: "Mul",
      input: ["x", "w"],
      output: ["t"],
      attribute: [
        { name: "f", type: 1, f: 0.5 },
        { name: "i", type: 2, i: 7 },
        { name: "s", type: 3, s: enc.encode("héllo") },
        { name: "t", type: 4, t: toTensorProto(tensor("i64", [2], [4, 5])) },
        { name: "fs", type: 6, floats: [1.5, 2.5] },
        { name: "is", type: 7, ints: [1, -2] },
        { name: "ss", type: 8, strings: [enc.encode("a"), enc.encode("b")] },
      ],
    },
    {
      name: "branch",
      opType: "If",
      domain: "ai.onnx",
      input: ["c"],
      output: ["y"],
      attribute: [{
        name: "then_branch",
        type: 5,
        g: {
          name: "then",
          node: [{ opType: "Identity", input: ["t"], output: ["o"] }],
          output: [valueInfo("o", 1, ["N", 3, null])],
        },
      }],
    },
  ],
};

Deno.test("decodeModel() reads inputs, outputs, symbolic and unknown dims", () => {
  const { graph, opset, opsets } = decodeModel(modelBytes(sample));
  assert.equal(opset, 17);
  assert.deepEqual(opsets, { "": 17 });
  // 'w' has an initializer, so it is a constant, not a graph input.
  assert.deepEqual(graph.inputs.map((v) => v.name), ["x"]);
  const [n, three, unknown] = graph.inputs[0].type.shape;
  assert.equal(n, "N");
  assert.equal(three, 3);
  assert.ok(typeof unknown === "string" && unknown.startsWith("?"));
  assert.deepEqual(graph.outputs[0].type.dtype, "f32");
  assert.ok(graph.types.has("t"));
  assert.deepEqual(graph.types.get("w"), { dtype: "f32", shape: [3] });
  assert.deepEqual(Array.from(graph.initializers.get("w")!.data as Float32Array), [1, 2, 3]);
});

Deno.test("decodeModel() converts every attribute type to a plain value", () => {
  const { graph } = decodeModel(modelBytes(sample));
  const a = graph.nodes[0].attrs;
  assert.equal(a.f, 0.5);
  assert.equal(a.i, 7);
  assert.equal(a.s, "héllo");
  assert.deepEqual((a.t as { data: BigInt64Array }).data, new BigInt64Array([4n, 5n]));
  assert.deepEqual(a.fs, [1.5, 2.5]);
  assert.deepEqual(a.is, [1, -2]);
  assert.deepEqual(a.ss, ["a", "b"]);
});

Deno.test("decodeModel() names unnamed nodes and decodes subgraphs recursively", () => {
  const { graph } = decodeModel(modelBytes(sample));
  assert.equal(graph.nodes[0].name, "Mul_0");
  const ifNode: Node = graph.nodes[1];
  assert.equal(ifNode.name, "branch");
  // "ai.onnx" is the default domain: no domain is recorded.
  assert.equal(ifNode.domain, undefined);
  const sub = ifNode.attrs.then_branch as Graph;
  assert.equal(sub.nodes[0].op, "Identity");
  assert.equal(sub.nodes[0].name, "Identity_0");
  assert.deepEqual(sub.outputs.map((o) => o.name), ["o"]);
});

Deno.test("decodeModel() records non-default operator sets by domain", () => {
  const bytes = modelBytes(sample, [
    { domain: "ai.onnx", version: 13 },
    { domain: "ai.onnx.preview.training", version: 1 },
  ]);
  const { opset, opsets } = decodeModel(bytes);
  assert.equal(opset, 13);
  assert.deepEqual(opsets, { "": 13, "ai.onnx.preview.training": 1 });
});

Deno.test("decodeModel() rejects truncated bytes with DLM0405", () => {
  const bytes = modelBytes(sample);
  assert.equal(codeOf(() => decodeModel(bytes.subarray(0, bytes.length - 7))), "DLM0405");
});

Deno.test("decodeModel() rejects a model without a graph with DLM0405", () => {
  const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8 })).finish();
  assert.equal(codeOf(() => decodeModel(bytes)), "DLM0405");
});

Deno.test("decodeModel() rejects sequence-typed graph inputs with a clear message", () => {
  const g = {
    name: "g",
    input: [{ name: "s", type: { sequenceType: { elemType: { tensorType: { elemType: 1 } } } } }],
    output: [valueInfo("s", 1, [])],
  };
  try {
    decodeModel(modelBytes(g));
    assert.fail("expected an error");
  } catch (e) {
    assert.ok(e instanceof DlmError);
    assert.match(e.message, /DLM0414: Value 's' has a sequence type, which dlm does not support/);
  }
});

Deno.test("decodeModel() rejects garbage that is not protobuf with DLM0405", () => {
  assert.equal(codeOf(() => decodeModel(new Uint8Array([0xff, 0xff, 0xff, 0xff]))), "DLM0405");
});

Deno.test("decodeTensorFile() reads a serialized TensorProto", () => {
  const bytes = onnx.TensorProto.encode(toTensorProto(tensor("i32", [2, 2], [1, -2, 3, 4])))
    .finish();
  const t = decodeTensorFile(bytes);
  assert.equal(t.dtype, "i32");
  assert.deepEqual(t.shape, [2, 2]);
  assert.deepEqual(Array.from(t.data as Int32Array), [1, -2, 3, 4]);
});

Deno.test("decodeTensorFile() rejects truncated bytes with DLM0405", () => {
  const bytes = onnx.TensorProto.encode(toTensorProto(tensor("f32", [4], [1, 2, 3, 4]))).finish();
  assert.equal(codeOf(() => decodeTensorFile(bytes.subarray(0, bytes.length - 3))), "DLM0405");
});
