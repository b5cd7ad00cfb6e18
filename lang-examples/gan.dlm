// A generative adversarial network (Goodfellow et al., 2014) on the 8x8
// digits: a generator maps noise to images, a discriminator tells real from
// generated. Each training step alternates, as the minimax game prescribes:
// first the discriminator's update on real and generated images, then the
// generator's, which sees the discriminator as it just became.
//
//   deno task dlm train lang-examples/gan.dlm --data real=digits:0-63

block Generator(noise: int, hidden: int)(z: f32[N, Z]) {
  return z |> fc1: linear(hidden) |> relu |> fc2: linear(64) |> sigmoid
}

block Discriminator(hidden: int)(x: f32[N, 64]) {
  return x |> fc1: linear(hidden) |> leaky_relu(alpha: 0.2) |> fc2: linear(1)
}

model Gan(noise: int = 16, hidden: int = 128) {
  input real: f32[N, 64]
  // The generator's noise is drawn in the graph, one row per real image.
  let z = randn_like(real[:, 0:noise])
  let disc = Discriminator(hidden)
  output fake = z |> gen: Generator(noise, hidden)
  output d_real = real |> disc
  output d_fake = fake |> disc
}

train Gan {
  let ones = d_real * 0.0 + 1.0
  let zeros = d_real * 0.0
  let d_loss = bce_with_logits(d_real, ones) + bce_with_logits(d_fake, zeros)
  let g_loss = bce_with_logits(d_fake, ones)
  phase("disc", loss: d_loss, optimizer: adam(lr: 2e-4, beta1: 0.5), params: "disc.*")
  phase("gen", loss: g_loss, optimizer: adam(lr: 2e-4, beta1: 0.5), params: "gen.*")
  epochs = 5
  batch_size = 32
}
