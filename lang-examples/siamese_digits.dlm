// A siamese network with the contrastive margin loss (Hadsell, Chopra and
// LeCun, 2006) on the 8x8 digits: one encoder (shared weights) maps every
// image of a pair to a feature vector; a pair of the same digit is pulled
// together (its squared distance is the loss), a pair of different digits
// is pushed apart until it is at least `margin` away. Every pair of the
// batch is a pair here: the N x N distances come from one matrix product.
//
//   deno task dlm train lang-examples/siamese_digits.dlm --data digits --save siamese.safetensors
//   deno task dlm probe lang-examples/siamese_digits.dlm --weights siamese.safetensors
//
// The labels only say whether two images match; the probe then reads the classes out of the
// features by their nearest class mean, against a randomly initialised encoder.

block Encoder(hidden: int, features: int)(x: f32[N, 64]) -> f32[N, features] {
  return x |> fc1: linear(hidden) |> relu |> fc2: linear(features)
}

model Siamese(hidden: int = 128, features: int = 32, margin: float = 1.0) {
  input image: f32[N, 64]
  output features_out: f32[N, features] = image |> encoder: Encoder(hidden, features)
}

train Siamese {
  input label: i64[N]
  let f = features_out
  // Squared distances of every pair: |f_i - f_j|^2 = |f_i|^2 + |f_j|^2 - 2 f_i . f_j
  // (clamped at 0 against rounding), and the distance itself (+ 1e-6 keeps sqrt's gradient finite).
  let sq = reduce_sum(f * f, axes: 1, keepdims: true)
  let d2 = relu(sq + transpose(sq, (1, 0)) - 2.0 * matmul(f, transpose(f, (1, 0))))
  let d = sqrt(d2 + 1e-6)
  let same = cast(unsqueeze(label, 1) == unsqueeze(label, 0), "f32")
  let gap = relu(margin - d)
  // L = mean over pairs of y d^2 + (1 - y) max(0, margin - d)^2 (the diagonal adds 0).
  loss = reduce_mean(same * d2 + (1.0 - same) * gap * gap)
  // Pairs on the right side of half the margin: matches closer, non-matches farther.
  output pair_accuracy = reduce_mean(cast((d < 0.5 * margin) == (same > 0.5), "f32"))
  optimizer = adam(lr: 1e-3)
  epochs = 20
  batch_size = 64
  val_split = 0.2
}
