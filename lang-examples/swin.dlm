// Swin Transformer (Liu et al., 2021): the image cut into patch x patch
// squares and embedded (a strided convolution and a layer norm), then stages
// of pre-norm Transformer blocks whose self-attention runs inside
// non-overlapping window x window windows, every second block on windows
// shifted by window / 2 (a cyclic shift, with a constant mask that keeps
// tokens from attending across the wrapped-around border), with a learned
// relative position bias per head added to the attention logits. Between
// stages, patch merging halves the resolution and doubles the width (each
// 2 x 2 neighbourhood concatenated, layer norm, linear 4C -> 2C). The head is
// a layer norm, the mean over all tokens and a linear classifier.
//
// Feature maps are channels-last [N, H, W, C], as torchvision's. Spatial
// sizes are concrete, so windows, the shift mask and the relative position
// index are computed at compile time and are constants; the batch N stays
// symbolic. Parameter names are torchvision's swin_t (features.0.0.weight,
// features.1.0.attn.qkv.weight, features.1.0.attn.relative_position_bias_table,
// features.2.reduction.weight, norm, head, ...). torchvision's state dict also
// holds the buffer relative_position_index, which here is a constant: loading
// it reports it as unused, harmlessly. Unlike torchvision, the feature map must
// be a multiple of the window (no padding).

// Cyclic shift of a channels-last map by s along H and W, as torch.roll(x, (s, s), (1, 2)):
// positive s moves content down and right, negative up and left.
block Roll(s: int)(x: f32[N, H, W, C]) -> f32[N, H, W, C] {
  let a = (H - s) % H
  let b = (W - s) % W
  if a == 0 && b == 0 {
    return x
  }
  let h = concat(x[:, a:], x[:, :a], axis: 1)
  return concat(h[:, :, b:], h[:, :, :b], axis: 2)
}

// Multi-head self-attention within window x window windows, the map shifted by
// `shift` first (and back after). [N, H, W, C] -> [N, H, W, C].
block ShiftedWindowAttention(dim: int, heads: int, window: int, shift: int)(
  x: f32[N, H, W, C],
) -> f32[N, H, W, C] {
  assert(
    H % window == 0 && W % window == 0,
    "the feature map ${H} x ${W} must be a multiple of the window ${window}",
  )
  assert(dim % heads == 0, "dim ${dim} must be divisible by heads ${heads}")
  let nh = floor(H / window)
  let nw = floor(W / window)
  let t = window * window
  let h = x |> Roll(-shift)
  // Partition: [N, H, W, C] -> [N, nh, M, nw, M, C] -> [N, nh, nw, M, M, C] -> [N, windows, M*M, C].
  let tokens = h
    |> view((N, nh, window, nw, window, C))
    |> permute((0, 1, 3, 2, 4, 5))
    |> view((N, nh * nw, t, C))
  // [N, windows, M*M, 3 dim] -> q, k, v as [N, windows, heads, M*M, dim / heads].
  let (q, k, v) = split(tokens |> qkv: linear(3 * dim), 3)
  q = q |> view((N, nh * nw, t, heads, -1)) |> permute((0, 1, 3, 2, 4))
  k = k |> view((N, nh * nw, t, heads, -1)) |> permute((0, 1, 3, 2, 4))
  v = v |> view((N, nh * nw, t, heads, -1)) |> permute((0, 1, 3, 2, 4))
  let logits = (q * (1 / sqrt(dim / heads))) @ k.T
    |> relative_position_bias_table: relative_position_bias(window, heads)
  if shift > 0 {
    // [windows, 1, M*M, M*M]: 0 within a region of the shifted map, -100 across regions.
    logits = logits + unsqueeze(shifted_window_mask((H, W), window, shift), 1)
  }
  let o = softmax(logits) @ v
    |> permute((0, 1, 3, 2, 4))
    |> view((N, nh * nw, t, dim))
    |> proj: linear(dim)
  // Reverse the partition and the shift.
  return o
    |> view((N, nh, nw, window, window, dim))
    |> permute((0, 1, 3, 2, 4, 5))
    |> view((N, H, W, dim))
    |> Roll(shift)
}

// One Swin block: pre-norm window attention and MLP (GELU), each a residual
// branch with stochastic depth (drop_path with probability drop in train mode).
block SwinBlock(
  dim: int,
  heads: int,
  window: int,
  shift: int,
  mlp_ratio: float = 4.0,
  drop: float = 0.0,
  drop_rate: float = 0.0,
)(x: f32[N, H, W, C]) -> f32[N, H, W, C] {
  let a = x |> norm1: layer_norm |> attn: ShiftedWindowAttention(dim, heads, window, shift)
  let h = x + drop_path(a, drop)
  let m = h
    |> norm2: layer_norm
    |> mlp: (linear(int(dim * mlp_ratio))
      |> gelu
      |> dropout(drop_rate)
      |> linear(dim)
      |> dropout(drop_rate))
  return h + drop_path(m, drop)
}

// Patch merging: each 2 x 2 neighbourhood concatenated (torchvision's order
// x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]), layer norm,
// linear 4C -> 2C without bias. [N, H, W, C] -> [N, H/2, W/2, 2C].
block PatchMerging(x: f32[N, H, W, C]) -> f32[N, floor(H / 2), floor(W / 2), 2 * C] {
  assert(H % 2 == 0 && W % 2 == 0, "patch merging needs an even feature map, got ${H} x ${W}")
  let m = concat(x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2], axis: 3)
  return m |> norm: layer_norm |> reduction: linear(2 * C, bias: false)
}

// torchvision's SwinTransformer: features.0 the patch embedding, features.1,
// 3, 5, 7 the stages, features.2, 4, 6 patch merging; norm, mean pool, head.
// Blocks alternate shift 0 and window / 2; no shift where the window covers
// the whole map. Stochastic depth rises linearly from 0 to depth_drop over all
// blocks (torchvision's stochastic_depth_prob: 0.2 for swin_t).
block Swin(patch: int, dim: int, depths, heads, window: int, classes: int, depth_drop: float = 0.2)(
  image: f32[N, 3, S1, S2],
) -> f32[N, classes] {
  assert(len(depths) == len(heads), "depths and heads must have one entry per stage")
  let total = 0
  for d in depths {
    total = total + d
  }
  let h = image
    |> "features.0": (conv2d(dim, kernel: patch, stride: patch)
      |> permute((0, 2, 3, 1))
      |> layer_norm)
  let id = 0
  for (s, depth) in enumerate(depths) {
    let width = dim * 2 ** s
    let size = h.shape[1]
    for i in 0..depth {
      let shift = if i % 2 == 1 && window < size { floor(window / 2) } else { 0 }
      let p = depth_drop * id / max(total - 1, 1)
      h = h |> "features.${2 * s + 1}.${i}": SwinBlock(width, heads[s], window, shift, drop: p)
      id = id + 1
    }
    if s < len(depths) - 1 {
      h = h |> "features.${2 * s + 2}": PatchMerging
    }
  }
  return h |> norm: layer_norm |> reduce_mean(axes: (1, 2)) |> head: linear(classes)
}

// Swin-T: 224 x 224 images, 4 x 4 patches, width 96, depths (2, 2, 6, 2),
// heads (3, 6, 12, 24), 7 x 7 windows (28M parameters).
model SwinT(size: int = 224, patch: int = 4, dim: int = 96, window: int = 7, classes: int = 1000) {
  input image: f32[N, 3, size, size]
  output logits: f32[N, classes] = image
    |> _: Swin(patch, dim, (2, 2, 6, 2), (3, 6, 12, 24), window, classes)
}

// A tiny configuration for tests: 32 x 32 images, 4 x 4 patches, width 16,
// 4 x 4 windows, two stages (8 x 8 with a shifted block, then 4 x 4 where the
// window covers the map and nothing shifts).
model SwinTiny(size: int = 32, patch: int = 4, dim: int = 16, window: int = 4, classes: int = 10) {
  input image: f32[N, 3, size, size]
  output logits: f32[N, classes] = image |> _: Swin(patch, dim, (2, 2), (2, 4), window, classes)
}
