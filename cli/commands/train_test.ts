import assert from "node:assert/strict";
import { DlmError } from "../../compiler/diagnostics.ts";
import { emitModel } from "../../compiler/onnx/emit.ts";
import { readSafetensors, writeNpy } from "../../runtime/formats/mod.ts";
import { tensor } from "../../compiler/ir/tensor.ts";
import { regressionEval, regressionInit, regressionStep } from "../../runtime/train/testing.ts";
import { parseArgs } from "../args.ts";
import { trainCommand } from "./mod.ts";

const C = { features: 64, classes: 10, lr: 0.5, momentum: 0.9 };

async function run(argv: string[]): Promise<{ code: number; err: string }> {
  const lines: string[] = [];
  const code = await trainCommand.run(parseArgs(argv, trainCommand.options), {
    out: (s) => lines.push(s),
    err: (s) => lines.push(s),
  });
  return { code, err: lines.join("\n") };
}

Deno.test("dlm train runs an ONNX step model whose initializers give the initial weights", async () => {
  const dir = Deno.makeTempDirSync();
  const step = regressionStep(C);
  for (const [k, t] of regressionInit(C)) step.initializers.set(k, t);
  Deno.writeFileSync(`${dir}/step.onnx`, emitModel(step).model);
  Deno.writeFileSync(`${dir}/eval.onnx`, emitModel(regressionEval(C)).model);
  const r = await run([
    `${dir}/step.onnx`,
    "--eval",
    `${dir}/eval.onnx`,
    "--data",
    "digits",
    "--val-split",
    "0.2",
    "--stratify",
    "label",
    "--epochs",
    "2",
    "--batch-size",
    "64",
    "--backend",
    "reference",
    "--out",
    `${dir}/run`,
    "--save",
    `${dir}/trained.safetensors`,
  ]);
  assert.equal(r.code, 0);
  assert.match(r.err, /trained 2 epochs: loss [\d.]+, .*val_accuracy 0\.9/);
  const { tensors } = readSafetensors(Deno.readFileSync(`${dir}/trained.safetensors`));
  assert.deepEqual([...tensors.keys()].sort(), ["fc.bias", "fc.weight"]);
  for (const f of ["checkpoint.safetensors", "history.csv", "history.svg"]) {
    assert.ok(Deno.statSync(`${dir}/run/${f}`).isFile);
  }
});

Deno.test("dlm train on a .dlm file compiles its train section and trains with its defaults", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const { code, err } = await run([
      new URL("../../lang-examples/mlp_digits.dlm", import.meta.url).pathname,
      "--data",
      "digits",
      "--epochs",
      "3",
      "--save",
      `${dir}/w.safetensors`,
    ]);
    assert.equal(code, 0, err);
    assert.match(err, /trained 3 epochs: .*val_accuracy/);
    const { tensors } = readSafetensors(Deno.readFileSync(`${dir}/w.safetensors`));
    assert.ok(tensors.has("fc1.weight") && tensors.has("fc2.bias"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("dlm train on a .dlm file without a train section says so", async () => {
  await assert.rejects(
    () =>
      run([
        new URL("../../lang-examples/lenet5.dlm", import.meta.url).pathname,
        "--data",
        "digits",
      ]),
    (e: DlmError) => e.diagnostics[0].code === "DLM0126" && /no train section/.test(e.message),
  );
});

Deno.test("dlm train --model naming no model is DLM0103 with the models there are, not 'no train section'", async () => {
  const file = new URL("../../lang-examples/lenet_digits.dlm", import.meta.url).pathname;
  await assert.rejects(
    () => run([file, "--model", "Nope", "--data", "digits"]),
    (e: DlmError) =>
      e.diagnostics[0].code === "DLM0103" &&
      e.message.includes("No model named 'Nope'; the models are: LenetDigits"),
  );
  // A model that exists but has no section is still DLM0126.
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(
      `${dir}/two.dlm`,
      Deno.readTextFileSync(file) +
        "\nmodel Extra {\n  input x: f32[N, 64]\n  output y = x |> fc: linear(2)\n}\n",
    );
    await assert.rejects(
      () => run([`${dir}/two.dlm`, "--model", "Extra", "--data", "digits"]),
      (e: DlmError) => e.diagnostics[0].code === "DLM0126",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("dlm train takes a recurrent model's sequence length from the data", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    // 64 sequences of 6 tokens below 20; the label is the first token's parity.
    const tokens = Array.from({ length: 64 * 6 }, (_, k) => (k * 7 + (k >> 3)) % 20);
    const label = Array.from({ length: 64 }, (_, n) => tokens[n * 6] % 2);
    Deno.writeFileSync(`${dir}/tokens.npy`, writeNpy(tensor("i64", [64, 6], tokens)));
    Deno.writeFileSync(`${dir}/label.npy`, writeNpy(tensor("i64", [64], label)));
    const file = new URL("../../tests/fixtures/train/rnn_models.dlm", import.meta.url).pathname;
    const data = ["--data", `tokens=${dir}/tokens.npy`, "--data", `label=${dir}/label.npy`];
    const { code, err } = await run([file, "--model", "RnnClassifier", ...data, "--epochs", "1"]);
    assert.equal(code, 0, err);
    assert.match(err, /trained 1 epoch: loss [\d.]+/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
