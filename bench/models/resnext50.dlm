// ResNeXt-50 32x4d (Xie et al., 2017) in torchvision's layout (parameter names as torchvision's
// resnext50_32x4d), for 32x32 images and 10 classes, trained with SGD and momentum: a training
// benchmark model of grouped convolutions (bench/bench_train.ts).

// ResNet-50's bottleneck with a grouped 3x3 convolution: 32 groups of 4 channels per 64 planes.
block Bottleneck(planes: int, stride: int = 1, groups: int = 32, base_width: int = 4)(
  x: f32[N, C, H, W],
) {
  let width = floor(planes * base_width / 64) * groups
  let y = x
    |> conv1: conv2d(width, kernel: 1, bias: false)
    |> bn1: batch_norm
    |> relu
    |> conv2: conv2d(width, kernel: 3, stride: stride, pad: 1, groups: groups, bias: false)
    |> bn2: batch_norm
    |> relu
    |> conv3: conv2d(planes * 4, kernel: 1, bias: false)
    |> bn3: batch_norm
  let skip = if stride == 1 &&
    C == planes * 4 { x } else {
      x |> downsample: (conv2d(planes * 4, kernel: 1, stride: stride, bias: false) |> batch_norm)
    }
  return relu(y + skip)
}

model ResNeXt50(classes: int = 10, size: int = 32) {
  input image: f32[N, 3, size, size]
  let h = image
    |> conv1: conv2d(64, kernel: 7, stride: 2, pad: 3, bias: false)
    |> bn1: batch_norm
    |> relu
    |> max_pool(3, stride: 2, pad: 1)
  for (s, (planes, blocks)) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)]) {
    for i in 0..blocks {
      h = h |> "layer${s + 1}.${i}": Bottleneck(planes, if i == 0 && s > 0 { 2 } else { 1 })
    }
  }
  output logits: f32[N, classes] = h |> adaptive_avg_pool(1) |> flatten |> fc: linear(classes)
}

train ResNeXt50 {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.05, momentum: 0.9)
  batch_size = 16
}
