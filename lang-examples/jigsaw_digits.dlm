// A jigsaw puzzle (Noroozi and Favaro, 2016) on the 8x8 handwritten digits:
// each digit is cut into 2x2 = 4 patches of 4x4 pixels, the patches are
// shuffled by one of the 24 permutations of four, drawn per sample at every
// step, and a network predicts which permutation it was. One patch encoder,
// shared by the four patches (a siamese network of four branches), sees
// each patch alone; only the head sees them together, in the shuffled order.
// With four tiles every permutation is used: Noroozi and Favaro's choice of
// a subset far apart in Hamming distance matters for 9! orders, not for 24.
//
//   deno task dlm train lang-examples/jigsaw_digits.dlm --data digits
//
// `val_permutation_accuracy` against chance (1/24) is the figure of merit;
// `features_out`, the four patches' features in place, is what a probe reads.

// One layer: with a second, the features learnt where in a digit a patch sits and lost what
// digit it is (a nearest-class-mean probe read 0.73 against a random encoder's 0.89); with one
// they keep as much of it as a random layer does, a little more (0.92 against 0.91).
block PatchEncoder(features: int)(p: f32[N, 4, 16]) -> f32[N, 4, features] {
  return p |> fc1: linear(features) |> relu
}

block Head(hidden: int, classes: int)(h: f32[N, F]) -> f32[N, classes] {
  return h |> fc1: linear(hidden) |> relu |> fc2: linear(classes)
}

// The four 4x4 patches of an 8x8 image, [N, 4, 16]: patch 2 i + j is rows 4 i .. 4 i + 3 and
// columns 4 j .. 4 j + 3, read row by row.
block Patches()(x: f32[N, 64]) -> f32[N, 4, 16] {
  return reshape(transpose(reshape(x, (-1, 2, 4, 2, 4)), (0, 1, 3, 2, 4)), (-1, 4, 16))
}

// The inverse: four 4x4 patches back into an 8x8 image, [N, 64].
block Unpatch()(p: f32[N, 4, 16]) -> f32[N, 64] {
  return reshape(transpose(reshape(p, (-1, 2, 2, 4, 4)), (0, 1, 3, 2, 4)), (-1, 64))
}

model Jigsaw(features: int = 64, head: int = 128) {
  input image: f32[N, 64]
  // The 24 permutations of (0, 1, 2, 3), in lexicographic order, built at compile time.
  let orders = ()
  for a in 0..4 {
    for b in 0..4 {
      for c in 0..4 {
        for d in 0..4 {
          if a != b && a != c && a != d && b != c && b != d && c != d {
            orders = orders + ((a, b, c, d),)
          }
        }
      }
    }
  }
  let patches = image |> Patches()
  // Which permutation each sample gets, and its order: the shuffled image's patch j is patch
  // order[j] of the original.
  let k = randint(0, len(orders), (N,))
  let order = index_select(tensor(orders, dtype: "i64"), 0, k)
  let shuffled = take_along_axis(patches, expand(unsqueeze(order, 2), (N, 4, 16)), axis: 1)
  let enc = encoder: PatchEncoder(features)
  output logits = reshape(shuffled |> enc, (-1, 4 * features)) |> head: Head(head, len(orders))
  output permutation = k
  // The puzzle as the network sees it, an image to look at.
  output puzzle: f32[N, 64] = shuffled |> Unpatch()
  output features_out: f32[N, 4 * features] = reshape(patches |> enc, (-1, 4 * features))
}

train Jigsaw {
  loss = cross_entropy(logits, permutation)
  output permutation_accuracy = reduce_mean(cast(argmax(logits, axis: 1) == permutation, "f32"))
  optimizer = adam(lr: 1e-3)
  epochs = 60
  batch_size = 64
  val_split = 0.2
}
