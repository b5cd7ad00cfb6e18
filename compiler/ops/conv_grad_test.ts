/**
 * The weight gradient of a convolution through im2col or kernel taps
 * (conv.ts im2colWeightGrad, tapsWeightGrad): finite differences with each
 * form forced on small convolutions, and the cost model's choice on real
 * layer sizes.
 */
import assert from "node:assert/strict";
import type { AttrValue } from "../ir/graph.ts";
import { gradCheck, rand } from "../grad/grad_check.ts";
import type { Tensor } from "../ir/tensor.ts";
import { weightGradTuning } from "./conv.ts";
import { GraphBuilder } from "../ir/builder.ts";
import { buildGradients } from "../grad/autodiff.ts";

/** Run `f` with every convolution's weight gradient built by one form. */
function withForm<T>(form: "im2col" | "taps", f: () => T): T {
  weightGradTuning.force = form;
  try {
    return f();
  } finally {
    weightGradTuning.force = undefined;
  }
}

const cases: { name: string; inputs: Tensor[]; attrs?: Record<string, AttrValue> }[] = [
  {
    name: "3x3, padding 1",
    inputs: [rand([2, 3, 5, 5]), rand([4, 3, 3, 3], { seed: 2 })],
    attrs: { pads: [1, 1, 1, 1] },
  },
  {
    name: "stride, asymmetric padding and dilation",
    inputs: [rand([1, 2, 7, 6]), rand([3, 2, 2, 3], { seed: 2 })],
    attrs: { strides: [2, 3], pads: [1, 0, 2, 1], dilations: [2, 1] },
  },
  {
    name: "3x3 stride 2 on an even input (the last row is never reached)",
    inputs: [rand([2, 2, 6, 6]), rand([3, 2, 3, 3], { seed: 2 })],
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  {
    name: "1x1 stride 2",
    inputs: [rand([2, 2, 6, 6]), rand([3, 2, 1, 1], { seed: 2 })],
    attrs: { strides: [2, 2] },
  },
  { name: "1x1, whole maps", inputs: [rand([2, 3, 4, 4]), rand([5, 3, 1, 1], { seed: 2 })] },
  {
    name: "1-D",
    inputs: [rand([2, 2, 7]), rand([4, 2, 3], { seed: 2 })],
    attrs: { pads: [2, 0], strides: [2] },
  },
  {
    name: "with a bias",
    inputs: [rand([2, 3, 4, 4]), rand([4, 3, 3, 3], { seed: 2 }), rand([4], { seed: 3 })],
    attrs: { pads: [1, 1, 1, 1] },
  },
];

for (const form of ["im2col", "taps"] as const) {
  for (const c of cases) {
    Deno.test(`the ${form} weight gradient of a Conv (${c.name}) matches finite differences`, () => {
      const r = withForm(form, () => gradCheck({ op: "Conv", inputs: c.inputs, attrs: c.attrs }));
      // The form was used: a Gemm per tap, or a MatMul over im2col columns.
      assert.ok(r.graph.nodes.some((n) => n.op === (form === "taps" ? "Gemm" : "MatMul")));
    });
  }
}

Deno.test("the cost model picks im2col for large maps, taps for small maps of many channels, else a Conv", () => {
  const ops = (x: (number | string)[], w: number[]) => {
    const b = new GraphBuilder("conv");
    const xv = b.input("x", { dtype: "f32", shape: x });
    const wv = b.input("w", { dtype: "f32", shape: w });
    const [y] = b.addNode("Conv", [xv, wv], { pads: [1, 1, 1, 1] });
    const [loss] = b.addNode("ReduceSum", [y], { keepdims: 0 });
    buildGradients(b, loss, ["w"]);
    return b.graph.nodes.map((n) => n.op);
  };
  const form = (o: string[]) =>
    o.includes("MatMul") ? "im2col" : o.includes("Gemm") ? "taps" : "conv";
  // 64 channels at 32x32 (ResNet's first stage on CIFAR): maps larger than the channels.
  assert.equal(form(ops(["N", 64, 32, 32], [64, 64, 3, 3])), "im2col");
  // 512 channels at 4x4.
  assert.equal(form(ops(["N", 512, 4, 4], [512, 512, 3, 3])), "taps");
  // LeNet's first layer (one input channel), and few channels on small maps.
  assert.equal(form(ops(["N", 1, 8, 8], [16, 1, 3, 3])), "conv");
  assert.equal(form(ops(["N", 8, 4, 4], [32, 8, 3, 3])), "conv");
});
