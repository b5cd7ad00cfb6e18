/* A variational auto-encoder:
   randomness in the graph, a loss built from several outputs. */
model VAE(latent: int = 20) {
  input x: f32[N, 784]
  let h = x |> linear(400) |> relu
  output mu = h |> linear(latent)
  output logvar = h |> linear(latent)
  let z = mu + exp(0.5 * logvar) * randn_like(mu)
  output recon = z |> linear(400) |> relu |> linear(784) |> sigmoid
}

train VAE {
  loss = bce(recon, x, reduce: sum) + kl_std_normal(mu, logvar)
  optimizer = adam(lr: 1e-3)
}
