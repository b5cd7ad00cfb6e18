// GPT-2 (Radford et al., 2019): a decoder-only Transformer with learned
// positions, pre-norm blocks, causal self-attention and an LM head tied to
// the token embedding (the logits reuse wte.weight; `dlm params` lists it
// once). Parameter names follow Hugging Face's GPT2Model (wte, wpe,
// h.0.ln_1, h.0.attn.c_attn, h.0.attn.c_proj, h.0.mlp.c_fc, ..., ln_f);
// HF stores c_attn/c_proj/c_fc as Conv1D [in, out], the transpose of a
// linear's weight, so a checkpoint needs those transposed to load.
// Shapes are symbolic in T: one ONNX file serves any sequence length.
import "lib/transformer.dlm"

block GPT2Block(dim: int, heads: int, eps: float = 1e-5)(x: f32[N, T, D]) -> f32[N, T, D] {
  let n1 = x |> ln_1: layer_norm(eps: eps)
  let a = attn: MultiHeadAttention(dim, heads, causal: true, proj: "qkv",
                                   names: ("c_attn", "", "", "c_proj"))(n1, n1)
  let h = x + a
  let f = h |> ln_2: layer_norm(eps: eps)
    |> mlp: (c_fc: linear(4 * dim) |> gelu(approximate: "tanh") |> c_proj: linear(dim))
  return h + f
}

block GPT2(vocab: int, positions: int, dim: int, layers: int, heads: int)(ids: i64[N, T])
    -> f32[N, T, vocab] {
  let h = (ids |> wte: embedding(vocab, dim)) + (arange(T, like: ids) |> wpe: embedding(positions, dim))
  for i in 0..layers {
    h = h |> "h.${i}": GPT2Block(dim, heads)
  }
  return h |> ln_f: layer_norm |> tied_linear("wte.weight", vocab)
}

// GPT-2 small: 12 layers, width 768, 12 heads, 1024 positions (124M parameters).
model GPT2Small(vocab: int = 50257, positions: int = 1024, dim: int = 768, layers: int = 12,
                heads: int = 12) {
  input ids: i64[N, T]
  output logits: f32[N, T, vocab] = ids |> _: GPT2(vocab, positions, dim, layers, heads)
}

// A tiny configuration for tests.
model GPT2Tiny(vocab: int = 64, positions: int = 16, dim: int = 32, layers: int = 2,
               heads: int = 4) {
  input ids: i64[N, T]
  output logits: f32[N, T, vocab] = ids |> _: GPT2(vocab, positions, dim, layers, heads)
}
