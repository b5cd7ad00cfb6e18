// VGG16 (Simonyan & Zisserman, 2014): thirteen 3x3 convolutions in five
// stages, then three fully connected layers. Names follow torchvision's
// vgg16 (features.0.weight ... features.28.weight, classifier.0.weight,
// classifier.3.weight, classifier.6.weight). `width` is the first stage's
// channels (64 in the paper) and `hidden` the classifier's (4096); the
// tests shrink both.
block Features(width: int)(x) {
  let h = x
  let k = 0
  for (stage, convs) in enumerate([2, 2, 3, 3, 3]) {
    let c = width * 2 ** min(stage, 3)
    for i in 0..convs {
      h = h |> "${k}": conv2d(c, kernel: 3, pad: 1) |> "${k + 1}": relu
      k = k + 2
    }
    h = h |> "${k}": max_pool(2)
    k = k + 1
  }
  return h
}

model VGG16(classes: int = 1000, width: int = 64, hidden: int = 4096, size: int = 224) {
  input image: f32[N, 3, size, size]
  output logits: f32[N, classes] = image
    |> features: Features(width)
    |> adaptive_avg_pool(7)
    |> flatten
    |> classifier: (linear(hidden)
      |> relu
      |> dropout(0.5)
      |> linear(hidden)
      |> relu
      |> dropout(0.5)
      |> linear(classes))
}
