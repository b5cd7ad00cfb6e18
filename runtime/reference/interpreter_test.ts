import assert from "node:assert/strict";
import { runGraph, runOp } from "./interpreter.ts";
import { runModelBytes } from "./model_bytes.ts";
import { emptyGraph, type Graph, type Node } from "../../compiler/ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../../compiler/ir/tensor.ts";
import { DlmError } from "../../compiler/diagnostics.ts";
import { onnx } from "../../compiler/onnx/proto.ts";

function node(op: string, inputs: string[], outputs: string[], attrs: Node["attrs"] = {}): Node {
  return { name: `${op}_${outputs[0]}`, op, inputs, outputs, attrs };
}

/** y = relu(x + b), with b an initializer. */
function smallGraph(): Graph {
  const g = emptyGraph("small");
  g.inputs.push({ name: "x", type: { dtype: "f32", shape: ["N", 2] } });
  g.outputs.push({ name: "y", type: { dtype: "f32", shape: ["N", 2] } });
  g.initializers.set("b", tensor("f32", [2], [1, -1]));
  g.nodes.push(node("Add", ["x", "b"], ["s"]), node("Relu", ["s"], ["y"]));
  return g;
}

function diagnosticOf(f: () => unknown): DlmError["diagnostics"][0] {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof DlmError, `expected a DlmError, got ${e}`);
    return e.diagnostics[0];
  }
  assert.fail("expected an error");
}

const x = tensor("f32", [1, 2], [0.5, 0.5]);

Deno.test("runGraph() runs nodes in order and returns the outputs", () => {
  const { outputs, values } = runGraph(smallGraph(), { x });
  assert.deepEqual(toNumbers(outputs.y), [1.5, 0]);
  assert.equal(values, undefined);
});

Deno.test("runGraph() keeps every value with intermediates and reports each one", () => {
  const seen: string[] = [];
  const { values } = runGraph(smallGraph(), { x }, {
    intermediates: true,
    onValue: (name) => seen.push(name),
  });
  assert.deepEqual(seen, ["s", "y"]);
  assert.deepEqual(toNumbers(values!.get("s")!), [1.5, -0.5]);
  assert.ok(values!.has("x"));
});

Deno.test("runGraph() with given values runs each node on them in place of its own", () => {
  // s = x + b is given as [10, -10]: Relu runs on that, not on the sum it computed.
  const seen: Record<string, number[]> = {};
  const r = runGraph(smallGraph(), { x: tensor("f32", [1, 2], [1, 2]) }, {
    given: (name) => (name === "s" ? tensor("f32", [1, 2], [10, -10]) : undefined),
    onValue: (name, t) => (seen[name] = toNumbers(t)),
  });
  assert.deepEqual(seen.s, [2, 1]); // the node's own output is still reported
  assert.deepEqual(toNumbers(r.outputs.y), [10, 0]);
});

Deno.test("runGraph() rejects a missing feed with DLM0419", () => {
  const d = diagnosticOf(() => runGraph(smallGraph(), {}));
  assert.equal(d.code, "DLM0419");
  assert.match(d.message, /Missing input 'x' of type f32\[N, 2\]/);
});

Deno.test("runGraph() rejects a feed of the wrong dtype or shape with DLM0411", () => {
  const d1 = diagnosticOf(() => runGraph(smallGraph(), { x: tensor("f64", [1, 2], [0, 0]) }));
  assert.equal(d1.code, "DLM0411");
  assert.match(d1.message, /Input 'x' expects f32\[N, 2\], found f64\[1, 2\]/);
  const d2 = diagnosticOf(() => runGraph(smallGraph(), { x: tensor("f32", [2], [0, 0]) }));
  assert.equal(d2.code, "DLM0411");
});

Deno.test("runGraph() rejects an unknown operator with DLM0410 naming the node", () => {
  const g = smallGraph();
  g.nodes[1] = node("FancyOp", ["s"], ["y"]);
  const d = diagnosticOf(() => runGraph(g, { x }));
  assert.equal(d.code, "DLM0410");
  assert.equal(
    d.message,
    "Operator 'FancyOp' is not implemented by the reference interpreter (node 'FancyOp_y')",
  );
});

Deno.test("runGraph() reports a kernel failure as DLM0602 with the node, op and span", () => {
  const g = smallGraph();
  const span = { file: "m.dlm", line: 3, col: 5, endLine: 3, endCol: 9 };
  g.nodes[0] = { ...node("Reshape", ["x", "shape"], ["s"]), spans: [span] };
  g.initializers.set("shape", tensor("i64", [1], [3]));
  const d = diagnosticOf(() => runGraph(g, { x }));
  assert.equal(d.code, "DLM0602");
  assert.match(
    d.message,
    /^The reference interpreter failed to run node 'Reshape_s' \(Reshape\): Cannot reshape/,
  );
  assert.deepEqual(d.span, span);
});

Deno.test("runGraph() lets subgraphs read values of the enclosing graph", () => {
  const g = emptyGraph("outer");
  g.inputs.push({ name: "c", type: { dtype: "bool", shape: [] } });
  g.outputs.push({ name: "y", type: { dtype: "f32", shape: [2] } });
  g.initializers.set("a", tensor("f32", [2], [1, 2]));
  const branch = (op: string): Graph => {
    const b = emptyGraph(op);
    b.nodes.push(node(op, ["a"], ["r"]));
    b.outputs.push({ name: "r", type: { dtype: "f32", shape: [2] } });
    return b;
  };
  g.nodes.push(
    node("If", ["c"], ["y"], { then_branch: branch("Neg"), else_branch: branch("Identity") }),
  );
  const yes = { dtype: "bool", shape: [], data: new Uint8Array([1]) } as Tensor;
  assert.deepEqual(toNumbers(runGraph(g, { c: yes }).outputs.y), [-1, -2]);
});

Deno.test("runModelBytes() decodes an ONNX model and runs it at its opset", () => {
  const vi = (name: string) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }] } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 12 }],
    graph: {
      name: "g",
      input: [vi("x")],
      output: [vi("y")],
      // Softmax before opset 13 flattens from axis 1; on a 1-D input that is the whole vector.
      node: [{
        opType: "Softmax",
        input: ["x"],
        output: ["y"],
        attribute: [
          { name: "axis", type: 2, i: 0 },
        ],
      }],
    },
  });
  const bytes = onnx.ModelProto.encode(model).finish();
  const { outputs } = runModelBytes(bytes, { x: tensor("f32", [4], [0, 0, 0, 0]) });
  assert.deepEqual(toNumbers(outputs.y), [0.25, 0.25, 0.25, 0.25]);
});

Deno.test("runOp() evaluates one operator outside a graph", () => {
  const [a, b] = runOp("Split", [tensor("f32", [4], [1, 2, 3, 4])], { axis: 0 }, { outputs: 2 });
  assert.deepEqual(toNumbers(a), [1, 2]);
  assert.deepEqual(toNumbers(b), [3, 4]);
});
