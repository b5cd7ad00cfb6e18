// A split-brain autoencoder (Zhang, Isola and Efros, 2017) on the 8x8 digits: the image is cut
// into two complementary sets of pixels, and each of two sub-networks predicts one set from the
// other. The paper splits an image's channels (L from ab and back); a grayscale digit has one, so
// the split is spatial: by default a checkerboard, the 32 pixels with row + column even against
// the 32 odd ones, so that each set covers the whole digit. `--set pixels=halves` takes the left
// and right halves (columns 0-3 and 4-7) instead. We expected the halves to teach more (drawing a
// missing half seems to need the digit's identity, where a checkerboard's missing pixel has observed
// neighbours on four sides), but measured the opposite: over seeds 0-2 the probe reads 0.82 from the
// checkerboard's features against 0.75 from the halves', which is no better than a random
// encoder's (README, "Split-brain autoencoder").
//
//   deno task dlm train lang-examples/split_brain_digits.dlm --data digits --save sb.safetensors
//   deno task dlm probe lang-examples/split_brain_digits.dlm --weights sb.safetensors --output features
//   deno task dlm train lang-examples/split_brain_digits.dlm --model PlainAutoencoderDigits \
//     --data digits --save ae.safetensors
//   deno task dlm probe lang-examples/split_brain_digits.dlm --model PlainAutoencoderDigits \
//     --weights ae.safetensors --output features
//
// The features a probe reads are the two sub-networks' codes side by side, 2 x `half` numbers.
// The plain autoencoder beside it has the same budget: a code of the same width, hidden layers
// of the same size, about as many parameters, and the same epochs of the same data.

block Encoder(hidden: int, features: int)(x: f32[N, D]) -> f32[N, features] {
  return x |> fc1: linear(hidden) |> relu |> fc2: linear(features) |> relu
}

// The two pixel sets of each image as [N, 32] each: the two colours of a checkerboard (pixel
// 8 r + 2 q + (r mod 2) for row r and q = 0..3, and its neighbour), or the left and right halves,
// each taken with one gather of constant indices.
block Halves(pixels: str)(image: f32[N, 64]) -> (f32[N, 32], f32[N, 32]) {
  assert(
    pixels == "checkerboard" || pixels == "halves",
    "pixels must be \"checkerboard\" or \"halves\", got \"${pixels}\"",
  )
  let rows = reshape(arange(8), (8, 1))
  let quarter = reshape(arange(4), (1, 4))
  let first = if pixels == "checkerboard" { 8 * rows + 2 * quarter + rows % 2 } else {
    8 * rows + quarter
  }
  let second = if pixels == "checkerboard" { first + 1 - 2 * (rows % 2) } else { first + 4 }
  return (
    gather(image, reshape(first, (32,)), axis: 1),
    gather(image, reshape(second, (32,)), axis: 1)
  )
}

model SplitBrainDigits(hidden: int = 64, half: int = 16, pixels: str = "checkerboard") {
  input image: f32[N, 64]
  let (a, b) = image |> Halves(pixels)
  output code_a: f32[N, half] = a |> encoder_a: Encoder(hidden, half)
  output code_b: f32[N, half] = b |> encoder_b: Encoder(hidden, half)
  // Each sub-network's prediction of the other set (pixel logits).
  output b_from_a: f32[N, 32] = code_a |> head_a: linear(32)
  output a_from_b: f32[N, 32] = code_b |> head_b: linear(32)
  output features: f32[N, 2 * half] = concat(code_a, code_b, axis: 1)
  output targets_a = a
  output targets_b = b
}

train SplitBrainDigits {
  // Intensities in [0, 1] as Bernoulli targets, one cross-entropy per direction.
  let to_b = reduce_sum(bce_with_logits(b_from_a, targets_b, reduce: "none"), axes: 1)
  let to_a = reduce_sum(bce_with_logits(a_from_b, targets_a, reduce: "none"), axes: 1)
  loss = reduce_mean(to_b + to_a)
  output error_a_to_b = mse(sigmoid(b_from_a), targets_b)
  output error_b_to_a = mse(sigmoid(a_from_b), targets_a)
  optimizer = adam(lr: 1e-3)
  epochs = 30
  batch_size = 32
  val_split = 0.2
}

// The baseline: the whole image encoded to a code as wide as the split-brain's two together,
// and decoded back.
model PlainAutoencoderDigits(hidden: int = 64, half: int = 16) {
  input image: f32[N, 64]
  output features: f32[N, 2 * half] = image |> encoder: Encoder(hidden, 2 * half)
  output recon: f32[N, 64] = features |> decoder: linear(64)
}

train PlainAutoencoderDigits {
  loss = reduce_mean(reduce_sum(bce_with_logits(recon, image, reduce: "none"), axes: 1))
  output recon_error = mse(sigmoid(recon), image)
  optimizer = adam(lr: 1e-3)
  epochs = 30
  batch_size = 32
  val_split = 0.2
}
