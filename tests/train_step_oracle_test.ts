/**
 * Whole training steps against PyTorch. The fixtures in `fixtures/torch/`
 * were made once by `fixtures/torch/make_train_step_fixtures.py` (Debian's
 * torch 1.13.1): seeded initial weights, a fixed batch of 16 digits (rows
 * 0-15 of ../shared/datasets/digits.csv, pixels / 16), and after each update
 * the loss, every gradient, every updated parameter and Adam's moments.
 *
 * For each case (a .dlm file with a train section), `compileTrain` builds
 * the step graph (compiler/train/contract.ts), torch's initial weights load
 * into it by name, and the step runs in the reference interpreter and in
 * onnxruntime-node (the emitted ONNX model), state fed back by name:
 *
 * - mlp_digits (SGD, lr 0.1), one step: the loss, every `next:<param>`, and
 *   the gradients, recovered from the update as (old - new) / lr (the step
 *   model keeps its gradients internal) or read directly from `grad:<param>`
 *   outputs if the graph exposes them;
 * - lenet_digits (Adam, lr 1e-3), two steps: the second checks that the
 *   optimiser state (`opt:m:`, `opt:v:`) and `step` feed back correctly;
 * - bn_digits (SGD, lr 0.1), three steps of batch norms in training mode,
 *   one with frozen weight and bias and one applied twice per forward: the
 *   buffers after each step, `num_batches_tracked` exactly, `running_mean`
 *   and `running_var` (which blends the batch's unbiased variance, as
 *   PyTorch's does) within the tolerance; once per layer and once packed
 *   (`--pack-params`, `dlm train`'s default: bn1's statistics in one chain,
 *   shared bn2's per application).
 *
 * Tolerance rtol 1e-4 / atol 1e-5 (torch float32 is within 2e-7 of torch
 * float64 on every value here: the script prints that margin).
 */
import assert from "node:assert/strict";
import { formatDiagnostic, type SourceMap } from "../compiler/diagnostics.ts";
import type { Diagnostic } from "../compiler/diagnostics.ts";
import type { Graph } from "../compiler/ir/graph.ts";
import { type Tensor, tensor, toNumbers, zeros } from "../compiler/ir/tensor.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import {
  LOSS_OUTPUT,
  nextName,
  parseOptSlot,
  stateInputs,
  STEP_INPUT,
} from "../compiler/train/contract.ts";
import { readNpy, readSafetensors } from "../runtime/formats/mod.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { loadWeights } from "../runtime/weights.ts";
import { unpackValues } from "../compiler/train/pack.ts";

const ROOT = new URL("../", import.meta.url);
const FIXTURES = new URL("fixtures/torch/", import.meta.url);
const TRAIN_MOD = new URL("compiler/train/mod.ts", ROOT);
const RTOL = 1e-4;
const ATOL = 1e-5;

/** compiler/train/mod.ts's API, as far as this test uses it. */
interface TrainApi {
  compileTrain(path: string, opts?: { model?: string; seed?: number; pack?: boolean }): {
    step?: Graph;
    eval?: Graph;
    diagnostics: Diagnostic[];
    sources: SourceMap;
  };
}

/** A file URL as a path (percent-escapes such as %20 decoded). */
function pathOf(url: URL): string {
  return decodeURIComponent(url.pathname);
}

function exists(url: URL): boolean {
  try {
    Deno.statSync(url);
    return true;
  } catch {
    return false;
  }
}

/**
 * Imported through a computed URL so that this file type-checks and loads
 * before compiler/train/mod.ts exists (the tests are ignored until then).
 */
async function trainApi(): Promise<TrainApi> {
  return await import(TRAIN_MOD.href) as TrainApi;
}

function readFixtureNpy(name: string): Tensor {
  const url = new URL(name, FIXTURES);
  return readNpy(Deno.readFileSync(url), pathOf(url));
}

function readFixtureTensors(name: string): Map<string, Tensor> {
  const url = new URL(name, FIXTURES);
  return readSafetensors(Deno.readFileSync(url), pathOf(url)).tensors;
}

/**
 * Assert |actual - expected| <= atol + rtol * |expected| everywhere, naming
 * the worst element when not.
 */
function assertClose(
  actual: Tensor | number[],
  expected: Tensor,
  what: string,
  rtol = RTOL,
  atol = ATOL,
): void {
  if (!Array.isArray(actual)) assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = Array.isArray(actual) ? actual : toNumbers(actual), e = toNumbers(expected);
  assert.equal(a.length, e.length, `${what}: element count`);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < e.length; i++) {
    const excess = Math.abs(a[i] - e[i]) - (atol + rtol * Math.abs(e[i]));
    if (!(excess <= worstExcess)) {
      [worst, worstExcess] = [i, Number.isNaN(excess) ? Infinity : excess];
    }
  }
  assert.ok(
    worst < 0,
    `${what}: element ${worst} is ${a[worst]} but torch says ${e[worst]} ` +
      `(difference ${Math.abs(a[worst] - e[worst])}, rtol ${rtol}, atol ${atol})`,
  );
}

/** The batch in the shape the graph declares for `image` ([N, 64] or [N, 1, 8, 8]). */
function batchFeeds(g: Graph): Record<string, Tensor> {
  const image = readFixtureNpy("digits16_image.npy");
  const label = readFixtureNpy("digits16_label.npy");
  const feeds: Record<string, Tensor> = {};
  for (const v of g.inputs) {
    if (v.name === "label") feeds.label = label;
    if (v.name !== "image") continue;
    // One symbolic dim (the batch) takes whatever the fixed dims leave.
    const fixed = v.type.shape.reduce<number>((n, d) => typeof d === "number" ? n * d : n, 1);
    const shape = v.type.shape.map((d) => typeof d === "number" ? d : image.data.length / fixed);
    feeds.image = { ...image, shape };
  }
  assert.ok(feeds.image && feeds.label, "the graph has inputs 'image' and 'label'");
  return feeds;
}

/**
 * The step graph's first feeds: parameters from its initializers (after
 * loadWeights), optimiser state as zeros of the declared shapes, step 0,
 * and the batch.
 */
function initialFeeds(g: Graph): Record<string, Tensor> {
  const feeds = batchFeeds(g);
  for (const v of g.inputs) {
    if (v.name in feeds) continue;
    if (v.name === STEP_INPUT) feeds[v.name] = tensor("i64", [], [0]);
    else if (parseOptSlot(v.name)) {
      assert.ok(
        v.type.shape.every((d) => typeof d === "number"),
        `optimiser state '${v.name}' has a static shape`,
      );
      feeds[v.name] = zeros(v.type.dtype, v.type.shape as number[]);
    } else {
      const t = g.initializers.get(v.name);
      assert.ok(t, `graph input '${v.name}' is a parameter, optimiser state, step or batch`);
      feeds[v.name] = t;
    }
  }
  return feeds;
}

type Runner = (feeds: Record<string, Tensor>) => Promise<Record<string, Tensor>>;

/**
 * onnxruntime lists an input that also has an initializer as an overridable
 * initializer, not as an input, and dlm's session refuses to feed it; so the
 * emitted step model drops the initial values of its inputs and they are
 * fed, as runtime/train/model.ts does for `dlm train`.
 */
function withoutInputDefaults(g: Graph): Graph {
  const initializers = new Map(g.initializers);
  for (const v of g.inputs) initializers.delete(v.name);
  return { ...g, initializers };
}

async function runners(g: Graph): Promise<[string, Runner, () => Promise<void>][]> {
  const s = await createSession(emitModel(withoutInputDefaults(g)).model);
  return [
    ["reference", (f) => Promise.resolve(runGraph(g, f).outputs), () => Promise.resolve()],
    ["onnxruntime-node", (f) => s.run(f), () => s.release()],
  ];
}

interface Case {
  /** Fixture prefix: `<name>_init.safetensors`, `<name>_step<k>.safetensors`. */
  name: string;
  /** The .dlm file whose train section is compiled, relative to the repository root. */
  dlm: string;
  /** SGD's learning rate, to recover gradients from the update; undefined otherwise. */
  sgdLr?: number;
  steps: number;
  /** Batch norms by label: PyTorch's momentum, applications per forward, values per channel. */
  batchNorms?: Record<string, { momentum: number; uses: number; count: number }>;
  /** Compile with packed parameters and running statistics (`dlm train`'s default). */
  pack?: boolean;
}

// The fixture .dlm files mirror make_train_step_fixtures.py's torch modules
// exactly and stay put; lang-examples/mlp_digits.dlm is the same network as
// the issue fixes it (64-32-10, SGD lr 0.1), so it is checked too. The
// LeNet example's architecture and lr are tuned for accuracy, so it is not
// pinned to a fixture.
const CASES: Case[] = [
  { name: "mlp_digits", dlm: "tests/fixtures/torch/mlp_digits.dlm", sgdLr: 0.1, steps: 1 },
  { name: "mlp_digits", dlm: "lang-examples/mlp_digits.dlm", sgdLr: 0.1, steps: 1 },
  { name: "lenet_digits", dlm: "tests/fixtures/torch/lenet_digits.dlm", steps: 2 },
  {
    name: "bn_digits",
    dlm: "tests/fixtures/torch/bn_digits.dlm",
    sgdLr: 0.1,
    steps: 3,
    // bn1 sees [16, 4, 8, 8], bn2 twice [16, 8, 4, 4].
    batchNorms: {
      bn1: { momentum: 0.1, uses: 1, count: 16 * 8 * 8 },
      bn2: { momentum: 0.2, uses: 2, count: 16 * 4 * 4 },
    },
  },
  {
    name: "bn_digits",
    dlm: "tests/fixtures/torch/bn_digits.dlm",
    sgdLr: 0.1,
    steps: 3,
    pack: true,
    // bn1 sees [16, 4, 8, 8], bn2 twice [16, 8, 4, 4].
    batchNorms: {
      bn1: { momentum: 0.1, uses: 1, count: 16 * 8 * 8 },
      bn2: { momentum: 0.2, uses: 2, count: 16 * 4 * 4 },
    },
  },
  {
    name: "bn_small",
    dlm: "tests/fixtures/torch/bn_small.dlm",
    sgdLr: 0.1,
    steps: 2,
    // bn1 sees [16, 4, 2, 2], bn2 twice [16, 8]: torch's running_var is 1/63 and 1/15 of the
    // batch's variance (times the momentum) above the population blend, far beyond the tolerance.
    batchNorms: {
      bn1: { momentum: 0.5, uses: 1, count: 16 * 2 * 2 },
      bn2: { momentum: 0.3, uses: 2, count: 16 },
    },
  },
  {
    name: "bn_small",
    dlm: "tests/fixtures/torch/bn_small.dlm",
    sgdLr: 0.1,
    steps: 2,
    pack: true,
    batchNorms: {
      bn1: { momentum: 0.5, uses: 1, count: 16 * 2 * 2 },
      bn2: { momentum: 0.3, uses: 2, count: 16 },
    },
  },
];

/**
 * `values` with each pack's members beside it by name (compiler/train/pack.ts): `pack:0` gives
 * `fc.weight`, ..., and `next:pack:0` gives `next:fc.weight`, ... (a packed step's state).
 */
function withMembers(g: Graph, values: Record<string, Tensor>): Record<string, Tensor> {
  const out = { ...values };
  const packs = g.packs ?? [];
  for (const [k, t] of Object.entries(values)) {
    const next = k.startsWith("next:") ? "next:" : "";
    const name = k.slice(next.length);
    if (!packs.some((p) => p.name === name)) continue;
    // (A weight packed at some taps takes its others from the step's initial values.)
    for (const [m, v] of unpackValues(packs, new Map([[name, t]]), g.initializers)) {
      out[next + m] = v;
    }
  }
  return out;
}

function compileCase(api: TrainApi, c: Case): { step: Graph; eval?: Graph } {
  const r = api.compileTrain(pathOf(new URL(c.dlm, ROOT)), { seed: 0, pack: c.pack });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length || !r.step) {
    assert.fail(
      errors.map((d) => formatDiagnostic(d, r.sources)).join("\n") || "no step graph",
    );
  }
  return { step: r.step, eval: r.eval };
}

/**
 * Load torch's initial weights (its state dict: parameters, frozen ones and
 * buffers); the trainable parameters must be torch's, by torch's name.
 */
function loadInit(g: Graph, c: Case, torchNames: string[]): void {
  const report = loadWeights(g, pathOf(new URL(`${c.name}_init.safetensors`, FIXTURES)));
  assert.deepEqual(report.warnings.map((w) => w.message), [], "weights load with no warnings");
  const trainable = g.params.filter((p) => p.trainable && !p.frozen).map((p) => p.name);
  assert.deepEqual([...trainable].sort(), [...torchNames].sort(), "trainable parameter names");
}

for (const c of CASES) {
  // compiler/train/mod.ts and the examples land in parallel with this test;
  // until they exist these tests are skipped (shown as ignored).
  const ignore = !exists(TRAIN_MOD) || !exists(new URL(c.dlm, ROOT));

  Deno.test({
    name: `a training step of ${c.dlm}${
      c.pack ? ", packed," : ""
    } matches PyTorch (${c.steps} step${
      c.steps > 1 ? "s" : ""
    }) in the reference interpreter and onnxruntime`,
    ignore,
    fn: async () => {
      const { step: g } = compileCase(await trainApi(), c);
      const init = readFixtureTensors(`${c.name}_init.safetensors`);
      const fixtures = Array.from(
        { length: c.steps },
        (_, k) => readFixtureTensors(`${c.name}_step${k + 1}.safetensors`),
      );
      // The trainable parameters are those torch has gradients for; the buffers its state dict's
      // others that change (frozen parameters are constants of the step).
      const params = [...fixtures[0].keys()].filter((k) => k.startsWith("grad:"))
        .map((k) => k.slice("grad:".length));
      const buffers = [...init.keys()].filter((k) =>
        !params.includes(k) && fixtures[0].has(nextName(k))
      );
      assert.equal(buffers.length, 3 * Object.keys(c.batchNorms ?? {}).length, "buffers");
      loadInit(g, c, params);
      // Named outputs, a pack's members under their own names (`next:pack:0` holds `next:fc.weight`).
      const members = new Map((g.packs ?? []).map((p) => [p.name, p.members.map((m) => m.param)]));
      const outputs = new Set(g.outputs.flatMap((o) => {
        const packed = o.name.startsWith("next:") && members.get(o.name.slice(5));
        return [o.name, ...(packed || []).map(nextName)];
      }));
      assert.ok(outputs.has(LOSS_OUTPUT), "the step graph has a 'loss' output");
      for (const p of [...params, ...buffers]) {
        assert.ok(outputs.has(nextName(p)), `output 'next:${p}'`);
      }
      const first = initialFeeds(g);
      const state = stateInputs(g.outputs.map((o) => o.name));

      for (const [backend, run, release] of await runners(g)) {
        const feeds = { ...first };
        try {
          for (let k = 0; k < c.steps; k++) {
            const want = fixtures[k];
            const at = `${c.name} ${backend} step ${k + 1}`;
            const out = withMembers(g, await run(feeds)), fed = withMembers(g, feeds);
            assertClose(out[LOSS_OUTPUT], want.get("loss")!, `${at} loss`);
            for (const p of params) {
              assertClose(out[nextName(p)], want.get(`next:${p}`)!, `${at} updated ${p}`);
              const grad = want.get(`grad:${p}`)!;
              if (out[`grad:${p}`]) assertClose(out[`grad:${p}`], grad, `${at} gradient of ${p}`);
              if (c.sgdLr !== undefined) {
                // SGD: new = old - lr * grad. Rounding the parameters (|p| < 1)
                // costs ~1e-8, so the recovered gradient is good to ~1e-7.
                const old = toNumbers(fed[p]), now = toNumbers(out[nextName(p)]);
                const recovered = old.map((o, i) => (o - now[i]) / c.sgdLr!);
                assertClose(
                  recovered,
                  grad,
                  `${at} gradient of ${p} (from the update)`,
                  RTOL,
                  2e-6,
                );
              }
            }
            // Optimiser state under torch's meaning (Adam's m = exp_avg, v =
            // exp_avg_sq). v is ~1e-3 grad^2, far below ATOL, so the absolute
            // tolerance scales with the tensor's largest value.
            for (const name of outputs) {
              const t = want.get(name);
              if (!t || !name.startsWith("next:opt:")) continue;
              const scale = Math.max(...toNumbers(t).map(Math.abs));
              assertClose(out[name], t, `${at} ${name}`, RTOL, 1e-4 * scale);
            }
            // Batch-norm buffers: the counter exactly, the statistics as above.
            for (const x of buffers) {
              const got = out[nextName(x)], want1 = want.get(nextName(x))!;
              const [label, role] = [
                x.slice(0, x.lastIndexOf(".")),
                x.slice(x.lastIndexOf(".") + 1),
              ];
              if (role === "num_batches_tracked") {
                assert.deepEqual([got.dtype, got.shape], ["i64", []], `${at} ${x}`);
                assert.deepEqual(toNumbers(got), toNumbers(want1), `${at} ${x}`);
              } else {
                // running_var blends the unbiased variance, as PyTorch does: equal to torch's.
                assert.ok(c.batchNorms![label], `${at} ${x}: a batch norm of the case`);
                assertClose(got, want1, `${at} ${x}`);
              }
            }
            assert.deepEqual(toNumbers(out[nextName(STEP_INPUT)]), [k + 1], `${at} next:step`);
            for (const x of state) feeds[x] = out[nextName(x)];
            assert.ok(state.every((x) => feeds[x]), `${at}: every state input fed back`);
          }
        } finally {
          await release();
        }
      }
    },
  });

  Deno.test({
    name: `the evaluation graph of ${c.dlm}${
      c.pack ? ", packed," : ""
    } gives PyTorch's loss for the initial weights`,
    ignore,
    fn: async () => {
      const { eval: g } = compileCase(await trainApi(), c);
      if (!g) return; // The evaluation graph is optional in the API.
      loadWeights(g, pathOf(new URL(`${c.name}_init.safetensors`, FIXTURES)));
      const feeds = batchFeeds(g);
      for (const v of g.inputs) {
        if (!(v.name in feeds)) {
          const t = g.initializers.get(v.name);
          assert.ok(t, `evaluation input '${v.name}' is a parameter, buffer or batch input`);
          feeds[v.name] = t;
        }
      }
      // With batch norms, evaluation (running statistics) differs from the training step.
      const first = readFixtureTensors(`${c.name}_step1.safetensors`);
      const want = first.get("eval_loss") ?? first.get("loss")!;
      assertClose(runGraph(g, feeds).outputs[LOSS_OUTPUT], want, `${c.name} evaluation loss`);
    },
  });
}

Deno.test("the training-step fixtures are consistent: SGD's update is old - 0.1 * grad, Adam's first moment is 0.1 * grad", () => {
  // Guards the fixture files themselves (and the reading of them), so the
  // oracle can be trusted before compileTrain exists.
  const image = readFixtureNpy("digits16_image.npy");
  const label = readFixtureNpy("digits16_label.npy");
  assert.deepEqual([image.dtype, image.shape, label.dtype, label.shape], [
    "f32",
    [16, 64],
    "i64",
    [16],
  ]);
  assert.ok(toNumbers(image).every((v) => v >= 0 && v <= 1), "pixels are scaled to [0, 1]");
  const mlp0 = readFixtureTensors("mlp_digits_init.safetensors");
  const mlp1 = readFixtureTensors("mlp_digits_step1.safetensors");
  assert.deepEqual([...mlp0.keys()], ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
  for (const [p, t] of mlp0) {
    const g = toNumbers(mlp1.get(`grad:${p}`)!);
    const want = toNumbers(t).map((v, i) => Math.fround(v - Math.fround(0.1 * g[i])));
    assertClose(mlp1.get(`next:${p}`)!, tensor("f32", t.shape, want), `mlp ${p}`, 0, 1e-7);
  }
  const lenet0 = readFixtureTensors("lenet_digits_init.safetensors");
  const lenet1 = readFixtureTensors("lenet_digits_step1.safetensors");
  assert.deepEqual([...lenet0.keys()], [
    "conv1.weight",
    "conv1.bias",
    "conv2.weight",
    "conv2.bias",
    "fc1.weight",
    "fc1.bias",
    "fc2.weight",
    "fc2.bias",
    "fc3.weight",
    "fc3.bias",
  ]);
  assert.deepEqual(lenet0.get("fc1.weight")!.shape, [120, 64]);
  for (const p of lenet0.keys()) {
    const g = toNumbers(lenet1.get(`grad:${p}`)!);
    assertClose(
      lenet1.get(`next:opt:m:${p}`)!,
      tensor("f32", lenet0.get(p)!.shape, g.map((v) => 0.1 * v)),
      `lenet m of ${p}`,
      1e-6,
      1e-12,
    );
  }
});
