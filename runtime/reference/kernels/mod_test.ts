import assert from "node:assert/strict";
import { kernelFor, KERNELS } from "./mod.ts";

const DIR = new URL("./", import.meta.url);

Deno.test("every kernel file is registered in the kernel table", async () => {
  const registered = new Set(Object.values(KERNELS));
  for (const e of Deno.readDirSync(DIR)) {
    const f = e.name;
    if (!f.endsWith(".ts") || f.endsWith("_test.ts") || f.endsWith("_util.ts") || f === "mod.ts") {
      continue;
    }
    const exported = Object.values(await import(new URL(f, DIR).href)).filter((v) =>
      typeof v === "function" && v.length <= 3
    );
    assert.ok(
      exported.some((k) => registered.has(k as never)),
      `${f} exports no kernel that KERNELS lists`,
    );
  }
});

Deno.test("kernelFor() treats ai.onnx as the default domain and knows other domains", () => {
  assert.equal(kernelFor("Relu", "ai.onnx"), KERNELS.Relu);
  assert.equal(
    kernelFor("Adam", "ai.onnx.preview.training"),
    KERNELS["ai.onnx.preview.training::Adam"],
  );
  assert.equal(kernelFor("Adam"), undefined);
  assert.equal(kernelFor("toString"), undefined);
});
