/**
 * Optimisers, schedules and clipping (compiler/train) against two oracles:
 *
 * - PyTorch: `fixtures/torch/optimizer_fixtures.json`, made once by
 *   `fixtures/torch/make_optimizer_fixtures.py` (torch 1.13): torch.optim
 *   SGD / momentum / Nesterov / Adagrad / RMSprop / Adam / AdamW for 3 steps
 *   on fixed parameters and gradients (with weight decay, a schedule and
 *   clipping), and lr_scheduler rates. Each step graph runs in the
 *   reference interpreter and in onnxruntime-node, state fed back by name.
 * - The ONNX backend cases of the ai.onnx.preview.training ops (Adagrad,
 *   Momentum, Adam), rebuilt from plain ops with `buildOptimizer`.
 *   Semantic differences: the cases all have T = 0; ONNX's Momentum then
 *   adds the full gradient to the fed V (torch copies the gradient, the
 *   same when V starts at zeros, as dlm's state does), and ONNX's Adam
 *   applies no bias correction at T = 0 (torch's first step does), so those
 *   cases use `biasCorrection: false`; `norm_coefficient` is L2 weight
 *   decay added to the gradient (torch's `weight_decay` for SGD/Adagrad/Adam).
 */
import assert from "node:assert/strict";
import { GraphBuilder } from "../compiler/ops/builder.ts";
import type { Graph } from "../compiler/ir/graph.ts";
import { type Tensor, tensor, toNumbers, zeros } from "../compiler/ir/tensor.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { onnx } from "../compiler/onnx/proto.ts";
import { fromTensorProto } from "../compiler/onnx/tensor_proto.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { nextName, STEP_INPUT } from "../compiler/train/contract.ts";
import { buildOptimizer, type OptimizerSpec } from "../compiler/train/optimizers.ts";
import { buildSchedule, type ScheduleSpec } from "../compiler/train/schedules.ts";
import { buildClip, type ClipSpec } from "../compiler/train/clip.ts";

const FIXTURES = new URL("fixtures/torch/", import.meta.url);
const NODE_TESTS = new URL("../../shared/onnx-node-tests/node/", import.meta.url);

interface Fixture {
  p0: Record<string, number[]>;
  shapes: Record<string, number[]>;
  grads: Record<string, number[]>[];
  cases: {
    name: string;
    optimizer: string;
    kwargs: Record<string, number | boolean | number[]>;
    schedule: [string, Record<string, number>] | null;
    clip: [string, number] | null;
    steps: { params: Record<string, number[]>; norm: number | null }[];
  }[];
  schedules: Record<string, number[]>;
}

const FIX: Fixture = JSON.parse(
  Deno.readTextFileSync(new URL("optimizer_fixtures.json", FIXTURES)),
);

function close(got: number[], want: number[], what: string, rtol = 1e-4, atol = 1e-6) {
  assert.equal(got.length, want.length, what);
  got.forEach((g, i) =>
    assert.ok(
      Math.abs(g - want[i]) <= atol + rtol * Math.abs(want[i]),
      `${what}[${i}]: got ${g}, want ${want[i]}`,
    )
  );
}

/** torch.optim constructor arguments as an OptimizerSpec. */
function specOf(cls: string, kw: Fixture["cases"][0]["kwargs"]): OptimizerSpec {
  const n = (k: string) => kw[k] as number | undefined;
  const betas = kw.betas as number[] | undefined;
  switch (cls) {
    case "SGD":
      return {
        kind: "sgd",
        momentum: n("momentum"),
        dampening: n("dampening"),
        nesterov: kw.nesterov as boolean | undefined,
        weightDecay: n("weight_decay"),
      };
    case "Adagrad":
      return {
        kind: "adagrad",
        lrDecay: n("lr_decay"),
        eps: n("eps"),
        weightDecay: n("weight_decay"),
      };
    case "RMSprop":
      return {
        kind: "rmsprop",
        alpha: n("alpha"),
        eps: n("eps"),
        momentum: n("momentum"),
        centered: kw.centered as boolean | undefined,
        weightDecay: n("weight_decay"),
      };
    case "Adam":
    case "AdamW":
      return {
        kind: cls === "Adam" ? "adam" : "adamw",
        beta1: betas?.[0],
        beta2: betas?.[1],
        eps: n("eps"),
        weightDecay: n("weight_decay"),
      };
  }
  throw new Error(`no spec for ${cls}`);
}

function scheduleOf(s: Fixture["cases"][0]["schedule"]): ScheduleSpec {
  if (!s) return { kind: "constant" };
  if (s[0] === "step") return { kind: "step", stepSize: s[1].step_size, gamma: s[1].gamma };
  return { kind: "cosine", tMax: s[1].T_max, etaMin: s[1].eta_min };
}

/**
 * A training-step graph without the model: parameters, gradients (inputs
 * `grad:<p>`) and `step` in; `next:` outputs for parameters, optimiser
 * state and step, plus `grad_norm` when clipping by norm.
 */
function stepGraph(
  spec: OptimizerSpec,
  sched: ScheduleSpec,
  lr: number,
  clip?: ClipSpec,
): Graph {
  const b = new GraphBuilder("train_step");
  const names = Object.keys(FIX.shapes);
  for (const p of names) b.input(p, { dtype: "f32", shape: FIX.shapes[p] });
  let grads = names.map((p) => b.input(`grad:${p}`, { dtype: "f32", shape: FIX.shapes[p] }));
  const step = b.input(STEP_INPUT, { dtype: "i64", shape: [] });
  const rate = buildSchedule(b, sched, step, lr);
  if (clip) {
    const c = buildClip(b, clip, grads);
    grads = c.grads;
    if (c.norm) b.output(c.norm, "grad_norm");
  }
  const { updates } = buildOptimizer(
    b,
    spec,
    names.map((name, i) => ({ name, grad: grads[i] })),
    step,
    rate,
  );
  for (const u of updates) b.output(u.output, nextName(u.input));
  const one = b.initializer("one", tensor("i64", [], [1]));
  b.output(b.addNode("Add", [step, one])[0], nextName(step));
  return b.graph;
}

type Runner = (feeds: Record<string, Tensor>) => Promise<Record<string, Tensor>>;

async function runners(g: Graph): Promise<[string, Runner, () => Promise<void>][]> {
  const s = await createSession(emitModel(g).model);
  return [
    ["reference", (f) => Promise.resolve(runGraph(g, f).outputs), () => Promise.resolve()],
    ["onnxruntime-node", (f) => s.run(f), () => s.release()],
  ];
}

/** Run 3 steps, feeding `next:` outputs back, and compare with torch after each. */
async function trainThree(g: Graph, c: Fixture["cases"][0]) {
  for (const [backend, run, release] of await runners(g)) {
    const state: Record<string, Tensor> = {};
    for (const v of g.inputs) {
      if (v.name === STEP_INPUT) state[v.name] = tensor("i64", [], [0]);
      else if (v.name in FIX.p0) state[v.name] = tensor("f32", FIX.shapes[v.name], FIX.p0[v.name]);
      else if (!v.name.startsWith("grad:")) {
        state[v.name] = zeros("f32", v.type.shape as number[]);
      }
    }
    for (let k = 0; k < 3; k++) {
      const feeds = { ...state };
      for (const p of Object.keys(FIX.shapes)) {
        feeds[`grad:${p}`] = tensor("f32", FIX.shapes[p], FIX.grads[k][p]);
      }
      const out = await run(feeds);
      for (const name of Object.keys(state)) state[name] = out[nextName(name)];
      for (const p of Object.keys(FIX.shapes)) {
        close(toNumbers(state[p]), c.steps[k].params[p], `${c.name} ${backend} step ${k + 1} ${p}`);
      }
      const norm = c.steps[k].norm;
      if (norm !== null) close(toNumbers(out.grad_norm), [norm], `${c.name} ${backend} norm`);
    }
    assert.deepEqual(toNumbers(state[STEP_INPUT]), [3]);
    await release();
  }
}

for (const c of FIX.cases) {
  Deno.test(`optimiser case ${c.name} matches torch.optim for 3 steps in the reference interpreter and onnxruntime`, async () => {
    const clip: ClipSpec | undefined = c.clip
      ? c.clip[0] === "norm"
        ? { kind: "norm", maxNorm: c.clip[1] }
        : { kind: "value", clipValue: c.clip[1] }
      : undefined;
    const g = stepGraph(
      specOf(c.optimizer, c.kwargs),
      scheduleOf(c.schedule),
      c.kwargs.lr as number,
      clip,
    );
    await trainThree(g, c);
  });
}

const SCHEDULES: Record<string, ScheduleSpec> = {
  step: { kind: "step", stepSize: 3, gamma: 0.5 },
  exponential: { kind: "exponential", gamma: 0.9 },
  cosine: { kind: "cosine", tMax: 5, etaMin: 0.05 },
  warmup: { kind: "constant", warmup: { steps: 3, startFactor: 0.25 } },
  warmup_cosine: { kind: "cosine", tMax: 4, etaMin: 0.05, warmup: { steps: 3, startFactor: 0.25 } },
};

Deno.test("schedules give torch's lr_scheduler rates for steps 0 to 7 in both runtimes", async () => {
  for (const [name, spec] of Object.entries(SCHEDULES)) {
    const b = new GraphBuilder("schedule");
    const step = b.input(STEP_INPUT, { dtype: "i64", shape: [] });
    b.output(buildSchedule(b, spec, step, 0.5), "lr");
    for (const [backend, run, release] of await runners(b.graph)) {
      const got: number[] = [];
      for (let k = 0; k < 8; k++) {
        got.push(toNumbers((await run({ step: tensor("i64", [], [k]) })).lr)[0]);
      }
      close(got, FIX.schedules[name], `${name} (${backend})`);
      await release();
    }
  }
});

// ---- ONNX preview training ops, rebuilt from plain ops.

function readPb(url: URL): Tensor {
  return fromTensorProto(onnx.TensorProto.decode(Deno.readFileSync(url)));
}

interface NodeCase {
  attrs: Record<string, number | string>;
  inputs: string[];
  outputs: string[];
  feeds: Tensor[];
  expected: Tensor[];
}

function loadCase(name: string): NodeCase {
  const dir = new URL(`${name}/`, NODE_TESTS);
  // deno-lint-ignore no-explicit-any
  const m: any = onnx.ModelProto.decode(Deno.readFileSync(new URL("model.onnx", dir)));
  const n = m.graph.node[0];
  const attrs: Record<string, number | string> = {};
  // deno-lint-ignore no-explicit-any
  for (const a of n.attribute as any[]) {
    attrs[a.name] = a.s?.length ? new TextDecoder().decode(a.s) : a.f;
  }
  const data = new URL("test_data_set_0/", dir);
  return {
    attrs,
    inputs: n.input,
    outputs: n.output,
    feeds: n.input.map((_: string, k: number) => readPb(new URL(`input_${k}.pb`, data))),
    expected: n.output.map((_: string, k: number) => readPb(new URL(`output_${k}.pb`, data))),
  };
}

/**
 * Build the case with buildOptimizer: parameters X_i with gradients G_i
 * and one state slot list per parameter, laid out as the op lays them out
 * (X..., G..., then each state kind for all parameters).
 */
async function checkPreviewCase(name: string, spec: OptimizerSpec, slots: string[]) {
  const c = loadCase(name);
  const nParams = (c.inputs.length - 2) / (2 + slots.length);
  const b = new GraphBuilder(name);
  const lr = b.input("R", { dtype: "f32", shape: [] });
  const step = b.input("T", { dtype: "i64", shape: [] });
  const params: { name: string; grad: string }[] = [];
  for (let i = 0; i < nParams; i++) {
    const shape = c.feeds[2 + i].shape;
    params.push({
      name: b.input(`X${i}`, { dtype: "f32", shape }),
      grad: b.input(`G${i}`, { dtype: "f32", shape }),
    });
  }
  const { updates } = buildOptimizer(b, spec, params, step, lr);
  for (const u of updates) b.output(u.output, nextName(u.input));
  const feeds: Record<string, Tensor> = { R: c.feeds[0], T: c.feeds[1] };
  const want: Record<string, Tensor> = {};
  for (let i = 0; i < nParams; i++) {
    feeds[`X${i}`] = c.feeds[2 + i];
    feeds[`G${i}`] = c.feeds[2 + nParams + i];
    want[nextName(`X${i}`)] = c.expected[i];
    slots.forEach((s, k) => {
      feeds[`opt:${s}:X${i}`] = c.feeds[2 + (2 + k) * nParams + i];
      want[nextName(`opt:${s}:X${i}`)] = c.expected[(1 + k) * nParams + i];
    });
  }
  for (const [backend, run, release] of await runners(b.graph)) {
    const out = await run(feeds);
    for (const [k, t] of Object.entries(want)) {
      close(toNumbers(out[k]), toNumbers(t), `${name} ${backend} ${k}`, 1e-5, 1e-6);
    }
    await release();
  }
}

const num = (v: number | string) => v as number;

for (const name of ["test_adagrad", "test_adagrad_multiple"]) {
  Deno.test(`ONNX backend case ${name} is reproduced by the plain-op Adagrad`, async () => {
    const a = loadCase(name).attrs;
    await checkPreviewCase(name, {
      kind: "adagrad",
      lrDecay: num(a.decay_factor),
      eps: num(a.epsilon),
      weightDecay: num(a.norm_coefficient),
    }, ["sum"]);
  });
}

for (const name of ["test_momentum", "test_momentum_multiple", "test_nesterov_momentum"]) {
  Deno.test(`ONNX backend case ${name} is reproduced by the plain-op SGD with momentum`, async () => {
    const a = loadCase(name).attrs;
    await checkPreviewCase(name, {
      kind: "sgd",
      momentum: num(a.alpha),
      dampening: 1 - num(a.beta),
      nesterov: a.mode === "nesterov",
      weightDecay: num(a.norm_coefficient),
    }, ["momentum"]);
  });
}

for (const name of ["test_adam", "test_adam_multiple"]) {
  Deno.test(`ONNX backend case ${name} is reproduced by the plain-op Adam without bias correction at T = 0`, async () => {
    const a = loadCase(name).attrs;
    await checkPreviewCase(name, {
      kind: "adam",
      beta1: num(a.alpha),
      beta2: num(a.beta),
      // test_adam_multiple's node leaves epsilon at its default (1e-6) but its
      // expected outputs were computed with 1e-2 (onnx's backend test passes
      // epsilon = 1e-2 to its numpy reference only): an inconsistency of the case.
      eps: a.epsilon === undefined ? 1e-2 : num(a.epsilon),
      weightDecay: num(a.norm_coefficient),
      biasCorrection: false,
    }, ["m", "v"]);
  });
}
