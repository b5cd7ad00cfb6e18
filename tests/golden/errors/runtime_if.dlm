// expect DLM0305
// An if over tensor values: the branch would depend on the input, known only at run time.
model Branchy {
  input x: f32[N, 4]
  let h = x |> linear(4)
  if h > 0 {
    h = h |> relu
  }
  output y = h
}
