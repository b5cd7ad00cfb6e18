// A variational autoencoder (Kingma and Welling, 2014) on the 8x8
// handwritten digits: an encoder to the mean and log-variance of a Gaussian
// over an 8-dimensional latent, a sample by the reparameterisation trick
// (z = mu + exp(logvar / 2) * eps, eps ~ N(0, 1), in train mode; z = mu in
// eval mode), and a decoder back to the 64 pixels. The loss is the negative
// evidence lower bound: the reconstruction's binary cross entropy, summed
// over pixels, plus the KL divergence of the posterior from N(0, 1).
//
//   deno task dlm train lang-examples/vae_digits.dlm --data digits --save vae.safetensors
//
// `--data digits` gives the pixels as intensities in [0, 1] (the set's 0..16 scaled).

model VaeDigits(latent: int = 8, hidden: int = 128) {
  input image: f32[N, 64]
  let h = image |> enc: linear(hidden) |> relu
  let mu = h |> mu: linear(latent)
  let logvar = h |> logvar: linear(latent)
  let z = if training() { mu + exp(0.5 * logvar) * randn_like(mu) } else { mu }
  // Pixel logits: sigmoid(recon) is the reconstructed intensity.
  output recon: f32[N, 64] = z |> dec: linear(hidden) |> relu |> out: linear(64)
  output mean = mu
  output log_var = logvar
}

train VaeDigits {
  let reconstruction = reduce_mean(
    reduce_sum(bce_with_logits(recon, image, reduce: "none"), axes: 1),
  )
  let kl = kl_std_normal(mean, log_var)
  loss = reconstruction + kl
  output recon_loss = reconstruction
  output kl_loss = kl
  optimizer = adam(lr: 1e-3)
  epochs = 30
  batch_size = 32
  val_split = 0.2
}

// The decoder alone, for sampling: z ~ N(0, 1) in (`dlm sample` draws it), intensities out,
// its parameters named as in VaeDigits (`dec.*`, `out.*`) so the trained weights load into it.
//
//   deno task dlm sample lang-examples/vae_digits.dlm --model VaeDecoder --weights vae.safetensors -o vae.png
model VaeDecoder(latent: int = 8, hidden: int = 128) {
  input z: f32[N, latent]
  output image: f32[N, 64] = z |> dec: linear(hidden) |> relu |> out: linear(64) |> sigmoid
}
