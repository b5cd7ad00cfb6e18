/**
 * SFT and RLHF on the sorting task (lang-examples/rlhf_sort.dlm), trained as
 * a user runs them at a tiny size: the task's data are what the tool makes,
 * each train section raises the exactly computed reward of the responses
 * sampled from its policy, and `dlm diff --train 2` agrees for each section
 * (sampling included: the Gumbel noise is a step input both runtimes share).
 */
import assert from "node:assert/strict";
import { dlm } from "./cli_testing.ts";
import { readHistory } from "./train_history.ts";
import { readNpy, writeNpy } from "../runtime/formats/mod.ts";
import { mulberry32 } from "../compiler/ir/rng.ts";
import { sortExample, sortTaskCsv } from "../tools/make_sort_task.ts";

const EXAMPLE = decodeURIComponent(
  new URL("../lang-examples/rlhf_sort.dlm", import.meta.url).pathname,
);
const DATA = decodeURIComponent(
  new URL("../lang-examples/data/sort_digits.csv", import.meta.url).pathname,
);
const digits = ["--data", `digits=${DATA}:0-3@i64`];
const response = ["--data", `response=${DATA}:4-7@i64`];
const pairs = ["--data", `chosen=${DATA}:4-7@i64`, "--data", `rejected=${DATA}:8-11@i64`];
// A smaller policy than the example's default, for the test's time.
const SMALL = ["--set", "dim=32"];

/** `dlm train EXAMPLE --model M ...`: history.csv's rows. */
async function train(model: string, ...args: string[]): Promise<Record<string, number>[]> {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_rlhf_test_" });
  try {
    const r = await dlm("train", EXAMPLE, "--model", model, ...SMALL, ...args, "--out", dir);
    assert.equal(r.code, 0, r.err);
    return readHistory(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("the sorting task's data file is what tools/make_sort_task.ts makes", () => {
  assert.equal(Deno.readTextFileSync(DATA), sortTaskCsv(2000, 1));
  const rand = mulberry32(7);
  for (let i = 0; i < 500; i++) {
    const { prompt, chosen, rejected } = sortExample(rand);
    assert.deepEqual(chosen, [...prompt].sort((a, b) => a - b));
    // The rejected response differs from the sorted one, at one or two neighbouring positions.
    const wrong = rejected.flatMap((d, j) => (d === chosen[j] ? [] : [j]));
    assert.ok(wrong.length === 1 || (wrong.length === 2 && wrong[1] === wrong[0] + 1), `${wrong}`);
  }
});

/**
 * A tiny SFT policy (one epoch), the start of the RL runs: its weights and its validation reward
 * at the end, the reward before RL (the same seed holds out the same rows).
 */
let sftRun: { weights: string; reward: number } | undefined;
async function sft(): Promise<{ weights: string; reward: number }> {
  if (sftRun) return sftRun;
  const weights = Deno.makeTempFileSync({ prefix: "dlm_rlhf_sft_", suffix: ".safetensors" });
  const h = await train("SortSFT", ...digits, ...response, "--save", weights);
  return (sftRun = { weights, reward: h.at(-1)!.val_reward });
}

Deno.test("SFT on the sorting task raises the reward of sampled responses", async () => {
  const h = await train("SortSFT", ...digits, ...response, "--epochs", "2");
  assert.ok(h[1].val_loss < h[0].val_loss, JSON.stringify(h));
  // A uniform guess gets 0.1 of the positions right.
  assert.ok(h[1].val_reward > 0.4 && h[1].val_reward > h[0].val_reward, JSON.stringify(h));
  const d = await dlm(
    "diff",
    EXAMPLE,
    "--model",
    "SortSFT",
    ...SMALL,
    "--train",
    "2",
    ...digits,
    ...response,
  );
  assert.equal(d.code, 0, d.out + d.err);
});

Deno.test("DPO from the SFT policy learns the preferences and raises the reward", async () => {
  const start = await sft();
  const w = ["--weights", start.weights];
  const h = await train("SortDPO", ...w, ...digits, ...pairs, "--epochs", "2");
  // The frozen reference starts as the policy: the implicit rewards start near 0 and the
  // margin grows as the policy moves away from it.
  assert.ok(h[1].reward_margin > h[0].reward_margin && h[1].reward_margin > 0.2, JSON.stringify(h));
  assert.ok(h[1].val_reward_accuracy > 0.85, JSON.stringify(h));
  assert.ok(h[1].val_reward > start.reward + 0.05, JSON.stringify([start, h]));
  const d = await dlm(
    "diff",
    EXAMPLE,
    "--model",
    "SortDPO",
    ...SMALL,
    "--train",
    "2",
    ...digits,
    ...pairs,
  );
  assert.equal(d.code, 0, d.out + d.err);
});

Deno.test("GRPO from the SFT policy raises the reward of sampled responses", async () => {
  const start = await sft();
  const h = await train("SortGRPO", "--weights", start.weights, "--set", "group=4", ...digits);
  assert.ok(h[0].val_reward > start.reward + 0.05, JSON.stringify([start, h]));
  // The policy moved away from its reference, which started equal to it.
  assert.ok(h[0].val_mean_kl > 0, JSON.stringify(h));
  const d = await dlm(
    "diff",
    EXAMPLE,
    "--model",
    "SortGRPO",
    ...SMALL,
    "--set",
    "group=2",
    "--train",
    "2",
    ...digits,
  );
  assert.equal(d.code, 0, d.out + d.err);
});

Deno.test("GRPO refuses a group of one completion, at the model's assertion", async () => {
  const r = await dlm("check", EXAMPLE, "--model", "SortGRPO", "--set", "group=1");
  assert.equal(r.code, 1, r.err);
  assert.match(
    r.err,
    /rlhf_sort\.dlm:\d+:\d+: error DLM0306: GRPO normalises rewards within a group/,
  );
  assert.match(r.err, /group must be at least 2, got 1/);
});

Deno.test("PPO from the SFT policy raises the reward, with epochs of minibatches per rollout", async () => {
  const start = await sft();
  const ppo = ["--set", "ppo_epochs=2", "--set", "ppo_minibatches=2"];
  const h = await train("SortPPO", "--weights", start.weights, ...ppo, ...digits);
  assert.ok(h[0].val_reward > start.reward + 0.05, JSON.stringify([start, h]));
  const d = await dlm(
    "diff",
    EXAMPLE,
    "--model",
    "SortPPO",
    ...SMALL,
    ...ppo,
    "--train",
    "2",
    ...digits,
  );
  assert.equal(d.code, 0, d.out + d.err);
});

Deno.test("PPO's loss reading a per-sample tensor that over: leaves out is DLM0707 at the setting", async () => {
  const src = Deno.readTextFileSync(EXAMPLE).replace(
    "over: (prompt, responses, old_logp, advantages, returns)",
    "over: (prompt, responses, old_logp, advantages)",
  );
  const dir = Deno.makeTempDirSync({ prefix: "dlm_rlhf_test_" });
  try {
    Deno.copyFileSync(EXAMPLE.replace("rlhf_sort.dlm", "gpt2.dlm"), `${dir}/gpt2.dlm`);
    Deno.mkdirSync(`${dir}/lib`);
    Deno.copyFileSync(
      EXAMPLE.replace("rlhf_sort.dlm", "lib/transformer.dlm"),
      `${dir}/lib/transformer.dlm`,
    );
    Deno.writeTextFileSync(`${dir}/rlhf.dlm`, src);
    const r = await dlm(
      "compile",
      `${dir}/rlhf.dlm`,
      "--model",
      "SortPPO",
      "--train",
      "-o",
      `${dir}/step.onnx`,
    );
    assert.equal(r.code, 1, r.err);
    // The task's reward, which returns is computed from, reads the prompts' digits: unsliced.
    // At the updates setting.
    const line = src.split("\n").findIndex((l) => l.includes("updates = minibatches(")) + 1;
    assert.ok(
      r.err.includes(`rlhf.dlm:${line}:13: error DLM0707: the loss reads '`),
      `${line}: ${r.err}`,
    );
    assert.match(r.err, /DLM0707: the loss reads '[^']+' \(i64\[N, 4\]\)/);
    assert.match(r.err, /note: it is computed at .*rlhf\.dlm:\d+:\d+/);
    assert.ok(!Deno.readDirSync(dir).some((e) => e.name.startsWith("step")), "no file written");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a rollout longer than the policy's positions is refused where it is sampled", async () => {
  // 5 prompt tokens and 3 sampled before the last: 8 positions.
  assert.equal((await dlm("check", EXAMPLE, "--model", "SortPPO", "--set", "positions=8")).code, 0);
  const r = await dlm("check", EXAMPLE, "--model", "SortPPO", "--set", "positions=7");
  assert.equal(r.code, 1, r.err);
  assert.match(
    r.err,
    /rlhf_sort\.dlm:\d+:\d+: error DLM0306: sampling 4 tokens after a prompt of 5 runs the policy on 8 positions, more than its 7/,
  );
  assert.match(r.err, /note: in block SampleResponse, used at .*rlhf_sort\.dlm:\d+:\d+/);
});

Deno.test("the KV-cached sampler on the policy's shared parameters draws the uncached sampler's tokens, on both runtimes", async () => {
  // The two samplers at the same level (label `sample`) draw the same noise; the cached one runs
  // GPT2Cached sharing the policy. At temperature 1 the noise decides much of each token, at 0.05
  // the logits do: equal ids at both say the cached logits pick what the uncached ones pick.
  const dir = Deno.makeTempDirSync({ prefix: "dlm_rlhf_test_" });
  try {
    const file = `${dir}/samplers.dlm`;
    const model = (name: string, lm: string, sampler: string) => `
model ${name}(vocab: int = 11, positions: int = 16, dim: int = 32, layers: int = 2, heads: int = 4,
    temperature: float = 1.0) {
  input digits: i64[N, DIGITS]
  let policy = GPT2(vocab, positions, dim, layers, heads)
  ${lm}
  let prompt = _: SortPrompt()(digits)
  output logits = _: ResponseLogits()(policy, prompt, digits)
  output ids = sample: ${sampler}
}
`;
    Deno.writeTextFileSync(
      file,
      `import "${EXAMPLE}"\n` +
        model(
          "Uncached",
          "",
          "SampleResponseUncached(DIGITS, positions, temperature)(policy, prompt)",
        ) +
        model(
          "Cached",
          "let fast = GPT2Cached(vocab, positions, dim, layers, heads) sharing policy",
          "SampleResponse(DIGITS, positions, layers, heads, dim, temperature)(fast, prompt)",
        ),
    );
    const rand = mulberry32(11);
    const ids = BigInt64Array.from({ length: 32 * 4 }, () => BigInt(Math.floor(rand() * 10)));
    Deno.writeFileSync(`${dir}/digits.npy`, writeNpy({ dtype: "i64", shape: [32, 4], data: ids }));
    const sampled = async (model: string, backend: string, temperature: string) => {
      const out = `${dir}/${model}_${backend}_${temperature}`;
      const r = await dlm(
        "run",
        file,
        "--model",
        model,
        "--set",
        `temperature=${temperature}`,
        "--input",
        `digits=${dir}/digits.npy`,
        "--backend",
        backend,
        "--out",
        out,
      );
      assert.equal(r.code, 0, r.err);
      const t = readNpy(Deno.readFileSync(`${out}/ids.npy`), "ids.npy");
      assert.deepEqual(t.shape, [32, 4]);
      return Array.from(t.data as BigInt64Array, Number);
    };
    for (const backend of ["node", "reference"]) {
      for (const temperature of ["1.0", "0.05"]) {
        const u = await sampled("Uncached", backend, temperature);
        const c = await sampled("Cached", backend, temperature);
        assert.deepEqual(c, u, `${backend} at temperature ${temperature}`);
        assert.ok(u.every((t) => t >= 0 && t <= 10), `${u}`);
      }
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
