// A denoising autoencoder (Vincent et al., 2008) on the 8x8 digits: each
// training image is corrupted (about 30% of its pixels erased, Gaussian
// noise added) and the network learns to give back the clean image. The
// code it learns in between, never shown a label, is the feature a probe
// reads out.
//
//   deno task dlm train lang-examples/denoising_autoencoder_digits.dlm --data digits --save dae.safetensors
//   deno task dlm probe lang-examples/denoising_autoencoder_digits.dlm --weights dae.safetensors --output code
//   deno task dlm sample lang-examples/denoising_autoencoder_digits.dlm --model Denoiser \
//     --weights dae.safetensors --input image=digits:0-63 --n 16 -o dae.png
//
// The figure of merit beside the probe is the held-out reconstruction error of clean images
// (`val_recon_error`, a mean squared error of intensities in [0, 1]), against predicting every
// pixel's mean over the batch (`val_mean_baseline`).

block Encoder(hidden: int, features: int)(x: f32[N, 64]) -> f32[N, features] {
  return x |> fc1: linear(hidden) |> relu |> fc2: linear(features) |> relu
}

block Decoder(hidden: int)(h: f32[N, F]) -> f32[N, 64] {
  return h |> fc1: linear(hidden) |> relu |> fc2: linear(64)
}

// Masking noise (pixels erased with probability `erase`) and Gaussian noise, both drawn in the
// graph at every run.
block Corrupt(erase: float, noise: float)(x: f32[N, D]) -> f32[N, D] {
  return x * cast(rand_like(x) >= erase, "f32") + noise * randn_like(x)
}

model DenoisingAutoencoder(
  hidden: int = 128,
  features: int = 32,
  erase: float = 0.3,
  noise: float = 0.2,
) {
  input image: f32[N, 64]
  // Corrupted in train mode only: evaluation reconstructs the clean image.
  let seen = if training() { image |> Corrupt(erase, noise) } else { image }
  output code: f32[N, features] = seen |> encoder: Encoder(hidden, features)
  // Pixel logits: sigmoid(recon) is the reconstructed intensity.
  output recon: f32[N, 64] = code |> decoder: Decoder(hidden)
}

train DenoisingAutoencoder {
  loss = reduce_mean(reduce_sum(bce_with_logits(recon, image, reduce: "none"), axes: 1))
  output recon_error = mse(sigmoid(recon), image)
  // A baseline: every pixel predicted by its mean over the batch.
  output mean_baseline = mse(image * 0.0 + reduce_mean(image, axes: 0, keepdims: true), image)
  optimizer = adam(lr: 1e-3)
  epochs = 20
  batch_size = 32
  val_split = 0.2
}

// The trained network on a corrupted copy of its input, for `dlm sample --input`: the clean
// image beside its reconstruction from the corrupted one.
model Denoiser(hidden: int = 128, features: int = 32, erase: float = 0.3, noise: float = 0.2) {
  input image: f32[N, 64]
  output denoised: f32[N, 64] = image
    |> Corrupt(erase, noise)
    |> encoder: Encoder(hidden, features)
    |> decoder: Decoder(hidden)
    |> sigmoid
  output corrupted = image |> Corrupt(erase, noise)
}
