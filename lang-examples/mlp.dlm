// A perceptron and a multi-layer perceptron.

// Rosenblatt's perceptron as a network: one linear unit and a sigmoid output.
model Perceptron(features: int = 4) {
  input x: f32[N, features]
  output p: f32[N, 1] = x |> fc: linear(1) |> sigmoid
}

// An MLP with hidden layers given as a tuple: MLP(hidden: (256, 128)).
block Hidden(widths: (int, int))(x) {
  let h = x
  for (i, w) in enumerate(widths) {
    h = h |> "fc${i}": linear(w) |> relu
  }
  return h
}

model MLP(features: int = 784, classes: int = 10) {
  input x: f32[N, features]
  output logits: f32[N, classes] = x |> _: Hidden((256, 128)) |> out: linear(classes)
  output probs: f32[N, classes] = softmax(logits)
}
