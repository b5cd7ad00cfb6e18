// An MLP 64-32-10 with ReLU on the handwritten digits (8x8 images
// flattened to 64 values, 0..1), trained with cross-entropy and plain SGD.
//
//   deno task dlm train lang-examples/mlp_digits.dlm --data digits

model MlpDigits(hidden: int = 32, classes: int = 10) {
  input image: f32[N, 64]
  output logits: f32[N, classes] = image |> fc1: linear(hidden) |> relu |> fc2: linear(classes)
}

train MlpDigits {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  output accuracy = reduce_mean(cast(argmax(logits, axis: 1) == label, "f32"))
  optimizer = sgd(lr: 0.1)
  epochs = 30
  batch_size = 32
  val_split = 0.2
}
