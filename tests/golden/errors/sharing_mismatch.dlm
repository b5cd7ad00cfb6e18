// expect DLM0258
// A sharing layer configured wider than its source: its first layer's weight is [32, 8] where
// the source's is [16, 8]. Applied before its source, the error is still at the sharing.
block Encoder(hidden: int = 16)(x: f32[N, C]) {
  return x |> fc1: linear(hidden) |> relu |> fc2: linear(4)
}

model Shared {
  input x: f32[N, 8]
  let encoder = Encoder()
  let wide = Encoder(hidden: 32) sharing encoder
  output w = x |> wide
  output z = x |> encoder
}
