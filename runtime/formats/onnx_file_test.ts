import assert from "node:assert/strict";
import { DlmError } from "../../compiler/diagnostics.ts";
import { emptyGraph, type Graph, type TensorType } from "../../compiler/ir/graph.ts";
import { lazyInitTensor, pendingJob } from "../../compiler/ir/init.ts";
import { tensor, toNumbers } from "../../compiler/ir/tensor.ts";
import { emitModel } from "../../compiler/onnx/emit.ts";
import { createSession } from "../ort/mod.ts";
import { writeModel, writeModelAsync } from "./onnx_file.ts";

/**
 * y = MatMul(x, W1) + b, z = MatMul(y, W2): W1 8 KiB, W2 4 KiB, b 256 bytes
 * (built by hand: this test needs no graph builder).
 */
function bigNet(): Graph {
  const g = emptyGraph("big");
  const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });
  const fill = (n: number, k: number) =>
    Array.from({ length: n }, (_, i) => ((i * k) % 17) / 16 - 0.5);
  g.inputs.push({ name: "x", type: f32("N", 32) });
  g.initializers.set("w1", tensor("f32", [32, 64], fill(32 * 64, 5)));
  g.initializers.set("b", tensor("f32", [64], fill(64, 3)));
  g.initializers.set("w2", tensor("f32", [64, 16], fill(64 * 16, 7)));
  const types: [string, TensorType][] = [
    ["x", f32("N", 32)],
    ["w1", f32(32, 64)],
    ["b", f32(64)],
    ["w2", f32(64, 16)],
    ["h", f32("N", 64)],
    ["hb", f32("N", 64)],
    ["z", f32("N", 16)],
  ];
  for (const [name, t] of types) g.types.set(name, t);
  g.nodes.push(
    { name: "mm1", op: "MatMul", inputs: ["x", "w1"], outputs: ["h"], attrs: {} },
    { name: "add", op: "Add", inputs: ["h", "b"], outputs: ["hb"], attrs: {} },
    { name: "mm2", op: "MatMul", inputs: ["hb", "w2"], outputs: ["z"], attrs: {} },
  );
  g.outputs.push({ name: "z", type: f32("N", 16) });
  return g;
}

/** bigNet with W1 and W2 lazily initialised (drawn when read). */
function lazyNet(): Graph {
  const g = bigNet();
  const spec = { kind: "kaiming_normal", a: 0, mode: "fan_in", nonlinearity: "relu" } as const;
  g.initializers.set("w1", lazyInitTensor(spec, [32, 64], "w1", 0));
  g.initializers.set("w2", lazyInitTensor(spec, [64, 16], "w2", 0));
  return g;
}

function inTempDir(f: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_onnx_file_" });
  return Promise.resolve(f(dir)).finally(() => Deno.removeSync(dir, { recursive: true }));
}

Deno.test("writeModel() writes a model and data pair that onnxruntime loads from the path with the inline results", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_emit_" });
  try {
    const x = tensor("f32", [2, 32], Array.from({ length: 64 }, (_, i) => (i % 9) - 4));
    const inline = await createSession(emitModel(bigNet()).model);
    const want = toNumbers((await inline.run({ x })).z);
    await inline.release();

    const paths = writeModel(bigNet(), `${dir}/m.onnx`, { externalData: { threshold: 1000 } });
    assert.deepEqual(paths, { model: `${dir}/m.onnx`, data: `${dir}/m.onnx.data` });
    assert.ok(Deno.statSync(`${dir}/m.onnx.data`).size > 12000);
    assert.ok(Deno.statSync(`${dir}/m.onnx`).size < 2000, "weights are not in the model file");
    for (const backend of ["node", "web"] as const) {
      const s = await createSession(`${dir}/m.onnx`, { backend });
      assert.deepEqual(toNumbers((await s.run({ x })).z), want, backend);
      await s.release();
    }
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "m.onnx",
      "m.onnx.data",
    ], "no temp files left");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("writeModel() writes one file when the weights fit inline", () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_emit_" });
  try {
    assert.deepEqual(writeModel(bigNet(), `${dir}/c.onnx`), { model: `${dir}/c.onnx` });
    assert.deepEqual(Deno.readFileSync(`${dir}/c.onnx`), emitModel(bigNet()).model);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("writeModel() reports an unwritable path with DLM0409", () => {
  assert.throws(
    () => writeModel(bigNet(), "/nonexistent-dir/m.onnx"),
    (e: unknown) => e instanceof DlmError && e.diagnostics[0].code === "DLM0409",
  );
});

Deno.test("writeModel() streams lazy weights: the file holds emitModel()'s bytes and the weights stay lazy", () =>
  inTempDir((dir) => {
    const g = lazyNet();
    writeModel(g, `${dir}/lazy.onnx`);
    assert.ok(
      pendingJob(g.initializers.get("w1")!),
      "w1 was drawn into a scratch buffer, not kept",
    );
    assert.deepEqual(Deno.readFileSync(`${dir}/lazy.onnx`), emitModel(lazyNet()).model);
    writeModel(lazyNet(), `${dir}/ext.onnx`, { externalData: { threshold: 0 } });
    const inMemory = emitModel(lazyNet(), {
      externalData: { location: "ext.onnx.data", threshold: 0 },
    });
    assert.deepEqual(Deno.readFileSync(`${dir}/ext.onnx`), inMemory.model);
    assert.deepEqual(Deno.readFileSync(`${dir}/ext.onnx.data`), inMemory.data);
  }));

Deno.test("writeModelAsync() writes writeModel()'s files, inline and with external data, and keeps the weights lazy", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_onnx_file_" });
  try {
    // One name in two folders: an external-data model names its data file.
    Deno.mkdirSync(`${dir}/sync`);
    Deno.mkdirSync(`${dir}/async`);
    for (const opts of [{}, { externalData: { threshold: 0 } }]) {
      writeModel(lazyNet(), `${dir}/sync/m.onnx`, opts);
      const g = lazyNet();
      const written = await writeModelAsync(g, `${dir}/async/m.onnx`, opts);
      assert.ok(pendingJob(g.initializers.get("w1")!), "w1 stays lazy");
      assert.deepEqual(
        Deno.readFileSync(`${dir}/async/m.onnx`),
        Deno.readFileSync(`${dir}/sync/m.onnx`),
      );
      if (opts.externalData) {
        assert.equal(written.data, `${dir}/async/m.onnx.data`);
        assert.deepEqual(
          Deno.readFileSync(`${dir}/async/m.onnx.data`),
          Deno.readFileSync(`${dir}/sync/m.onnx.data`),
        );
      } else assert.equal(written.data, undefined);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
