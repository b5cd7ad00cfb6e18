// expect DLM0205
// A misspelt keyword argument.
model Misspelt {
  input image: f32[N, 3, 32, 32]
  output y = image |> conv2d(8, kernal: 3)
}
