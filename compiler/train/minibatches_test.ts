import assert from "node:assert/strict";
import { compileTrain } from "./compile.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { type Tensor, tensor, toNumbers, zeros } from "../ir/tensor.ts";
import type { Graph } from "../ir/graph.ts";

/**
 * A linear regression whose targets come from the model itself as the step starts (a rollout:
 * stop_gradient(pred) reads the parameters), trained with `updates`.
 */
const src = (updates: string, extra = "") =>
  `model M {
  input x: f32[N, 2]
  input y: f32[N]
  output pred = squeeze(x |> fc: linear(1), 1)
}
train M {
  let target = stop_gradient(pred) * 0.5 + y
  loss = reduce_mean((pred - target) * (pred - target))
  ${updates}
  optimizer = sgd(lr: 0.1)${extra}
}
`;

const X = [[1, 2], [0.5, -1], [-1, 0.25], [2, 1], [0, 1], [1.5, -0.5]];
const Y = [1, -2, 0.5, 3, -1, 2];

function run(g: Graph): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {
    x: tensor("f32", [6, 2], X.flat()),
    y: tensor("f32", [6], Y),
    step: tensor("i64", [], [0]),
  };
  for (const i of g.inputs) {
    if (i.name in feeds) continue;
    feeds[i.name] = g.initializers.get(i.name) ?? zeros(i.type.dtype, i.type.shape as number[]);
  }
  return runGraph(g, feeds).outputs;
}

/**
 * The same updates by hand: targets from the initial parameters, then epochs x count SGD steps,
 * update k over rows floor(m B / M) .. floor((m + 1) B / M) - 1 of them, m = k mod M.
 */
function byHand(w0: number[], b0: number, epochs: number, count: number) {
  let w = [...w0], b = b0;
  const t = X.map((x, i) => 0.5 * (x[0] * w[0] + x[1] * w[1] + b) + Y[i]);
  const B = X.length;
  for (let k = 0; k < epochs * count; k++) {
    const m = k % count;
    const rows = [];
    for (let i = Math.floor(m * B / count); i < Math.floor((m + 1) * B / count); i++) rows.push(i);
    const gw = [0, 0];
    let gb = 0;
    for (const i of rows) {
      const e = X[i][0] * w[0] + X[i][1] * w[1] + b - t[i];
      gw[0] += 2 * e * X[i][0] / rows.length;
      gw[1] += 2 * e * X[i][1] / rows.length;
      gb += 2 * e / rows.length;
    }
    w = [w[0] - 0.1 * gw[0], w[1] - 0.1 * gw[1]];
    b -= 0.1 * gb;
  }
  return { w, b };
}

for (const [epochs, count] of [[1, 1], [2, 2], [3, 4]]) {
  Deno.test(`minibatches(epochs: ${epochs}, count: ${count}) makes ${epochs * count} updates over slices of a rollout taken once`, () => {
    const r = compileTrain("m.dlm", {
      read: () =>
        src(`updates = minibatches(epochs: ${epochs}, count: ${count}, over: (x, target))`),
    });
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === "error"), []);
    const g = r.step!;
    const out = run(g);
    const w0 = toNumbers(g.initializers.get("fc.weight")!);
    const b0 = toNumbers(g.initializers.get("fc.bias")!)[0];
    const want = byHand(w0, b0, epochs, count);
    const w = toNumbers(out["next:fc.weight"]), b = toNumbers(out["next:fc.bias"])[0];
    for (const [got, exp] of [[w[0], want.w[0]], [w[1], want.w[1]], [b, want.b]]) {
      assert.ok(Math.abs(got - exp) < 1e-5, `${w},${b} vs ${want.w},${want.b}`);
    }
    // The step counter moves by one step; the optimiser counted its updates inside it.
    assert.equal(Number(toNumbers(out["next:step"])[0]), 1);
  });
}

Deno.test("minibatches() without a rollout value that the loss reads per sample is DLM0707 at the setting", () => {
  const r = compileTrain("m.dlm", {
    read: () => src(`updates = minibatches(epochs: 2, count: 2, over: (x,))`),
  });
  const e = r.diagnostics.filter((d) => d.severity === "error");
  assert.equal(e.length, 1, JSON.stringify(r.diagnostics));
  assert.equal(e[0].code, "DLM0707");
  assert.match(e[0].message, /add it to over:/);
  assert.equal(e[0].span?.line, 9);
});

Deno.test("minibatches() refuses a scalar in over: (DLM0706) and phases beside it (DLM0705)", () => {
  const scalar = compileTrain("m.dlm", {
    read: () => src(`updates = minibatches(count: 2, over: (x, reduce_mean(y)))`),
  });
  const e = scalar.diagnostics.filter((d) => d.severity === "error");
  assert.equal(e[0]?.code, "DLM0706", JSON.stringify(scalar.diagnostics));
  assert.match(e[0].message, /over: item 2 is a scalar f32\[\]/);
  const phased = compileTrain("m.dlm", {
    read: () =>
      src(
        `updates = minibatches(count: 2, over: (x, y))`,
        `\n  phase("a", loss: reduce_mean(pred), optimizer: sgd(lr: 0.1))`,
      ),
  });
  const p = phased.diagnostics.filter((d) => d.severity === "error");
  assert.equal(p[0]?.code, "DLM0705", JSON.stringify(phased.diagnostics));
  assert.equal(p[0].span?.line, 9);
});

Deno.test("minibatches()'s counts are checked where they are written", () => {
  const r = compileTrain("m.dlm", {
    read: () => src(`updates = minibatches(epochs: 0, over: (x, target))`),
  });
  const e = r.diagnostics.filter((d) => d.severity === "error");
  assert.equal(e[0]?.code, "DLM0210", JSON.stringify(r.diagnostics));
  assert.equal(e[0].span?.line, 9);
});

Deno.test("minibatches()'s updates are one Loop, unrolled only for a loss that draws random numbers", () => {
  const step = (loss: string) => {
    const r = compileTrain("m.dlm", {
      read: () =>
        src(`updates = minibatches(epochs: 2, count: 3, over: (x, target))`).replace(
          "loss = reduce_mean((pred - target) * (pred - target))",
          loss,
        ),
    });
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === "error"), []);
    return r.step!;
  };
  const loops = (g: Graph) => g.nodes.filter((n) => n.op === "Loop").length;
  assert.equal(loops(step("loss = reduce_mean((pred - target) * (pred - target))")), 1);
  // Dropout's masks are fed inputs, one per update: the updates stay 6 copies, without a Loop.
  const drop = step("loss = reduce_mean(dropout((pred - target) * (pred - target), 0.5))");
  assert.equal(loops(drop), 0);
  assert.ok(drop.nodes.filter((n) => n.op === "Dropout").length >= 6);
});

Deno.test("minibatches() of 10^12 updates a step is DLM0318 at the setting, in bounded time, looped or unrolled", () => {
  const compile = (updates: string, loss?: string) => {
    const t0 = performance.now();
    let text = src(updates);
    if (loss) text = text.replace("loss = reduce_mean((pred - target) * (pred - target))", loss);
    const r = compileTrain("m.dlm", { read: () => text });
    assert.ok(performance.now() - t0 < 60_000);
    return r.diagnostics.filter((d) => d.severity === "error");
  };
  const huge = `updates = minibatches(epochs: 1000000, count: 1000000, over: (x, target))`;
  // One Loop: the step stays small, but 10^12 updates would run forever.
  let e = compile(huge);
  assert.equal(e.length, 1, JSON.stringify(e));
  assert.equal(e[0].code, "DLM0318");
  assert.equal(
    e[0].message,
    "minibatches(epochs: 1000000, count: 1000000) makes 1,000,000,000,000 updates in each training step, more than the 1,000,000 a step may run; fewer epochs or minibatches a step keep it in bounds",
  );
  assert.equal(e[0].span?.line, 9);
  // Unrolled (the loss draws dropout masks): the step itself would grow without end.
  e = compile(huge, "loss = reduce_mean(dropout((pred - target) * (pred - target), 0.5))");
  assert.equal(e.length, 1, JSON.stringify(e));
  assert.equal(e[0].code, "DLM0318");
  assert.match(
    e[0].message,
    /unrolled \(its loss draws random numbers\), which add more than 250,000 nodes/,
  );
  assert.equal(e[0].span?.line, 9);
  // Many updates of a small loss are no error: 4 x 100 here.
  assert.deepEqual(compile(`updates = minibatches(epochs: 4, count: 100, over: (x, target))`), []);
});
