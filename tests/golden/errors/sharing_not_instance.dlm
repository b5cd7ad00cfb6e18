// expect DLM0259
// `sharing` takes a new layer on its left and a layer instance on its right: a named layer on the
// left and a number on the right are neither.
block Encoder(hidden: int = 16)(x: f32[N, C]) {
  return x |> fc1: linear(hidden) |> relu |> fc2: linear(4)
}

model Shared {
  input x: f32[N, 8]
  let encoder = Encoder()
  let other = Encoder()
  let width = 16
  let a = other sharing encoder
  let b = Encoder() sharing width
  output z = x |> encoder
}
