import assert from "node:assert/strict";
import { type OptSpec, parseArgs, UsageError } from "./args.ts";

const SPEC: Record<string, OptSpec> = {
  epochs: { kind: "number", help: "", range: { int: true, min: 1 } },
  out: { kind: "string", short: "o", help: "" },
  quiet: { kind: "bool", help: "" },
  set: { kind: "multi", help: "" },
};

Deno.test("parseArgs refuses a single-valued option given twice with different values (DLM0517)", () => {
  for (
    const [argv, message] of [
      [
        ["--epochs", "3", "--epochs=5"],
        "option '--epochs' takes one value and is given two: '3' and '5'",
      ],
      [
        ["-o", "a.onnx", "--out", "b.onnx"],
        "option '--out' takes one value and is given two: 'a.onnx' and 'b.onnx'",
      ],
    ] as const
  ) {
    assert.throws(() => parseArgs([...argv], SPEC), (e) => {
      assert.ok(e instanceof UsageError);
      assert.equal(e.code, "DLM0517");
      assert.equal(e.message, message);
      return true;
    });
  }
});

Deno.test("parseArgs accepts a repeated equal value, repeated flags and repeatable options", () => {
  const p = parseArgs(
    ["--epochs", "3", "--epochs", "3.0", "--quiet", "--quiet", "--set", "a=1", "--set", "a=2"],
    SPEC,
  );
  assert.deepEqual(p.opts, { epochs: 3, quiet: true, set: ["a=1", "a=2"] });
});
