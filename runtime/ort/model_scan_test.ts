import assert from "node:assert/strict";
import { onnx } from "../../compiler/onnx/proto.ts";
import { scanModel } from "./model_scan.ts";

const vi = (name: string) => ({
  name,
  type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } },
});

function encode(m: Record<string, unknown>): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    ...m,
  })).finish();
}

/** A chain of n Relu nodes. */
function chain(n: number, prefix = "") {
  return Array.from({ length: n }, (_, i) => ({
    opType: "Relu",
    input: [i === 0 ? `${prefix}x` : `${prefix}v${i - 1}`],
    output: [i === n - 1 ? `${prefix}y` : `${prefix}v${i}`],
  }));
}

Deno.test("scanModel() counts the nodes of the main graph", () => {
  const bytes = encode({
    graph: { name: "g", node: chain(7), input: [vi("x")], output: [vi("y")] },
  });
  assert.deepEqual(scanModel(bytes), { nodes: 7, externalData: false });
});

Deno.test("scanModel() counts the nodes of subgraphs (a Scan's body, an If's branches) and local functions", () => {
  const body = { name: "body", node: chain(5, "b"), input: [vi("bx")], output: [vi("by")] };
  const bytes = encode({
    graph: {
      name: "g",
      node: [
        {
          opType: "Scan",
          input: ["x"],
          output: ["y"],
          attribute: [{ name: "body", type: 5, g: body }],
        },
        {
          opType: "If",
          input: ["c"],
          output: ["z"],
          attribute: [
            { name: "then_branch", type: 5, g: { ...body, node: chain(2, "t") } },
            { name: "else_branch", type: 5, g: { ...body, node: chain(3, "e") } },
          ],
        },
      ],
      input: [vi("x")],
      output: [vi("y")],
    },
    functions: [{ name: "f", domain: "local", node: chain(4, "f") }],
  });
  // 2 top-level, 5 in the Scan body, 2 + 3 in the branches, 4 in the function.
  assert.equal(scanModel(bytes)?.nodes, 16);
});

Deno.test("scanModel() notes an initializer stored in an external data file", () => {
  const inline = { name: "w", dims: [2], dataType: 1, rawData: new Uint8Array(8) };
  const external = {
    name: "w",
    dims: [2],
    dataType: 1,
    dataLocation: 1,
    externalData: [{ key: "location", value: "w.bin" }],
  };
  const g = (init: unknown) => ({
    graph: { name: "g", node: chain(1), initializer: [init], input: [vi("x")], output: [vi("y")] },
  });
  assert.equal(scanModel(encode(g(inline)))?.externalData, false);
  assert.equal(scanModel(encode(g(external)))?.externalData, true);
  // A Constant node's tensor attribute counts too.
  const constant = encode({
    graph: {
      name: "g",
      node: [{
        opType: "Constant",
        output: ["y"],
        attribute: [{ name: "value", type: 4, t: external }],
      }],
      output: [vi("y")],
    },
  });
  assert.deepEqual(scanModel(constant), { nodes: 1, externalData: true });
});

Deno.test("scanModel() skips weights by their length: a model of large initializers scans in milliseconds", () => {
  const big = { name: "w", dims: [4_000_000], dataType: 1, rawData: new Uint8Array(16_000_000) };
  const bytes = encode({
    graph: { name: "g", node: chain(3), initializer: [big], input: [vi("x")], output: [vi("y")] },
  });
  const t0 = performance.now();
  assert.deepEqual(scanModel(bytes), { nodes: 3, externalData: false });
  assert.ok(performance.now() - t0 < 500);
});

Deno.test("scanModel() gives undefined for bytes that are not a protobuf message", () => {
  assert.equal(scanModel(new TextEncoder().encode("not a model at all")), undefined);
  const good = encode({
    graph: { name: "g", node: chain(3), input: [vi("x")], output: [vi("y")] },
  });
  // Cut inside the graph: a length runs past the end.
  assert.equal(scanModel(good.subarray(0, good.length - 5)), undefined);
});
