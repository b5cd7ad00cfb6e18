// Bottleneck adapters (Houlsby et al., 2019) and IA3 (Liu et al., 2022) on
// gpt2.dlm's GPT-2.
//
// adapter(): after each layer's attention (h.<i>.attn) and feed-forward
// block (h.<i>.mlp), y + up(gelu(down(y))) with a bottleneck of `size`;
// the up-projection starts at zero, so the adapted model starts as GPT-2.
// Only the adapters train (h.<i>.attn.adapters.task.down.weight, ...).
//
// ia3(): learned vectors, starting at one, that scale the attention's keys
// and values (the k and v thirds of the fused c_attn's output, parts:) and
// the input of the feed-forward block's second linear (feedforward:), as in
// the IA3 paper. `dlm compile --adapters merged` folds them into those
// weights; adapters stay as graph ops.
import "gpt2.dlm"

model GPT2SmallAdapters = GPT2Small with adapter(
  size: 64,
  targets: "h.*.{attn,mlp}",
  activation: "gelu_tanh",
  name: "task",
)

model GPT2SmallIA3 = GPT2Small with ia3(
  targets: "h.*.attn.c_attn",
  parts: (false, true, true),
  name: "kv",
),
  ia3(targets: "h.*.mlp.c_proj", feedforward: "h.*.mlp.c_proj", name: "ff")

// Tiny configurations for tests and quick runs.
model GPT2TinyAdapters = GPT2Tiny with adapter(
  size: 8,
  targets: "h.*.{attn,mlp}",
  activation: "gelu_tanh",
  name: "task",
)

model GPT2TinyIA3 = GPT2Tiny with ia3(
  targets: "h.*.attn.c_attn",
  parts: (false, true, true),
  name: "kv",
),
  ia3(targets: "h.*.mlp.c_proj", feedforward: "h.*.mlp.c_proj", name: "ff")

train GPT2TinyAdapters {
  input next: i64[N, T]
  loss = cross_entropy(transpose(logits, (0, 2, 1)), next)
  optimizer = adamw(lr: 1e-2, weight_decay: 0.0)
}

train GPT2TinyIA3 {
  input next: i64[N, T]
  loss = cross_entropy(transpose(logits, (0, 2, 1)), next)
  optimizer = adam(lr: 1e-2)
}
