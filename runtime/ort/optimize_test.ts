import assert from "node:assert/strict";
import { onnx } from "../../compiler/onnx/proto.ts";
import { createSession } from "./mod.ts";
import {
  defaultOptimizeLevel,
  isOptimizeLevel,
  OPTIMIZE_LEVELS,
  STEP_OPTIMIZE_MAX_NODES,
} from "./optimize.ts";

Deno.test("defaultOptimizeLevel(): all for a forward model, extended for a step up to the bound, disabled past it", () => {
  for (const nodes of [0, 100, STEP_OPTIMIZE_MAX_NODES, 50_000]) {
    assert.equal(defaultOptimizeLevel({ kind: "forward", nodes }), "all");
  }
  assert.equal(defaultOptimizeLevel({ kind: "step", nodes: 733 }), "extended");
  assert.equal(defaultOptimizeLevel({ kind: "step", nodes: STEP_OPTIMIZE_MAX_NODES }), "extended");
  assert.equal(
    defaultOptimizeLevel({ kind: "step", nodes: STEP_OPTIMIZE_MAX_NODES + 1 }),
    "disabled",
  );
});

Deno.test("isOptimizeLevel() knows onnxruntime's four levels and nothing else", () => {
  assert.deepEqual(OPTIMIZE_LEVELS, ["disabled", "basic", "extended", "all"]);
  for (const l of OPTIMIZE_LEVELS) assert.ok(isOptimizeLevel(l));
  for (const l of ["", "All", "layout", "fast"]) assert.ok(!isOptimizeLevel(l));
});

/** y = x + n: a chain of n Adds of 1. */
function adds(n: number): Uint8Array {
  const vi = (name: string) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } },
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "adds",
      node: Array.from({ length: n }, (_, i) => ({
        opType: "Add",
        input: [i === 0 ? "x" : `v${i - 1}`, "one"],
        output: [i === n - 1 ? "y" : `v${i}`],
      })),
      initializer: [{ name: "one", dims: [], dataType: 1, floatData: [1] }],
      input: [vi("x")],
      output: [vi("y")],
    },
  })).finish();
}

Deno.test("a session takes the default level of its kind and size, or the level it is given", async () => {
  const cases: [Uint8Array, "step" | "forward", string | undefined, string][] = [
    [adds(10), "forward", undefined, "all"],
    [adds(10), "step", undefined, "extended"],
    [adds(STEP_OPTIMIZE_MAX_NODES + 1), "step", undefined, "disabled"],
    [adds(10), "step", "basic", "basic"],
  ];
  // A step given by path is read to count its nodes.
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeFileSync(`${dir}/step.onnx`, adds(STEP_OPTIMIZE_MAX_NODES + 1));
    const s = await createSession(`${dir}/step.onnx`, { kind: "step" });
    assert.equal(s.load?.level, "disabled");
    await s.release();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  for (const [bytes, kind, optimize, level] of cases) {
    const s = await createSession(bytes, {
      kind,
      ...(optimize ? { optimize: optimize as "basic" } : {}),
    });
    try {
      assert.equal(s.load?.level, level, `${kind} ${optimize}`);
      assert.equal(s.load?.cache, "off");
    } finally {
      await s.release();
    }
  }
});
