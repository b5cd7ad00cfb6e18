// A context encoder (Pathak et al., 2016) on the 8x8 handwritten digits:
// a 4x4 square of each image, at a random position drawn per sample at
// every step, is erased, and an encoder-decoder fills it in from the
// pixels around it. The loss is the reconstruction's squared error on the
// erased square only (the paper's L2 term; its adversarial term, which
// sharpens the fill, is left out here). The erased square's mask goes in
// beside the pixels, as a second channel, since a square can be anywhere.
//
//   deno task dlm train lang-examples/context_encoder_digits.dlm --data digits
//
// The loss on held-out digits (`val_loss`, the erased square's mean squared
// error) against `val_mean_fill_mse` (filling the square with each pixel's
// mean over the batch) is the figure of merit; `features_out`,
// the encoder's output for a whole image, is what a probe reads.

block Encoder(hidden: int, features: int)(x: f32[N, 128]) -> f32[N, features] {
  return x |> fc1: linear(hidden) |> relu |> fc2: linear(features) |> relu
}

block Decoder(hidden: int)(h: f32[N, F]) -> f32[N, 64] {
  return h |> fc1: linear(hidden) |> relu |> fc2: linear(64) |> sigmoid
}

// 1 inside a side x side square whose top-left corner is (top, left), else 0: [N, 64].
block Square(side: int = 4, size: int = 8)(top: i64[N], left: i64[N]) -> f32[N, 64] {
  let rows = reshape(arange(size), (1, size, 1))
  let cols = reshape(arange(size), (1, 1, size))
  let t = reshape(top, (-1, 1, 1))
  let l = reshape(left, (-1, 1, 1))
  let inside_rows = cast(rows >= t, "f32") * cast(rows < t + side, "f32")
  let inside_cols = cast(cols >= l, "f32") * cast(cols < l + side, "f32")
  return reshape(inside_rows * inside_cols, (-1, size * size))
}

model ContextEncoder(hidden: int = 256, features: int = 64, side: int = 4) {
  input image: f32[N, 64]
  // The square's corner, uniform over the 8 - side + 1 positions in each direction.
  let mask = Square(side)(randint(0, 9 - side, (N,)), randint(0, 9 - side, (N,)))
  let enc = encoder: Encoder(hidden, features)
  let filled = concat(image * (1.0 - mask), mask, axis: 1) |> enc |> decoder: Decoder(hidden)
  output reconstruction: f32[N, 64] = filled
  output erased = mask
  // The image with its square filled in, to look at.
  output inpainted: f32[N, 64] = image * (1.0 - mask) + filled * mask
  // The features of a whole image: nothing erased, an all-zero mask.
  output features_out: f32[N, features] = concat(image, image * 0.0, axis: 1) |> enc
}

train ContextEncoder {
  // Squared error over the erased pixels only, averaged over them.
  let count = reduce_sum(erased)
  loss = reduce_sum(erased * (reconstruction - image) * (reconstruction - image)) / count
  // The baseline: fill the square with each pixel's mean over the batch.
  let fill = reduce_mean(image, axes: 0, keepdims: true)
  output mean_fill_mse = reduce_sum(erased * (fill - image) * (fill - image)) / count
  optimizer = adam(lr: 1e-3)
  epochs = 60
  batch_size = 64
  val_split = 0.2
}
