// expect DLM0311
// A billion loop iterations at compile time.
model Forever {
  input x: f32[N, 4]
  let h = x
  for i in 0..100_000 {
    for j in 0..10_000 {
      h = h
    }
  }
  output y = h
}
