import assert from "node:assert/strict";
import { printOnnx } from "./print.ts";
import { emitModel } from "./emit.ts";
import { onnx } from "./proto.ts";
import { toTensorProto } from "./tensor_proto.ts";
import { DlmError } from "../diagnostics.ts";
import { emptyGraph, type Graph, type Span } from "../ir/graph.ts";
import { printGraph } from "../ops/print_graph.ts";
import { tensor, zeros } from "../ir/tensor.ts";

const span = (line: number, col: number): Span => ({
  file: "m.dlm",
  line,
  col,
  endLine: line,
  endCol: col + 4,
});

/** x -> Conv -> BatchNormalization -> Relu, with spans, as the elaborator builds it. */
function sample(): Graph {
  const g = emptyGraph("Net");
  g.inputs.push({ name: "x", type: { dtype: "f32", shape: ["N", 3, 8, 8] } });
  g.outputs.push({ name: "y", type: { dtype: "f32", shape: ["N", 4, 8, 8] } });
  g.spans!.set("x", span(2, 3));
  g.spans!.set("y", span(3, 3));
  g.initializers.set("w", zeros("f32", [4, 3, 3, 3]));
  g.initializers.set("s", tensor("f32", [4], [1, 1, 1, 1]));
  g.initializers.set("b", tensor("f32", [4], [0, 0, 0, 0]));
  g.params.push({ name: "w", role: "weight", trainable: true });
  const t = (shape: (number | string)[]) => ({ dtype: "f32" as const, shape });
  g.nodes.push({
    name: "conv",
    op: "Conv",
    inputs: ["x", "w"],
    outputs: ["conv"],
    attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] },
    spans: [span(4, 7)],
  });
  g.nodes.push({
    name: "bn",
    op: "BatchNormalization",
    inputs: ["conv", "s", "b", "b", "s"],
    outputs: ["bn"],
    attrs: { epsilon: 1e-5, momentum: 0.9 },
    spans: [span(5, 7)],
  });
  g.nodes.push({
    name: "relu",
    op: "Relu",
    inputs: ["bn"],
    outputs: ["y"],
    attrs: {},
    spans: [span(6, 7)],
  });
  for (const v of ["w", "s", "b"]) {
    g.types.set(v, { dtype: "f32", shape: [...g.initializers.get(v)!.shape] });
  }
  g.types.set("x", t(["N", 3, 8, 8]));
  g.types.set("conv", t(["N", 4, 8, 8]));
  g.types.set("bn", t(["N", 4, 8, 8]));
  g.types.set("y", t(["N", 4, 8, 8]));
  return g;
}

function modelBytes(model: Record<string, unknown>): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

function valueInfo(
  name: string,
  elemType: number,
  dims: (number | string | null)[] | null,
  docString = "",
) {
  const shape = dims === null ? undefined : {
    dim: dims.map((d) =>
      d === null ? {} : typeof d === "number" ? { dimValue: d } : { dimParam: d }
    ),
  };
  return { name, docString, type: { tensorType: { elemType, shape } } };
}

Deno.test("printOnnx() prints an emitted model with its header, and its nodes as printGraph does", () => {
  const g = sample();
  const text = printOnnx(emitModel(g).model);
  assert.equal(
    text,
    [
      "onnx ir_version 8",
      "opset_import ai.onnx 17",
      "producer dlm 0.1.0",
      "graph Net  # 3 nodes, 3 initializers (116 elements)",
      "  input %x: f32[N, 3, 8, 8]  # m.dlm:2:3",
      "  output %y: f32[N, 4, 8, 8]  # m.dlm:3:3",
      "  const %w: f32[4, 3, 3, 3]",
      "  const %s: f32[4] = [1.0, 1.0, 1.0, 1.0]",
      "  const %b: f32[4] = [0.0, 0.0, 0.0, 0.0]",
      "  %conv = Conv[kernel_shape=[3, 3], pads=[1, 1, 1, 1]](%x, %w)  : f32[N, 4, 8, 8]  # m.dlm:4:7",
      "  %bn = BatchNormalization[epsilon=1e-05, momentum=0.9](%conv, %s, %b, %b, %s)  : f32[N, 4, 8, 8]  # m.dlm:5:7",
      "  %y = Relu(%bn)  : f32[N, 4, 8, 8]  # relu at m.dlm:6:7",
      "",
    ].join("\n"),
  );
  // The node lines are those of the IR listing: the two forms diff cleanly.
  const nodeLines = (s: string) => s.split("\n").filter((l) => l.startsWith("  %"));
  assert.deepEqual(nodeLines(text), nodeLines(printGraph(g)));
});

Deno.test("printOnnx() is deterministic", () => {
  const bytes = emitModel(sample()).model;
  assert.equal(printOnnx(bytes), printOnnx(bytes));
  assert.equal(printOnnx(emitModel(sample()).model), printOnnx(bytes));
});

Deno.test("printOnnx() prints what only the file has: metadata, old-style weight inputs, unknown dims, external data", () => {
  const bytes = modelBytes({
    irVersion: 7,
    opsetImport: [{ domain: "", version: 13 }, { domain: "com.microsoft", version: 1 }],
    producerName: "pytorch",
    producerVersion: "2.1",
    docString: "a test model",
    metadataProps: [{ key: "author", value: "me" }],
    graph: {
      name: "main",
      input: [
        valueInfo("x", 1, [null, "T"]),
        valueInfo("w", 1, [2, 2]),
        valueInfo("big", 1, [1024]),
      ],
      output: [valueInfo("y", 1, null, "the result")],
      initializer: [
        toTensorProto(tensor("f32", [2, 2], [1, 0, 0, 1]), "w"),
        {
          name: "big",
          dims: [1024],
          dataType: 1,
          dataLocation: 1,
          externalData: [{ key: "location", value: "weights.bin" }, {
            key: "offset",
            value: "4096",
          }],
        },
      ],
      node: [
        { name: "mm", opType: "MatMul", input: ["x", "w"], output: ["y"], docString: "from torch" },
        {
          opType: "FusedGelu",
          domain: "com.microsoft",
          input: ["y"],
          output: ["z"],
          attribute: [{ name: "alpha", type: 1, f: 1 }, { name: "n", type: 2, i: 1 }],
        },
      ],
    },
  });
  assert.equal(
    printOnnx(bytes),
    [
      "onnx ir_version 7",
      "opset_import ai.onnx 13",
      "opset_import com.microsoft 1",
      "producer pytorch 2.1",
      'doc_string "a test model"',
      'metadata "author" = "me"',
      "graph main  # 2 nodes, 2 initializers (1028 elements)",
      "  input %x: f32[?, T]",
      "  input %w: f32[2, 2]",
      "  input %big: f32[1024]",
      "  output %y: f32[...]  # the result",
      "  const %w: f32[2, 2] = [1.0, 0.0, 0.0, 1.0]  also a graph input",
      '  const %big: f32[1024]  also a graph input, external data in "weights.bin" at offset 4096',
      "  %y = MatMul(%x, %w)  : f32[...]  # mm at from torch",
      "  %z = com.microsoft::FusedGelu[alpha=1.0, n=1](%y)  : ?",
      "",
    ].join("\n"),
  );
});

Deno.test("printOnnx() prints If branches indented under their node", () => {
  const branch = (name: string, v: number) => ({
    name,
    output: [valueInfo(`${name}_out`, 1, [1])],
    node: [{
      opType: "Constant",
      output: [`${name}_out`],
      attribute: [{ name: "value", type: 4, t: toTensorProto(tensor("f32", [1], [v])) }],
    }],
  });
  const bytes = modelBytes({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "g",
      input: [valueInfo("c", 9, [])],
      output: [valueInfo("y", 1, [1])],
      node: [{
        opType: "If",
        input: ["c"],
        output: ["y"],
        attribute: [
          { name: "then_branch", type: 5, g: branch("then", 1) },
          { name: "else_branch", type: 5, g: branch("else", 2) },
        ],
      }],
    },
  });
  assert.equal(
    printOnnx(bytes),
    [
      "onnx ir_version 8",
      "opset_import ai.onnx 17",
      "graph g  # 1 node, 0 initializers (0 elements)",
      "  input %c: bool[]",
      "  output %y: f32[1]",
      "  %y = If[else_branch=graph else, then_branch=graph then](%c)  : f32[1]",
      "    graph else  # 1 node, 0 initializers (0 elements)",
      "      output %else_out: f32[1]",
      "      %else_out = Constant[value=f32[1] [2.0]]()  : f32[1]",
      "    graph then  # 1 node, 0 initializers (0 elements)",
      "      output %then_out: f32[1]",
      "      %then_out = Constant[value=f32[1] [1.0]]()  : f32[1]",
      "",
    ].join("\n"),
  );
});

Deno.test("printOnnx() says what an attribute of a kind dlm has no value for is, rather than failing", () => {
  const bytes = modelBytes({
    irVersion: 8,
    graph: {
      name: "g",
      node: [{
        opType: "Loop",
        output: ["y"],
        attribute: [{ name: "ts", type: 13, tp: { tensorType: { elemType: 1 } } }],
      }],
    },
  });
  assert.match(printOnnx(bytes), /%y = Loop\[ts="<type_proto>"\]\(\)/);
});

Deno.test("printOnnx() rejects bytes that are not an ONNX model with DLM0405", () => {
  for (const bytes of [new Uint8Array([0x0a, 0xff, 0xff, 0xff]), modelBytes({ irVersion: 8 })]) {
    assert.throws(
      () => printOnnx(bytes),
      (e) => e instanceof DlmError && e.diagnostics[0].code === "DLM0405",
    );
  }
});
