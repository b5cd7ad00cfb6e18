// expect DLM0201
// A string where an int belongs.
model WrongType {
  input image: f32[N, 3, 32, 32]
  output y = image |> conv2d(8, kernel: "3x3")
}
