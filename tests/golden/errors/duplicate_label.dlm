// expect DLM0106
// Two layers labelled fc in the same scope.
model Twice {
  input x: f32[N, 16]
  let h = x |> fc: linear(32) |> relu
  output y = h |> fc: linear(10)
}
