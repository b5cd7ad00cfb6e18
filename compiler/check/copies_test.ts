import assert from "node:assert/strict";
import { compileFile, type CompileOptions } from "../compile.ts";
import type { Graph } from "../ir/graph.ts";
import { parse } from "../syntax/mod.ts";
import { sexpr } from "../syntax/sexpr.ts";

function compile(src: string, opts: CompileOptions = {}) {
  return compileFile("main.dlm", {
    ...opts,
    read: (p) => (p === "main.dlm" ? src : new Error("no such file")),
  });
}

function ok(src: string, opts: CompileOptions = {}): Graph {
  const r = compile(src, opts);
  assert.deepEqual(r.diagnostics.map((d) => `${d.code} ${d.message}`), []);
  return r.graph!;
}

/** "LINE:COL CODE message" of each error. */
function errors(src: string): string[] {
  const r = compile(src);
  assert.equal(r.graph, undefined, "expected errors");
  return r.diagnostics.filter((d) => d.severity === "error").map((d) =>
    `${d.span?.line}:${d.span?.col} ${d.code} ${d.message}`
  );
}

const bytes = (g: Graph, n: string) => {
  const d = g.initializers.get(n)!.data as Float32Array | BigInt64Array;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
};

const TWO_TOWERS = `
block Tower(hidden: int = 16, out: int = 8)(x: f32[N, C]) {
  return x |> fc1: linear(hidden) |> relu |> bn: batch_norm |> fc2: linear(out)
}
`;

Deno.test("init T from S gives every parameter and buffer under T its twin's initial value, byte for byte", () => {
  const g = ok(
    TWO_TOWERS + `
model M {
  input x: f32[N, 12]
  init ref from policy
  output p = x |> policy: Tower()
  output r = x |> ref: Tower()
}`,
  );
  const refs = g.params.filter((p) => p.name.startsWith("ref."));
  assert.equal(refs.length, 9); // fc1 (2), bn (5: weight, bias, running stats, counter), fc2 (2)
  for (const p of refs) {
    const src = p.name.replace(/^ref\./, "policy.");
    assert.equal(p.copyOf, src);
    assert.deepEqual(bytes(g, p.name), bytes(g, src), p.name);
    assert.equal(p.frozen, undefined, "a copy is trainable unless frozen");
  }
  for (const p of g.params.filter((p) => p.name.startsWith("policy."))) {
    assert.equal(p.copyOf, undefined);
  }
  // Without the statement the two towers differ: the copy is what makes them equal.
  const apart = ok(
    TWO_TOWERS + `
model M {
  input x: f32[N, 12]
  output p = x |> policy: Tower()
  output r = x |> ref: Tower()
}`,
  );
  assert.notDeepEqual(bytes(apart, "ref.fc1.weight"), bytes(apart, "policy.fc1.weight"));
  assert.deepEqual(bytes(apart, "policy.fc1.weight"), bytes(g, "policy.fc1.weight"));
});

Deno.test("a copy takes its source's initialiser over its own rules, and freeze still applies to it", () => {
  const g = ok(
    TWO_TOWERS + `
model M {
  input x: f32[N, 12]
  init "policy.*.weight" = normal(std: 0.5)
  init "ref.*.bias" = constant(3.0)
  init ref from policy
  freeze ref
  output p = x |> policy: Tower()
  output r = x |> ref: Tower()
}`,
  );
  assert.deepEqual(bytes(g, "ref.fc2.weight"), bytes(g, "policy.fc2.weight"));
  assert.deepEqual(bytes(g, "ref.fc2.bias"), bytes(g, "policy.fc2.bias"));
  assert.notEqual(g.initializers.get("ref.fc2.bias")!.data[0], 3);
  assert.ok(g.params.filter((p) => p.name.startsWith("ref.")).every((p) => p.frozen));
  assert.ok(g.params.filter((p) => p.name.startsWith("policy.")).every((p) => !p.frozen));
});

Deno.test("a copy in a block names levels relative to each application, and quoted names reach numbered levels", () => {
  const g = ok(`
block Pair()(x: f32[N, 4]) {
  init target from online
  return (x |> online: linear(4)) + (x |> target: linear(4))
}

model M {
  input x: f32[N, 4]
  init "stack.1.weight" from "stack.0.weight"
  let h = x |> a: Pair() |> b: Pair()
  output y = h |> stack: (linear(4) |> linear(4))
}`);
  for (const level of ["a", "b"]) {
    for (const role of ["weight", "bias"]) {
      assert.equal(
        g.params.find((p) => p.name === `${level}.target.${role}`)!.copyOf,
        `${level}.online.${role}`,
      );
    }
  }
  assert.notDeepEqual(bytes(g, "a.online.weight"), bytes(g, "b.online.weight"));
  assert.deepEqual(bytes(g, "stack.1.weight"), bytes(g, "stack.0.weight"));
  assert.equal(g.params.find((p) => p.name === "stack.1.bias")!.copyOf, undefined);
});

Deno.test("copies chain: a copy of a copy starts from the first source, and records its own source", () => {
  const g = ok(`
model M {
  input x: f32[N, 4]
  init c from b
  init b from a
  output y = (x |> a: linear(4)) + (x |> b: linear(4)) + (x |> c: linear(4))
}`);
  assert.equal(g.params.find((p) => p.name === "c.weight")!.copyOf, "b.weight");
  assert.equal(g.params.find((p) => p.name === "b.weight")!.copyOf, "a.weight");
  assert.deepEqual(bytes(g, "c.weight"), bytes(g, "a.weight"));
});

Deno.test("a fine-tuning method's parameters are not copied, and do not count against the match", () => {
  const g = ok(
    `
model Base {
  input x: f32[N, 8]
  init ref from policy
  output y = (x |> policy: linear(8)) + (x |> ref: linear(8))
}
model Tuned = Base with lora(rank: 2, targets: "policy")
`,
    { model: "Tuned" },
  );
  assert.ok(g.params.some((p) => p.name === "policy.lora_A.default.weight"));
  assert.equal(g.params.find((p) => p.name === "ref.weight")!.copyOf, "policy.weight");
  assert.ok(g.params.filter((p) => p.adapter).every((p) => !p.copyOf));
});

Deno.test("a copy whose side names nothing is DLM0215 at that side, with the nearest name", () => {
  assert.deepEqual(
    errors(
      TWO_TOWERS + `
model M {
  input x: f32[N, 12]
  init ref from polcy
  init reff from policy
  output p = x |> policy: Tower()
  output r = x |> ref: Tower()
}`,
    ),
    [
      "8:17 DLM0215 'polcy' in init ref from polcy matches no parameter; did you mean 'policy'?",
      "9:8 DLM0215 'reff' in init reff from policy matches no parameter; did you mean 'ref'?",
    ],
  );
});

Deno.test("a copy whose names or shapes differ from its source's is an error naming the first difference", () => {
  assert.deepEqual(
    errors(
      TWO_TOWERS + `
model M {
  input x: f32[N, 12]
  init ref from policy
  init small from policy
  output p = x |> policy: Tower()
  output r = x |> ref: (linear(16) |> linear(8))
  output s = x |> small: Tower(hidden: 4)
}`,
    ),
    [
      "8:3 DLM0271 init ref from policy: 'policy.fc1.weight' has no twin 'ref.fc1.weight' (and 12 more names without one); a copy and its source need the same parameter names",
      "9:3 DLM0270 init small from policy: 'small.fc1.weight' is f32[4, 12] but its source 'policy.fc1.weight' is f32[16, 12]",
    ],
  );
});

Deno.test("overlapping sides, a target copied twice, a cycle and a pattern are errors at the statement", () => {
  const src = `
model M {
  input x: f32[N, 4]
  init a from a
  init "a.weight" from a
  init c from a
  init c from b
  init d from e
  init e from d
  init "b.*" from a
  output y = (x |> a: linear(4)) + (x |> b: linear(4)) + (x |> c: linear(4))
    + (x |> d: linear(4)) + (x |> e: linear(4))
}`;
  assert.deepEqual(errors(src), [
    "4:3 DLM0141 init a from a: 'a' and 'a' overlap; a copy and its source must be separate sub-models, such as two labels of one block",
    "5:3 DLM0141 init a.weight from a: 'a.weight' and 'a' overlap; a copy and its source must be separate sub-models, such as two labels of one block",
    "7:3 DLM0140 'c.weight' is copied twice: from 'a.weight' (line 6) and from 'b.weight' (line 7)",
    "10:8 DLM0143 init b.* from a copies a sub-model by its name, not by a pattern: write the name alone, as in init key from query",
    "8:3 DLM0142 Copies form a cycle, so nothing gives the first values: d.weight <- e.weight <- d.weight",
  ]);
});

Deno.test("init T from S parses with from as a contextual word that stays a name elsewhere", () => {
  const { file, diagnostics } = parse(
    `model M { let from = 1
  init ref from policy
  init "ref.h.0" from "policy.h.0" }`,
    "m.dlm",
  );
  assert.deepEqual(diagnostics, []);
  const body = (file.decls[0] as { body: unknown[] }).body;
  assert.deepEqual(body.slice(1).map((s) => sexpr(s as never)), [
    '(init "ref" from "policy")',
    '(init "ref.h.0" from "policy.h.0")',
  ]);
  const bad = parse(`model M { init ref frm policy }`, "m.dlm").diagnostics;
  assert.equal(bad[0].code, "DLM0002");
  assert.match(bad[0].message, /'=' or 'from'/);
});

Deno.test("a copy in an if branch applies when the branch runs, and one in a loop once", () => {
  const src = `
model M(copy: bool = true) {
  input x: f32[N, 4]
  if copy {
    init b from a
  }
  for i in 0..3 {
    init c from a
  }
  output y = (x |> a: linear(4)) + (x |> b: linear(4)) + (x |> c: linear(4))
}`;
  const on = ok(src);
  assert.equal(on.params.find((p) => p.name === "b.weight")!.copyOf, "a.weight");
  assert.equal(on.params.find((p) => p.name === "c.weight")!.copyOf, "a.weight");
  const off = ok(src, { overrides: { copy: false } });
  assert.equal(off.params.find((p) => p.name === "b.weight")!.copyOf, undefined);
  assert.notDeepEqual(bytes(off, "b.weight"), bytes(off, "a.weight"));
});
