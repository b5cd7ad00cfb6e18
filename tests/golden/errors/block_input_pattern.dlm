// expect DLM0208
// Block inputs that do not match their declared patterns: wrong rank, a
// fixed dim that differs, and a dim name bound to two different sizes.
block Stem(width: int)(x: f32[N, 3, H, W]) {
  return x |> conv2d(width, kernel: 3, pad: 1)
}

block Merge()(a: f32[N, C], b: f32[N, C]) {
  return a + b
}

model Mismatch {
  input flat: f32[N, 784]
  input image: f32[N, 8, 16, 16]
  input p: f32[N, 4]
  input q: f32[N, 5]
  let a = flat |> Stem(16)
  let b = image |> Stem(16)
  output y = Merge(p, q)
}
