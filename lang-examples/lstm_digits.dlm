// An LSTM reads each 8x8 digit row by row (8 steps of 8 pixels) and a linear layer classifies
// its last hidden state. Training backpropagates through time: the step model unrolls the LSTM
// into plain ONNX ops, while the evaluation model keeps one LSTM node.
//
//   deno task dlm train lang-examples/lstm_digits.dlm --data digits

model LstmDigits(hidden: int = 32, classes: int = 10) {
  input image: f32[N, 64]
  let (_, state) = image |> reshape((-1, 8, 8)) |> rnn: lstm(hidden)
  let (h, c) = state
  output logits: f32[N, classes] = h[-1] |> fc: linear(classes)
}

train LstmDigits {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  output accuracy = reduce_mean(cast(argmax(logits, axis: 1) == label, "f32"))
  optimizer = adam(lr: 0.01)
  epochs = 15
  batch_size = 32
  val_split = 0.2
}
