// Momentum contrast (He et al., 2020), reduced to its two mechanisms: a
// query encoder trained by gradients through an InfoNCE loss, and a key
// encoder that is a copy of it updated as an exponential moving average
//   key <- m key + (1 - m) query      (m = 0.999)
// The two encoders share their architecture (one block, labelled twice)
// and so their parameter names below the labels; the key encoder starts
// as a copy of the query encoder (`init key from query`), as in the paper.

block Encoder(hidden: int = 64, dim: int = 32)(x: f32[N, C]) {
  return x |> fc1: linear(hidden) |> relu |> fc2: linear(dim)
}

model Moco(features: int = 64) {
  input view1: f32[N, features]
  input view2: f32[N, features]
  init key from query
  output q = view1 |> query: Encoder()
  output k = view2 |> key: Encoder()
}

train Moco {
  freeze "key.*"
  loss = info_nce(q, k, temperature: 0.2)
  optimizer = sgd(lr: 0.05, momentum: 0.9)
  ema = moving_average(target: "key", source: "query", decay: 0.999)
}
