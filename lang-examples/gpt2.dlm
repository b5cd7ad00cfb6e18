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
  let a = attn: MultiHeadAttention(
    dim,
    heads,
    causal: true,
    proj: "qkv",
    names: ("c_attn", "", "", "c_proj"),
  )(n1, n1)
  let h = x + a
  let f = h
    |> ln_2: layer_norm(eps: eps)
    |> mlp: (c_fc: linear(4 * dim) |> gelu(approximate: "tanh") |> c_proj: linear(dim))
  return h + f
}

block GPT2(vocab: int, positions: int, dim: int, layers: int, heads: int)(
  ids: i64[N, T],
) -> f32[N, T, vocab] {
  // Hugging Face's initialisation (GPT2PreTrainedModel._init_weights), for training from scratch:
  // N(0, 0.02) weights and embeddings, zero biases, and the residual projections scaled by
  // 1/sqrt(2 * layers).
  init linear.weight = normal(std: 0.02)
  init linear.bias = zeros
  init embedding.weight = normal(std: 0.02)
  init "h.*.c_proj.weight" = normal(std: 0.02 / sqrt(2 * layers))
  let h = (ids |> wte: embedding(vocab, dim)) +
    (arange(T, like: ids) |> wpe: embedding(positions, dim))
  for i in 0..layers {
    h = h |> "h.${i}": GPT2Block(dim, heads)
  }
  return h |> ln_f: layer_norm |> tied_linear("wte.weight", vocab)
}

// GPT-2 small: 12 layers, width 768, 12 heads, 1024 positions (124M parameters).
model GPT2Small(
  vocab: int = 50257,
  positions: int = 1024,
  dim: int = 768,
  layers: int = 12,
  heads: int = 12,
) {
  input ids: i64[N, T]
  output logits: f32[N, T, vocab] = ids |> _: GPT2(vocab, positions, dim, layers, heads)
}

// A tiny configuration for tests.
model GPT2Tiny(
  vocab: int = 64,
  positions: int = 16,
  dim: int = 32,
  layers: int = 2,
  heads: int = 4,
) {
  input ids: i64[N, T]
  output logits: f32[N, T, vocab] = ids |> _: GPT2(vocab, positions, dim, layers, heads)
}

// KV-cache decoding. A cached step model runs only the new tokens ids [N, T]
// and attends to the keys and values of the P earlier positions, which it
// takes as inputs past_key / past_value and returns, extended by the new
// ones, as present_key / present_value (all layers stacked:
// [layers, N, heads, P, head_dim] -> [layers, N, heads, P + T, head_dim]).
// Fed back as the next step's past they make each new token cost one
// position instead of the whole sequence (`dlm generate`). P may be 0 (the
// prefill call with the whole prompt). The parameters are GPT2's, name for
// name, so one weights file serves both models.

// GPT2Block's attention on the new positions only: k and v are appended to
// the layer's cache, and mask (bool [T, P + T]) lets new token i see
// positions <= P + i. Returns (output, k, v). Labelled attn like GPT2Block's,
// so its names, and a fine-tuning method's targets (h.*.attn), are the same.
block GPT2CachedAttention(dim: int, heads: int)(
  n1: f32[N, T, D],
  past_k: f32[N, H, P, E],
  past_v: f32[N, H, P, E],
  mask: bool[T, S],
) {
  let qkv = split(n1 |> c_attn: linear(3 * dim), 3)
  let q = qkv[0] |> SplitHeads(heads)
  let k = concat(past_k, qkv[1] |> SplitHeads(heads), axis: 2)
  let v = concat(past_v, qkv[2] |> SplitHeads(heads), axis: 2)
  let a = scaled_dot_product_attention(q, k, v, mask: mask) |> MergeHeads |> c_proj: linear(dim)
  return a, k, v
}

// GPT2Block on the new positions only, with the layer's cache.
block GPT2CachedBlock(dim: int, heads: int, eps: float = 1e-5)(
  x: f32[N, T, D],
  past_k: f32[N, H, P, E],
  past_v: f32[N, H, P, E],
  mask: bool[T, S],
) {
  let n1 = x |> ln_1: layer_norm(eps: eps)
  let (a, k, v) = attn: GPT2CachedAttention(dim, heads)(n1, past_k, past_v, mask)
  let h = x + a
  let f = h
    |> ln_2: layer_norm(eps: eps)
    |> mlp: (c_fc: linear(4 * dim) |> gelu(approximate: "tanh") |> c_proj: linear(dim))
  return h + f, k, v
}

// GPT2 on the new tokens ids [N, T] after P cached positions: (logits, present_key, present_value).
block GPT2Cached(vocab: int, positions: int, dim: int, layers: int, heads: int)(
  ids: i64[N, T],
  past_key: f32[L, N, H, P, E],
  past_value: f32[L, N, H, P, E],
) {
  // P as an i64 scalar; the extra 0 keeps the sum well defined when P is 0.
  let p = reduce_sum(concat(arange(P, like: past_key) * 0 + 1, arange(1), axis: 0))
  let qpos = arange(T, like: ids) + p
  let kpos = concat(arange(P, like: past_key), qpos, axis: 0)
  let mask = unsqueeze(kpos, 0) <= unsqueeze(qpos, 1)
  let h = (ids |> wte: embedding(vocab, dim)) + (qpos |> wpe: embedding(positions, dim))
  // The per-layer caches as tuples for stack() (there is no empty tuple to start from).
  let ks = (ids,)
  let vs = (ids,)
  for i in 0..layers {
    let (y, k, v) = "h.${i}": GPT2CachedBlock(dim, heads)(h, past_key[i], past_value[i], mask)
    h = y
    ks = if i == 0 { (k,) } else { ks + (k,) }
    vs = if i == 0 { (v,) } else { vs + (v,) }
  }
  let logits = h |> ln_f: layer_norm |> tied_linear("wte.weight", vocab)
  return logits, ks |> stack(axis: 0), vs |> stack(axis: 0)
}

// GPT-2 small's cached step model (parameters identical to GPT2Small's).
model GPT2SmallCached(
  vocab: int = 50257,
  positions: int = 1024,
  dim: int = 768,
  layers: int = 12,
  heads: int = 12,
) {
  input ids: i64[N, T]
  input past_key: f32[layers, N, heads, P, floor(dim / heads)]
  input past_value: f32[layers, N, heads, P, floor(dim / heads)]
  let (l, k, v) = _: GPT2Cached(vocab, positions, dim, layers, heads)(ids, past_key, past_value)
  output logits: f32[N, T, vocab] = l
  output present_key = k
  output present_value = v
}

// GPT2Tiny's cached step model.
model GPT2TinyCached(
  vocab: int = 64,
  positions: int = 16,
  dim: int = 32,
  layers: int = 2,
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
