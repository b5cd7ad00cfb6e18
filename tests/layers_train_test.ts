/**
 * The built-in layers and functions train as a user writes them: each in a
 * small model with a symbolic batch N, its step model compiles (the
 * gradient rules on its path need no fixed N) and one step agrees between
 * the reference interpreter and onnxruntime.
 */
import assert from "node:assert/strict";
import { compileTrain } from "../compiler/train/mod.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";

/** name, input type, pipeline applied to the input `x` (then flattened into a loss). */
const CASES: [string, string, string][] = [
  ["conv1d", "f32[N, 3, 10]", "conv1d(4, kernel: 3, pad: 1, stride: 2)"],
  ["conv2d (groups, dilation)", "f32[N, 4, 7, 7]", "conv2d(6, kernel: 3, groups: 2, dilation: 2)"],
  [
    "conv2d (depthwise, stride 2 on an even input)",
    "f32[N, 4, 8, 8]",
    "conv2d(4, kernel: 3, groups: 4, stride: 2, pad: 1)",
  ],
  [
    "conv2d (depthwise, channel multiplier)",
    "f32[N, 3, 6, 6]",
    "conv2d(6, kernel: 3, groups: 3, pad: 1)",
  ],
  ["conv1d (depthwise, dilation)", "f32[N, 3, 9]", "conv1d(3, kernel: 3, groups: 3, dilation: 2)"],
  ["conv3d", "f32[N, 2, 4, 4, 4]", "conv3d(3, kernel: 2)"],
  ["conv_transpose2d", "f32[N, 3, 4, 4]", "conv_transpose2d(2, kernel: 3, stride: 2)"],
  [
    "conv_transpose2d (groups)",
    "f32[N, 4, 3, 3]",
    "conv_transpose2d(6, kernel: 3, stride: 2, groups: 2)",
  ],
  [
    "conv_transpose1d (depthwise)",
    "f32[N, 3, 5]",
    "conv_transpose1d(3, kernel: 3, groups: 3, stride: 2)",
  ],
  ["batch_norm", "f32[N, 3, 4, 4]", "batch_norm"],
  ["layer_norm", "f32[N, 5, 6]", "layer_norm"],
  ["instance_norm", "f32[N, 3, 4, 4]", "instance_norm"],
  ["rms_norm", "f32[N, 5, 6]", "rms_norm"],
  ["prelu", "f32[N, 3, 4]", "prelu"],
  ["max_pool", "f32[N, 2, 6, 6]", "max_pool(3, stride: 2, pad: 1)"],
  ["avg_pool", "f32[N, 2, 6, 6]", "avg_pool(2)"],
  ["global_avg_pool", "f32[N, 2, 5, 5]", "global_avg_pool |> flatten"],
  ["global_max_pool", "f32[N, 2, 5, 5]", "global_max_pool |> flatten"],
  ["adaptive_avg_pool", "f32[N, 2, 6, 6]", "adaptive_avg_pool(3)"],
  ["lrn", "f32[N, 6, 3, 3]", "lrn(3)"],
  ["dropout", "f32[N, 8]", "dropout(0.25)"],
  ["drop_path", "f32[N, 8]", "drop_path(0.25)"],
  ["gelu, silu, elu, selu, softplus", "f32[N, 8]", "gelu |> silu |> elu |> selu |> softplus"],
  [
    "hardswish, hard_sigmoid, relu6, leaky_relu",
    "f32[N, 8]",
    "hardswish |> hard_sigmoid |> relu6 |> leaky_relu",
  ],
  ["tanh, sigmoid, erf, abs", "f32[N, 8]", "tanh |> sigmoid |> erf |> abs"],
  ["softmax, log_softmax", "f32[N, 8]", "softmax(axis: 1) |> log_softmax(axis: 1)"],
  ["linear on 3-D input", "f32[N, 5, 6]", "linear(4)"],
  [
    "scaled_dot_product_attention (causal)",
    "f32[N, 2, 5, 4]",
    "scaled_dot_product_attention(x, x, causal: true)",
  ],
  [
    "transpose, reshape, split, concat",
    "f32[N, 4, 6]",
    "transpose((0, 2, 1)) |> reshape((-1, 24)) |> chunk(2, axis: 1) |> concat(axis: 1)",
  ],
  ["matmul, maximum, where", "f32[N, 4, 4]", "matmul(x) |> maximum(x)"],
  ["clip, sqrt, exp, log", "f32[N, 8]", "clip(0.1, 2.0) |> sqrt |> exp |> log"],
];

for (const [name, type, pipe] of CASES) {
  Deno.test(`${name} trains over a symbolic batch: one step agrees between the runtimes`, async () => {
    // A learned scale in front, so that parameter-free functions have something to train.
    const src = `model M {
  input x0: ${type}
  let x = x0 * param((1,), name: "scale", init: ones)
  output y = x |> ${pipe}
}
train M {
  loss = reduce_mean(y * y)
  optimizer = sgd(lr: 0.1)
}
`;
    const c = compileTrain("m.dlm", { read: () => src });
    assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), [], name);
    const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 1, batchSize: 3 };
    const r = await diffTrain(c.step!, opts);
    assert.equal(r.ok, true, formatTrainDiff(r, opts));
  });
}
