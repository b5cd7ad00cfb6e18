// EfficientNet-B0 (Tan and Le, 2019) in torchvision's layout (parameter names as torchvision's
// efficientnet_b0), for 32x32 images and 10 classes, trained with SGD and momentum: a training
// benchmark model of depthwise 3x3 and 5x5 convolutions, SiLU and squeeze-and-excitation
// (bench/bench_train.ts). Batch norms are torchvision's defaults for B0 (eps 1e-5, momentum 0.1).

// A convolution, batch norm and SiLU: torchvision's Conv2dNormActivation with nn.SiLU.
block ConvBNSiLU(out: int, kernel: int = 3, stride: int = 1, groups: int = 1)(x) {
  return x
    |> "0": conv2d(
      out,
      kernel: kernel,
      stride: stride,
      pad: floor(kernel / 2),
      groups: groups,
      bias: false,
    )
    |> "1": batch_norm
    |> silu
}

// The projection: a 1x1 convolution and batch norm without activation.
block ConvBN(out: int)(x) {
  return x |> "0": conv2d(out, kernel: 1, bias: false) |> "1": batch_norm
}

// torchvision's SqueezeExcitation: channel weights from the pooled map by two 1x1 convolutions
// (with bias), SiLU between them and a sigmoid after.
block SqueezeExcitation(reduced: int)(x: f32[N, C, H, W]) {
  let scale = x
    |> adaptive_avg_pool(1)
    |> fc1: conv2d(reduced, kernel: 1)
    |> silu
    |> fc2: conv2d(C, kernel: 1)
    |> sigmoid
  return x * scale
}

// MBConv: expand by t (1x1, none when t is 1), depthwise (kernel x kernel), squeeze-and-excitation
// to a quarter of the input channels, project (1x1, linear); when the shape allows, a residual
// whose branch stochastic depth drops per sample with probability p (torchvision's "row" mode).
block MBConv(out: int, kernel: int, stride: int, t: int, p: float)(x: f32[N, C, H, W]) {
  let hidden = C * t
  let reduced = max(1, floor(C / 4))
  let y = if t == 1 {
    x
      |> block: (ConvBNSiLU(hidden, kernel: kernel, stride: stride, groups: hidden)
        |> SqueezeExcitation(reduced)
        |> ConvBN(out))
  } else {
    x
      |> block: (ConvBNSiLU(hidden, kernel: 1)
        |> ConvBNSiLU(hidden, kernel: kernel, stride: stride, groups: hidden)
        |> SqueezeExcitation(reduced)
        |> ConvBN(out))
  }
  return if stride == 1 && C == out { drop_path(y, p) + x } else { y }
}

// `drop` is torchvision's `dropout` argument (the classifier's) and `sd_prob` its
// `stochastic_depth_prob` (the last block's is sd_prob * 15 / 16): the parity check
// (bench/parity_train.ts) sets both to 0, as random masks cannot match another framework's.
model EfficientNetB0(classes: int = 10, size: int = 32, drop: float = 0.2, sd_prob: float = 0.2) {
  input image: f32[N, 3, size, size]
  let h = image |> "features.0": ConvBNSiLU(32, stride: 2)
  let total = 16
  let b = 0
  for (s, (t, k, stride, c, n)) in enumerate(
    [
      (1, 3, 1, 16, 1),
      (6, 3, 2, 24, 2),
      (6, 5, 2, 40, 2),
      (6, 3, 2, 80, 3),
      (6, 5, 1, 112, 3),
      (6, 5, 2, 192, 4),
      (6, 3, 1, 320, 1),
    ],
  ) {
    for i in 0..n {
      h = h
        |> "features.${s + 1}.${i}": MBConv(
          c,
          k,
          if i == 0 { stride } else { 1 },
          t,
          sd_prob * b / total,
        )
      b = b + 1
    }
  }
  output logits: f32[N, classes] = h
    |> "features.8": ConvBNSiLU(1280, kernel: 1)
    |> adaptive_avg_pool(1)
    |> flatten
    |> classifier: (dropout(drop) |> linear(classes))
}

train EfficientNetB0 {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.05, momentum: 0.9)
  batch_size = 16
}
