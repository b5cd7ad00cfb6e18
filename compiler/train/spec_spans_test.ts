/**
 * Every training error about a setting or a phase points at the call that
 * caused it (`adam(...)`, `phase(...)`, `moving_average(...)`), not at the
 * section's name; errors about the section as a whole stay at its name.
 */
import assert from "node:assert/strict";
import { compileTrain } from "./compile.ts";
import type { Diagnostic } from "../diagnostics.ts";

const MODEL = `model M {
  input x: f32[N, 4]
  output y = x |> a: linear(4) |> b: linear(4) |> h: linear(1)
}
`;

/** The sole error of compiling `MODEL` with this train section (its first line is line 5). */
function onlyError(section: string): Diagnostic {
  const r = compileTrain("m.dlm", { read: () => MODEL + section });
  const errs = r.diagnostics.filter((d) => d.severity === "error");
  assert.equal(errs.length, 1, errs.map((d) => d.message).join("\n"));
  return errs[0];
}

/** Line and column (1-based) of the first `needle` in the section, counted in the whole file. */
function at(section: string, needle: string): { line: number; col: number } {
  const lines = section.split("\n");
  const line = lines.findIndex((l) => l.includes(needle));
  assert.ok(line >= 0, needle);
  return { line: MODEL.split("\n").length + line, col: lines[line].indexOf(needle) + 1 };
}

function assertAt(d: Diagnostic, where: { line: number; col: number }): void {
  assert.deepEqual({ line: d.span?.line, col: d.span?.col }, where, d.message);
}

Deno.test("a phase whose parameter pattern matches nothing is reported at the phase, not at the section", () => {
  const src = `train M {
  loss = reduce_mean(y)
  phase("one", loss: reduce_mean(y), optimizer: sgd(lr: 0.1), params: "a.*")
  phase("two", loss: reduce_mean(y * y), optimizer: sgd(lr: 0.1), params: "nothing.*")
}
`;
  const d = onlyError(src);
  assert.equal(d.message, `phase 'two' trains no parameter (params: "nothing.*")`);
  assertAt(d, at(src, `phase("two"`));
});

Deno.test("a phase that trains what an earlier phase trains is reported at the later phase", () => {
  const src = `train M {
  phase("one", loss: reduce_mean(y), optimizer: sgd(lr: 0.1), params: "a.*")
  phase("two", loss: reduce_mean(y * y), optimizer: sgd(lr: 0.1), params: "a.*")
}
`;
  const d = onlyError(src);
  assert.equal(d.message, "phase 'two' trains parameters an earlier phase trains");
  assertAt(d, at(src, `phase("two"`));
});

Deno.test("a setting that is not an optimiser, given as the optimizer, is reported at its call", () => {
  const src = `train M {
  loss = reduce_mean(y)
  optimizer = cosine_lr(t_max: 10)
}
`;
  // The section's settings are checked against their declarations (train_rules.ts).
  const d = onlyError(src);
  assert.equal(d.code, "DLM0201");
  assert.equal(
    d.message,
    "The setting 'optimizer' expects an optimizer: sgd(...), adam(...), adamw(...), adagrad(...), rmsprop(...), but got cosine_lr(...)",
  );
  assertAt(d, at(src, "cosine_lr("));
  // The same inside a phase.
  const ph = `train M {
  phase("one", loss: reduce_mean(y), optimizer: clip_norm(max_norm: 1))
}
`;
  assertAt(onlyError(ph), at(ph, "clip_norm("));
});

Deno.test("a section without any optimizer is still reported at its name", () => {
  const src = `train M {
  loss = reduce_mean(y)
}
`;
  const d = onlyError(src);
  assert.equal(d.code, "DLM0223");
  assertAt(d, at(src, "M {"));
  assert.equal(d.span?.line, 5);
});

Deno.test("an unknown optimiser argument, or a value of the wrong type, is reported at the argument", () => {
  const unknown = `train M {
  loss = reduce_mean(y)
  optimizer = adam(lr: 0.1, beta3: 0.5)
}
`;
  const u = onlyError(unknown);
  assert.match(u.message, /beta3/);
  assertAt(u, at(unknown, "beta3"));
  const wrong = `train M {
  loss = reduce_mean(y)
  optimizer = sgd(lr: 0.1, nesterov: 1)
}
`;
  const w = onlyError(wrong);
  assert.match(w.message, /nesterov/);
  assertAt(w, at(wrong, "nesterov"));
});

Deno.test("a schedule argument of the wrong type is reported at the argument", () => {
  const src = `train M {
  loss = reduce_mean(y)
  optimizer = sgd(lr: 0.1)
  schedule = step_lr(step_size: 2.5)
}
`;
  const d = onlyError(src);
  assert.match(d.message, /step_size/);
  assertAt(d, at(src, "step_size"));
});

Deno.test("moving_average() errors are reported at its call", () => {
  const cases: [string, RegExp][] = [
    [`ema = moving_average(target: "a")`, /needs target: and source:/],
    [`ema = moving_average(target: "zz", source: "a")`, /matches no parameter named zz\.\*/],
    [`ema = moving_average(target: "a", source: "b")`, /a\.weight is trained by gradients too/],
  ];
  for (const [line, message] of cases) {
    const src = `train M {
  loss = reduce_mean(y)
  optimizer = sgd(lr: 0.1)
  ${line}
}
`;
    const d = onlyError(src);
    assert.match(d.message, message);
    assertAt(d, at(src, "moving_average("));
  }
  const twin = `train M {
  freeze "a.*"
  loss = reduce_mean(y)
  optimizer = sgd(lr: 0.1)
  ema = moving_average(target: "a", source: "h")
}
`;
  const d = onlyError(twin);
  assert.match(d.message, /needs a twin h\.weight of a\.weight's shape/);
  assertAt(d, at(twin, "moving_average("));
});
