// Prefix tuning (Li and Liang, 2021) on gpt2.dlm's GPT-2: every layer's
// attention (h.<i>.attn) gets `length` learned keys and values per head,
// [heads, length, head_dim] each, placed before the keys and values the
// tokens produce. Every token attends to the prefix; the causal mask still
// hides later tokens. Only the prefixes train (2 x 12 x 12 x 10 x 64 =
// 184,320 values for GPT-2 small with length 10).
import "gpt2.dlm"

model GPT2SmallPrefix = GPT2Small with prefix_tuning(length: 10, targets: "h.*.attn")

// A tiny configuration for tests and quick runs.
model GPT2TinyPrefix = GPT2Tiny with prefix_tuning(length: 4, targets: "h.*.attn")

// The KV-cache step models (`dlm generate`): the same prefixes under the same names. The
// cache holds the tokens' keys and values only; the prefix is added at every step.
model GPT2SmallPrefixCached = GPT2SmallCached with prefix_tuning(length: 10, targets: "h.*.attn")

model GPT2TinyPrefixCached = GPT2TinyCached with prefix_tuning(length: 4, targets: "h.*.attn")

train GPT2TinyPrefix {
  input next: i64[N, T]
  loss = cross_entropy(transpose(logits, (0, 2, 1)), next)
  optimizer = adam(lr: 1e-2)
}
