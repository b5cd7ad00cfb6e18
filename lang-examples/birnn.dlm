// A bidirectional RNN tagger: each token's forward and backward states (concatenated, 2 * hidden)
// go through one linear layer to tag scores, as in a part-of-speech tagger.
model BiRnnTagger(vocab: int = 10000, dim: int = 100, hidden: int = 128, tags: int = 17) {
  input tokens: i64[N, T]
  let (y, h) = tokens |> embedding: embedding(vocab, dim) |> rnn: rnn(hidden, bidirectional: true)
  output tag_logits: f32[N, T, tags] = y |> fc: linear(tags)
}
