import assert from "node:assert/strict";
import { parseOptions } from "./options.ts";

const SPEC = {
  only: "string",
  quick: "flag",
  timeout: { min: 1 },
  steps: { min: 1, integer: true },
} as const;

Deno.test("parseOptions() reads flags, --name value and --name=value", () => {
  assert.deepEqual(
    parseOptions(["--quick", "--only", "resnet", "--timeout=30", "--steps", "2"], SPEC),
    {
      quick: true,
      only: "resnet",
      timeout: 30,
      steps: 2,
    },
  );
  assert.deepEqual(parseOptions([], SPEC), {});
});

Deno.test("parseOptions() rejects unknown options, stray arguments and missing values", () => {
  assert.throws(
    () => parseOptions(["--qiuck"], SPEC),
    /Unknown option '--qiuck'; expected one of --only/,
  );
  assert.throws(() => parseOptions(["resnet"], SPEC), /Unexpected argument 'resnet'/);
  assert.throws(() => parseOptions(["--only"], SPEC), /--only needs a value/);
  assert.throws(() => parseOptions(["--quick=1"], SPEC), /--quick takes no value/);
});

Deno.test("parseOptions() rejects numbers below the least, non-integers and non-numbers", () => {
  assert.throws(
    () => parseOptions(["--timeout", "0"], SPEC),
    /--timeout expects a number >= 1, got '0'/,
  );
  assert.throws(() => parseOptions(["--steps", "1.5"], SPEC), /--steps expects an integer >= 1/);
  assert.throws(() => parseOptions(["--timeout", "soon"], SPEC), /got 'soon'/);
  assert.throws(() => parseOptions(["--timeout="], SPEC), /got ''/);
});
