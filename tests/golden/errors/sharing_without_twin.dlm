// expect DLM0257
// A head that runs on an encoder's parameters, but its second layer is one the encoder does not
// have; and a sharing of an instance that is never applied itself.
block Encoder(hidden: int = 16)(x: f32[N, C]) {
  return x |> fc1: linear(hidden) |> relu |> fc2: linear(4)
}

block Probe(hidden: int = 16)(x: f32[N, C]) {
  return x |> fc1: linear(hidden) |> relu |> fc3: linear(4)
}

model Shared {
  input x: f32[N, 8]
  let encoder = Encoder()
  let probe = Probe() sharing encoder
  let unused = Encoder()
  let idle = Encoder() sharing unused
  output z = x |> encoder
  output p = x |> probe
  output q = x |> idle
}
