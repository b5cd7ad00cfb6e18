import assert from "node:assert/strict";
import { DEFAULT_TORCH_ONNX, parseBenchArgs } from "./args.ts";

Deno.test("parseBenchArgs() fills in the defaults", () => {
  assert.deepEqual(parseBenchArgs([], "out.json"), {
    runs: 5,
    ortRuns: 30,
    refRuns: 5,
    torchOnnx: DEFAULT_TORCH_ONNX,
    out: "out.json",
    help: false,
  });
});

Deno.test("parseBenchArgs() takes values after a space or an equals sign", () => {
  const a = parseBenchArgs(["--runs", "3", "--torch-onnx=/x/t.onnx", "--only", "resnet"], "o");
  assert.equal(a.runs, 3);
  assert.equal(a.torchOnnx, "/x/t.onnx");
  assert.equal(a.only, "resnet");
});

Deno.test("parseBenchArgs() rejects fewer than 20 onnxruntime runs", () => {
  assert.throws(
    () => parseBenchArgs(["--ort-runs", "5"], "o"),
    /--ort-runs expects an integer >= 20, got '5'/,
  );
});

Deno.test("parseBenchArgs() names an unknown option and a missing value", () => {
  assert.throws(() => parseBenchArgs(["--fast"], "o"), /Unknown option '--fast'/);
  assert.throws(() => parseBenchArgs(["--out"], "o"), /Option --out needs a value/);
});
