// GPT-2 with 4 layers of width 128 (1,024 tokens, 64 positions) trained on next-token prediction
// with AdamW: the attention model of the training benchmark (bench/bench_train.ts).
import "../lang-examples/gpt2.dlm"

model GPT2Mini(
  vocab: int = 1024,
  positions: int = 64,
  dim: int = 128,
  layers: int = 4,
  heads: int = 4,
) {
  input ids: i64[N, T]
  output logits: f32[N, T, vocab] = ids |> _: GPT2(vocab, positions, dim, layers, heads)
}

train GPT2Mini {
  input target: i64[N, T]
  loss = cross_entropy(transpose(logits, (0, 2, 1)), target)
  optimizer = adamw(lr: 3e-4, no_decay: "*.bias")
}
