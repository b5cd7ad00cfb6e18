import assert from "node:assert/strict";
import { compileTrain } from "../../compiler/train/mod.ts";
import { diffTrain, formatTrainDiff } from "./train_diff.ts";
import { checkNodes } from "./nodes.ts";
import { KERNELS } from "../reference/mod.ts";
import { cloneGraph } from "../../compiler/ir/graph.ts";
import { tensor, toNumbers } from "../../compiler/ir/tensor.ts";
import { loadModel } from "../train/model.ts";
import { initialState } from "../train/loop.ts";
import { prepareInputs } from "../inputs.ts";
import { main } from "../../cli/main.ts";

const example = (name: string) =>
  new URL(`../../lang-examples/${name}.dlm`, import.meta.url).pathname;
const TOL = { rtol: 1e-4, atol: 1e-5, backend: "node" as const };

Deno.test("two training steps of mlp_digits agree between the reference and onnxruntime", async () => {
  const c = compileTrain(example("mlp_digits"));
  const opts = { ...TOL, steps: 2, batchSize: 4 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
  assert.equal(r.steps.length, 2);
  assert.equal(r.batchSource, "digits");
  // The loss and every state tensor: 4 parameters and the step counter.
  assert.deepEqual(r.steps[0].tensors.map((t) => t.name), [
    "loss",
    "next:fc1.weight",
    "next:fc1.bias",
    "next:fc2.weight",
    "next:fc2.bias",
    "next:step",
  ]);
  assert.ok(Math.abs(r.steps[1].lossReference - r.steps[1].lossRuntime) < 1e-5);
});

for (const pack of [false, true]) {
  Deno.test(`lenet_digits agrees with its dropout mask shared by both sides${pack ? " (packed parameters)" : ""}`, async () => {
    const c = compileTrain(example("lenet_digits"), { pack });
    assert.equal(!!c.step!.packs, pack);
    const opts = { ...TOL, steps: 2, batchSize: 4 };
    const r = await diffTrain(c.step!, opts);
    assert.equal(r.ok, true, formatTrainDiff(r, opts));
    assert.equal(r.sharedMasks, 1);
    // Adam's moments are state too; packed ones are compared per parameter, by name.
    const names = r.steps[0].tensors.map((t) => t.name);
    assert.ok(names.includes("next:opt:m:fc3.weight"));
    assert.ok(names.includes("next:conv1.weight"));
    assert.ok(!names.some((n) => n.includes("pack:")));
  });
}

Deno.test("zero tolerance stops at the first failing step and names the tensor", async () => {
  const c = compileTrain(example("mlp_digits"));
  const opts = { rtol: 0, atol: 0, backend: "node" as const, steps: 3, batchSize: 4 };
  const r = await diffTrain(c.step!, opts);
  // Float sums in a different order differ in the last bits; if they happen not to, all is ok.
  if (r.ok) return;
  const last = r.steps.at(-1)!;
  assert.equal(r.steps.filter((s) => !s.ok).length, 1);
  assert.equal(last.ok, false);
  assert.ok(last.firstBad);
  assert.match(formatTrainDiff(r, opts), /first tensor out of tolerance: '(loss|next:)/);
});

Deno.test("a step count below one is refused with DLM0210", async () => {
  const c = compileTrain(example("mlp_digits"));
  await assert.rejects(() => diffTrain(c.step!, { ...TOL, steps: 0 }), /DLM0210|positive integer/);
});

Deno.test("a failing step the node-by-node check could not look at keeps the hint on the update", () => {
  const t = (name: string, ok: boolean) => ({
    name,
    ok,
    maxAbs: ok ? 0 : 2e-5,
    maxRel: ok ? 0 : 2e-3,
    bad: ok ? 0 : 1,
  });
  const step = (tensors: ReturnType<typeof t>[]) => ({
    steps: [{
      step: 1,
      lossReference: 1,
      lossRuntime: 1,
      tensors,
      worst: tensors.find((x) => !x.ok)!,
      ok: false,
      firstBad: tensors.find((x) => !x.ok),
    }],
    ok: false,
    batchSize: 8,
    batchSource: "random",
    sharedMasks: 0,
    referenceMs: 1,
    runtimeMs: 1,
    nodeCheckMs: 0,
  });
  const opts = { ...TOL, steps: 2 };
  const agreeing = formatTrainDiff(
    step([
      t("loss", true),
      t("next:fc.weight", false),
      t("next:opt:m:fc.weight", true),
      t("next:opt:v:fc.weight", true),
    ]),
    opts,
  );
  assert.match(
    agreeing,
    /its optimiser state \('next:opt:m:fc.weight', 'next:opt:v:fc.weight'\) agrees/,
  );
  // No hint when the state differs too, or when the parameter has no optimiser state.
  const differing = step([t("next:fc.weight", false), t("next:opt:m:fc.weight", false)]);
  assert.doesNotMatch(formatTrainDiff(differing, opts), /optimiser state/);
  assert.doesNotMatch(formatTrainDiff(step([t("next:fc.weight", false)]), opts), /optimiser state/);
});

/**
 * Multi-head attention trained with Adam: the key projection's bias has a gradient of zero in
 * exact arithmetic (softmax is unchanged by adding q.b to every logit of a row), about 1e-10
 * after rounding, which Adam's lr m / (sqrt(v) + eps) turns into steps of about +-lr whose sign
 * the rounding picks.
 */
const ATTENTION = `model Attn(dim: int = 8, heads: int = 2) {
  input x: f32[N, T, 8]
  let q = x |> q_proj: linear(dim) |> view((N, T, heads, -1)) |> permute((0, 2, 1, 3))
  let k = x |> k_proj: linear(dim) |> view((N, T, heads, -1)) |> permute((0, 2, 1, 3))
  let v = x |> v_proj: linear(dim) |> view((N, T, heads, -1)) |> permute((0, 2, 1, 3))
  output y = scaled_dot_product_attention(q, k, v) |> permute((0, 2, 1, 3)) |> view((N, T, dim))
    |> out: linear(1)
}
train Attn {
  input t: f32[N, T, 1]
  loss = mse(y, t)
  optimizer = adam(lr: 1e-3)
}`;

function attentionStep(pack = true) {
  const c = compileTrain("attn.dlm", { read: () => ATTENTION, dims: { T: 5 }, pack });
  assert.ok(c.step, c.diagnostics.map((d) => d.message).join("\n"));
  return c.step;
}

for (const pack of [false, true]) {
  Deno.test(`Adam steps of attention key biases, whose gradient is zero, pass node by node${pack ? " (packed)" : ""}`, async () => {
    const opts = { ...TOL, steps: 3, batchSize: 4 };
    const r = await diffTrain(attentionStep(pack), opts);
    const report = formatTrainDiff(r, opts);
    assert.equal(r.ok, true, report);
    // The plain comparison does fail on the key bias (the false alarm this check answers) ...
    const flagged = r.steps.filter((s) => s.firstBad);
    assert.ok(flagged.length > 0, report);
    for (const s of flagged) {
      assert.equal(s.firstBad!.name, "next:k_proj.bias");
      assert.ok(s.byNode!.values > 100 && !s.byNode!.first);
    }
    // ... and the report says why it is fine, with the hint on the update.
    assert.match(report, /ok \(node by node\)/);
    assert.match(
      report,
      /agrees with the reference kernel on onnxruntime's own inputs: its optimiser state/,
    );
  });
}

Deno.test("a perturbed reference kernel is still caught, at the node that uses it", async () => {
  const sqrt = KERNELS.Sqrt;
  // 10% off: the update's denominator, so the parameters move by 10% more than they should.
  KERNELS.Sqrt = (inputs, attrs, ctx) =>
    sqrt(inputs, attrs, ctx).map((t) => tensor(t.dtype, t.shape, toNumbers(t).map((v) => v * 1.1)));
  try {
    const opts = { ...TOL, steps: 2, batchSize: 4 };
    const r = await diffTrain(attentionStep(), opts);
    assert.equal(r.ok, false);
    const d = r.steps.at(-1)!.byNode!.first!;
    assert.equal(d.node?.op, "Sqrt");
    assert.match(formatTrainDiff(r, opts), /node by node: value '.*' from Sqrt node/);
    assert.doesNotMatch(formatTrainDiff(r, opts), /optimiser state .* agrees/);
  } finally {
    KERNELS.Sqrt = sqrt;
  }
});

Deno.test("a perturbed graph is still caught: onnxruntime running a constant 1% off fails at its reader", async () => {
  const step = attentionStep();
  const loaded = loadModel(step, "step model");
  const feeds = {
    ...Object.fromEntries(initialState(loaded)),
    ...prepareInputs(
      {
        ...loaded.graph,
        inputs: loaded.graph.inputs.filter((i) => i.name === "x" || i.name === "t"),
      },
      { seed: 0, dims: { N: 4 } },
    ),
  };
  assert.equal((await checkNodes(loaded.graph, feeds, TOL)).first, undefined);
  // Adam's 1 - beta1 = 0.1, as onnxruntime sees it, made 0.101.
  const perturbed = cloneGraph(loaded.graph);
  const [name] = [...perturbed.initializers].find(([, t]) =>
    t.dtype === "f32" && t.shape.length === 0 && toNumbers(t)[0] === Math.fround(0.1)
  )!;
  perturbed.initializers.set(name, tensor("f32", [], [0.101]));
  const c = await checkNodes(loaded.graph, feeds, TOL, perturbed);
  assert.ok(c.first, "the perturbation went unnoticed");
  assert.ok(c.first.node!.inputs.includes(name), `${c.first.value} does not read ${name}`);
});

Deno.test("dlm diff --train passes lang-examples/ddpm_digits.dlm, whose Adam updates magnify rounding", async () => {
  const out: string[] = [];
  const code = await main(
    ["diff", example("ddpm_digits"), "--train", "2"],
    { out: (s) => out.push(s), err: (s) => out.push(s) },
  );
  assert.equal(code, 0, out.join("\n"));
  assert.match(out.join("\n"), /2 of 2 steps/);
});
