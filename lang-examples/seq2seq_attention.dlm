// Sequence to sequence with additive attention (Bahdanau, Cho & Bengio, 2015).
// A bidirectional GRU encoder reads the source; a GRU decoder emits one token
// a step, each step attending over all encoder states:
//   e_ti = v^T tanh(W s_{t-1} + U h_i),  a_t = softmax(e_t),  c_t = sum_i a_ti h_i
// In train mode the decoder reads the gold previous token (teacher forcing)
// and outputs logits for every step; in eval mode it decodes greedily,
// feeding its own argmax back, for `max_len` steps. The recurrent cells are
// written here in .dlm and run over time with scan().

// A GRU cell with PyTorch's gate equations (r, z, n).
block GruCell(hidden: int)(h: f32[N, H], x: f32[N, C]) {
  let r = sigmoid((x |> xr: linear(hidden)) + (h |> hr: linear(hidden)))
  let z = sigmoid((x |> xz: linear(hidden)) + (h |> hz: linear(hidden)))
  let n = tanh((x |> xn: linear(hidden)) + r * (h |> hn: linear(hidden)))
  let h2 = (1.0 - z) * n + z * h
  return (h2, h2)
}

// Additive attention of a decoder state over the encoder states.
// `keys` = U h_i is computed once for the whole source.
block Attention(units: int)(s: f32[N, H], enc: f32[N, S, E], keys: f32[N, S, A]) {
  let q = unsqueeze(s |> w: linear(units, bias: false), 1)
  let e = squeeze(tanh(keys + q) |> v: linear(1, bias: false), 2)
  let a = softmax(e, axis: 1)
  let context = squeeze(unsqueeze(a, 1) @ enc, 1)
  return (context, a)
}

// One decoder step: attend, update the state, predict the next token.
block DecoderStep(hidden: int, vocab: int, enc: tensor, keys: tensor)(s: f32[N, H], y: f32[N, D]) {
  let (context, a) = attention: Attention(hidden)(s, enc, keys)
  let (s2, h) = gru: GruCell(hidden)(s, concat(y, context, axis: 1))
  let logits = concat(h, context, axis: 1) |> out: linear(vocab)
  return (s2, logits)
}

// Greedy decoding: the state carries the decoder state and the previous
// prediction's embedding; each step emits the argmax token.
block GreedyStep(step, embed)(s: f32[N, H], y: f32[N, D]) {
  let (s2, logits) = step(s, y)
  let token = argmax(logits, axis: 1)
  return ((s2, token |> embed), token)
}

model Seq2Seq(
  src_vocab: int = 8000,
  tgt_vocab: int = 8000,
  dim: int = 256,
  hidden: int = 512,
  max_len: int = 50,
  bos: int = 1,
) {
  input src: i64[N, S]

  // Encoder: a bidirectional GRU over the source embeddings.
  let x = src |> src_embed: embedding(src_vocab, dim)
  // Both directions start from a summary of the source (its mean embedding).
  let h0 = tanh(reduce_mean(x, axes: 1) |> init_state: linear(hidden))
  let fwd = GruCell(hidden)
  let bwd = GruCell(hidden)
  let (hf, ef) = scan(fwd, h0, x)
  let (hb, eb) = scan(bwd, h0, x, reverse: true)
  let enc = concat(ef, eb, axis: 2)
  let keys = enc |> attention_keys: linear(hidden, bias: false)

  // The decoder starts from the encoder's final states.
  let s0 = tanh(concat(hf, hb, axis: 1) |> bridge: linear(hidden))
  let embed = embedding(tgt_vocab, dim)
  let step = DecoderStep(hidden, tgt_vocab, enc, keys)

  if training() {
    // Teacher forcing: the gold previous tokens (BOS first) in, logits for each step out.
    input prev: i64[N, T]
    let (s_last, logits) = scan(step, s0, prev |> embed)
    output logits_seq = logits
  } else {
    let first = (src[:, 0:1] * 0 + bos) |> embed
    let ((s_last, y_last), tokens) = scan(
      GreedyStep(step, embed),
      (s0, squeeze(first, 1)),
      steps: max_len,
    )
    output tokens_seq = tokens
  }
}
