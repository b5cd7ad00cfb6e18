// BERT (Devlin et al., 2019): a post-norm Transformer encoder over word,
// position and token-type embeddings, with the masked-language-model head
// whose decoder is tied to the word embeddings. Parameter names follow
// Hugging Face's BertForMaskedLM without the leading "bert."
// (embeddings.word_embeddings, encoder.layer.0.attention.self.query,
// encoder.layer.0.attention.output.dense, ..., cls.predictions.transform.dense).
// attention_mask is 0/1 per token (1 = attend), as in Hugging Face.
import "lib/transformer.dlm"

block BertLayer(dim: int, heads: int, hidden: int, eps: float = 1e-12)(
  x: f32[N, T, D],
  bias,
) -> f32[N, T, D] {
  let a = attention: MaskedMultiHeadAttention(
    dim,
    heads,
    names: ("self.query", "self.key", "self.value", "output.dense"),
  )(x, x, bias)
  let h = x + a |> "attention.output.LayerNorm": layer_norm(eps: eps)
  let f = h |> "intermediate.dense": linear(hidden) |> gelu |> "output.dense": linear(dim)
  return h + f |> "output.LayerNorm": layer_norm(eps: eps)
}

block Bert(vocab: int, positions: int, types: int, dim: int, layers: int, heads: int, hidden: int)(
  ids: i64[N, T],
  attention_mask: i64[N, T],
  token_type_ids: i64[N, T],
) -> f32[N, T, vocab] {
  // Hugging Face's initialisation (BertPreTrainedModel._init_weights), for training from scratch:
  // N(0, 0.02) weights and embeddings, zero biases.
  init linear.weight = normal(std: 0.02)
  init linear.bias = zeros
  init embedding.weight = normal(std: 0.02)
  let h = (ids |> "embeddings.word_embeddings": embedding(vocab, dim)) +
    (arange(T, like: ids) |> "embeddings.position_embeddings": embedding(positions, dim)) +
    (token_type_ids |> "embeddings.token_type_embeddings": embedding(types, dim))
    |> "embeddings.LayerNorm": layer_norm(eps: 1e-12)
  let bias = attention_bias(attention_mask)
  for i in 0..layers {
    h = "encoder.layer.${i}": BertLayer(dim, heads, hidden)(h, bias)
  }
  return h
    |> "cls.predictions.transform.dense": linear(dim)
    |> gelu
    |> "cls.predictions.transform.LayerNorm": layer_norm(eps: 1e-12)
    |> "cls.predictions.decoder": tied_linear(
      "embeddings.word_embeddings.weight",
      vocab,
      bias: true,
    )
}

// BERT-base: 12 layers, width 768, 12 heads, feed-forward 3072 (110M parameters).
model BertBase(
  vocab: int = 30522,
  positions: int = 512,
  types: int = 2,
  dim: int = 768,
  layers: int = 12,
  heads: int = 12,
  hidden: int = 3072,
) {
  input ids: i64[N, T]
  input attention_mask: i64[N, T]
  input token_type_ids: i64[N, T]
  output logits: f32[N, T, vocab] = (ids, attention_mask, token_type_ids)
    |> _: Bert(vocab, positions, types, dim, layers, heads, hidden)
}

// A small configuration for tests (10 token types, so random test ids in [0, 10) fit).
model BertSmall(
  vocab: int = 64,
  positions: int = 16,
  types: int = 10,
  dim: int = 32,
  layers: int = 2,
  heads: int = 4,
  hidden: int = 64,
) {
  input ids: i64[N, T]
  input attention_mask: i64[N, T]
  input token_type_ids: i64[N, T]
  output logits: f32[N, T, vocab] = (ids, attention_mask, token_type_ids)
    |> _: Bert(vocab, positions, types, dim, layers, heads, hidden)
}
