// A 2-layer LSTM language model (the medium model of Zaremba et al., 2014, without dropout), with
// PyTorch's word_language_model names: encoder (embedding), rnn (nn.LSTM), decoder (linear).
// The state is an input and an output, so a caller carries (h, c) from one chunk of text to the
// next: truncated backpropagation through time.
model LstmLanguageModel(vocab: int = 10000, dim: int = 650, hidden: int = 650, layers: int = 2) {
  input tokens: i64[N, T]
  input h0: f32[layers, N, hidden]
  input c0: f32[layers, N, hidden]
  let (y, state) = tokens
    |> encoder: embedding(vocab, dim)
    |> rnn: lstm(hidden, layers: layers)(h0: h0, c0: c0)
  let (h, c) = state
  output logits: f32[N, T, vocab] = y |> decoder: linear(vocab)
  output h_n: f32[layers, N, hidden] = h
  output c_n: f32[layers, N, hidden] = c
}
