import assert from "node:assert/strict";
import { onnx } from "../compiler/onnx/proto.ts";
import { formatOpComparison, onnxStats } from "./onnx_stats.ts";

/** y = Relu(Relu(x + w)) with a custom-domain node, built with onnx-proto directly. */
function model(): Uint8Array {
  const m = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }, { domain: "com.example", version: 1 }],
    graph: {
      name: "g",
      node: [
        { opType: "Add", input: ["x", "w"], output: ["a"] },
        { opType: "Relu", input: ["a"], output: ["b"] },
        { opType: "Relu", input: ["b"], output: ["c"] },
        { opType: "Fancy", domain: "com.example", input: ["c"], output: ["y"] },
      ],
      initializer: [{ name: "w", dataType: 1, dims: [2, 3], floatData: [1, 2, 3, 4, 5, 6] }],
    },
  });
  return onnx.ModelProto.encode(m).finish();
}

Deno.test("onnxStats() counts nodes, operators by domain, initializers and their elements", () => {
  assert.deepEqual(onnxStats(model()), {
    nodes: 4,
    ops: { Relu: 2, Add: 1, "com.example::Fancy": 1 },
    initializers: 1,
    initializerElements: 6,
    opset: 17,
  });
});

Deno.test("formatOpComparison() lists every operator of either model with a zero where one lacks it", () => {
  const a = onnxStats(model());
  const b = { nodes: 3, ops: { Relu: 3 }, initializers: 0, initializerElements: 0 };
  const lines = formatOpComparison({ dlm: a, torch: b }).split("\n");
  assert.deepEqual(lines[0].split(/\s+/), ["op", "dlm", "torch"]);
  assert.deepEqual(lines[2].split(/\s+/), ["Relu", "2", "3"]);
  assert.ok(lines.some((l) => l.split(/\s+/).join(" ") === "com.example::Fancy 1 0"));
  assert.deepEqual(lines.at(-2)!.split(/\s+/), ["(nodes)", "4", "3"]);
});
