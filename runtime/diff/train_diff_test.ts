import assert from "node:assert/strict";
import { compileTrain } from "../../compiler/train/mod.ts";
import { diffTrain, formatTrainDiff } from "./train_diff.ts";

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

Deno.test("a parameter out of tolerance whose optimiser state agrees gets a hint on the update", () => {
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
