// SFT and RLHF (DPO, GRPO, PPO) over a tiny GPT on a task whose reward is
// computed exactly: the prompt is 4 random digits and a separator, the
// response should be the same digits in ascending order, and the reward of a
// response is the fraction of its 4 positions that are right. Token ids are
// the digits 0-9 and the separator 10; no tokenizer is needed.
//
// The data (tools/make_sort_task.ts writes it; a CSV, one example a row:
// prompt digits d0-d3, sorted response r0-r3, a rejected response x0-x3 with
// one mistake, for DPO):
//
//   D=lang-examples/data/sort_digits.csv
//   dlm train lang-examples/rlhf_sort.dlm --model SortSFT \
//       --data digits=$D:0-3@i64 --data response=$D:4-7@i64 --save sft.safetensors
//   dlm train lang-examples/rlhf_sort.dlm --model SortDPO --weights sft.safetensors \
//       --data digits=$D:0-3@i64 --data chosen=$D:4-7@i64 --data rejected=$D:8-11@i64
//   dlm train lang-examples/rlhf_sort.dlm --model SortGRPO --weights sft.safetensors \
//       --data digits=$D:0-3@i64
//
// Every model names its language model `policy`, so the SFT run's weights
// load into the others by name, and each RL model's frozen reference `ref`
// starts as a copy of the policy (`init ref from policy`, spec 8.5): from
// the SFT weights when they are loaded.
//
// Rollouts are sampled inside the training step (see SampleResponse): the
// step draws a batch's responses from the policy as it is at the start of
// the step, scores them with the reward below and updates on them, so one
// `dlm train` alternates rollouts and updates, every runtime runs the same
// graph, and `dlm diff --train 2` covers the sampling too. The sampler runs
// the policy's KV-cached model, `GPT2Cached(...) sharing policy` (spec 8.6):
// GPT2Cached's layers on the policy's live parameters, so the prompt runs
// once and each token after it is one position (8 positions a response
// here, where re-running the policy over each prefix takes 26).
import "gpt2.dlm"

// The separator between a prompt's digits and its response.
let SEP = 10
// Digits in a prompt, and in a response.
let DIGITS = 4

// The prompt: the digits, then the separator.
block SortPrompt()(digits: i64[N, D]) -> i64[N, P] {
  return concat(digits, digits[:, :1] * 0 + SEP, axis: 1)
}

// lm's logits at the positions that predict each response token: the
// prompt's last position and every response position but the last.
block ResponseLogits()(lm, prompt: i64[N, P], response: i64[N, R]) -> f32[N, R, V] {
  let seq = concat(prompt, response, axis: 1)
  return (seq[:, :-1] |> lm)[:, P - 1:, :]
}

// log p(response token | everything before it) under lm, one a position.
block ResponseLogp()(lm, prompt: i64[N, P], response: i64[N, R]) -> f32[N, R] {
  let logp = ResponseLogits()(lm, prompt, response) |> log_softmax(axis: 2)
  return squeeze(take_along_axis(logp, unsqueeze(response, 2), axis: 2), 2)
}

// A response of `length` tokens sampled from lm (the policy), one token at a time, at
// `temperature`: each token is argmax(logits / temperature + Gumbel noise),
// which is a draw from softmax(logits / temperature). The noise is the
// step's random input (dlm train feeds it, a function of the seed and the
// step), and no gradient flows through the choice. Without a KV cache each
// token runs lm over the whole prefix: length forwards of at most P + length
// positions. The models sample with SampleResponse below, its cached form;
// this one is the reference it is tested against.
block SampleResponseUncached(length: int, positions: int, temperature: float = 1.0)(
  lm,
  prompt: i64[N, P],
) -> i64[N, R] {
  // The last token is predicted from the prompt and the length - 1 tokens before it.
  assert(
    P + length - 1 <= positions,
    "sampling ${length} tokens after a prompt of ${P} runs the policy on ${P + length - 1} positions, more than its ${positions}",
  )
  let s = prompt
  for i in 0..length {
    let last = stop_gradient((s |> lm)[:, -1, :])
    let gumbel = -log(-log(rand_like(last) * 0.999998 + 0.000001))
    s = concat(s, unsqueeze(argmax(last / temperature + gumbel, axis: 1), 1), axis: 1)
  }
  return s[:, P:]
}

// The sampler the models use: SampleResponseUncached with a KV cache. lm is GPT2Cached
// (gpt2.dlm) over the policy's live parameters, `GPT2Cached(...) sharing policy` (spec 8.6). The
// prompt runs once with an empty cache, then each token is one position attending to the cached
// keys and values: P + length - 1 positions in all (8 here), where SampleResponseUncached runs
// P + (P + 1) + ... + (P + length - 1) (26). Its draws are SampleResponseUncached's, in the same
// order and shape, so with the same noise the tokens are the same (tests/rlhf_test.ts).
block SampleResponse(
  length: int,
  positions: int,
  layers: int,
  heads: int,
  dim: int,
  temperature: float = 1.0,
)(lm, prompt: i64[N, P]) -> i64[N, R] {
  assert(
    P + length - 1 <= positions,
    "sampling ${length} tokens after a prompt of ${P} runs the policy on ${P + length - 1} positions, more than its ${positions}",
  )
  // The empty cache, [layers, N, heads, 0, dim / heads].
  let none = unsqueeze(unsqueeze(unsqueeze(cast(prompt[:, :0], "f32"), 0), 2), 4)
  let empty = expand(none, (layers, N, heads, 0, floor(dim / heads)))
  let (logits, k, v) = lm(prompt, empty, empty)
  let last = stop_gradient(logits[:, -1, :])
  let s = prompt
  for i in 0..length {
    let gumbel = -log(-log(rand_like(last) * 0.999998 + 0.000001))
    let token = unsqueeze(argmax(last / temperature + gumbel, axis: 1), 1)
    s = concat(s, token, axis: 1)
    // The next token's logits from this one's position alone; none after the last token.
    if i < length - 1 {
      let (l, k2, v2) = lm(token, k, v)
      last = stop_gradient(l[:, -1, :])
      k = k2
      v = v2
    }
  }
  return s[:, P:]
}

// log pi(response | prompt) - log ref(response | prompt), summed over the
// response's tokens: [N].
block LogRatio()(pi, ref, prompt: i64[N, P], response: i64[N, R]) -> f32[N] {
  let d = ResponseLogp()(pi, prompt, response) - ResponseLogp()(ref, prompt, response)
  return reduce_sum(d, axes: 1)
}

// The task's reward of each response: the fraction of its positions equal to
// the prompt's digits sorted.
block SortReward()(digits: i64[N, D], response: i64[N, D]) -> f32[N] {
  let target = sort(digits, axis: 1)[0]
  return reduce_mean(cast(response == target, "f32"), axes: 1)
}

// SFT: the policy trained on prompt/response pairs, its loss the cross
// entropy of the response tokens only (the prompt's positions are not
// predicted: ResponseLogits leaves them out).
model SortSFT(
  vocab: int = 11,
  positions: int = 16,
  dim: int = 64,
  layers: int = 2,
  heads: int = 4,
) {
  input digits: i64[N, DIGITS]
  input response: i64[N, DIGITS]
  let policy = GPT2(vocab, positions, dim, layers, heads)
  let prompt = _: SortPrompt()(digits)
  output logits = _: ResponseLogits()(policy, prompt, response)
}

train SortSFT {
  loss = cross_entropy(transpose(logits, (0, 2, 1)), response)
  output token_accuracy = reduce_mean(cast(argmax(logits, axis: 2) == response, "f32"))
  // The task's reward of responses sampled from the policy at temperature 1, through its KV-cached
  // model: GPT2Cached's layers over the policy's parameters, not a copy of them.
  let fast = GPT2Cached(vocab, positions, dim, layers, heads) sharing policy
  output reward = reduce_mean(
    SortReward()(digits, SampleResponse(DIGITS, positions, layers, heads, dim)(fast, prompt)),
  )
  optimizer = adamw(lr: 0.003)
  epochs = 1
  batch_size = 64
  val_split = 0.1
}

// DPO (Rafailov et al., 2023): the policy and a frozen reference, a copy of
// the policy as it starts (the SFT weights when --weights loads them), on
// pairs of a chosen and a rejected response. With each response's log
// probability summed over its tokens, the implicit reward of a response is
// beta (log pi(y|x) - log ref(y|x)), and the loss is
// -log sigmoid(reward(chosen) - reward(rejected)).
model SortDPO(
  vocab: int = 11,
  positions: int = 16,
  dim: int = 64,
  layers: int = 2,
  heads: int = 4,
  beta: float = 0.1,
  rpo_alpha: float = 1.0,
) {
  input digits: i64[N, DIGITS]
  input chosen: i64[N, DIGITS]
  input rejected: i64[N, DIGITS]
  let policy = GPT2(vocab, positions, dim, layers, heads)
  let ref = GPT2(vocab, positions, dim, layers, heads)
  init ref from policy
  freeze ref
  let prompt = _: SortPrompt()(digits)
  output chosen_reward = beta * LogRatio()(policy, ref, prompt, chosen)
  output rejected_reward = beta * LogRatio()(policy, ref, prompt, rejected)
  // The chosen response's mean token log-likelihood under the policy (RPO's NLL term).
  output chosen_logp = reduce_mean(ResponseLogp()(policy, prompt, chosen), axes: 1)
}

train SortDPO {
  let margin = chosen_reward - rejected_reward
  // DPO's loss, plus rpo_alpha times the chosen responses' negative log-likelihood (RPO, Pang et
  // al. 2024; TRL's rpo_alpha): without it (--set rpo_alpha=0, plain DPO) the preferences are
  // learnt but the chosen responses' likelihood may fall with the rejected ones', and here the
  // sampled responses do not improve.
  loss = -reduce_mean(log_sigmoid(margin)) - rpo_alpha * reduce_mean(chosen_logp)
  // How often the implicit reward ranks the pair right, and by how much (TRL's
  // rewards/accuracies and rewards/margins).
  output reward_accuracy = reduce_mean(cast(margin > 0, "f32"))
  output reward_margin = reduce_mean(margin)
  // The task's reward of responses sampled from the policy (cached, as SFT's): what DPO should
  // raise.
  let fast = GPT2Cached(vocab, positions, dim, layers, heads) sharing policy
  output reward = reduce_mean(
    SortReward()(digits, SampleResponse(DIGITS, positions, layers, heads, dim)(fast, prompt)),
  )
  optimizer = adamw(lr: 0.002)
  epochs = 1
  batch_size = 64
  val_split = 0.1
}

// Each prompt `group` times, [N * group, P]: prompt n's copies are rows n * group ... n * group +
// group - 1, so a reshape to [N, group] gathers each prompt's completions.
block Repeat(group: int)(x: i64[N, L]) -> i64[M, L] {
  return reshape(expand(unsqueeze(x, 1), (N, group, L)), (-1, L))
}

// GRPO (Shao et al., 2024, DeepSeekMath): for each prompt, `group` responses sampled from the
// policy; each response's advantage is its reward standardised within its group,
// A = (r - mean(r_group)) / (std(r_group) + eps), so no value model is needed. Every response
// token is pushed by its response's advantage, against a KL penalty to the frozen reference (the
// k3 estimator exp(ref - pi) - (ref - pi) - 1, per token, as in the paper). One update per
// rollout: the ratio pi / pi_old is exp(logp - stop_gradient(logp)), 1 in value, whose gradient
// is the policy gradient A grad log pi; the clipping of several updates per rollout is PPO's
// below.
model SortGRPO(
  vocab: int = 11,
  positions: int = 16,
  dim: int = 64,
  layers: int = 2,
  heads: int = 4,
  group: int = 8,
  beta: float = 0.04,
  temperature: float = 1.0,
) {
  input digits: i64[N, DIGITS]
  assert(
    group >= 2,
    "GRPO normalises rewards within a group of completions: group must be at least 2, got ${group}",
  )
  let policy = GPT2(vocab, positions, dim, layers, heads)
  let ref = GPT2(vocab, positions, dim, layers, heads)
  init ref from policy
  freeze ref
  // The policy's KV-cached model, on the policy's own parameters (spec 8.6).
  let fast = GPT2Cached(vocab, positions, dim, layers, heads) sharing policy
  let prompts = _: Repeat(group)(SortPrompt()(digits))
  let responses = SampleResponse(DIGITS, positions, layers, heads, dim, temperature)(fast, prompts)
  let rewards = reshape(SortReward()(Repeat(group)(digits), responses), (-1, group))
  let mean_r = reduce_mean(rewards, axes: 1, keepdims: true)
  let std_r = sqrt(reduce_mean((rewards - mean_r) * (rewards - mean_r), axes: 1, keepdims: true))
  let advantages = unsqueeze(reshape((rewards - mean_r) / (std_r + 0.0001), (-1,)), 1)
  let logp = ResponseLogp()(policy, prompts, responses)
  let ref_logp = ResponseLogp()(ref, prompts, responses)
  output kl = exp(ref_logp - logp) - (ref_logp - logp) - 1.0
  output objective = exp(logp - stop_gradient(logp)) * advantages - beta * kl
  output sampled_reward = reduce_mean(rewards)
}

train SortGRPO {
  loss = -reduce_mean(objective)
  output mean_kl = reduce_mean(kl)
  output reward = sampled_reward
  optimizer = adamw(lr: 0.0005)
  epochs = 1
  batch_size = 16
  val_split = 0.1
}

// GPT2 without its LM head: the final hidden states [N, T, dim]. Its parameter names are GPT2's,
// so a critic of this trunk starts as a copy of the policy (`init critic from policy`).
block GPT2Trunk(vocab: int, positions: int, dim: int, layers: int, heads: int)(
  ids: i64[N, T],
) -> f32[N, T, dim] {
  init linear.weight = normal(std: 0.02)
  init linear.bias = zeros
  init embedding.weight = normal(std: 0.02)
  init "h.*.c_proj.weight" = normal(std: 0.02 / sqrt(2 * layers))
  let h = (ids |> wte: embedding(vocab, dim)) +
    (arange(T, like: ids) |> wpe: embedding(positions, dim))
  for i in 0..layers {
    h = h |> "h.${i}": GPT2Block(dim, heads)
  }
  return h |> ln_f: layer_norm
}

// The value of the state before each response token (the prefix that predicts it): [N, R].
block ResponseValues()(trunk, head, prompt: i64[N, P], response: i64[N, R]) -> f32[N, R] {
  let seq = concat(prompt, response, axis: 1)
  return squeeze((seq[:, :-1] |> trunk)[:, P - 1:, :] |> head, 2)
}

// Generalised advantage estimation (Schulman et al., 2016) over a response's R tokens, from the
// last back: delta_t = r_t + gamma V_{t+1} - V_t (V_R = 0), A_t = delta_t + gamma lambda A_{t+1}.
// R is known, so the recursion unrolls at compile time. Returns the advantages [N, R].
block Gae(gamma: float, lam: float)(rewards: f32[N, R], values: f32[N, R]) -> f32[N, R] {
  let a = rewards[:, R - 1] - values[:, R - 1]
  let columns = (a,)
  for t in range(R - 2, -1, -1) {
    let delta = rewards[:, t] + gamma * values[:, t + 1] - values[:, t]
    a = delta + gamma * lam * a
    columns = (a,) + columns
  }
  return columns |> stack(axis: 1)
}

// PPO (Schulman et al., 2017) as RLHF uses it (Ouyang et al., 2022): each step samples one
// response per prompt from the policy (the rollout), scores it with the task's reward at its last
// token and a per-token KL penalty to the frozen reference, -kl_coef (log pi_old - log ref),
// estimates advantages with GAE from a value head (a critic that starts as a copy of the policy's
// trunk, plus a linear head), then makes several epochs of minibatch updates over that rollout
// (the train section's `updates`): the clipped objective
// min(ratio A, clip(ratio, 1 - clip_eps, 1 + clip_eps) A), ratio = pi / pi_old, and the value
// loss 0.5 (V - returns)^2.
model SortPPO(
  vocab: int = 11,
  positions: int = 16,
  dim: int = 64,
  layers: int = 2,
  heads: int = 4,
  temperature: float = 1.0,
  kl_coef: float = 0.05,
  gamma: float = 1.0,
  lam: float = 0.95,
  ppo_epochs: int = 4,
  ppo_minibatches: int = 4,
) {
  input digits: i64[N, DIGITS]
  let policy = GPT2(vocab, positions, dim, layers, heads)
  let ref = GPT2(vocab, positions, dim, layers, heads)
  let critic = GPT2Trunk(vocab, positions, dim, layers, heads)
  let value_head = linear(1)
  init ref from policy
  init critic from policy
  freeze ref
  // The rollout, with the parameters as the step starts, from the policy's KV-cached model.
  let fast = GPT2Cached(vocab, positions, dim, layers, heads) sharing policy
  let prompt = _: SortPrompt()(digits)
  let responses = SampleResponse(DIGITS, positions, layers, heads, dim, temperature)(fast, prompt)
  let old_logp = stop_gradient(ResponseLogp()(policy, prompt, responses))
  let kl = old_logp - ResponseLogp()(ref, prompt, responses)
  let score = SortReward()(digits, responses)
  // The task's reward at the last token, the KL penalty at every token.
  let last = cast(arange(DIGITS) == DIGITS - 1, "f32")
  let rewards = -kl_coef * kl + unsqueeze(score, 1) * last
  let old_values = stop_gradient(ResponseValues()(critic, value_head, prompt, responses))
  let adv = Gae(gamma, lam)(rewards, old_values)
  let returns = adv + old_values
  // Advantages whitened over the rollout.
  let adv_mean = reduce_mean(adv)
  let adv_std = sqrt(reduce_mean((adv - adv_mean) * (adv - adv_mean)))
  let advantages = (adv - adv_mean) / (adv_std + 0.00000001)
  output sampled_reward = reduce_mean(score)
  output sampled_kl = reduce_mean(reduce_sum(kl, axes: 1))
}

train SortPPO {
  let clip_eps = 0.2
  let vf_coef = 0.5
  let ratio = exp(ResponseLogp()(policy, prompt, responses) - old_logp)
  let clipped = clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
  let policy_loss = -reduce_mean(minimum(ratio * advantages, clipped * advantages))
  let v = ResponseValues()(critic, value_head, prompt, responses)
  let value_loss = 0.5 * reduce_mean((v - returns) * (v - returns))
  loss = policy_loss + vf_coef * value_loss
  // ppo_epochs epochs of ppo_minibatches minibatches over each step's rollout of batch_size
  // responses; the loss reads the rollout's per-sample tensors through over:, sliced.
  updates = minibatches(
    epochs: ppo_epochs,
    count: ppo_minibatches,
    over: (prompt, responses, old_logp, advantages, returns),
  )
  output reward = sampled_reward
  output kl = sampled_kl
  optimizer = adamw(lr: 0.0003)
  epochs = 1
  batch_size = 64
  val_split = 0.1
}
