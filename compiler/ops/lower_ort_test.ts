/**
 * The lowered forms are valid ONNX: a graph of every op with a lowering is
 * built at each supported opset and run in onnxruntime-node, which must
 * give the same shapes and values at every opset.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import type { Node } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { onnx } from "../onnx/proto.ts";
import { toTensorProto } from "../onnx/tensor_proto.ts";
import { getOp, lowerNode, SUPPORTED_OPSETS } from "./mod.ts";

const IR: Node[] = [
  { name: "r1", op: "ReduceMean", inputs: ["x"], outputs: ["m"], attrs: { axes: [2, 3] } },
  {
    name: "r2",
    op: "ReduceMax",
    inputs: ["x"],
    outputs: ["mx"],
    attrs: { axes: [1], keepdims: 0 },
  },
  { name: "r3", op: "ReduceL2", inputs: ["x"], outputs: ["l2"], attrs: {} },
  { name: "r4", op: "ReduceSumSquare", inputs: ["x"], outputs: ["ss"], attrs: { axes: [-1] } },
  {
    name: "r5",
    op: "ReduceMin",
    inputs: ["x"],
    outputs: ["mn"],
    attrs: { axes: [0, 1], keepdims: 0 },
  },
  { name: "s", op: "Split", inputs: ["x"], outputs: ["a", "b"], attrs: { axis: 1 } },
];
const OUTPUTS = IR.flatMap((n) => n.outputs);
/** AttributeProto type codes of the attribute types used above. */
const CODE = { int: 2, ints: 7, tensor: 4 } as const;

function modelBytes(opset: number): Uint8Array {
  const node = IR.flatMap((n) => lowerNode(n, opset)).map((n) =>
    onnx.NodeProto.create({
      name: n.name,
      opType: n.op,
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attrs).map(([name, v]) => {
        const type = getOp(n.op)!.attrs[name].type as keyof typeof CODE;
        const a: Record<string, unknown> = { name, type: CODE[type] };
        if (type === "int") a.i = v;
        else if (type === "ints") a.ints = v;
        else a.t = toTensorProto(v as Tensor);
        return onnx.AttributeProto.create(a);
      }),
    })
  );
  const shape = { dim: [2, 4, 3, 5].map((d) => ({ dimValue: d })) };
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: opset }],
    graph: {
      name: "lowered",
      node,
      input: [{ name: "x", type: { tensorType: { elemType: 1, shape } } }],
      output: OUTPUTS.map((name) => ({ name, type: { tensorType: { elemType: 1 } } })),
    },
  })).finish();
}

Deno.test("lowered nodes run in onnxruntime with the same results at every supported opset", async () => {
  const x = new ort.Tensor("float32", Float32Array.from({ length: 120 }, (_, i) => i), [
    2,
    4,
    3,
    5,
  ]);
  const results: string[] = [];
  for (const opset of SUPPORTED_OPSETS) {
    const session = await ort.InferenceSession.create(modelBytes(opset));
    const out = await session.run({ x });
    results.push(
      OUTPUTS.map((n) => `${n}[${out[n].dims}]=${[...(out[n].data as Float32Array)]}`).join(" "),
    );
    await session.release();
  }
  assert.ok(results[0].startsWith("m[2,4,1,1]=7,22,37,52,"), results[0]);
  for (const r of results) assert.equal(r, results[0]);
});
