// Deep clustering on the 8x8 digits, without labels: an autoencoder's features are clustered by
// k-means before every epoch, and the epoch trains the network to predict each image's cluster
// (DeepCluster, Caron et al., 2018) while it keeps reconstructing the image (as DCN, Yang et al.,
// 2017, does, so that the features cannot collapse onto the clusters they were given). Better
// features give better clusters, which give better pseudo-labels: the two alternate, as the train
// section declares with `input pseudo: i64[N] from kmeans(...)`.
//
//   deno task dlm train lang-examples/deep_clustering_digits.dlm --data digits
//   deno task dlm train lang-examples/deep_clustering_digits.dlm --data digits --set weight=0
//
// The labels are never trained on: `classes: label` only scores each clustering (normalised
// mutual information and Hungarian-matched accuracy, `pseudo_nmi` and `pseudo_accuracy` in the
// history, on the training rows). `--set weight=0` drops the pseudo-label loss (the plain
// autoencoder's features, clustered the same way); k-means on the raw pixels is the other
// baseline (README, "Deep clustering").

block Encoder(hidden: int, features: int)(x: f32[N, 64]) -> f32[N, features] {
  return x |> fc1: linear(hidden) |> relu |> fc2: linear(features) |> relu
}

// weight: the pseudo-label loss's, read by the train section (0: the plain autoencoder).
model DeepClusterDigits(hidden: int = 128, features: int = 32, k: int = 10, weight: float = 1.0) {
  input image: f32[N, 64]
  output features: f32[N, features] = image |> encoder: Encoder(hidden, features)
  // What k-means clusters: the features on the unit sphere (DeepCluster l2-normalises them too).
  output normalized = features / (
    reduce_sum(features * features, axes: 1, keepdims: true) + 1e-6
  ) ** 0.5
  output logits: f32[N, k] = features |> head: linear(k)
  output recon: f32[N, 64] = features |> decoder: linear(64)
}

train DeepClusterDigits {
  input label: i64[N]
  // Before every epoch: the features of every training image, clustered into k groups.
  input pseudo: i64[N] from kmeans(normalized, k: k, every: 1, iterations: 50, classes: label)
  let reconstruction = reduce_mean(
    reduce_sum(bce_with_logits(recon, image, reduce: "none"), axes: 1),
  )
  loss = weight * cross_entropy(logits, pseudo) + reconstruction
  output recon_loss = reconstruction
  // How often the head names the cluster k-means gave: the pseudo-label task itself.
  output agreement = reduce_mean(cast(argmax(logits, axis: 1) == pseudo, "f32"))
  optimizer = adam(lr: 1e-3)
  epochs = 30
  batch_size = 32
  val_split = 0.2
}
