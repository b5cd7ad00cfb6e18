// DenseNet-121 (Huang et al., 2017) in torchvision's layout (parameter names as torchvision's
// densenet121), for 32x32 images and 10 classes, trained with SGD and momentum: a training
// benchmark model of dense connectivity, where every layer's input is the concatenation of all
// earlier outputs of its block (bench/bench_train.ts).

// Batch norm, ReLU, 1x1 convolution to bn_size * growth channels, batch norm, ReLU, 3x3
// convolution to growth channels: torchvision's _DenseLayer, whose output is concatenated onto
// its input by the block.
block DenseLayer(growth: int, bn_size: int, drop: float)(x) {
  let y = x
    |> norm1: batch_norm
    |> relu
    |> conv1: conv2d(bn_size * growth, kernel: 1, bias: false)
    |> norm2: batch_norm
    |> relu
    |> conv2: conv2d(growth, kernel: 3, pad: 1, bias: false)
  return if drop > 0 { dropout(y, drop) } else { y }
}

// Batch norm, ReLU, 1x1 convolution to `out` channels, 2x2 average pooling: torchvision's
// _Transition between dense blocks.
block Transition(out: int)(x) {
  return x |> norm: batch_norm |> relu |> conv: conv2d(out, kernel: 1, bias: false) |> avg_pool(2)
}

// `drop` is torchvision's `drop_rate` (dropout after each dense layer, 0 by default); the parity
// check (bench/parity_train.ts) sets it to 0, as dropout masks cannot match another framework's.
model DenseNet121(
  classes: int = 10,
  size: int = 32,
  growth: int = 32,
  bn_size: int = 4,
  init_features: int = 64,
  drop: float = 0,
) {
  input image: f32[N, 3, size, size]
  let h = image
    |> "features.conv0": conv2d(init_features, kernel: 7, stride: 2, pad: 3, bias: false)
    |> "features.norm0": batch_norm
    |> relu
    |> max_pool(3, stride: 2, pad: 1)
  let channels = init_features
  let blocks = [6, 12, 24, 16]
  for (b, layers) in enumerate(blocks) {
    for i in 0..layers {
      let y = h
        |> "features.denseblock${b + 1}.denselayer${i + 1}": DenseLayer(growth, bn_size, drop)
      h = concat([h, y], axis: 1)
    }
    channels = channels + layers * growth
    if b < len(blocks) - 1 {
      channels = floor(channels / 2)
      h = h |> "features.transition${b + 1}": Transition(channels)
    }
  }
  output logits: f32[N, classes] = h
    |> "features.norm5": batch_norm
    |> relu
    |> adaptive_avg_pool(1)
    |> flatten
    |> classifier: linear(classes)
}

train DenseNet121 {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.05, momentum: 0.9)
  batch_size = 16
}
