// The Transformer of "Attention is all you need" (Vaswani et al., 2017),
// base configuration: 6 encoder and 6 decoder layers, width 512, 8 heads,
// feed-forward 2048, post-norm, sinusoidal positions added to the scaled
// embeddings. Layers have nn.TransformerEncoderLayer / DecoderLayer names
// (encoder.layers.0.self_attn.in_proj_weight, decoder.layers.0.multihead_attn...).
// Source and target lengths S and T are symbolic.
import "lib/transformer.dlm"

block Seq2Seq(
  src_vocab: int,
  tgt_vocab: int,
  dim: int,
  heads: int,
  hidden: int,
  layers: int,
  max_len: int,
)(src: i64[N, S], tgt: i64[N, T]) -> f32[N, T, tgt_vocab] {
  let pe = sinusoidal_positions(max_len, dim)
  let s = (src |> src_embed: embedding(src_vocab, dim)) * sqrt(dim) +
    gather(pe, arange(S, like: src))
  let t = (tgt |> tgt_embed: embedding(tgt_vocab, dim)) * sqrt(dim) +
    gather(pe, arange(T, like: tgt))
  let memory = s |> encoder: Encoder(layers, dim, heads, hidden)
  let out = decoder: Decoder(layers, dim, heads, hidden)(t, memory)
  return out |> generator: linear(tgt_vocab)
}

// Transformer base: 65M parameters with a shared 37000-token vocabulary.
model TransformerBase(
  src_vocab: int = 37000,
  tgt_vocab: int = 37000,
  dim: int = 512,
  heads: int = 8,
  hidden: int = 2048,
  layers: int = 6,
  max_len: int = 512,
) {
  input src: i64[N, S]
  input tgt: i64[N, T]
  output logits: f32[N, T, tgt_vocab] = (src, tgt)
    |> _: Seq2Seq(src_vocab, tgt_vocab, dim, heads, hidden, layers, max_len)
}

// A tiny configuration for tests.
model TransformerTiny(
  src_vocab: int = 32,
  tgt_vocab: int = 32,
  dim: int = 16,
  heads: int = 4,
  hidden: int = 32,
  layers: int = 2,
  max_len: int = 16,
) {
  input src: i64[N, S]
  input tgt: i64[N, T]
  output logits: f32[N, T, tgt_vocab] = (src, tgt)
    |> _: Seq2Seq(src_vocab, tgt_vocab, dim, heads, hidden, layers, max_len)
}
