// expect DLM0206
// conv2d() needs its number of output channels.
model NoWidth {
  input image: f32[N, 3, 32, 32]
  output y = image |> conv2d(kernel: 3)
}
