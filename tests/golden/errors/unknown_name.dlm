// expect DLM0101
// Misspelt layers: each gets a did-you-mean when a known name is close.
model Typo {
  input image: f32[N, 3, 32, 32]
  output logits = image |> conv2d(8, kernel: 3) |> reul |> flaten |> linear(10)
}
