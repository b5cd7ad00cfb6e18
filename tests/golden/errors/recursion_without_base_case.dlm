// expect DLM0301
// The depth never decreases, so the recursion never stops.
block Fractal(c: int, depth: int)(x) {
  if depth == 0 { return x }
  return x |> Fractal(c, depth) |> relu
}

model Runaway {
  input x: f32[N, 4]
  output y = x |> Fractal(4, 3)
}
