// LeNet-5 (LeCun et al., 1998) on 32x32 grey images.
model LeNet5(classes: int = 10) {
  input image: f32[N, 1, 32, 32]

  output logits: f32[N, classes] = image
    |> conv2d(6, kernel: 5) |> tanh |> avg_pool(2)
    |> conv2d(16, kernel: 5) |> tanh |> avg_pool(2)
    |> flatten
    |> linear(120) |> tanh
    |> linear(84) |> tanh
    |> linear(classes)
}

train LeNet5 {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.01, momentum: 0.9, nesterov: true, weight_decay: 5e-4)
}
