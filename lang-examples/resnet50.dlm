// ResNet-50 (He et al., 2016): bottleneck blocks (1x1 reduce, 3x3, 1x1
// expand by 4) in stages of 3, 4, 6 and 3. Parameter names follow
// torchvision's resnet50 (stride on the 3x3 convolution, "ResNet v1.5").

block Bottleneck(width: int, stride: int = 1)(x: f32[N, C, H, W]) -> f32[N, width * 4, _, _] {
  let y = x
    |> conv1: conv2d(width, kernel: 1, bias: false)
    |> bn1: batch_norm
    |> relu
    |> conv2: conv2d(width, kernel: 3, stride: stride, pad: 1, bias: false)
    |> bn2: batch_norm
    |> relu
    |> conv3: conv2d(width * 4, kernel: 1, bias: false)
    |> bn3: batch_norm
  let skip = if stride == 1 &&
    C == width * 4 { x } else {
      x |> downsample: (conv2d(width * 4, kernel: 1, stride: stride, bias: false) |> batch_norm)
    }
  return relu(y + skip)
}

block Stage(width: int, blocks: int, stride: int)(x) {
  let h = x
  for i in 0..blocks {
    h = h |> "${i}": Bottleneck(width, if i == 0 { stride } else { 1 })
  }
  return h
}

model ResNet50(classes: int = 1000, size: int = 224) {
  input image: f32[N, 3, size, size]
  init conv2d.weight = kaiming_normal(mode: "fan_out", nonlinearity: "relu")
  let h = image
    |> conv1: conv2d(64, kernel: 7, stride: 2, pad: 3, bias: false)
    |> bn1: batch_norm
    |> relu
    |> max_pool(3, stride: 2, pad: 1)
  for (s, (width, blocks)) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)]) {
    h = h |> "layer${s + 1}": Stage(width, blocks, if s == 0 { 1 } else { 2 })
  }
  output logits: f32[N, classes] = h |> adaptive_avg_pool(1) |> flatten |> fc: linear(classes)
}
