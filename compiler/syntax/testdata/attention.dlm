import "layers/common.dlm"

let heads = 8

block Attention(d: int, h: int = heads)(x: f32[B, T, D]) -> f32[B, T, d] {
  let (q, k, v) = (x |> q: linear(d), x |> k: linear(d), x |> v: linear(d))
  let scores = q @ k.T / sqrt(floor(d / h)) + causal_mask(T)[:T, :T]
  let w: f32[B, T, T] = softmax(scores, axis: -1) |> dropout(p: 0.1)
  return w @ v |> o: linear(d)
}

block Stack(n: int, d: int)(x) {
  let y = x
  for i in 0..n {
    y = y |> "layers.${i}": (ln1: layer_norm |> attn: Attention(d)) |> "mlp${i}": Mlp(4 * d)
  }
  for (j, (a, b)) in enumerate([(1, 2.5), (3, 4.)]) { assert(a ** 2 <= b, "bad ${j}") }
  return y, ln_f: layer_norm(y)
}

model Tiny(vocab: int = 50_257, width: int = 64,) {
  input tokens: i64[B, T]
  input mask: bool[B, ...]
  input flags: (bool, int)
  let shared = embed: embedding(vocab, width)
  output h: f32[B, T, _] = tokens |> shared |> Stack(2, width)(mask: !mask)
  output big = if width >= 64 && vocab != 0 { h } else if width < 8 { -h } else { h * 2 }
  init embed.weight = normal(std: 0.02)
  init "layers.*.attn.{q,v}.bias" = zeros
  freeze embed
  freeze "layers.0.*"
}
