/**
 * `X sharing S` (spec/language.md 8.6): a layer whose parameters are another instance's, the same
 * tensors. Shared means shared: one name each, the source's initial values whichever is applied
 * first, a gradient step through the sharing layer moves the source's parameter, the step agrees
 * between the runtimes, and a fine-tuning method's adapter on the source is read by both.
 */
import assert from "node:assert/strict";
import { compileFile } from "../compiler/compile.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { readSafetensors, writeNpy } from "../runtime/formats/mod.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";
import { Rng } from "../compiler/ir/rng.ts";
import { dlm } from "./cli_testing.ts";

const FIXTURE = decodeURIComponent(
  new URL("./fixtures/train/sharing.dlm", import.meta.url).pathname,
);
const NET = ["net.fc1.weight", "net.fc1.bias", "net.fc2.weight", "net.fc2.bias"];

const bytes = (t: Tensor) => {
  const d = t.data as Float32Array;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
};

function compiled(model: string) {
  const r = compileFile(FIXTURE, { model });
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === "error"), []);
  return r.graph!;
}

Deno.test("a sharing layer makes no parameters of its own: the source's, once, with its initial values", () => {
  const probe = compiled("Probe");
  assert.deepEqual(probe.params.map((p) => p.name), NET);
  // The probe is applied before the network, but the values are the network's (its init rule
  // for fc1.weight), byte for byte those of the network alone.
  const plain = compiled("Plain");
  for (const name of NET) {
    assert.deepEqual(bytes(probe.initializers.get(name)!), bytes(plain.initializers.get(name)!));
  }
  // Both applications read net.fc1.weight: the probe's Gemm/MatMul and the network's.
  const readers = probe.nodes.filter((n) => n.inputs.includes("net.fc1.weight"));
  assert.equal(readers.length, 2, readers.map((n) => n.op).join(", "));
});

Deno.test("a fine-tuning method's adapter on the source is the sharing layer's too", () => {
  const tuned = compiled("Tuned");
  const adapters = tuned.params.filter((p) => p.adapter).map((p) => p.name);
  // One adapter per layer of the network, not one more for the probe's fc1.
  assert.deepEqual(adapters.sort(), [
    "net.fc1.lora_A.default.weight",
    "net.fc1.lora_B.default.weight",
    "net.fc2.lora_A.default.weight",
    "net.fc2.lora_B.default.weight",
  ]);
  const readers = tuned.nodes.filter((n) => n.inputs.includes("net.fc1.lora_A.default.weight"));
  assert.equal(readers.length, 2, "the probe's fc1 and the network's both add the adapter");
});

Deno.test("a gradient step through a sharing layer moves its source's parameters, and only those it reaches", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_sharing_test_" });
  try {
    const x = new Float32Array(32 * 4);
    new Rng(3).fillNormal(x, 0, 1);
    Deno.writeFileSync(`${dir}/x.npy`, writeNpy({ dtype: "f32", shape: [32, 4], data: x }));
    const data = ["--data", `x=${dir}/x.npy`];
    const start = await dlm("train", FIXTURE, ...data, "--epochs", "0", "--save", `${dir}/0.st`);
    assert.equal(start.code, 0, start.err);
    const after = await dlm("train", FIXTURE, ...data, "--save", `${dir}/1.st`);
    assert.equal(after.code, 0, after.err);
    const read = (f: string) => readSafetensors(Deno.readFileSync(f), f).tensors;
    const w0 = read(`${dir}/0.st`), w1 = read(`${dir}/1.st`);
    assert.deepEqual([...w1.keys()].sort(), [...NET].sort(), "one tensor per shared parameter");
    // The loss reads the probe's output only: its gradient reaches net.fc1 through the probe.
    for (const name of ["net.fc1.weight", "net.fc1.bias"]) {
      assert.notDeepEqual(bytes(w1.get(name)!), bytes(w0.get(name)!), `${name} moved`);
    }
    for (const name of ["net.fc2.weight", "net.fc2.bias"]) {
      assert.deepEqual(bytes(w1.get(name)!), bytes(w0.get(name)!), `${name} stayed`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a step through a sharing layer agrees between the reference interpreter and onnxruntime", async () => {
  const c = compileTrain(FIXTURE);
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 8 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});

Deno.test("freezing the source by its name freezes the parameters the sharing layer reads", () => {
  const src = Deno.readTextFileSync(FIXTURE).replace(
    "  let features = Features() sharing net\n",
    "  let features = Features() sharing net\n  freeze net\n",
  );
  const dir = Deno.makeTempDirSync({ prefix: "dlm_sharing_test_" });
  try {
    const file = `${dir}/frozen.dlm`;
    Deno.writeTextFileSync(file, src);
    const r = compileFile(file, { model: "Probe" });
    assert.deepEqual(
      r.graph!.params.map((p) => [p.name, p.frozen ?? false]),
      NET.map((n) => [n, true]),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a block whose `_:` built-in owns its level is applied twice and shared without DLM0129", () => {
  const src = `block Norm()(x: f32[N, C]) {
  return x |> _: layer_norm
}
block Twice()(x: f32[N, C]) {
  return 2.0 * (x |> _: layer_norm)
}
block Both()(x: f32[N, C]) {
  return (x |> _: layer_norm) + (x |> _: layer_norm)
}
model M {
  input x: f32[N, 4]
  let n = Norm()
  let t = Twice() sharing n
  output a = x |> n
  output b = x |> n
  output c = x |> t
}
model Two {
  input x: f32[N, 4]
  output y = x |> both: Both()
}
`;
  const read = () => src;
  const r = compileFile("m.dlm", { read });
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.graph!.params.map((p) => p.name), ["n.weight", "n.bias"]);
  // Two different `_:` layers in one application of a block still compete for its names.
  const two = compileFile("m.dlm", { read, model: "Two" });
  assert.deepEqual(two.diagnostics.map((d) => d.code), ["DLM0129"]);
});

Deno.test("a built-in layer shares another's parameters, a sharing of a sharing shares the first source, and a block named alone takes its defaults", () => {
  const src = `block Features(hidden: int = 8)(x: f32[N, C]) {
  return x |> fc1: linear(hidden) |> relu
}
model M {
  input x: f32[N, 4]
  let l = linear(8)
  let t = linear(8) sharing l
  let tt = linear(8) sharing t
  let net = Features(hidden: 8)
  let f = Features sharing net
  output a = x |> l
  output b = x |> tt
  output c = x |> net
  output d = x |> f
}
`;
  const r = compileFile("m.dlm", { read: () => src });
  assert.deepEqual(r.diagnostics, []);
  const g = r.graph!;
  assert.deepEqual(g.params.map((p) => p.name), [
    "l.weight",
    "l.bias",
    "net.fc1.weight",
    "net.fc1.bias",
  ]);
  for (const name of ["l.weight", "net.fc1.weight"]) {
    assert.equal(g.nodes.filter((n) => n.inputs.includes(name)).length, 2, name);
  }
});
