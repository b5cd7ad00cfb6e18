/**
 * A convolution's gradients in their several forms (conv.ts: the weight
 * gradient from im2col's columns per sample or in one Gemm, the input
 * gradient as a flipped Conv or columns): finite differences with each form forced on small
 * convolutions, onnxruntime-node against the reference interpreter, and the
 * cost model's choice on real layer sizes.
 */
import assert from "node:assert/strict";
import type { AttrValue } from "../ir/graph.ts";
import { gradCheck, rand } from "../grad/grad_check.ts";
import type { Tensor } from "../ir/tensor.ts";
import { convGradTuning } from "./conv.ts";
import { GraphBuilder } from "./builder.ts";
import { buildGradients } from "../grad/autodiff.ts";
import { emitModel } from "../onnx/emit.ts";
import { dce } from "../passes/mod.ts";
import { runGraph } from "../../runtime/reference/interpreter.ts";
import { createNodeSession } from "../../runtime/ort/node.ts";

type Forms = {
  weight?: "im2col" | "cols" | "conv";
  data?: "transpose" | "flipped" | "cols";
};

/** Run `f` with every convolution's weight and input gradients built by the forms given. */
function withForm<T>(forms: Forms, f: () => T): T {
  convGradTuning.force = forms.weight;
  convGradTuning.forceData = forms.data;
  try {
    return f();
  } finally {
    convGradTuning.force = undefined;
    convGradTuning.forceData = undefined;
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

for (const form of ["im2col", "cols"] as const) {
  for (const c of cases) {
    Deno.test(`the ${form} weight gradient of a Conv (${c.name}) matches finite differences`, () => {
      const r = withForm(
        { weight: form },
        () => gradCheck({ op: "Conv", inputs: c.inputs, attrs: c.attrs }),
      );
      // The form was used: a Gemm per tap, or a MatMul over im2col columns.
      assert.ok(r.graph.nodes.some((n) => n.op === (form === "cols" ? "Gemm" : "MatMul")));
    });
  }
}

// With stride 1 (the flipped form's domain), dilation and padding up to d (k - 1).
const stride1: { name: string; inputs: Tensor[]; attrs?: Record<string, AttrValue> }[] = [
  cases[0],
  {
    name: "dilation, asymmetric padding, a 2x3 kernel",
    inputs: [rand([2, 2, 7, 6]), rand([3, 2, 2, 3], { seed: 2 })],
    attrs: { pads: [2, 0, 0, 1], dilations: [2, 1] },
  },
  cases[4],
  { name: "1-D", inputs: [rand([2, 2, 7]), rand([4, 2, 3], { seed: 2 })], attrs: { pads: [2, 1] } },
  cases[6],
  {
    name: "3-D",
    inputs: [rand([1, 2, 3, 4, 3]), rand([3, 2, 2, 3, 2], { seed: 2 })],
    attrs: { pads: [1, 0, 1, 0, 2, 0] },
  },
  {
    name: "3x3 on 1x1 maps (every tap but the centre reads padding)",
    inputs: [rand([3, 4, 1, 1]), rand([5, 4, 3, 3], { seed: 2 })],
    attrs: { pads: [1, 1, 1, 1] },
  },
];
// Columns take any stride too.
const dataCases = { flipped: stride1, cols: [...stride1, cases[1], cases[2], cases[3], cases[5]] };

for (const form of ["flipped", "cols"] as const) {
  for (const c of dataCases[form]) {
    Deno.test(`the ${form} input gradient of a Conv (${c.name}) matches finite differences`, () => {
      const r = withForm(
        { data: form },
        () => gradCheck({ op: "Conv", inputs: c.inputs, attrs: c.attrs }),
      );
      // The form was used: no ConvTranspose.
      assert.ok(!r.graph.nodes.some((n) => n.op === "ConvTranspose"));
    });
  }
}

Deno.test("a strided Conv's input gradient is a ConvTranspose when the flipped form is asked", () => {
  for (const c of [cases[1], cases[2]]) {
    const r = withForm(
      { data: "flipped" },
      () => gradCheck({ op: "Conv", inputs: c.inputs, attrs: c.attrs }),
    );
    assert.ok(r.graph.nodes.some((n) => n.op === "ConvTranspose"), c.name);
  }
});

/**
 * The gradients of sum(op(x, w) * g) with respect to x and w, as a graph of x, w and g
 * (`op` a Conv or a ConvTranspose).
 */
function gradGraph(
  x: (number | string)[],
  w: number[],
  attrs: Record<string, AttrValue>,
  op = "Conv",
) {
  const b = new GraphBuilder("conv_grads");
  const xv = b.input("x", { dtype: "f32", shape: x });
  const wv = b.input("w", { dtype: "f32", shape: w });
  const [y] = b.addNode(op, [xv, wv], attrs);
  const gv = b.input("g", { dtype: "f32", shape: b.typeOf(y)!.shape });
  const [loss] = b.addNode("ReduceSum", [b.addNode("Mul", [y, gv])[0]], { keepdims: 0 });
  const grads = buildGradients(b, loss, ["x", "w"]);
  b.output(grads.get("x")!, "dx");
  b.output(grads.get("w")!, "dw");
  dce(b.graph, { mode: "train" });
  return b.graph;
}

/** Run `g` on onnxruntime-node and the reference interpreter and compare dx and dw. */
async function sameOnOrt(g: ReturnType<typeof gradGraph>, x: Tensor, w: Tensor, what: string) {
  const y = g.inputs.find((i) => i.name === "g")!.type.shape.map((d) =>
    typeof d === "number" ? d : x.shape[0]
  );
  const f32 = (t: Tensor): Tensor => ({
    ...t,
    dtype: "f32",
    data: Float32Array.from(t.data as Float64Array),
  });
  const feeds = { x: f32(x), w: f32(w), g: f32(rand(y, { seed: 5 })) };
  const ref = runGraph(g, feeds).outputs;
  const session = await createNodeSession(emitModel(g).model);
  try {
    const got = await session.run(feeds);
    for (const k of ["dx", "dw"]) {
      const a = ref[k].data as Float32Array, b = got[k].data as Float32Array;
      assert.deepEqual(got[k].shape, ref[k].shape, `${what}: ${k}`);
      for (let i = 0; i < a.length; i++) {
        assert.ok(Math.abs(a[i] - b[i]) <= 1e-4 * (1 + Math.abs(a[i])), `${what}: ${k}[${i}]`);
      }
    }
  } finally {
    await session.release();
  }
}

const ortForms: Forms[] = [
  { data: "transpose", weight: "conv" },
  { data: "flipped", weight: "im2col" },
  { data: "cols", weight: "cols" },
];
for (const forms of ortForms) {
  Deno.test(`onnxruntime-node runs the ${forms.data} input gradient and ${forms.weight} weight gradient of a Conv as the reference does`, async () => {
    for (const c of forms.data === "flipped" ? stride1 : dataCases.cols) {
      const [x, w] = c.inputs;
      const g = withForm(forms, () => gradGraph([...x.shape], [...w.shape], c.attrs ?? {}));
      await sameOnOrt(g, x, w, c.name);
    }
  });
}

// Grouped convolutions and transposed convolutions: G = 2 with C/G != G, depthwise, depthwise
// with a channel multiplier; strided (the input gradient a ConvTranspose) and not (a flipped Conv).
const grouped: { name: string; op: string; inputs: Tensor[]; attrs: Record<string, AttrValue> }[] =
  [
    {
      name: "2 groups, stride, dilation, asymmetric padding",
      op: "Conv",
      inputs: [rand([2, 6, 7, 6]), rand([4, 3, 2, 3], { seed: 2 })],
      attrs: { group: 2, strides: [2, 1], dilations: [1, 2], pads: [1, 0, 0, 2] },
    },
    {
      name: "2 groups at stride 1",
      op: "Conv",
      inputs: [rand([2, 4, 5, 6]), rand([6, 2, 3, 2], { seed: 2 })],
      attrs: { group: 2, dilations: [2, 1], pads: [1, 0, 3, 1] },
    },
    {
      name: "depthwise, stride 2, cropped",
      op: "Conv",
      inputs: [rand([3, 5, 6, 6]), rand([5, 1, 1, 1], { seed: 2 })],
      attrs: { group: 5, strides: [2, 2] },
    },
    {
      name: "depthwise 3x3 with a channel multiplier",
      op: "Conv",
      inputs: [rand([2, 4, 6, 6]), rand([8, 1, 3, 3], { seed: 2 })],
      attrs: { group: 4, pads: [1, 1, 1, 1] },
    },
    {
      name: "1-D depthwise with a channel multiplier and stride",
      op: "Conv",
      inputs: [rand([2, 3, 9]), rand([6, 1, 3], { seed: 2 })],
      attrs: { group: 3, strides: [2], pads: [1, 0] },
    },
    {
      name: "transposed, 2 groups",
      op: "ConvTranspose",
      inputs: [rand([2, 4, 3, 3]), rand([4, 3, 2, 2], { seed: 2 })],
      attrs: { group: 2, strides: [2, 1], pads: [0, 1, 1, 0] },
    },
    {
      name: "transposed, depthwise with a channel multiplier",
      op: "ConvTranspose",
      inputs: [rand([2, 3, 3, 4]), rand([3, 2, 3, 2], { seed: 2 })],
      attrs: { group: 3, strides: [2, 2], dilations: [1, 2], pads: [1, 0, 0, 2] },
    },
  ];

Deno.test("a grouped convolution's weight gradient is one Conv with its group, over a symbolic batch as over a fixed one", () => {
  for (const c of grouped) {
    const [x, w] = c.inputs;
    for (const batch of [x.shape[0], "N"]) {
      const g = gradGraph([batch, ...x.shape.slice(1)], [...w.shape], c.attrs, c.op);
      const ops = g.nodes.map((n) => n.op);
      assert.ok(!ops.includes("Split") && !ops.includes("Concat"), `${c.name}: ${ops}`);
      // The forward, the weight gradient, and (for a Conv at stride 1 or a ConvTranspose) dx.
      const convs = g.nodes.filter((n) => n.op === "Conv");
      const group = c.attrs.group as number;
      assert.ok(convs.length <= 3, `${c.name}: ${ops}`);
      assert.ok(convs.every((n) => n.attrs.group === group), `${c.name}: every Conv has the group`);
      const dw = g.outputs.find((o) => o.name === "dw")!;
      assert.deepEqual(dw.type.shape, w.shape, `${c.name}: dw has the weight's static shape`);
      // (The loss's own gradient names a symbolic batch max(?, N): only the other dims are fixed.)
      const dx = g.outputs.find((o) => o.name === "dx")!;
      assert.deepEqual(dx.type.shape.slice(1), x.shape.slice(1), `${c.name}: dx`);
    }
  }
});

Deno.test("onnxruntime-node runs grouped and depthwise gradients over a symbolic batch as the reference does", async () => {
  for (const c of grouped) {
    const [x, w] = c.inputs;
    await sameOnOrt(
      gradGraph(["N", ...x.shape.slice(1)], [...w.shape], c.attrs, c.op),
      x,
      w,
      c.name,
    );
  }
});

Deno.test("the input gradient is columns for small maps of many channels, else a flipped Conv where the weight is no larger than dx", () => {
  const form = (x: (number | string)[], w: number[], attrs: Record<string, AttrValue> = {}) => {
    const b = new GraphBuilder("conv");
    const xv = b.input("x", { dtype: "f32", shape: x });
    const wv = b.input("w", { dtype: "f32", shape: w });
    const [y] = b.addNode("Conv", [xv, wv], { pads: [1, 1, 1, 1], ...attrs });
    const [loss] = b.addNode("ReduceSum", [y], { keepdims: 0 });
    b.output(buildGradients(b, loss, ["x"]).get("x")!, "dx");
    dce(b.graph, { mode: "train" });
    const ops = b.graph.nodes.map((n) => n.op);
    return ops.includes("ConvTranspose")
      ? "transpose"
      : ops.includes("MatMul")
      ? "cols"
      : "flipped";
  };
  // Maps of at most half as many positions as the output channels: LeNet's second layer,
  // ResNet-18's last two stages, with stride 2 too.
  assert.equal(form([32, 16, 4, 4], [32, 16, 3, 3]), "cols");
  assert.equal(form(["N", 256, 8, 8], [256, 256, 3, 3]), "cols");
  assert.equal(form(["N", 512, 4, 4], [512, 512, 3, 3]), "cols");
  assert.equal(form(["N", 512, 1, 1], [512, 512, 3, 3]), "cols");
  assert.equal(form(["N", 256, 8, 8], [512, 256, 3, 3], { strides: [2, 2] }), "cols");
  // Larger maps. A symbolic batch counts as 32: 64 channels at 32x32 and 8x8 have 37k weights
  // and 2M and 131k inputs.
  assert.equal(form(["N", 64, 32, 32], [64, 64, 3, 3]), "flipped");
  assert.equal(form(["N", 64, 8, 8], [64, 64, 3, 3]), "flipped");
  // Strided, or a weight larger than dx: the transposed convolution.
  assert.equal(form(["N", 64, 32, 32], [128, 64, 3, 3], { strides: [2, 2] }), "transpose");
  assert.equal(form([1, 512, 16, 16], [512, 512, 3, 3]), "transpose");
});

Deno.test("the cost model picks im2col for large maps, one Gemm over the columns for small maps of many channels, else a Conv", () => {
  const ops = (x: (number | string)[], w: number[]) => {
    const b = new GraphBuilder("conv");
    const xv = b.input("x", { dtype: "f32", shape: x });
    const wv = b.input("w", { dtype: "f32", shape: w });
    const [y] = b.addNode("Conv", [xv, wv], { pads: [1, 1, 1, 1] });
    const [loss] = b.addNode("ReduceSum", [y], { keepdims: 0 });
    b.output(buildGradients(b, loss, ["w"]).get("w")!, "dw");
    dce(b.graph, { mode: "train" });
    return b.graph.nodes.map((n) => n.op);
  };
  const form = (o: string[]) =>
    o.includes("MatMul") ? "im2col" : o.includes("Gemm") ? "cols" : "conv";
  // 64 channels at 32x32 (ResNet's first stage on CIFAR): maps larger than the channels.
  assert.equal(form(ops(["N", 64, 32, 32], [64, 64, 3, 3])), "im2col");
  // 512 channels at 4x4.
  assert.equal(form(ops(["N", 512, 4, 4], [512, 512, 3, 3])), "cols");
  // LeNet's first layer (one input channel), and few channels on small maps.
  assert.equal(form(ops(["N", 1, 8, 8], [16, 1, 3, 3])), "conv");
  assert.equal(form(ops(["N", 8, 4, 4], [32, 8, 3, 3])), "conv");
});

Deno.test("a strided 1x1 convolution whose forward runs on the batch's columns takes its weight gradient from them in one Gemm, whatever its work", () => {
  const ops = (x: (number | string)[], w: number[]) => {
    const b = new GraphBuilder("conv");
    const xv = b.input("x", { dtype: "f32", shape: x });
    const wv = b.input("w", { dtype: "f32", shape: w });
    const [y] = b.addNode("Conv", [xv, wv], { strides: [2, 2] });
    const [loss] = b.addNode("ReduceSum", [y], { keepdims: 0 });
    b.output(buildGradients(b, loss, ["w"]).get("w")!, "dw");
    dce(b.graph, { mode: "train" });
    return b.graph.nodes.map((n) => n.op);
  };
  // ResNet-18's downsamples at 32x32 (64 to 128 at 8x8, 128 to 256 at 4x4, 256 to 512 at 2x2):
  // 131,072 multiply-adds a sample, under `colsMinWork`, but on at most 16 output positions.
  for (
    const [x, w] of [
      [["N", 64, 8, 8], [128, 64, 1, 1]],
      [["N", 128, 4, 4], [256, 128, 1, 1]],
      [["N", 256, 2, 2], [512, 256, 1, 1]],
    ] as const
  ) {
    const o = ops([...x], [...w]);
    assert.equal(o.filter((op) => op === "Gemm").length, 1, o.join(" "));
    // The forward's Conv and the columns' one-hot Conv: no correlation of x with g, no Slice.
    assert.equal(o.filter((op) => op === "Conv").length, 2, o.join(" "));
    assert.ok(!o.includes("Slice"), o.join(" "));
  }
  // On more positions than conv_columns takes, the Conv form stays.
  const large = ops(["N", 64, 16, 16], [128, 64, 1, 1]);
  assert.ok(!large.includes("Gemm"), large.join(" "));
  // Unforced, at a size that takes this form: finite differences agree.
  const r = gradCheck({
    op: "Conv",
    inputs: [rand([2, 16, 4, 4]), rand([3, 16, 1, 1], { seed: 2 })],
    attrs: { strides: [2, 2] },
  });
  assert.ok(r.graph.nodes.some((n) => n.op === "Gemm"), r.graph.nodes.map((n) => n.op).join(" "));
});

// Pointwise convolutions (a 1x1 kernel at stride 1, no padding): on 1-position maps two Gemms on
// Reshapes (`pixelGrads`), on larger maps columns that are x itself, with no one-hot Conv.
const pointwise: { name: string; inputs: Tensor[]; pixels: boolean }[] = [
  {
    name: "on 1x1 maps, with a bias",
    inputs: [rand([3, 4, 1, 1]), rand([5, 4, 1, 1], { seed: 2 }), rand([5], { seed: 3 })],
    pixels: true,
  },
  {
    name: "1-D, on 1-position maps",
    inputs: [rand([2, 3, 1]), rand([6, 3, 1], { seed: 2 })],
    pixels: true,
  },
  {
    name: "on 3x2 maps",
    inputs: [rand([2, 3, 3, 2]), rand([4, 3, 1, 1], { seed: 2 })],
    pixels: false,
  },
  {
    name: "on 4x4 maps, many input channels",
    inputs: [rand([2, 16, 4, 4]), rand([3, 16, 1, 1], { seed: 2 })],
    pixels: false,
  },
];

for (const c of pointwise) {
  Deno.test(`the gradients of a pointwise Conv (${c.name}) match finite differences and copy no activation through a one-hot Conv`, () => {
    const r = gradCheck({ op: "Conv", inputs: c.inputs });
    const ops = r.graph.nodes.map((n) => n.op);
    // Besides the forward, at most the input gradient's Conv (by the weight, unflipped: a
    // 1-tap kernel flips to itself): no one-hot im2col Conv, no correlation of x with g.
    const convs = r.graph.nodes.filter((n) => n.op === "Conv").slice(1);
    assert.ok(convs.length <= (c.pixels ? 0 : 1), ops.join(" "));
    for (const n of convs) assert.ok(!r.graph.initializers.has(n.inputs[1]), ops.join(" "));
    assert.ok(!ops.includes("Slice"), ops.join(" "));
    assert.ok(ops.includes("Gemm") || ops.includes("MatMul"), ops.join(" "));
    // On 1-position maps, nothing is transposed.
    if (c.pixels) assert.ok(!ops.includes("Transpose"), ops.join(" "));
  });
}

Deno.test("onnxruntime-node runs a pointwise Conv's gradients over a symbolic batch as the reference does", async () => {
  for (const c of pointwise) {
    const [x, w] = c.inputs;
    const g = gradGraph(["N", ...x.shape.slice(1)], [...w.shape], {});
    await sameOnOrt(g, x, w, c.name);
  }
});
