// expect DLM0208
// A block that takes images, applied to a flat vector.
block Stem(width: int)(x: f32[N, C, H, W]) {
  return x |> conv2d(width, kernel: 3, pad: 1)
}

model Flat {
  input x: f32[N, 784]
  output y = x |> Stem(16)
}
