/**
 * `dlm train` and a train section's settings: its options take the settings' declared ranges, and
 * a schedule longer than the run is said before training (DLM0352, at the schedule).
 */
import assert from "node:assert/strict";
import { main } from "../cli/main.ts";
import { COMMANDS } from "../cli/commands/mod.ts";
import { SECTION_SETTINGS } from "../compiler/check/builtins/train_rules.ts";
import { writeNpy } from "../runtime/formats/mod.ts";

async function dlm(...argv: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await main(argv, { out: () => {}, err: (s) => err.push(s) });
  return { code, err: err.join("\n") };
}

Deno.test("dlm train's options take the ranges of the section settings of their names", () => {
  const opts = COMMANDS.train.options as Record<string, { range?: Record<string, unknown> }>;
  for (const s of SECTION_SETTINGS) {
    const o = opts[s.name.replace("_", "-")];
    if (!o?.range) continue;
    const r = s.range ?? {};
    assert.deepEqual(
      {
        int: s.type === "int" || undefined,
        min: r.min,
        below: r.maxOpen ? r.max : undefined,
      },
      { int: o.range.int, min: o.range.min, below: o.range.below },
      `--${s.name}`,
    );
  }
});

Deno.test("a schedule longer than the training is a warning at the schedule, before training", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = `${dir}/m.dlm`;
    const section = (schedule: string) =>
      Deno.writeTextFileSync(
        file,
        `model M {\n  input x: f32[N, 4]\n  output y: f32[N, 2] = x |> linear(2)\n}\n\n` +
          `train M {\n  input t: f32[N, 2]\n  loss = mse(y, t)\n  optimizer = adam(lr: 0.01)\n` +
          `  schedule = ${schedule}\n  epochs = 2\n  batch_size = 4\n}\n`,
      );
    const f32 = (shape: number[]) => ({
      dtype: "f32" as const,
      shape,
      data: new Float32Array(shape[0] * shape[1]).fill(0.5),
    });
    Deno.writeFileSync(`${dir}/x.npy`, writeNpy(f32([8, 4])));
    Deno.writeFileSync(`${dir}/t.npy`, writeNpy(f32([8, 2])));
    const data = ["--data", `x=${dir}/x.npy`, "--data", `t=${dir}/t.npy`];
    // 8 examples in batches of 4 for 2 epochs: 4 steps.
    section("cosine_lr(t_max: 100, warmup: 50)");
    let r = await dlm("train", file, ...data);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.err,
      /m\.dlm:10:14: warning DLM0352: The schedule has a warm-up of 50 steps, more than the training takes \(4 steps: 2 epochs of 2 batches\)/,
    );
    assert.ok(r.err.indexOf("DLM0352") < r.err.indexOf("trained 2 epochs"), r.err);
    section("step_lr(step_size: 5)");
    r = await dlm("train", file, ...data);
    assert.match(r.err, /DLM0352: The schedule has a decay every 5 steps/);
    // A schedule that fits (and --epochs making the run long enough) says nothing.
    section("step_lr(step_size: 4)");
    r = await dlm("train", file, ...data);
    assert.doesNotMatch(r.err, /DLM0352/);
    section("step_lr(step_size: 5)");
    r = await dlm("train", file, ...data, "--epochs", "3");
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.err, /DLM0352/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
