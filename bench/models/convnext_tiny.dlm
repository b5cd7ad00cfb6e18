// ConvNeXt-Tiny (Liu et al., 2022) in torchvision's layout (parameter names as torchvision's
// convnext_tiny), for 32x32 images and 10 classes, trained with SGD and momentum: a training
// benchmark model of 7x7 depthwise convolutions, channels-last layer norms and GELU MLPs
// (bench/bench_train.ts). At 32x32 the stages' maps are 8x8, 4x4, 2x2 and 1x1.

// torchvision's CNBlock: a 7x7 depthwise convolution, then in channels-last a layer norm and an
// MLP of 4x the width with exact GELU, back to channels-first; scaled per channel by the learned
// `layer_scale` (initially `scale`), dropped per sample with probability `p` (stochastic depth,
// torchvision's mode "row") and added to the input.
block CNBlock(p: float, scale: float)(x: f32[N, C, H, W]) {
  let gamma = param((C, 1, 1), name: "layer_scale", init: constant(scale))
  let y = x
    |> block: (conv2d(C, kernel: 7, pad: 3, groups: C)
      |> permute((0, 2, 3, 1))
      |> layer_norm(eps: 1e-6)
      |> linear(4 * C)
      |> gelu
      |> linear(C)
      |> permute((0, 3, 1, 2)))
  return x + drop_path(gamma * y, p)
}

// `stochastic_depth_prob` and `layer_scale` are torchvision's arguments: the drop probability
// grows linearly over the 18 blocks from 0 to `stochastic_depth_prob`. The parity check
// (bench/parity_train.ts) sets `stochastic_depth_prob` to 0, as drop masks cannot match another
// framework's. LayerNorm2d (stem, downsampling, head) is `layer_norm(axis: 1)`.
model ConvNeXtTiny(
  classes: int = 10,
  size: int = 32,
  stochastic_depth_prob: float = 0.1,
  layer_scale: float = 1e-6,
) {
  input image: f32[N, 3, size, size]
  init conv2d.weight = trunc_normal(std: 0.02)
  init conv2d.bias = zeros
  init linear.weight = trunc_normal(std: 0.02)
  init linear.bias = zeros
  let h = image
    |> "features.0": (conv2d(96, kernel: 4, stride: 4) |> layer_norm(axis: 1, eps: 1e-6))
  let stages = [(96, 192, 3), (192, 384, 3), (384, 768, 9), (768, 0, 3)]
  let total = 18
  let b = 0
  let k = 1
  for (dim, out, n) in stages {
    for i in 0..n {
      let p = stochastic_depth_prob * b / (total - 1)
      h = h |> "features.${k}.${i}": CNBlock(p, layer_scale)
      b = b + 1
    }
    k = k + 1
    if out > 0 {
      h = h
        |> "features.${k}": (layer_norm(axis: 1, eps: 1e-6) |> conv2d(out, kernel: 2, stride: 2))
      k = k + 1
    }
  }
  output logits: f32[N, classes] = h
    |> adaptive_avg_pool(1)
    |> classifier: (layer_norm(axis: 1, eps: 1e-6) |> flatten |> linear(classes))
}

train ConvNeXtTiny {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.05, momentum: 0.9)
  batch_size = 16
}
