// expect DLM0002
// Several syntax errors in one file: each is reported, none hides the next.
model Broken {
  input x: f32[N, 3
  let y = x |> conv2d(8 kernel: 3)
  output z = y + * 2
}

block Tail(x) { return x ) }

model After {
  input x: f32[N, 4]
  output y = x |> let
}
