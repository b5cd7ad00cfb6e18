// Rotation prediction (Gidaris, Singh and Komodakis, 2018) on the 8x8
// digits: every image is shown at 0, 90, 180 and 270 degrees and the
// network predicts which. To tell, it must learn what an upright digit
// looks like; the encoder's features, never shown a class label, are what
// a probe reads out.
//
//   deno task dlm train lang-examples/rotation_digits.dlm --data digits --save rotation.safetensors
//   deno task dlm probe lang-examples/rotation_digits.dlm --weights rotation.safetensors --output features_out

block Encoder(features: int)(x: f32[N, 64]) -> f32[N, features] {
  return x |> fc1: linear(features) |> relu
}

block Head(hidden: int)(h: f32[N, F]) -> f32[N, 4] {
  return h |> fc1: linear(hidden) |> relu |> fc2: linear(4)
}

// A quarter turn of each 8x8 image, clockwise: r[i, j] = x[7 - j, i], the transpose with its
// columns reversed, and reversing columns is a product with the exchange matrix
// J[k, j] = 1 where k + j = 7.
block Rotate90(side: int = 8)(x: f32[N, side, side]) -> f32[N, side, side] {
  let exchange = cast(unsqueeze(arange(side), 1) + unsqueeze(arange(side), 0) == side - 1, "f32")
  return matmul(transpose(x, (0, 2, 1)), exchange)
}

model Rotation(features: int = 128, hidden: int = 64) {
  input image: f32[N, 64]
  let r0 = reshape(image, (-1, 8, 8))
  let r1 = r0 |> Rotate90()
  let r2 = r1 |> Rotate90()
  let r3 = r2 |> Rotate90()
  // The four views one above the other, [4N, 64], and which turn each is: 0 .. 3.
  let views = reshape(concat(r0, r1, r2, r3, axis: 0), (-1, 64))
  let k0 = cast(image[:, 0] * 0.0, "i64")
  output turns = concat(k0, k0 + 1, k0 + 2, k0 + 3, axis: 0)
  let enc = encoder: Encoder(features)
  output logits = views |> enc |> head: Head(hidden)
  output features_out: f32[N, features] = image |> enc
}

train Rotation {
  loss = cross_entropy(logits, turns)
  output rotation_accuracy = reduce_mean(cast(argmax(logits, axis: 1) == turns, "f32"))
  optimizer = adam(lr: 1e-3)
  epochs = 20
  batch_size = 32
  val_split = 0.2
}
