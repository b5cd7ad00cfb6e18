// expect DLM0107
// Assignment needs a variable declared with let.
model NoLet {
  input x: f32[N, 16]
  h = x |> linear(8)
  output y = x |> relu
}
