// expect DLM0261
// A block given its own instance as an argument, sharing it inside its own application: the
// instance's parameters are still being made there.
block Encoder(hidden: int = 16)(x: f32[N, C]) {
  return x |> fc1: linear(hidden) |> relu |> fc2: linear(4)
}

block Loop()(x: f32[N, C], outer) {
  let inner = Encoder() sharing outer
  return x |> inner
}

model Shared {
  input x: f32[N, 8]
  let loop = Loop()
  output z = loop(x, loop)
}
