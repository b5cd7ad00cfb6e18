// expect DLM0202
// Too many arguments: to a block's configuration, and to a function whose
// only argument is the piped tensor.
block Stem(width: int)(x) {
  return x |> conv2d(width, kernel: 3)
}

model TooMany {
  input image: f32[N, 3, 32, 32]
  let h = image |> Stem(16, 3)
  output y = image |> relu(0.1)
}
