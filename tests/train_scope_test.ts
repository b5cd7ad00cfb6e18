/**
 * A train section runs in a scope nested in its model's body (spec 11): it sees the model's
 * inputs, outputs, `let` values and `let` layer instances, and applying an instance there applies
 * the same layer, so its parameters are shared with the model, not copied (faster_rcnn_digits.dlm
 * applies the model's `roi_head` to the proposals and the ground-truth boxes in its loss).
 */
import assert from "node:assert/strict";
import { compileTrain } from "../compiler/train/mod.ts";
import type { Graph } from "../compiler/ir/graph.ts";
import { type Tensor, tensor, zeros } from "../compiler/ir/tensor.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { prepareInputs } from "../runtime/inputs.ts";

const src = (loss: string) => `
model M {
  input x: f32[N, 4]
  let head = linear(2)
  let scale = 0.5
  output y = x |> head
}
train M {
  input x2: f32[N, 4]
  input t: f32[N, 2]
  loss = ${loss}
  optimizer = sgd(lr: 0.5)
}
`;

/** One SGD step from the initial weights on a fixed batch: the step's parameters and their moves. */
function step(loss: string): { params: string[]; moves: Record<string, number[]> } {
  const c = compileTrain("m.dlm", { read: () => src(loss) });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const g: Graph = c.step!;
  const data = g.inputs.filter((i) => ["x", "x2", "t"].includes(i.name));
  const f: Record<string, Tensor> = prepareInputs({ ...g, inputs: data }, {
    seed: 3,
    dims: { N: 4 },
  });
  for (const i of g.inputs) {
    if (i.name in f) continue;
    if (i.name === "step") f[i.name] = tensor("i64", [], [0]);
    else f[i.name] = g.initializers.get(i.name) ?? zeros(i.type.dtype, i.type.shape as number[]);
  }
  const out = runGraph(g, f).outputs;
  const params = g.params.map((p) => p.name).sort();
  const moves: Record<string, number[]> = {};
  for (const p of params) {
    const before = f[p].data as Float32Array;
    moves[p] = Array.from(out[`next:${p}`].data as Float32Array, (v, k) => v - before[k]);
  }
  return { params, moves };
}

Deno.test("a train section applies the model's let-bound layer with the model's parameters", () => {
  const both = step("mse(y, t) + mse(x2 |> head, t) * scale");
  const model = step("mse(y, t)");
  const section = step("mse(x2 |> head, t) * scale");
  // One set of parameters, the model's, in every variant: the section adds none.
  assert.deepEqual(both.params, ["head.bias", "head.weight"]);
  assert.deepEqual(section.params, both.params);
  // Plain SGD: the move under the summed loss is the sum of the moves under each term, so the
  // section's use reached the model's weights (a copy would leave them the model term's move).
  for (const p of both.params) {
    both.moves[p].forEach((m, k) => {
      const sum = model.moves[p][k] + section.moves[p][k];
      assert.ok(Math.abs(m - sum) < 1e-6, `${p}[${k}]: ${m} vs ${sum}`);
    });
    assert.ok(section.moves[p].some((m) => Math.abs(m) > 1e-4), `${p} moves by the section alone`);
  }
});
