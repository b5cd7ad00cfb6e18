import assert from "node:assert/strict";
import { DlmError } from "../../compiler/diagnostics.ts";
import {
  type DType,
  DTYPES,
  f32ToF16,
  type Tensor,
  tensor,
  toNumbers,
} from "../../compiler/ir/tensor.ts";
import { onnx } from "../../compiler/onnx/proto.ts";
import { createSession, ortMessage } from "./mod.ts";

// Models are built directly with onnx-proto so these tests do not depend on the emitter.

function valueInfo(name: string, elemType: number, dims: (number | string)[]) {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

function model(graph: Record<string, unknown>): Uint8Array {
  const m = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "dlm-test",
    opsetImport: [{ domain: "", version: 17 }],
    graph: { name: "g", ...graph },
  });
  return onnx.ModelProto.encode(m).finish();
}

/** y = Relu(a + b), z = a + b, on f32[N, 3]. */
const ADD_RELU = model({
  node: [
    { opType: "Add", input: ["a", "b"], output: ["z"], name: "add" },
    { opType: "Relu", input: ["z"], output: ["y"], name: "relu" },
  ],
  input: [valueInfo("a", 1, ["N", 3]), valueInfo("b", 1, ["N", 3])],
  output: [valueInfo("y", 1, ["N", 3]), valueInfo("z", 1, ["N", 3])],
});

const ALL: [DType, Tensor][] = [
  ["f32", tensor("f32", [2], [1.5, -2])],
  ["f64", tensor("f64", [2], [Math.PI, -1e300])],
  ["f16", tensor("f16", [2], [f32ToF16(0.5), f32ToF16(-65504)])],
  ["i8", tensor("i8", [2], [-128, 127])],
  ["i16", tensor("i16", [2], [-32768, 32767])],
  ["i32", tensor("i32", [2], [-(2 ** 31), 7])],
  ["i64", { dtype: "i64", shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 62n]) }],
  ["u8", tensor("u8", [2], [0, 255])],
  ["u16", tensor("u16", [2], [0, 65535])],
  ["u32", tensor("u32", [2], [0, 2 ** 32 - 1])],
  ["u64", { dtype: "u64", shape: [2], data: new BigUint64Array([0n, 2n ** 64n - 1n]) }],
  ["bool", tensor("bool", [2], [1, 0])],
  ["str", { dtype: "str", shape: [2], data: ["héllo", ""] }],
];

/** One Identity per dtype: out_<d> = Identity(in_<d>). */
const IDENTITIES = model({
  node: ALL.map(([d]) => ({
    opType: "Identity",
    input: [`in_${d}`],
    output: [`out_${d}`],
    name: d,
  })),
  input: ALL.map(([d]) => valueInfo(`in_${d}`, DTYPES[d].onnx, [2])),
  output: ALL.map(([d]) => valueInfo(`out_${d}`, DTYPES[d].onnx, [2])),
});

async function rejectsWith(p: Promise<unknown>, code: string, re: RegExp): Promise<DlmError> {
  let err: unknown;
  await p.then(() => {}, (e) => (err = e));
  assert.ok(err instanceof DlmError, `expected a DlmError, got ${err}`);
  assert.equal(err.diagnostics[0].code, code);
  assert.match(err.diagnostics[0].message, re);
  assert.doesNotMatch(err.message, /\n\s+at /, "no stack trace in the message");
  return err;
}

for (const backend of ["node", "web"] as const) {
  Deno.test(`createSession({backend: "${backend}"}) runs a model with hand-computed results`, async () => {
    const s = await createSession(ADD_RELU, { backend });
    try {
      assert.equal(s.backend, backend);
      assert.deepEqual(s.inputNames, ["a", "b"]);
      assert.deepEqual(s.outputNames, ["y", "z"]);
      const a = tensor("f32", [1, 3], [1, -2, 3]);
      const b = tensor("f32", [1, 3], [0.5, 1, -4]);
      const out = await s.run({ a, b });
      assert.deepEqual(out.z.shape, [1, 3]);
      assert.deepEqual(toNumbers(out.z), [1.5, -1, -1]);
      assert.deepEqual(toNumbers(out.y), [1.5, 0, 0]);
    } finally {
      await s.release();
    }
  });

  Deno.test(`a ${backend} session accepts two batch sizes for a symbolic dim`, async () => {
    const s = await createSession(ADD_RELU, { backend });
    try {
      for (const n of [1, 4]) {
        const a = tensor("f32", [n, 3], new Array(n * 3).fill(1));
        const out = await s.run({ a, b: a }, ["y"]);
        assert.deepEqual(Object.keys(out), ["y"]);
        assert.deepEqual(out.y.shape, [n, 3]);
        assert.deepEqual(toNumbers(out.y), new Array(n * 3).fill(2));
      }
    } finally {
      await s.release();
    }
  });

  Deno.test(`a ${backend} session converts every dtype both ways`, async () => {
    const s = await createSession(IDENTITIES, { backend });
    try {
      const feeds = Object.fromEntries(ALL.map(([d, t]) => [`in_${d}`, t]));
      const out = await s.run(feeds);
      for (const [d, t] of ALL) {
        const o = out[`out_${d}`];
        assert.equal(o.dtype, d, d);
        assert.deepEqual(o.shape, [2], d);
        assert.deepEqual(o.data, t.data, d);
      }
    } finally {
      await s.release();
    }
  });

  Deno.test(`a ${backend} session rejects a model that is not ONNX with DLM0415`, async () => {
    await rejectsWith(
      createSession(new TextEncoder().encode("not a model"), { backend }),
      "DLM0415",
      new RegExp(`onnxruntime \\(${backend}\\) cannot load the model: .*protobuf parsing failed`),
    );
  });

  Deno.test(`a ${backend} session reports a missing model file with DLM0401`, async () => {
    await rejectsWith(
      createSession("/nonexistent/dir/model.onnx", { backend }),
      "DLM0401",
      /'\/nonexistent\/dir\/model\.onnx': no such file/,
    );
  });

  Deno.test(`a ${backend} session reports a wrong-shaped feed with DLM0602 and no wrapping`, async () => {
    const s = await createSession(ADD_RELU, { backend });
    try {
      const a = tensor("f32", [1, 3], [1, 2, 3]);
      const b = tensor("f32", [1, 2], [1, 2]);
      const e = await rejectsWith(
        s.run({ a, b }),
        "DLM0602",
        /failed to run the model: Got invalid dimensions for input: b .* Got: 2 Expected: 3$/,
      );
      assert.doesNotMatch(e.message, /ERROR_CODE|Please fix/);
      assert.deepEqual(e.diagnostics[0].notes, [
        "input 'a' was f32[1, 3]",
        "input 'b' was f32[1, 2]",
      ]);
    } finally {
      await s.release();
    }
  });

  Deno.test(`a ${backend} session reports a wrong dtype with DLM0602`, async () => {
    const s = await createSession(ADD_RELU, { backend });
    try {
      const a = tensor("f32", [1, 3], [1, 2, 3]);
      await rejectsWith(
        s.run({ a, b: tensor("i32", [1, 3], [1, 2, 3]) }),
        "DLM0602",
        /Unexpected input data type\. Actual: \(tensor\(int32\)\) , expected: \(tensor\(float\)\)/,
      );
    } finally {
      await s.release();
    }
  });

  Deno.test(`a ${backend} session names unknown and missing inputs and outputs`, async () => {
    const s = await createSession(ADD_RELU, { backend });
    try {
      const a = tensor("f32", [1, 3], [1, 2, 3]);
      await rejectsWith(
        s.run({ a, b: a, c: a }),
        "DLM0418",
        /Unknown input 'c'; the model's inputs are 'a', 'b'/,
      );
      await rejectsWith(s.run({ a }), "DLM0419", /Missing input 'b'/);
      await rejectsWith(
        s.run({ a, b: a }, ["w"]),
        "DLM0420",
        /Unknown output 'w'; the model's outputs are 'y', 'z'/,
      );
      await rejectsWith(
        s.run({ a, b: { dtype: "bf16", shape: [1, 3], data: new Uint16Array(3) } }),
        "DLM0602",
        /input 'b' is bf16/,
      );
    } finally {
      await s.release();
    }
    await rejectsWith(
      s.run({ a: tensor("f32", [1, 3], [1, 2, 3]) }),
      "DLM0602",
      /already released/,
    );
  });
}

Deno.test("the node and web backends agree on a model with several ops", async () => {
  // y = Softmax(MatMul(x, W)) with a fixed W: enough arithmetic for rounding to differ if it will.
  const w = tensor("f32", [4, 3], [0.1, -0.2, 0.3, 0.4, 0.5, -0.6, -0.7, 0.8, 0.9, 1.0, -1.1, 1.2]);
  const bytes = model({
    node: [
      { opType: "MatMul", input: ["x", "W"], output: ["h"], name: "mm" },
      {
        opType: "Softmax",
        input: ["h"],
        output: ["y"],
        name: "sm",
        attribute: [{ name: "axis", type: 2, i: -1 }],
      },
    ],
    initializer: [{
      name: "W",
      dims: [4, 3],
      dataType: 1,
      rawData: new Uint8Array((w.data as Float32Array).buffer),
    }],
    input: [valueInfo("x", 1, ["N", 4])],
    output: [valueInfo("y", 1, ["N", 3])],
  });
  const x = tensor("f32", [2, 4], [1, 2, 3, 4, -1, 0.5, 0.25, 2]);
  const results: number[][] = [];
  for (const backend of ["node", "web"] as const) {
    const s = await createSession(bytes, { backend });
    results.push(toNumbers((await s.run({ x })).y));
    await s.release();
  }
  for (let i = 0; i < results[0].length; i++) {
    assert.ok(
      Math.abs(results[0][i] - results[1][i]) <= 1e-6,
      `element ${i}: ${results[0][i]} vs ${results[1][i]}`,
    );
  }
  assert.ok(Math.abs(results[0][0] + results[0][1] + results[0][2] - 1) < 1e-6);
});

Deno.test("ortMessage() strips onnxruntime's wrapping, line breaks and stack", () => {
  const web = new Error(
    "failed to call OrtRun(). ERROR_CODE: 2, ERROR_MESSAGE: Got invalid dimensions for input: a for the following indices\n index: 1 Got: 2 Expected: 3\n Please fix either the inputs/outputs or the model.",
  );
  assert.equal(
    ortMessage(web),
    "Got invalid dimensions for input: a for the following indices index: 1 Got: 2 Expected: 3",
  );
  assert.equal(
    ortMessage(
      new Error(
        "[ONNXRuntimeError] : 10 : INVALID_GRAPH : Load model failed\n    at foo (bar.js:1:2)",
      ),
    ),
    "Load model failed",
  );
  assert.equal(ortMessage("plain"), "plain");
});

Deno.test("results of one run keep their values after the next run (outputs taken without a copy)", async () => {
  // y = x + 1: the node backend hands its output buffers over instead of copying them; a later
  // run must not write into an earlier result.
  const bytes = model({
    node: [{ opType: "Add", input: ["x", "one"], output: ["y"], name: "add" }],
    initializer: [{
      name: "one",
      dims: [1],
      dataType: 1,
      rawData: new Uint8Array(new Float32Array([1]).buffer),
    }],
    input: [valueInfo("x", 1, ["N"])],
    output: [valueInfo("y", 1, ["N"])],
  });
  for (const backend of ["node", "web"] as const) {
    const s = await createSession(bytes, { backend });
    try {
      const x = tensor("f32", [3], [1, 2, 3]);
      const a = (await s.run({ x })).y;
      const b = (await s.run({ x: tensor("f32", [3], [10, 20, 30]) })).y;
      assert.deepEqual(toNumbers(a), [2, 3, 4], backend);
      assert.deepEqual(toNumbers(b), [11, 21, 31], backend);
      assert.deepEqual(toNumbers(x), [1, 2, 3], `${backend}: the input is untouched`);
    } finally {
      await s.release();
    }
  }
});

Deno.test("a node session without spinning threads runs as one with them", async () => {
  const x = tensor("f32", [2, 3], [-1, 2, -3, 4, -5, 6]);
  const spinning = await createSession(ADD_RELU, { spin: true });
  const quiet = await createSession(ADD_RELU, { spin: false });
  try {
    const a = await spinning.run({ a: x, b: x });
    const b = await quiet.run({ a: x, b: x });
    assert.deepEqual(toNumbers(b.y), toNumbers(a.y));
    assert.deepEqual(toNumbers(b.y), [0, 4, 0, 8, 0, 12]);
  } finally {
    await spinning.release();
    await quiet.release();
  }
});

Deno.test("onnxruntime-node writes the outputs a run is given tensors for into them, and returns the same values", async () => {
  const s = await createSession(ADD_RELU);
  const a = tensor("f32", [2, 3], [1, -2, 3, -4, 5, -6]);
  const b = tensor("f32", [2, 3], [1, 1, 1, 1, 1, 1]);
  const into = { y: tensor("f32", [2, 3], [9, 9, 9, 9, 9, 9]) };
  const out = await s.run({ a, b }, undefined, into);
  assert.deepEqual(toNumbers(out.y), [2, 0, 4, 0, 6, 0]);
  assert.deepEqual(toNumbers(out.z), [2, -1, 4, -3, 6, -5]);
  // onnxruntime wrote there instead of a buffer of its own.
  assert.deepEqual(toNumbers(into.y), [2, 0, 4, 0, 6, 0]);
  await s.release();
});
