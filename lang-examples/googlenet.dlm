// GoogLeNet / Inception v1 (Szegedy et al., 2014): Inception modules of
// four parallel branches (1x1; 1x1 bottleneck then 3x3; 1x1 bottleneck then
// 5x5; 3x3 max pool then 1x1 projection) concatenated on channels, and
// global average pooling instead of large fully connected layers.

block conv_relu(out: int, kernel: int = 1, stride: int = 1)(x) {
  return x |> conv: conv2d(out, kernel: kernel, stride: stride, pad: floor(kernel / 2)) |> relu
}

block Inception(c1: int, r3: int, c3: int, r5: int, c5: int, pool: int)(
  x: f32[N, C, H, W],
) -> f32[N, c1 + c3 + c5 + pool, H, W] {
  let b1 = x |> branch1: conv_relu(c1)
  let b2 = x |> branch2: (conv_relu(r3) |> conv_relu(c3, kernel: 3))
  let b3 = x |> branch3: (conv_relu(r5) |> conv_relu(c5, kernel: 5))
  let b4 = x |> max_pool(3, stride: 1, pad: 1) |> branch4: conv_relu(pool)
  return concat(b1, b2, b3, b4, axis: 1)
}

model GoogLeNet(classes: int = 1000, size: int = 224) {
  input image: f32[N, 3, size, size]
  let h = image
    |> conv1: conv_relu(64, kernel: 7, stride: 2)
    |> max_pool(3, stride: 2, pad: 1, ceil: true)
    |> conv2: conv_relu(64)
    |> conv3: conv_relu(192, kernel: 3)
    |> max_pool(3, stride: 2, pad: 1, ceil: true)
    |> inception3a: Inception(64, 96, 128, 16, 32, 32)
    |> inception3b: Inception(128, 128, 192, 32, 96, 64)
    |> max_pool(3, stride: 2, pad: 1, ceil: true)
    |> inception4a: Inception(192, 96, 208, 16, 48, 64)
    |> inception4b: Inception(160, 112, 224, 24, 64, 64)
    |> inception4c: Inception(128, 128, 256, 24, 64, 64)
    |> inception4d: Inception(112, 144, 288, 32, 64, 64)
    |> inception4e: Inception(256, 160, 320, 32, 128, 128)
    |> max_pool(3, stride: 2, pad: 1, ceil: true)
    |> inception5a: Inception(256, 160, 320, 32, 128, 128)
    |> inception5b: Inception(384, 192, 384, 48, 128, 128)
  output logits: f32[N, classes] = h
    |> global_avg_pool
    |> flatten
    |> dropout(0.4)
    |> fc: linear(classes)
}
