import assert from "node:assert/strict";
import { compileTrain } from "./compile.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { prepareInputs } from "../../runtime/inputs.ts";
import { type Tensor, tensor, toNumbers, zeros } from "../ir/tensor.ts";
import { GraphBuilder } from "../ops/builder.ts";
import type { Graph } from "../ir/graph.ts";
import { convGradTuning } from "../ops/conv.ts";

const ex = (f: string) => new URL(`../../lang-examples/${f}`, import.meta.url).pathname;

/** Feeds for one step: batch random, state from the initializers, optimiser state zeros, step 0. */
function feeds(g: Graph, batch: string[], dims: Record<string, number>): Record<string, Tensor> {
  const sub = { ...g, inputs: g.inputs.filter((i) => batch.includes(i.name)) };
  const out: Record<string, Tensor> = prepareInputs(sub, { seed: 1, dims });
  for (const i of g.inputs) {
    if (i.name in out) continue;
    if (i.name === "step") out[i.name] = tensor("i64", [], [0]);
    else out[i.name] = g.initializers.get(i.name) ?? zeros(i.type.dtype, i.type.shape as number[]);
  }
  return out;
}

Deno.test("a train section compiles to a step model that follows the contract", () => {
  const r = compileTrain(ex("mlp_digits.dlm"));
  assert.deepEqual(r.diagnostics, []);
  const g = r.step!;
  assert.deepEqual(g.outputs.map((o) => o.name), [
    "loss",
    "metric:accuracy",
    "next:fc1.weight",
    "next:fc1.bias",
    "next:fc2.weight",
    "next:fc2.bias",
    "next:step",
  ]);
  assert.deepEqual(r.settings, {
    epochs: 30,
    batchSize: 32,
    dropLast: undefined,
    valSplit: 0.2,
    trainSamples: undefined,
    earlyStop: undefined,
    patience: undefined,
    metrics: ["accuracy"],
    schedule: undefined,
  });
  const out = runGraph(g, feeds(g, ["image", "label"], { N: 8 })).outputs;
  // SGD: next = w - 0.1 * grad; the loss of a fresh MLP on 10 classes is near log(10).
  assert.ok(Math.abs((out.loss.data[0] as number) - Math.log(10)) < 0.5);
  assert.equal(out["next:step"].data[0], 1n);
});

Deno.test("moving_average() makes the frozen key encoder track the trained query encoder", () => {
  const r = compileTrain(ex("moco.dlm"));
  assert.deepEqual(r.diagnostics, []);
  const g = r.step!;
  const out = runGraph(g, feeds(g, ["view1", "view2"], { N: 4 })).outputs;
  const k = g.initializers.get("key.fc1.weight")!.data as Float32Array;
  const q = out["next:query.fc1.weight"].data as Float32Array;
  const next = out["next:key.fc1.weight"].data as Float32Array;
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(next[i] - (0.999 * k[i] + 0.001 * q[i])) < 1e-6);
  assert.ok(
    !g.outputs.some((o) => o.name === "next:opt:momentum:key.fc1.weight"),
    "the key encoder has no optimiser state",
  );
});

Deno.test("a train section without an optimiser, or with everything frozen, is reported", () => {
  const src = (body: string) =>
    `model M { input x: f32[N, 4]  output y = x |> fc: linear(1) }\ntrain M { ${body} }`;
  const read = (body: string) => () => src(body);
  const a = compileTrain("m.dlm", { read: read("loss = reduce_mean(y)") });
  assert.deepEqual(a.diagnostics.map((d) => d.code), ["DLM0223"]);
  const b = compileTrain("m.dlm", {
    read: read('freeze "fc.*"  loss = reduce_mean(y)  optimizer = sgd(lr: 0.1)'),
  });
  assert.deepEqual(b.diagnostics.map((d) => d.code), ["DLM0701"]);
  const c = compileTrain("m.dlm", { read: read("loss = y  optimizer = sgd()") });
  assert.deepEqual(c.diagnostics.map((d) => d.code), ["DLM0234"]);
});

Deno.test("transfer learning: a frozen backbone stays a constant and only the new head is trained", () => {
  const r = compileTrain(ex("transfer_digits.dlm"));
  assert.deepEqual(r.diagnostics, []);
  const next = r.step!.outputs.map((o) => o.name).filter((n) =>
    n.startsWith("next:") && !n.includes("opt:")
  );
  assert.deepEqual(next, ["next:head.weight", "next:head.bias", "next:step"]);
  assert.ok(r.step!.initializers.has("fc1.weight"), "the backbone is a constant of the step");
  assert.ok(!r.eval!.inputs.some((i) => i.name === "fc1.weight"));
});

Deno.test("phases: a GAN step updates the discriminator, then the generator against the updated discriminator", () => {
  const r = compileTrain(ex("gan.dlm"), { overrides: { hidden: 8 } });
  assert.deepEqual(r.diagnostics, []);
  const g = r.step!;
  const outs = g.outputs.map((o) => o.name);
  assert.ok(
    outs.includes("metric:disc_loss") && outs.includes("metric:gen_loss") && outs.includes("loss"),
  );
  // Each phase trains its own parameters, with its own optimiser state.
  assert.ok(
    outs.includes("next:opt:m:disc.fc1.weight") && outs.includes("next:opt:m:gen.fc1.weight"),
  );
  // The generator's loss is recomputed through copies of the discriminator that read its updated weights.
  const copies = g.nodes.filter((n) => n.name.startsWith("gen@"));
  assert.ok(copies.length > 0);
  const updatedW = g.nodes.find((n) => n.outputs.includes("next:disc.fc1.weight"));
  assert.ok(updatedW, "the discriminator's update is computed in the step");
  assert.ok(
    copies.some((n) => n.inputs.includes("next:disc.fc1.weight")),
    "the generator phase reads the updated discriminator",
  );
});

Deno.test("L1/L2 regularisers over parameter sets add their sums to the loss", () => {
  const model =
    "model M { input x: f32[N, 4]  output y = x |> fc1: linear(8) |> relu |> fc2: linear(1) }";
  const section = (loss: string) =>
    `${model}\ntrain M { input t: f32[N, 1]  loss = ${loss}  optimizer = sgd(lr: 0.1) }`;
  const plain = compileTrain("m.dlm", { read: () => section("mse(y, t)") });
  const reg = compileTrain("m.dlm", {
    read: () =>
      section(
        'mse(y, t) + 0.01 * l2_penalty(params("*.weight")) + 0.001 * l1_penalty(params("fc2.*"))',
      ),
  });
  assert.deepEqual(reg.diagnostics, []);
  const f = feeds(plain.step!, ["x", "t"], { N: 3 });
  const a = runGraph(plain.step!, f).outputs.loss.data[0] as number;
  const b = runGraph(reg.step!, f).outputs.loss.data[0] as number;
  const init = plain.step!.initializers;
  const sq = (n: string) =>
    Array.from(init.get(n)!.data as Float32Array).reduce((s, v) => s + v * v, 0);
  const ab = (n: string) =>
    Array.from(init.get(n)!.data as Float32Array).reduce((s, v) => s + Math.abs(v), 0);
  const want = 0.01 * (sq("fc1.weight") + sq("fc2.weight")) +
    0.001 * (ab("fc2.weight") + ab("fc2.bias"));
  assert.ok(Math.abs(b - a - want) < 1e-5, `${b - a} vs ${want}`);
});

Deno.test("a conv's weight gradient skips the weight-sized transpose where the maps are smaller", () => {
  // 64x32x3x3 weights (18k): on 2x2 maps the flipped-map correlation is cheaper; on 16x16 maps
  // the transpose of the weight gradient is (compiler/ops/conv.ts flippedWeightGrad).
  const src = (size: number) => () =>
    `model M { input x: f32[N, 32, ${size}, ${size}]  output y = x |> c: conv2d(64, kernel: 3, pad: 1) }
train M { loss = reduce_mean(y * y)  optimizer = sgd(lr: 0.1) }`;
  const count = (size: number) => {
    // The Conv forms only (16x16 maps would take the im2col form, compiler/ops/conv_grad_test.ts).
    convGradTuning.force = "conv";
    let r;
    try {
      r = compileTrain("m.dlm", { read: src(size) });
    } finally {
      convGradTuning.force = undefined;
    }
    assert.deepEqual(r.diagnostics, []);
    const grad = r.step!.nodes.filter((n) => n.name.startsWith("grad.step/c/"));
    return {
      transposes: grad.filter((n) => n.op === "Transpose").length,
      slices: grad.filter((n) => n.op === "Slice").length,
    };
  };
  assert.deepEqual(count(2), { transposes: 2, slices: 2 });
  assert.deepEqual(count(16), { transposes: 3, slices: 0 });
});

Deno.test("a depthwise layer's step has as many nodes for 64 channels as for 8", () => {
  // A learned scale in front makes the layer's input gradient part of the step too.
  const step = (channels: number) => {
    const src = `model M {
  input x0: f32[N, ${channels}, 8, 8]
  let x = x0 * param((1,), name: "scale", init: ones)
  output y = x |> dw: conv2d(${channels}, kernel: 3, pad: 1, groups: ${channels})
    |> dws: conv2d(${2 * channels}, kernel: 3, stride: 2, dilation: 2, pad: 2, groups: ${channels})
}
train M { loss = reduce_mean(y * y)  optimizer = sgd(lr: 0.1) }`;
    const r = compileTrain("m.dlm", { read: () => src });
    assert.deepEqual(r.diagnostics, []);
    return r.step!;
  };
  const [small, large] = [step(8), step(64)];
  const ops = (g: Graph) => g.nodes.map((n) => n.op).sort().join(" ");
  assert.equal(ops(large), ops(small));
  assert.ok(!small.nodes.some((n) => n.op === "Split" || n.op === "Concat"));
  // The weight gradients keep their static shapes over the symbolic batch.
  const next = (g: Graph, name: string) => g.outputs.find((o) => o.name === `next:${name}`)!;
  assert.deepEqual(next(large, "dw.weight").type.shape, [64, 1, 3, 3]);
  assert.deepEqual(next(large, "dws.weight").type.shape, [128, 1, 3, 3]);
});

Deno.test("a gradient that needs a symbolic dim as a number is DLM0417 at the layer, naming the --dim fix", () => {
  const src = () =>
    `model M {
  input x: f32[N, 3, H, W]
  output y = x |> c: conv2d(4, kernel: 3, pad: 1) |> global_avg_pool |> flatten
}
train M { loss = reduce_mean(y * y)  optimizer = sgd(lr: 0.1) }`;
  const r = compileTrain("m.dlm", { read: src });
  const d = r.diagnostics.find((x) => x.severity === "error")!;
  assert.equal(d.code, "DLM0417");
  assert.match(
    d.message,
    /needs a known spatial dim 0, found symbolic dim 'H'; fix it with --dim H=<size>/,
  );
  assert.equal(d.span?.line, 3);
  const fixed = compileTrain("m.dlm", { read: src, dims: { H: 8, W: 8 } });
  assert.deepEqual(fixed.diagnostics, []);
});

Deno.test("a step's batch norm reads the statistics its gradient computes and updates the running ones as PyTorch does", () => {
  // A batch of symbolic size N before a batch norm: its gradient counts N at run time.
  const src = `model M {
  input x: f32[N, 3, 2, 2]
  output y: f32[N, 3, 2, 2] = x |> conv: conv2d(3, kernel: 1, bias: false)
    |> bn: batch_norm(momentum: 0.2)
}
train M { loss = reduce_mean(y * y * y)  optimizer = sgd(lr: 0.1) }`;
  const c = compileTrain("m.dlm", { read: () => src });
  const step = c.step!;
  const bns = step.nodes.filter((n) => n.op === "BatchNormalization");
  // The forward's and the gradient's three (inference mode, as per-channel affine maps).
  assert.equal(bns.length, 4);
  assert.ok(bns.every((n) => n.attrs.training_mode === undefined));
  // One ReduceMean for the mean and one for the variance (the forward's and the gradient's
  // merged), and the gradient's means of g and g xhat.
  const perChannel = step.nodes.filter((n) =>
    n.op === "ReduceMean" && JSON.stringify(n.attrs.axes) === "[0,2,3]"
  );
  assert.equal(perChannel.length, 4);
  // M is N * 4, with N read once, from the input x.
  const counts = step.nodes.filter((n) => n.op === "Size" || n.attrs.start !== undefined);
  assert.deepEqual(counts.map((n) => [n.op, n.inputs[0], n.attrs.start, n.attrs.end]), [
    ["Shape", "x", 0, 1],
  ]);
  const feeds: Record<string, Tensor> = {
    x: tensor("f32", [2, 3, 2, 2], Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7) * 3)),
    "conv.weight": tensor("f32", [3, 3, 1, 1], [1, 0.2, -0.3, 0.1, 0.8, 0.4, -0.5, 0.3, 1.2]),
    "bn.weight": tensor("f32", [3], [1.5, -0.5, 2]),
    "bn.bias": tensor("f32", [3], [0.1, 0.2, -0.3]),
    "bn.running_mean": tensor("f32", [3], [0.5, -1, 2]),
    "bn.running_var": tensor("f32", [3], [1, 2, 0.5]),
    step: tensor("i64", [], [0]),
  };
  const got = runGraph(step, feeds).outputs;
  // The train-mode node itself, on the reference interpreter. ONNX's momentum is the weight of the
  // running value: batch_norm(momentum: 0.2) is PyTorch's, so the node has 0.8.
  const b = new GraphBuilder("bn");
  const ins = ["x", "conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"]
    .map((n) => b.input(n, { dtype: feeds[n].dtype, shape: [...feeds[n].shape] }));
  const [conv] = b.addNode("Conv", [ins[0], ins[1]], { kernel_shape: [1, 1] });
  const [y, mean, variance] = b.addNode("BatchNormalization", [conv, ...ins.slice(2)], {
    training_mode: 1,
    momentum: 0.8,
  }, { nOutputs: 3 });
  const [cube] = b.addNode("Mul", [b.addNode("Mul", [y, y])[0], y]);
  b.output(b.addNode("ReduceMean", [cube], { keepdims: 0 })[0], "loss");
  b.output(mean, "mean");
  b.output(variance, "var");
  b.output(conv, "conv");
  const { step: _, ...bnFeeds } = feeds;
  const want = runGraph(b.graph, bnFeeds).outputs;
  const close = (a: Tensor | number[], e: Tensor | number[], what: string, tol = 1e-5) => {
    const x = Array.isArray(a) ? a : toNumbers(a), w = Array.isArray(e) ? e : toNumbers(e);
    assert.equal(x.length, w.length, what);
    for (let i = 0; i < w.length; i++) {
      assert.ok(Math.abs(x[i] - w[i]) < tol, `${what}[${i}]: ${x[i]} against ${w[i]}`);
    }
  };
  close(got.loss, want.loss, "loss");
  close(got["next:bn.running_mean"], want.mean, "running mean");
  // The node blends the population variance (ONNX's rule), the step the unbiased one, over the
  // M = N H W = 8 values of each channel (PyTorch's rule): computed here from the conv's output.
  const z = toNumbers(want.conv), run0 = toNumbers(feeds["bn.running_var"]);
  const unbiased = [0, 1, 2].map((ch) => {
    const v = [0, 1].flatMap((n) => [0, 1, 2, 3].map((k) => z[n * 12 + ch * 4 + k]));
    const mu = v.reduce((a, x) => a + x, 0) / v.length;
    return v.reduce((a, x) => a + (x - mu) ** 2, 0) / (v.length - 1);
  });
  close(
    got["next:bn.running_var"],
    unbiased.map((u, ch) => 0.8 * run0[ch] + 0.2 * u),
    "running var",
  );
  assert.ok(
    toNumbers(got["next:bn.running_var"]).some((x, ch) =>
      Math.abs(x - toNumbers(want.var)[ch]) > 1e-3
    ),
    "the unbiased variance differs from the population one here",
  );
  // SGD's update, p - 0.1 dL/dp, against central differences of the train-mode node's loss.
  for (const p of ["conv.weight", "bn.weight", "bn.bias"]) {
    const p0 = toNumbers(feeds[p]);
    const lossAt = (k: number, d: number) => {
      const moved = p0.map((v, i) => (i === k ? v + d : v));
      const f = { ...bnFeeds, [p]: tensor("f32", [...feeds[p].shape] as number[], moved) };
      return toNumbers(runGraph(b.graph, f).outputs.loss)[0];
    };
    const h = 1e-2;
    const fd = p0.map((v, k) => v - 0.1 * (lossAt(k, h) - lossAt(k, -h)) / (2 * h));
    close(got[`next:${p}`], fd, p, 1e-3);
  }
});

Deno.test("compileTrain() builds the evaluation model only when `evaluation` asks for it, with the section's settings", () => {
  const src = `model M {
  input x: f32[N, 4]
  output y: f32[N, 2] = x |> fc: linear(2)
}
train M { input t: f32[N, 2]  loss = mse(y, t)  optimizer = sgd(lr: 0.1)  val_split = 0.25 }`;
  const read = () => src;
  const seen: (number | undefined)[] = [];
  const without = compileTrain("m.dlm", {
    read,
    evaluation: (s) => {
      seen.push(s.valSplit);
      return false;
    },
  });
  assert.deepEqual(without.diagnostics, []);
  assert.deepEqual(seen, [0.25]);
  assert.equal(without.eval, undefined);
  const both = compileTrain("m.dlm", { read, evaluation: () => true });
  assert.ok(both.eval);
  // The step is the same either way.
  assert.deepEqual(without.step!.nodes.map((n) => n.op), both.step!.nodes.map((n) => n.op));
  assert.deepEqual([...without.step!.initializers.keys()], [...both.step!.initializers.keys()]);
});

Deno.test("drop_last = true in a train section is the default of dlm train's --drop-last", () => {
  const src = (setting: string) =>
    `model M {\n  input x: f32[N, 4]\n  output y = x |> linear(2)\n}\ntrain M {\n  loss = reduce_mean(y)\n  optimizer = sgd(lr: 0.1)\n${setting}}\n`;
  const settings = (setting: string) =>
    compileTrain("main.dlm", { read: () => src(setting) }).settings?.dropLast;
  assert.equal(settings("  drop_last = true\n"), true);
  assert.equal(settings("  drop_last = false\n"), false);
  assert.equal(settings(""), undefined);
});

Deno.test("phases: an output named as a phase's reported loss is a located DLM0102, not an internal error", () => {
  const src = `model G {
  input x: f32[N, 4]
  output a = x |> fa: linear(1)
  output b = x |> fb: linear(1)
}
train G {
  phase("gen", loss: reduce_mean(a * a), optimizer: sgd(lr: 0.1), params: "fa.*")
  phase("disc", loss: reduce_mean(b * b), optimizer: sgd(lr: 0.1), params: "fb.*")
  output gen_loss = reduce_mean(a)
}
`;
  const r = compileTrain("phases.dlm", { read: () => src });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  assert.equal(errors.length, 1, JSON.stringify(r.diagnostics));
  assert.equal(errors[0].code, "DLM0102");
  assert.match(
    errors[0].message,
    /'gen_loss' is already defined as the loss that phase 'gen' reports \(line 7\)/,
  );
  assert.equal(errors[0].span?.line, 9);
});

Deno.test("a train section that redeclares its model's input is a located DLM0102, not a second input", () => {
  const src = `model C {
  input image: f32[N, 4]
  input label: i64[N]
  output logits = image |> fc: linear(3)
}
train C {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.1)
}
`;
  const r = compileTrain("redeclared.dlm", { read: () => src });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  assert.equal(errors.length, 1, JSON.stringify(r.diagnostics));
  assert.equal(errors[0].code, "DLM0102");
  assert.match(errors[0].message, /'label' is already defined as an input of the model/);
  assert.equal(errors[0].span?.line, 7);
  // Without the redeclaration the section reads the model's input: one `label` input.
  const ok = compileTrain("ok.dlm", {
    read: () => src.replace("  input label: i64[N]\n  loss", "  loss"),
  });
  assert.deepEqual(ok.diagnostics.filter((d) => d.severity === "error"), []);
  assert.deepEqual(ok.step!.inputs.filter((i) => i.name.startsWith("label")).map((i) => i.name), [
    "label",
  ]);
});
