/**
 * A train section's settings and its settings' arguments are checked against their declarations
 * (compiler/check/builtins/train_rules.ts) when the section is compiled, which `dlm check` does:
 * a wrong type is DLM0201 and a number out of range DLM0210, at the value.
 */
import assert from "node:assert/strict";
import { compileTrain } from "./mod.ts";
import { OPTIMIZERS, scheduleLength, SCHEDULES } from "../check/builtins/train_rules.ts";

const MODEL = `model M {
  input x: f32[N, 4]
  output y: f32[N, 2] = x |> linear(2)
}
`;

/** Compile a section of `lines` (after its loss); the errors as "code line:col message". */
function errors(...lines: string[]): string[] {
  const src = `${MODEL}\ntrain M {\n  input t: f32[N, 2]\n  loss = mse(y, t)\n${
    lines.map((l) => `  ${l}\n`).join("")
  }}\n`;
  const c = compileTrain("m.dlm", { read: () => src });
  return c.diagnostics.filter((d) => d.severity === "error")
    .sort((a, b) => a.span!.line - b.span!.line || a.span!.col - b.span!.col)
    .map((d) => `${d.code} ${d.span?.line}:${d.span?.col} ${d.message}`);
}

Deno.test("a section's settings out of range are DLM0210 at the value assigned", () => {
  assert.deepEqual(
    errors("optimizer = sgd()", "epochs = -2", "batch_size = 0", "val_split = 1.5", "patience = 0"),
    [
      "DLM0210 10:12 The setting 'epochs' needs an int ≥ 0, got -2",
      "DLM0210 11:16 The setting 'batch_size' needs an int ≥ 1, got 0",
      "DLM0210 12:15 The setting 'val_split' needs a number in [0, 1), got 1.5",
      "DLM0210 13:14 The setting 'patience' needs an int ≥ 1, got 0",
    ],
  );
});

Deno.test("a section's setting of the wrong type is DLM0201 at the value assigned", () => {
  const e = errors(
    "optimizer = sgd()",
    "epochs = 2.5",
    'batch_size = "32"',
    "schedule = 3",
    "clip = adam()",
  );
  assert.equal(e.length, 4, e.join("\n"));
  assert.match(e[0], /^DLM0201 10:12 The setting 'epochs' expects an int ≥ 0, but got 2.5$/);
  assert.match(e[1], /^DLM0201 11:16 The setting 'batch_size' expects an int ≥ 1, but got /);
  assert.match(e[2], /^DLM0201 12:14 The setting 'schedule' expects a schedule: step_lr\(\.\.\.\)/);
  assert.match(e[3], /^DLM0201 13:10 The setting 'clip' expects a clipping rule: clip_norm/);
});

Deno.test("an optimiser's or a schedule's argument out of range is DLM0210 at the argument", () => {
  assert.deepEqual(errors("optimizer = sgd(lr: -1)"), [
    "DLM0210 9:19 sgd()'s lr needs a number ≥ 0, got -1",
  ]);
  assert.deepEqual(errors("optimizer = adam(beta1: 1, eps: -1e-8)"), [
    "DLM0210 9:20 adam()'s beta1 needs a number in [0, 1), got 1",
    "DLM0210 9:30 adam()'s eps needs a number ≥ 0, got -1e-8",
  ]);
  assert.deepEqual(errors("optimizer = sgd()", "schedule = step_lr(step_size: 0)"), [
    "DLM0210 10:22 step_lr()'s step_size needs an int ≥ 1, got 0",
  ]);
  assert.deepEqual(errors("optimizer = sgd()", "clip = clip_norm(max_norm: 0)"), [
    "DLM0210 10:20 clip_norm()'s max_norm needs a number > 0, got 0",
  ]);
  // The same check holds inside a phase's optimiser.
  assert.deepEqual(errors('phase("p", loss: mse(y, t), optimizer: rmsprop(alpha: 2))'), [
    "DLM0210 9:50 rmsprop()'s alpha needs a number in [0, 1], got 2",
  ]);
});

Deno.test("settings in range, at their bounds, compile", () => {
  assert.deepEqual(
    errors(
      "optimizer = adam(lr: 0, beta1: 0, weight_decay: 0)",
      "schedule = cosine_lr(t_max: 1, warmup: 0)",
      "clip = clip_value(value: 1e-9)",
      "epochs = 0",
      "batch_size = 1",
      "val_split = 0",
      "patience = 1",
    ),
    [],
  );
});

Deno.test("every optimiser and schedule argument that is a number declares its range", () => {
  for (const r of [...OPTIMIZERS, ...SCHEDULES]) {
    for (const a of r.args) {
      if (a.name && (a.type === "number" || a.type === "int")) {
        assert.ok(a.range, `${r.name}(${a.name}:) has no range`);
      }
    }
  }
});

Deno.test("a schedule's length is its warm-up, else its decay period or its t_max", () => {
  const int = (v: number) => ({ k: "int" as const, v });
  assert.deepEqual(scheduleLength("cosine_lr", { warmup: int(50), t_max: int(100) })?.steps, 50);
  assert.deepEqual(scheduleLength("cosine_lr", { t_max: int(100) })?.steps, 100);
  assert.deepEqual(scheduleLength("step_lr", { step_size: int(7) })?.steps, 7);
  // A default t_max is not the user's statement of a length.
  assert.equal(scheduleLength("cosine_lr", {}), undefined);
  assert.equal(scheduleLength("exponential_lr", { warmup: int(0) }), undefined);
});
