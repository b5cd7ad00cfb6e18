// A sequence classifier: token embeddings, a vanilla (Elman) tanh RNN, and a linear layer on the
// last hidden state. Parameter names are those of the PyTorch module
// `embedding = nn.Embedding(...); rnn = nn.RNN(..., batch_first=True); fc = nn.Linear(...)`.
model RnnClassifier(vocab: int = 10000, dim: int = 128, hidden: int = 256, classes: int = 2) {
  input tokens: i64[N, T]
  let (y, h) = tokens |> embedding: embedding(vocab, dim) |> rnn: rnn(hidden)
  // h is [layers, N, hidden]: the state of the last layer after the last step.
  output logits: f32[N, classes] = h[-1] |> fc: linear(classes)
}
