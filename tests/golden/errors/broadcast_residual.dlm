// expect DLM0204
// A residual add whose branch changed the channel count without a projection.
block Residual(width: int)(x: f32[N, C, H, W]) {
  let y = x |> conv2d(width, kernel: 3, pad: 1) |> relu
  return y + x
}

model Net {
  input image: f32[N, 8, 16, 16]
  output y = image |> Residual(16)
}
