// Transformer building blocks (Vaswani et al., 2017), written in dlm on the
// attention primitives (scaled_dot_product_attention, in_projection, view).
//
// Parameter names are chosen per model through configuration, so the same
// blocks give PyTorch's nn.TransformerEncoderLayer names (self_attn.in_proj_weight,
// self_attn.out_proj.weight, linear1, linear2, norm1, norm2) by default and
// Hugging Face names in bert.dlm / gpt2.dlm / vit.dlm:
//   proj: "separate"  four linears labelled names[0..3] (q, k, v, out)
//   proj: "qkv"       one linear [3 dim, D] labelled names[0], split into q, k, v
//   proj: "in_proj"   torch's packed in_proj_weight [3 dim, D] / in_proj_bias
// A block input cannot be optional, so masks are a configuration flag:
// MultiHeadAttention takes no mask, MaskedMultiHeadAttention an additive
// float mask or a bool mask (true = attend) broadcast to [N, heads, T, S].

// [N, L, C] -> [N, heads, L, C / heads]
block SplitHeads(heads: int)(x: f32[N, L, C]) {
  return x |> view((N, L, heads, -1)) |> permute((0, 2, 1, 3))
}

// [N, heads, L, dh] -> [N, L, heads * dh]
block MergeHeads(x: f32[N, H, L, C]) {
  return x |> permute((0, 2, 1, 3)) |> view((N, L, H * C))
}

block MaskedMultiHeadAttention(
  dim: int,
  heads: int,
  bias: bool = true,
  causal: bool = false,
  proj: str = "separate",
  names: (str, str, str, str) = ("q_proj", "k_proj", "v_proj", "out_proj"),
  masked: bool = true,
)(q_in: f32[N, T, D], kv_in: f32[N, S, E], mask) -> f32[N, T, dim] {
  assert(dim % heads == 0, "dim must be divisible by heads")
  let qkv = if proj == "in_proj" { (q_in, kv_in) |> in_proj: in_projection(dim, bias: bias) } else {
    if proj == "qkv" { split(q_in |> "${names[0]}": linear(3 * dim, bias: bias), 3) } else {
      (
        q_in |> "${names[0]}": linear(dim, bias: bias),
        kv_in |> "${names[1]}": linear(dim, bias: bias),
        kv_in |> "${names[2]}": linear(dim, bias: bias)
      )
    }
  }
  let q = qkv[0] |> SplitHeads(heads)
  let k = qkv[1] |> SplitHeads(heads)
  let v = qkv[2] |> SplitHeads(heads)
  let o = if masked { scaled_dot_product_attention(q, k, v, mask: mask, causal: causal) } else {
    scaled_dot_product_attention(q, k, v, causal: causal)
  }
  return o |> MergeHeads |> "${names[3]}": linear(dim, bias: bias)
}

// Multi-head attention without a mask (causal: true still masks the future).
block MultiHeadAttention(
  dim: int,
  heads: int,
  bias: bool = true,
  causal: bool = false,
  proj: str = "separate",
  names: (str, str, str, str) = ("q_proj", "k_proj", "v_proj", "out_proj"),
)(q_in: f32[N, T, D], kv_in: f32[N, S, E]) -> f32[N, T, dim] {
  return (q_in, kv_in, q_in)
    |> _: MaskedMultiHeadAttention(dim, heads, bias, causal, proj, names, masked: false)
}

// An activation by name: "relu", "gelu", "gelu_tanh" (GPT-2's), "silu".
block Activation(kind: str = "relu")(x) {
  return if kind == "relu" { relu(x) } else {
    if kind == "gelu" { gelu(x) } else {
      if kind == "gelu_tanh" { gelu(x, approximate: "tanh") } else {
        if kind == "silu" { silu(x) } else { assert(false, "unknown activation ${kind}") }
      }
    }
  }
}

// Position-wise feed-forward network: linear, activation, linear.
block FeedForward(
  dim: int,
  hidden: int,
  act: str = "relu",
  names: (str, str) = ("linear1", "linear2"),
)(x) {
  return x |> "${names[0]}": linear(hidden) |> Activation(act) |> "${names[1]}": linear(dim)
}

// nn.TransformerEncoderLayer (batch_first): post-norm by default, pre-norm with norm_first.
block EncoderLayer(
  dim: int,
  heads: int,
  hidden: int,
  norm_first: bool = false,
  act: str = "relu",
  eps: float = 1e-5,
  masked: bool = false,
)(x: f32[N, T, D], mask) -> f32[N, T, D] {
  let attn = self_attn: MaskedMultiHeadAttention(dim, heads, proj: "in_proj", masked: masked)
  let h = x
  if norm_first {
    let n1 = x |> norm1: layer_norm(eps: eps)
    h = x + attn(n1, n1, mask)
    h = h + (h |> norm2: layer_norm(eps: eps) |> _: FeedForward(dim, hidden, act))
  } else {
    h = x + attn(x, x, mask) |> norm1: layer_norm(eps: eps)
    h = h + (h |> _: FeedForward(dim, hidden, act)) |> norm2: layer_norm(eps: eps)
  }
  return h
}

// nn.TransformerDecoderLayer (batch_first, post-norm): causal self-attention,
// cross-attention over the encoder's memory, feed-forward.
block DecoderLayer(dim: int, heads: int, hidden: int, act: str = "relu", eps: float = 1e-5)(
  x: f32[N, T, D],
  memory: f32[N, S, D],
) -> f32[N, T, D] {
  let sa = self_attn: MultiHeadAttention(dim, heads, causal: true, proj: "in_proj")(x, x)
  let h = x + sa |> norm1: layer_norm(eps: eps)
  let ca = multihead_attn: MultiHeadAttention(dim, heads, proj: "in_proj")(h, memory)
  h = h + ca |> norm2: layer_norm(eps: eps)
  return h + (h |> _: FeedForward(dim, hidden, act)) |> norm3: layer_norm(eps: eps)
}

// A stack of encoder layers named layers.0, layers.1, ... (nn.TransformerEncoder).
block Encoder(
  layers: int,
  dim: int,
  heads: int,
  hidden: int,
  norm_first: bool = false,
  act: str = "relu",
)(x: f32[N, T, D]) -> f32[N, T, D] {
  let h = x
  for i in 0..layers {
    h = "layers.${i}": EncoderLayer(dim, heads, hidden, norm_first, act)(h, h)
  }
  return h
}

// A stack of decoder layers over one memory (nn.TransformerDecoder).
block Decoder(layers: int, dim: int, heads: int, hidden: int, act: str = "relu")(
  x: f32[N, T, D],
  memory: f32[N, S, D],
) -> f32[N, T, D] {
  let h = x
  for i in 0..layers {
    h = "layers.${i}": DecoderLayer(dim, heads, hidden, act)(h, memory)
  }
  return h
}
