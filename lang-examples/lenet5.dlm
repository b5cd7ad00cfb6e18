// lenet5.dlm
model LeNet5(classes: int = 10) {
  input image: f32[N, 1, 32, 32]

  output logits: f32[N, classes] = image
    |> conv2d(6, kernel: 5)
    |> tanh
    |> avg_pool(2)
    |> conv2d(16, kernel: 5)
    |> tanh
    |> avg_pool(2)
    |> flatten
    |> linear(120)
    |> tanh
    |> linear(84)
    |> tanh
    |> linear(classes)
}
