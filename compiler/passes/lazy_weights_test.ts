/**
 * The passes leave weights lazy (ir/init.ts): compiling draws a weight a
 * chunk at a time as it writes the file, so a pass that reads a weight's
 * `data` (to ask its length, say) makes the compile draw it whole first and
 * hold it: for ResNet-50 that was 100 MB of fresh memory and ~250 ms of a
 * 550 ms compile. Only values a rewrite needs may be drawn: a batch norm's
 * statistics and affine parameters, which folding turns into a conv's
 * per-channel scale and bias, and weights of at most 16 values, which CSE
 * compares by value.
 */
import assert from "node:assert/strict";
import { compileFile } from "../compile.ts";
import { pendingJob } from "../ir/init.ts";
import { numel } from "../ir/tensor.ts";
import { runPasses } from "./manager.ts";
import { pipelineFor, TARGETS } from "./targets.ts";

const dir = new URL("../../lang-examples/", import.meta.url).pathname;

for (const file of ["resnet50.dlm", "googlenet.dlm", "vgg16.dlm", "alexnet.dlm"]) {
  for (const target of TARGETS) {
    Deno.test(`${file} --target ${target}: the passes draw no weight but batch norms'`, () => {
      const r = compileFile(dir + file, { mode: "eval" });
      const g = r.graph!;
      assert.ok(g, r.diagnostics.map((d) => d.message).join("\n"));
      const lazy = [...g.initializers].filter(([, t]) => pendingJob(t));
      assert.ok(lazy.length > 10, `${lazy.length} lazy weights`);
      const batchNorm = new Set(
        g.nodes.filter((n) => n.op === "BatchNormalization").flatMap((n) => n.inputs.slice(1)),
      );
      runPasses(g, pipelineFor(target, "eval"), { mode: "eval" });
      const drawn = lazy.filter(([name, t]) =>
        !pendingJob(t) && !batchNorm.has(name) && numel(t.shape) > 16
      );
      assert.deepEqual(drawn.map(([name]) => name), []);
    });
  }
}
