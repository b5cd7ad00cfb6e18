// AlexNet (Krizhevsky et al., 2012), laid out as torchvision's alexnet:
// features.0 ... features.12, classifier.1 ... classifier.6. `scale` divides
// every width (the tests use a narrow network); scale 1 is the real one.
model AlexNet(classes: int = 1000, scale: int = 1, size: int = 224) {
  input image: f32[N, 3, size, size]
  let w = (
    floor(64 / scale),
    floor(192 / scale),
    floor(384 / scale),
    floor(256 / scale),
    floor(4096 / scale)
  )
  let h = image
    |> features: (conv2d(w[0], kernel: 11, stride: 4, pad: 2)
      |> relu
      |> max_pool(3, stride: 2)
      |> conv2d(w[1], kernel: 5, pad: 2)
      |> relu
      |> max_pool(3, stride: 2)
      |> conv2d(w[2], kernel: 3, pad: 1)
      |> relu
      |> conv2d(w[3], kernel: 3, pad: 1)
      |> relu
      |> conv2d(w[3], kernel: 3, pad: 1)
      |> relu
      |> max_pool(3, stride: 2))
  output logits: f32[N, classes] = h
    |> adaptive_avg_pool(6)
    |> flatten
    |> classifier: (dropout(0.5)
      |> linear(w[4])
      |> relu
      |> dropout(0.5)
      |> linear(w[4])
      |> relu
      |> linear(classes))
}

// The original two-GPU network: grouped convolutions and local response
// normalisation after the first two blocks, on 227x227 inputs.
model AlexNetLRN(classes: int = 1000, scale: int = 1) {
  input image: f32[N, 3, 227, 227]
  let c = (floor(96 / scale), floor(256 / scale), floor(384 / scale), floor(4096 / scale))
  output logits: f32[N, classes] = image
    |> conv1: conv2d(c[0], kernel: 11, stride: 4)
    |> relu
    |> lrn(size: 5, alpha: 1e-4, beta: 0.75, k: 2)
    |> max_pool(3, stride: 2)
    |> conv2: conv2d(c[1], kernel: 5, pad: 2, groups: 2)
    |> relu
    |> lrn(size: 5, alpha: 1e-4, beta: 0.75, k: 2)
    |> max_pool(3, stride: 2)
    |> conv3: conv2d(c[2], kernel: 3, pad: 1)
    |> relu
    |> conv4: conv2d(c[2], kernel: 3, pad: 1, groups: 2)
    |> relu
    |> conv5: conv2d(c[1], kernel: 3, pad: 1, groups: 2)
    |> relu
    |> max_pool(3, stride: 2)
    |> flatten
    |> fc6: linear(c[3])
    |> relu
    |> dropout(0.5)
    |> fc7: linear(c[3])
    |> relu
    |> dropout(0.5)
    |> fc8: linear(classes)
}
