// expect DLM0230
// The second convolution's 5x5 kernel does not fit the 4x4 map left by the first.
model TooSmall {
  input image: f32[N, 3, 8, 8]
  output y = image |> conv2d(8, kernel: 5) |> conv2d(8, kernel: 5)
}
