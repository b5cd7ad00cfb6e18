/**
 * The rules of train_rules.ts are the one declaration of each optimiser,
 * schedule and clipping rule: the checker accepts exactly their arguments,
 * and the training compiler applies exactly their defaults.
 */
import assert from "node:assert/strict";
import { compileTrain } from "../../train/compile.ts";
import { printGraph } from "../../ops/print_graph.ts";
import { optimizerSlots } from "../../train/optimizers.ts";
import {
  CLIPS,
  languageArgs,
  type OptimizerHyper,
  OPTIMIZERS,
  SCHEDULES,
  type SettingArg,
} from "./train_rules.ts";
import { SETTINGS } from "./train_specs.ts";

const MODEL = "model M { input x: f32[N, 4]  output y = x |> fc: linear(2) }\n";

/** The printed training step of a section with these settings (undefined: it did not compile). */
function step(settings: string): string | undefined {
  const src = `${MODEL}train M { loss = reduce_mean(y * y)  ${settings} }`;
  const r = compileTrain("m.dlm", { read: () => src });
  assert.deepEqual(r.diagnostics.map((d) => d.message), [], settings);
  return r.step && printGraph(r.step);
}

/** `name(a: default, ...)` with every declared argument that has a default. */
function allDefaults(rule: { name: string; args: readonly SettingArg[] }): string {
  const given = languageArgs(rule).filter((a) => a.default !== undefined);
  assert.ok(given.length > 0, rule.name);
  return `${rule.name}(${given.map((a) => `${a.name}: ${a.default}`).join(", ")})`;
}

Deno.test("every setting constructor of the checker is a declared rule, and every rule has one", () => {
  const declared = [...OPTIMIZERS, ...SCHEDULES, ...CLIPS].map((r) => r.name);
  for (const name of declared) assert.ok(name in SETTINGS, name);
  assert.deepEqual(
    Object.keys(SETTINGS).filter((n) => !declared.includes(n)),
    ["moving_average", "minibatches"],
  );
});

Deno.test("an optimiser called with its declared defaults compiles to the step it compiles to without them", () => {
  for (const rule of OPTIMIZERS) {
    const call = allDefaults(rule);
    assert.equal(step(`optimizer = ${call}`), step(`optimizer = ${rule.name}()`), call);
  }
});

Deno.test("a schedule or a clipping rule called with its declared defaults changes nothing either", () => {
  for (const rule of SCHEDULES) {
    const call = allDefaults(rule);
    assert.equal(
      step(`optimizer = sgd()  schedule = ${call}`),
      step(`optimizer = sgd()  schedule = ${rule.name}()`),
      call,
    );
  }
  for (const rule of CLIPS) {
    const call = allDefaults(rule);
    assert.equal(
      step(`optimizer = sgd()  clip = ${call}`),
      step(`optimizer = sgd()  clip = ${rule.name}()`),
      call,
    );
  }
});

Deno.test("a default that differs from the declared one does change the step", () => {
  // So that the tests above can fail: lr is read, and not from somewhere else.
  assert.notEqual(step("optimizer = adam(lr: 0.002)"), step("optimizer = adam()"));
});

Deno.test("an optimiser's state inputs are its declared slots, in order", () => {
  const on: Record<string, OptimizerHyper> = {
    sgd: { kind: "sgd", momentum: 0.9 },
    rmsprop: { kind: "rmsprop", momentum: 0.5, centered: true },
  };
  for (const rule of OPTIMIZERS) {
    const args = rule.name === "sgd"
      ? "momentum: 0.9"
      : rule.name === "rmsprop"
      ? "momentum: 0.5, centered: true"
      : "";
    const src = `${MODEL}train M { loss = reduce_mean(y * y)  optimizer = ${rule.name}(${args}) }`;
    const r = compileTrain("m.dlm", { read: () => src });
    const slots = r.step!.inputs.map((i) => i.name).filter((n) => n.endsWith(":fc.weight"))
      .map((n) => n.split(":")[1]);
    const all = rule.slots.map((s) => s.name);
    assert.deepEqual(slots, all, rule.name);
    assert.deepEqual(optimizerSlots(on[rule.name] ?? { kind: rule.name } as OptimizerHyper), all);
  }
});
