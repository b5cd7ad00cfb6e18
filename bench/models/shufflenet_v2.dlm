// ShuffleNetV2 x1.0 (Ma et al., 2018) in torchvision's layout (parameter names as torchvision's
// shufflenet_v2_x1_0), for 32x32 images and 10 classes, trained with SGD and momentum: a training
// benchmark model of depthwise convolutions, channel splits and shuffles (bench/bench_train.ts).

// Interleave the channels of `groups` groups: [N, g, C/g, H, W] -> [N, C/g, g, H, W].
block ChannelShuffle(groups: int)(x: f32[N, C, H, W]) {
  return x
    |> view((N, groups, floor(C / groups), H, W))
    |> permute((0, 2, 1, 3, 4))
    |> view((N, C, H, W))
}

block ShuffleUnit(out: int, stride: int)(x: f32[N, C, H, W]) {
  let half = floor(out / 2)
  let (x1, x2) = if stride == 1 { chunk(x, 2, axis: 1) } else { (x, x) }
  let left = if stride == 1 { x1 } else {
    x
      |> branch1: (conv2d(C, kernel: 3, stride: stride, pad: 1, groups: C, bias: false)
        |> batch_norm
        |> conv2d(half, kernel: 1, bias: false)
        |> batch_norm
        |> relu)
  }
  let right = x2
    |> branch2: (conv2d(half, kernel: 1, bias: false)
      |> batch_norm
      |> relu
      |> conv2d(half, kernel: 3, stride: stride, pad: 1, groups: half, bias: false)
      |> batch_norm
      |> conv2d(half, kernel: 1, bias: false)
      |> batch_norm
      |> relu)
  return concat([left, right], axis: 1) |> ChannelShuffle(2)
}

model ShuffleNetV2(classes: int = 10, size: int = 32) {
  input image: f32[N, 3, size, size]
  let h = image
    |> conv1: (conv2d(24, kernel: 3, stride: 2, pad: 1, bias: false) |> batch_norm |> relu)
    |> max_pool(3, stride: 2, pad: 1)
  for (s, (repeats, width)) in enumerate([(4, 116), (8, 232), (4, 464)]) {
    for i in 0..repeats {
      h = h |> "stage${s + 2}.${i}": ShuffleUnit(width, if i == 0 { 2 } else { 1 })
    }
  }
  output logits: f32[N, classes] = h
    |> conv5: (conv2d(1024, kernel: 1, bias: false) |> batch_norm |> relu)
    |> reduce_mean((2, 3))
    |> fc: linear(classes)
}

train ShuffleNetV2 {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.05, momentum: 0.9)
  batch_size = 16
}
