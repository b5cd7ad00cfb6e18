// expect DLM0156
// `init fc1.weight = ...` names a layer kind, not the layer labelled fc1: a kind that no layer
// has is DLM0156 rather than a rule that sets nothing; `conv2.weight` is a kind's near miss.
block Head()(x: f32[N, 4]) -> f32[N, 4] {
  init fc1.weight = zeros
  return x |> fc1: linear(4)
}

model M {
  input x: f32[N, 4]
  init conv2.weight = kaiming_normal()
  init "fc2.weight" = zeros
  output y = x |> Head() |> fc2: linear(4)
}
