// A small GPT trained on English prose: the notes' language-model chapter
// end to end, from a text file to generated text.
//
//   dlm tokenizer train lang-examples/data/factbook.txt --vocab-size 2048 \
//       --special "<|endoftext|>" -o factbook_tok.json
//   dlm train lang-examples/gpt_factbook.dlm --tokenizer factbook_tok.json \
//       --data ids=text:lang-examples/data/factbook.txt:64 \
//       --data target=text:lang-examples/data/factbook.txt:64:next --save gpt.safetensors
//   dlm generate lang-examples/gpt_factbook.dlm --tokenizer factbook_tok.json \
//       --weights gpt.safetensors --prompt "The economy of" --temperature 0.8 --top-p 0.9
//
// The data are windows of 64 token ids and the same windows one token on:
// each position predicts the next token. Validation perplexity is
// exp(validation loss).
import "gpt2.dlm"

model GPTFactbook(
  vocab: int = 2048,
  positions: int = 64,
  dim: int = 128,
  layers: int = 4,
  heads: int = 4,
) {
  input ids: i64[N, T]
  output logits: f32[N, T, vocab] = ids |> _: GPT2(vocab, positions, dim, layers, heads)
}

// The KV-cache step model of `dlm generate` (the same parameters).
model GPTFactbookCached(
  vocab: int = 2048,
  positions: int = 64,
  dim: int = 128,
  layers: int = 4,
  heads: int = 4,
) {
  input ids: i64[N, T]
  input past_key: f32[layers, N, heads, P, floor(dim / heads)]
  input past_value: f32[layers, N, heads, P, floor(dim / heads)]
  let (l, k, v) = _: GPT2Cached(vocab, positions, dim, layers, heads)(ids, past_key, past_value)
  output logits: f32[N, T, vocab] = l
  output present_key = k
  output present_value = v
}

train GPTFactbook {
  input target: i64[N, T]
  loss = cross_entropy(transpose(logits, (0, 2, 1)), target)
  optimizer = adamw(lr: 0.001, no_decay: "*.bias")
  epochs = 1
  batch_size = 32
  val_split = 0.05
}
