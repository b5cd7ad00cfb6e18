import assert from "node:assert/strict";
import type { Node } from "../ir/graph.ts";
import { lowerNode, SUPPORTED_OPSETS } from "./mod.ts";

const reduceMean: Node = {
  name: "gap",
  op: "ReduceMean",
  inputs: ["x"],
  outputs: ["y"],
  attrs: { axes: [2, 3], keepdims: 1 },
};

Deno.test("the emitter's opsets are 17 to 21", () => {
  assert.deepEqual(SUPPORTED_OPSETS, [17, 18, 19, 20, 21]);
});

Deno.test("ReduceMean keeps its axes attribute at opset 17", () => {
  assert.deepEqual(lowerNode(reduceMean, 17), [reduceMean]);
});

Deno.test("ReduceMean takes its axes from a Constant node from opset 18", () => {
  for (const opset of [18, 21]) {
    const [constant, reduce] = lowerNode(reduceMean, opset);
    assert.equal(constant.op, "Constant");
    assert.deepEqual(constant.outputs, ["y_axes"]);
    const value = constant.attrs.value as { dtype: string; shape: number[]; data: BigInt64Array };
    assert.equal(value.dtype, "i64");
    assert.deepEqual([...value.data], [2n, 3n]);
    assert.deepEqual(reduce, { ...reduceMean, inputs: ["x", "y_axes"], attrs: { keepdims: 1 } });
  }
});

Deno.test("a Reduce op without axes needs no Constant at opset 18", () => {
  const node: Node = {
    name: "m",
    op: "ReduceMax",
    inputs: ["x"],
    outputs: ["y"],
    attrs: { keepdims: 0 },
  };
  assert.deepEqual(lowerNode(node, 18), [node]);
});

Deno.test("ReduceSum already takes axes as an input and is not rewritten", () => {
  const node: Node = {
    name: "s",
    op: "ReduceSum",
    inputs: ["x", "axes"],
    outputs: ["y"],
    attrs: {},
  };
  assert.deepEqual(lowerNode(node, 21), [node]);
});

Deno.test("Split into equal parts gains num_outputs from opset 18", () => {
  const node: Node = {
    name: "sp",
    op: "Split",
    inputs: ["x"],
    outputs: ["a", "b", "c"],
    attrs: { axis: 1 },
  };
  assert.deepEqual(lowerNode(node, 17), [node]);
  assert.deepEqual(lowerNode(node, 18), [{ ...node, attrs: { axis: 1, num_outputs: 3 } }]);
  const sized: Node = { ...node, inputs: ["x", "sizes"] };
  assert.deepEqual(lowerNode(sized, 18), [sized]);
});

Deno.test("Split drops an IR num_outputs below opset 18", () => {
  const node: Node = {
    name: "sp",
    op: "Split",
    inputs: ["x"],
    outputs: ["a", "b"],
    attrs: { num_outputs: 2 },
  };
  assert.deepEqual(lowerNode(node, 17), [{ ...node, attrs: {} }]);
  assert.deepEqual(lowerNode(node, 19), [node]);
});

Deno.test("ops whose signature did not change are emitted as they are", () => {
  const conv: Node = {
    name: "c",
    op: "Conv",
    inputs: ["x", "w"],
    outputs: ["y"],
    attrs: { pads: [1, 1, 1, 1] },
  };
  for (const opset of SUPPORTED_OPSETS) assert.deepEqual(lowerNode(conv, opset), [conv]);
});

Deno.test("lowerNode rejects an opset outside 17 to 21", () => {
  assert.throws(() => lowerNode(reduceMean, 16), {
    message: "Opset 16 is not supported: expected 17 to 21",
  });
});
