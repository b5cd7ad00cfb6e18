/**
 * Fine-tuning selects layers and functions by what their built-in
 * declarations say they are (`like: "linear"`, `attention: true`), never by
 * their names: a new linear-like layer gets LoRA and IA3, a new attention
 * function gets prefix tuning, with no edit to peft.ts.
 */
import assert from "node:assert/strict";
import { compileFile } from "../compile.ts";
import type { Graph } from "../ir/graph.ts";
import { FUNCTIONS, LAYERS } from "./names.ts";

function compile(src: string, model: string) {
  return compileFile("main.dlm", {
    model,
    read: (p) => (p === "main.dlm" ? src : new Error("no")),
  });
}

const params = (g: Graph) => g.params.map((p) => p.name);

/** Run `fn` with a test-only built-in added to a table, removed afterwards. */
function withBuiltin<T>(table: Record<string, T>, name: string, def: T, fn: () => void): void {
  table[name] = def;
  try {
    fn();
  } finally {
    delete table[name];
  }
}

const DENSE = `
model M {
  input x: f32[N, 8]
  output y = x |> fc: dense_test(4)
}
model L = M with lora(rank: 2, targets: "fc")
`;

Deno.test("lora() adapts a new layer that declares itself linear-like, by that declaration alone", () => {
  withBuiltin(LAYERS, "dense_test", { ...LAYERS.linear, name: "dense_test" }, () => {
    const r = compile(DENSE, "L");
    assert.deepEqual(r.diagnostics.map((d) => d.message), []);
    assert.deepEqual(params(r.graph!), [
      "fc.weight",
      "fc.bias",
      "fc.lora_A.default.weight",
      "fc.lora_B.default.weight",
    ]);
  });
});

Deno.test("lora() leaves alone a layer that computes the same but declares nothing", () => {
  withBuiltin(
    LAYERS,
    "dense_test",
    { ...LAYERS.linear, name: "dense_test", like: undefined },
    () => {
      const r = compile(DENSE, "L");
      assert.deepEqual(
        r.diagnostics.map((d) => `${d.code} ${d.message.split(";")[0]}`),
        ['DLM0215 lora(targets: "fc") matches no linear or convolution layer'],
      );
    },
  );
});

Deno.test("the layers that fine-tuning adapts are the ones that declare a kind", () => {
  const declared = Object.values(LAYERS).filter((d) => d.like).map((d) => `${d.name}:${d.like}`);
  assert.deepEqual(declared, ["linear:linear", "conv1d:conv", "conv2d:conv", "conv3d:conv"]);
  const attention = Object.values(FUNCTIONS).filter((d) => d.attention).map((d) => d.name);
  assert.deepEqual(attention, ["scaled_dot_product_attention"]);
});

const ATTENTION = `
block SelfAttention(x: f32[N, T, D]) {
  return attention_test(x, x, x)
}
model M {
  input x: f32[N, 4, 8]
  output y = x |> attn: SelfAttention
}
model P = M with prefix_tuning(length: 2, targets: "attn")
`;

Deno.test("prefix_tuning() finds a new attention function by its declaration", () => {
  const sdpa = FUNCTIONS.scaled_dot_product_attention;
  withBuiltin(FUNCTIONS, "attention_test", { ...sdpa, name: "attention_test" }, () => {
    const r = compile(ATTENTION, "P");
    assert.deepEqual(r.diagnostics.map((d) => d.message), []);
    assert.ok(params(r.graph!).some((n) => n.startsWith("attn.prefix")), params(r.graph!).join());
  });
  const plain = { ...sdpa, name: "attention_test", attention: undefined };
  withBuiltin(FUNCTIONS, "attention_test", plain, () => {
    const r = compile(ATTENTION, "P");
    assert.match(r.diagnostics[0]?.message ?? "", /matches no scaled_dot_product_attention/);
  });
});
