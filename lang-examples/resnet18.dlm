// ResNet-18 (He et al., 2016). Parameter names follow torchvision's
// resnet18 (conv1.weight, bn1.running_mean, layer1.0.conv1.weight,
// layer2.0.downsample.0.weight, fc.bias, ...), so a torchvision state dict
// saved as safetensors loads with no weights map.

// Two 3x3 convolutions with a shortcut; a 1x1 projection when the shape changes.
block BasicBlock(width: int, stride: int = 1)(x: f32[N, C, H, W]) {
  let y = x
    |> conv1: conv2d(width, kernel: 3, stride: stride, pad: 1, bias: false)
    |> bn1: batch_norm
    |> relu
    |> conv2: conv2d(width, kernel: 3, pad: 1, bias: false)
    |> bn2: batch_norm
  let skip = if stride == 1 &&
    C == width { x } else {
      x |> downsample: (conv2d(width, kernel: 1, stride: stride, bias: false) |> batch_norm)
    }
  return relu(y + skip)
}

// `blocks` residual blocks named 0, 1, ...; the first one may downsample.
block Stage(width: int, blocks: int, stride: int)(x) {
  let h = x
  for i in 0..blocks {
    h = h |> "${i}": BasicBlock(width, if i == 0 { stride } else { 1 })
  }
  return h
}

// Everything up to the pooled features: [N, 3, H, W] -> [N, 512].
block ResNet18Features()(image: f32[N, 3, H, W]) -> f32[N, 512] {
  init conv2d.weight = kaiming_normal(mode: "fan_out", nonlinearity: "relu")
  let h = image
    |> conv1: conv2d(64, kernel: 7, stride: 2, pad: 3, bias: false)
    |> bn1: batch_norm
    |> relu
    |> max_pool(3, stride: 2, pad: 1)
  for (s, width) in enumerate([64, 128, 256, 512]) {
    h = h |> "layer${s + 1}": Stage(width, 2, if s == 0 { 1 } else { 2 })
  }
  return h |> adaptive_avg_pool(1) |> flatten
}

model ResNet18(classes: int = 1000, size: int = 224) {
  input image: f32[N, 3, size, size]
  // `_:` keeps the block's names at this level: conv1.weight, not features.conv1.weight.
  output logits: f32[N, classes] = image |> _: ResNet18Features() |> fc: linear(classes)
}
