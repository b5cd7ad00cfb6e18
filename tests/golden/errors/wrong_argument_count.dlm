// expect DLM0202
// linear() takes one positional argument (its width).
model TooMany {
  input x: f32[N, 16]
  output y = x |> linear(32, 10)
}
