// expect DLM0303
// A 1e6 x 1e6 weight matrix: 4 TB of parameters.
model Huge {
  input x: f32[N, 1_000_000]
  output y = x |> linear(1_000_000)
}
