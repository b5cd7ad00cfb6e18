// A masked autoencoder (He et al., 2022) on the 8x8 handwritten digits: the
// image is cut into 2x2 patches (16 tokens of 4 pixels), three quarters of
// them are hidden at random per image, a small Transformer encodes only the
// visible quarter, and a lighter decoder, given the encoded tokens back in
// their places and a learned mask token everywhere else, predicts the pixels
// of the hidden patches. The loss is the pixel error on the hidden patches only.
//
//   deno task dlm train lang-examples/mae_digits.dlm --data digits --save mae.safetensors
//
// The train section reports `baseline_loss` beside the loss: the same masked
// error for predicting every pixel as its mean over the batch (on held-out
// batches, the held-out digits' own per-pixel mean: 0.069, a little stronger
// than the data-set mean's 0.0735). The loss sits at that baseline for about 20
// epochs, then falls below it (0.051 after 60). `probe_accuracy` reads the
// encoder's features with a nearest-class-mean probe (README). Reconstructions,
// the hidden patches filled in by the trained model (a new mask at every run):
//
//   deno task dlm run lang-examples/mae_digits.dlm --weights mae.safetensors \
//     --input image=digits.npy --out recon/
//
// writes recon/reconstruction.npy (the visible pixels kept, the hidden ones
// predicted), recon/masked_image.npy (the input with the hidden patches zeroed)
// and recon/mask.npy (1 for a hidden patch).
import "lib/transformer.dlm"

// [N, 64] pixels, row-major 8x8 -> [N, 16, 4] patches (row-major), each 2x2 row-major:
// torch's x.view(N, 4, 2, 4, 2).permute(0, 1, 3, 2, 4).reshape(N, 16, 4).
block Patchify(side: int, patch: int)(x: f32[N, P]) {
  let g = floor(side / patch)
  return x
    |> view((N, g, patch, g, patch))
    |> permute((0, 1, 3, 2, 4))
    |> view((N, g * g, patch * patch))
}

// The inverse: [N, 16, 4] patches -> [N, 64] pixels.
block Unpatchify(side: int, patch: int)(x: f32[N, L, D]) {
  let g = floor(side / patch)
  return x |> view((N, g, g, patch, patch)) |> permute((0, 1, 3, 2, 4)) |> view((N, side * side))
}

model Mae(
  side: int = 8,
  patch: int = 2,
  keep: int = 4,
  dim: int = 64,
  layers: int = 2,
  heads: int = 4,
  decoder_dim: int = 32,
  decoder_layers: int = 1,
  norm_pix: bool = false,
) {
  input image: f32[N, side * side]
  assert(side % patch == 0, "the image side must be a multiple of the patch side")
  let tokens = floor(side / patch) ** 2
  let pixels = patch * patch
  assert(keep > 0 && keep < tokens, "keep must be between 1 and the number of patches - 1")
  let patches = image |> Patchify(side, patch)

  // Random masking, per image: the patches ranked by uniform noise; the first `keep` of
  // the shuffled order stay visible. restore[n, j] is patch j's place in that order, so
  // patch j is hidden where restore >= keep (MAE's ids_shuffle / ids_restore).
  let shuffle = argsort(rand((N, tokens)), axis: 1)
  let restore = argsort(shuffle, axis: 1)
  let visible_ids = shuffle[:, 0:keep]
  let mask: f32[N, tokens] = cast(restore >= keep, "f32")

  // Encoder: every patch embedded with its position, then the visible ones gathered
  // (take_along_axis, torch.gather) and encoded alone: [N, keep, dim].
  let embedded = patches |> patch_embed: linear(dim) |> pos_embed: add_positions
  let visible = take_along_axis(
    embedded,
    expand(unsqueeze(visible_ids, 2), (N, keep, dim)),
    axis: 1,
  )
  let encoder = encoder: Encoder(layers, dim, heads, 2 * dim, norm_first: true, act: "gelu")
  let encoder_norm = encoder_norm: layer_norm
  let latent = visible |> encoder |> encoder_norm
  // The same encoder over a whole image (no patch hidden), averaged over the patches: the
  // features a probe reads.
  let features: f32[N, dim] = embedded |> encoder |> encoder_norm |> reduce_mean(axes: 1)

  // Decoder: the mask token at every place, the encoded visible tokens scattered back
  // into theirs, positions added, a lighter Transformer, pixels per patch.
  let mask_token = param((1, 1, decoder_dim), name: "mask_token", init: normal(std: 0.02))
  let projected = latent |> decoder_embed: linear(decoder_dim)
  let full = scatter(
    expand(mask_token, (N, tokens, decoder_dim)),
    expand(unsqueeze(visible_ids, 2), (N, keep, decoder_dim)),
    projected,
    axis: 1,
  )
  let pred: f32[N, tokens, pixels] = full
    |> decoder_pos_embed: add_positions
    |> decoder: Encoder(
      decoder_layers,
      decoder_dim,
      heads,
      2 * decoder_dim,
      norm_first: true,
      act: "gelu",
    )
    |> decoder_norm: layer_norm
    |> decoder_pred: linear(pixels)

  // What the loss compares pred with: the pixels, or (norm_pix) each patch's pixels
  // normalised by the patch's own mean and variance, as MAE's norm_pix_loss.
  let mu = reduce_mean(patches, axes: 2, keepdims: true)
  let var = reduce_mean((patches - mu) ** 2, axes: 2, keepdims: true)
  let target: f32[N, tokens, pixels] = if norm_pix { (patches - mu) / sqrt(var + 1e-6) } else {
    patches
  }

  // The image with the hidden patches predicted (with norm_pix the predictions are in
  // each patch's normalised units, so only the default shows pixels).
  let hidden = unsqueeze(mask, 2)
  output reconstruction: f32[N, side * side] = (patches * (1.0 - hidden) + pred * hidden)
    |> Unpatchify(side, patch)
  output masked_image: f32[N, side * side] = patches * (1.0 - hidden) |> Unpatchify(side, patch)
  // What the train section reads (`reconstruction` first: what `dlm sample` draws by default).
  output mask
  output pred
  output target
  output features
}

train Mae {
  input label: i64[N]
  // The mean squared error per patch, averaged over the hidden patches only.
  let per_patch = reduce_mean((pred - target) ** 2, axes: 2)
  loss = reduce_sum(per_patch * mask) / reduce_sum(mask)
  // The figure of merit's yardstick: every pixel predicted as its mean over the batch.
  let pixel_mean = reduce_mean(target, axes: 0, keepdims: true)
  output baseline_loss = reduce_sum(
    reduce_mean((pixel_mean - target) ** 2, axes: 2) * mask,
  ) / reduce_sum(mask)
  // A nearest-class-mean readout of the features (cosine) within the batch, each sample
  // left out of its own class's mean: the labels measure, the loss never sees them.
  let f = features / sqrt(reduce_sum(features * features, axes: 1, keepdims: true) + 1e-8)
  let onehot = cast(unsqueeze(label, 1) == unsqueeze(arange(10), 0), "f32")
  let sums = matmul(transpose(onehot, (1, 0)), f)
  // f . (sum of its class - f) = f . sum - 1 for a unit f; a class with no other sample is out.
  let others = reduce_sum(onehot, axes: 0, keepdims: true) - onehot
  let scores = where(
    others > 0.0,
    (matmul(f, transpose(sums, (1, 0))) - onehot) / maximum(others, 1.0),
    -2.0,
  )
  output probe_accuracy = reduce_mean(cast(argmax(scores, axis: 1) == label, "f32"))
  optimizer = adamw(lr: 1e-3, weight_decay: 0.05)
  epochs = 60
  batch_size = 32
  val_split = 0.2
}
