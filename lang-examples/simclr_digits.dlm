// SimCLR (Chen et al., 2020) on the 8x8 handwritten digits: two randomly
// augmented views of each image (pixel noise and random erasing of about
// a fifth of the pixels, drawn in the graph at every step) go through one
// shared encoder and projection head; the NT-Xent loss pulls each image's
// two views together and pushes them from the other 2N - 2 views.
//
//   deno task dlm train lang-examples/simclr_digits.dlm --data digits
//
// After training, `features_out` (the encoder's output, before the projection
// head) separates the digit classes without having seen a label: the train
// section reports how well a nearest-class-mean readout of them does.

block Encoder(hidden: int, features: int)(x: f32[N, 64]) -> f32[N, features] {
  return x |> fc1: linear(hidden) |> relu |> fc2: linear(features)
}

block Projection(dim: int)(h) {
  return h |> fc1: linear(dim) |> relu |> fc2: linear(dim)
}

// A view: pixel noise, then about 20% of the pixels erased (train mode only).
block Augment(noise: float = 0.1, erase: float = 0.2)(x: f32[N, D]) -> f32[N, D] {
  let noisy = x + noise * randn_like(x)
  let keep = cast(rand_like(x) >= erase, "f32")
  return if training() { noisy * keep } else { x }
}

model SimClr(hidden: int = 128, features: int = 32, dim: int = 32, temperature: float = 0.5) {
  input image: f32[N, 64]
  // The same encoder and head (one set of weights) for both views.
  let v1 = image |> Augment()
  let v2 = image |> Augment()
  let enc = encoder: Encoder(hidden, features)
  let head = projection: Projection(dim)
  output z1: f32[N, dim] = v1 |> enc |> head
  output z2: f32[N, dim] = v2 |> enc |> head
  output features_out: f32[N, features] = image |> enc
}

train SimClr {
  input label: i64[N]
  loss = nt_xent(z1, z2, temperature: temperature)
  // A label-free encoder's features, read out by the nearest class mean (cosine) within the
  // batch: the labels are used here only, to measure, never by the loss.
  let f = features_out / sqrt(
    reduce_sum(features_out * features_out, axes: 1, keepdims: true) + 1e-8,
  )
  let onehot = cast(unsqueeze(label, 1) == unsqueeze(arange(10), 0), "f32")
  let means = matmul(transpose(onehot, (1, 0)), f)
  let scores = matmul(f, transpose(means, (1, 0)))
  output probe_accuracy = reduce_mean(cast(argmax(scores, axis: 1) == label, "f32"))
  optimizer = adam(lr: 3e-3)
  epochs = 30
  batch_size = 128
  val_split = 0.2
}
