// expect DLM0240
// A label names a layer; here it labels a number.
model Labelled {
  input x: f32[N, 4]
  let width = hidden: 64
  output y = x |> linear(width)
}
