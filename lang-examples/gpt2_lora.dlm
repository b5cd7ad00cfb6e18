// LoRA (Hu et al., 2021) on GPT-2's query and value projections, as in the
// paper's GPT-2 experiments. gpt2.dlm keeps Hugging Face's fused c_attn (one
// linear computing q, k and v), so parts: (true, false, true) adapts only the
// q and v thirds of its output: W += (alpha / r) B A on those rows, with
// A ~ N(0, 1/r^2) and B = 0, so the model starts equal to GPT-2.
//
// Only the LoRA parameters train (h.<i>.attn.c_attn.lora_A.qv.weight and
// lora_B.qv.weight: 294,912 of GPT-2 small's 124M); everything else is
// frozen. One source gives three deployments:
//   dlm compile gpt2_lora.dlm --model GPT2SmallLoRA --weights gpt2.safetensors \
//       --weights qv.safetensors --adapters merged -o merged.onnx   (GPT-2's graph)
//   ... --adapters unmerged (the default): A and B beside W, computed at rank 8
//   ... --adapters inputs: A and B are graph inputs, swappable at run time
// and `--save-adapter qv.safetensors` writes the adapter alone.
import "gpt2.dlm"

model GPT2SmallLoRA = GPT2Small with lora(
  rank: 8,
  alpha: 16,
  dropout: 0.05,
  targets: "h.*.attn.c_attn",
  parts: (true, false, true),
  name: "qv",
)

// The tiny configuration, for tests and quick runs: next-token prediction.
model GPT2TinyLoRA = GPT2Tiny with lora(
  rank: 4,
  alpha: 8,
  dropout: 0.05,
  targets: "h.*.attn.c_attn",
  parts: (true, false, true),
  name: "qv",
)

train GPT2TinyLoRA {
  input next: i64[N, T]
  loss = cross_entropy(transpose(logits, (0, 2, 1)), next)
  optimizer = adamw(lr: 1e-2, weight_decay: 0.0)
  epochs = 5
  batch_size = 8
}

// The KV-cache step models (`dlm generate`): the same LoRA on the same layers, under the same
// parameter names, so one adapter file serves both.
model GPT2SmallLoRACached = GPT2SmallCached with lora(
  rank: 8,
  alpha: 16,
  dropout: 0.05,
  targets: "h.*.attn.c_attn",
  parts: (true, false, true),
  name: "qv",
)

model GPT2TinyLoRACached = GPT2TinyCached with lora(
  rank: 4,
  alpha: 8,
  dropout: 0.05,
  targets: "h.*.attn.c_attn",
  parts: (true, false, true),
  name: "qv",
)
