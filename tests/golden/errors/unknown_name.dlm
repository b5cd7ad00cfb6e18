// expect DLM0101
// A misspelt layer gets a did-you-mean.
model Typo {
  input image: f32[N, 3, 32, 32]
  output logits = image |> conv2d(8, kernel: 3) |> reul |> flatten |> linear(10)
}
