model Broken {
  input x: f32[N, 3
  let y = conv2d(64 { x }
  let = 3
  output z = y + # 2
}

block B(x) { return x ) }

model After { output ok = "unterminated
}
