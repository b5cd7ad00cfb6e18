/**
 * A training step reads its scalars at full rank where onnxruntime would
 * broadcast them slowly (passes/full_rank_scalars.ts): the SGD update of
 * ResNet-18's (unpacked) 1x1 downsample convolution, w' = w - lr v', reads lr
 * as [1, 1, 1, 1]; those of its 3x3 convolutions keep the rank-0 lr.
 */
import assert from "node:assert/strict";
import { compileTrain } from "./compile.ts";
import type { Graph } from "../ir/graph.ts";
import { numel } from "../ir/tensor.ts";
import { BROADCASTING_OPS } from "../passes/full_rank_scalars.ts";

const root = new URL("../../", import.meta.url).pathname;

const typeOf = (g: Graph, v: string) =>
  g.types.get(v) ?? g.inputs.find((i) => i.name === v)?.type ??
    (g.initializers.has(v)
      ? { dtype: g.initializers.get(v)!.dtype, shape: g.initializers.get(v)!.shape }
      : undefined);

/** The update w' = Sub(w, Mul(lr, v')) of parameter `p`: the Mul's scalar operand's shape. */
function lrShape(g: Graph, p: string): (number | string)[] {
  const sub = g.nodes.find((n) => n.op === "Sub" && n.outputs[0] === `next:${p}`);
  assert.ok(sub, `no Sub writes next:${p}`);
  const mul = g.nodes.find((n) => n.op === "Mul" && n.outputs[0] === sub.inputs[1]);
  assert.ok(mul, `no Mul scales ${p}'s update`);
  const scalar = mul.inputs.find((v) => numel(typeOf(g, v)!.shape as number[]) === 1)!;
  return typeOf(g, scalar)!.shape;
}

Deno.test("ResNet-18's step reads lr at full rank in 1x1 weights' updates, as a scalar in 3x3 ones'", () => {
  const c = compileTrain(root + "bench/resnet18_train.dlm", { pack: true });
  const g = c.step!;
  assert.deepEqual(typeOf(g, "layer4.0.downsample.0.weight")!.shape, [512, 256, 1, 1]);
  assert.deepEqual(lrShape(g, "layer4.0.downsample.0.weight"), [1, 1, 1, 1]);
  // (layer 4's 3x3 weights are trained at their live taps only: pack.ts, tapWindows.)
  assert.deepEqual(typeOf(g, "layer3.0.conv1.weight")!.shape, [256, 128, 3, 3]);
  assert.deepEqual(lrShape(g, "layer3.0.conv1.weight"), []);
  // No broadcasting op is left with a lower-rank scalar over a result with a dim of 1.
  for (const n of g.nodes) {
    const out = g.types.get(n.outputs[0]);
    if (!BROADCASTING_OPS.has(n.op) || !out?.shape.includes(1)) continue;
    for (const v of n.inputs) {
      const t = typeOf(g, v);
      if (!t || !t.shape.every((d) => d === 1)) continue;
      assert.ok(t.shape.length >= out.shape.length, `${n.name} (${n.op}) reads ${v} [${t.shape}]`);
    }
  }
});
