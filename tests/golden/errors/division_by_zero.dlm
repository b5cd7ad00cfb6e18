// expect DLM0304
// A width computed by dividing by zero at compile time.
model Divide(groups: int = 0) {
  input x: f32[N, 64]
  output y = x |> linear(64 / groups)
}
