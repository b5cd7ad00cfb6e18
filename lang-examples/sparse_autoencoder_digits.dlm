// A sparse autoencoder on the 8x8 handwritten digits: a wider-than-input
// sigmoid code whose units are pushed to be active about 5% of the time (the
// KL sparsity penalty of Ng's notes), and a decoder back to the pixels.
//
//   deno task dlm train lang-examples/sparse_autoencoder_digits.dlm --data digits
//
// `--data digits` gives the pixels as intensities in [0, 1].

model SparseAutoencoder(code: int = 100, rho: float = 0.05, beta: float = 0.1) {
  input image: f32[N, 64]
  output code_activations: f32[N, code] = image |> enc: linear(code) |> sigmoid
  output recon: f32[N, 64] = code_activations |> dec: linear(64) |> sigmoid
}

train SparseAutoencoder {
  // Half the squared error summed over pixels, averaged over the batch, plus beta times the
  // summed KL(rho || mean activation) of the code units.
  let err = recon - image
  let reconstruction = 0.5 * reduce_mean(reduce_sum(err * err, axes: 1))
  let sparsity = sparsity_penalty(code_activations, rho: rho)
  loss = reconstruction + beta * sparsity
  output recon_loss = reconstruction
  output sparsity_loss = sparsity
  // The code's mean activation: it falls toward rho as the penalty acts.
  output mean_activation = reduce_mean(code_activations)
  optimizer = adam(lr: 3e-3)
  epochs = 30
  batch_size = 32
  val_split = 0.2
}
