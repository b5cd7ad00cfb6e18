// MobileNetV2 (Sandler et al., 2018) in torchvision's layout (parameter names as torchvision's
// mobilenet_v2), for 32x32 images and 10 classes, trained with SGD and momentum: a training
// benchmark model of depthwise convolutions (bench/bench_train.ts).

// A 3x3 or 1x1 convolution, batch norm and ReLU6: torchvision's Conv2dNormActivation.
block ConvBNReLU(out: int, kernel: int = 3, stride: int = 1, groups: int = 1)(x) {
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
    |> relu6
}

// Expand by t (1x1), depthwise (3x3), project (1x1, linear); a residual when the shape allows.
block InvertedResidual(out: int, stride: int, t: int)(x: f32[N, C, H, W]) {
  let hidden = C * t
  let y = if t == 1 {
    x
      |> conv: (ConvBNReLU(hidden, stride: stride, groups: hidden)
        |> conv2d(out, kernel: 1, bias: false)
        |> batch_norm)
  } else {
    x
      |> conv: (ConvBNReLU(hidden, kernel: 1)
        |> ConvBNReLU(hidden, stride: stride, groups: hidden)
        |> conv2d(out, kernel: 1, bias: false)
        |> batch_norm)
  }
  return if stride == 1 && C == out { x + y } else { y }
}

// `drop` is torchvision's `dropout` argument (the name `dropout` is the function's): the parity
// check (bench/parity_train.ts) sets it to 0, as dropout masks cannot match another framework's.
model MobileNetV2(classes: int = 10, size: int = 32, drop: float = 0.2) {
  input image: f32[N, 3, size, size]
  let h = image |> "features.0": ConvBNReLU(32, stride: 2)
  let k = 1
  for (t, c, n, s) in [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
  ] {
    for i in 0..n {
      h = h |> "features.${k}": InvertedResidual(c, if i == 0 { s } else { 1 }, t)
      k = k + 1
    }
  }
  output logits: f32[N, classes] = h
    |> "features.${k}": ConvBNReLU(1280, kernel: 1)
    |> adaptive_avg_pool(1)
    |> flatten
    |> classifier: (dropout(drop) |> linear(classes))
}

train MobileNetV2 {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.05, momentum: 0.9)
  batch_size = 16
}
