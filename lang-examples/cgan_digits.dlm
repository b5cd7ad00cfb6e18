// A conditional GAN (Mirza and Osindero, 2014) on the 8x8 digits: the
// generator maps noise and a class to an image, the discriminator judges
// an image together with its class, so the generator must draw the digit
// it is asked for. The discriminator also names the class of what it sees
// (an auxiliary classifier, as AC-GAN's, Odena et al., 2017): its class
// loss on real images trains it, its class loss on generated images trains
// the generator. Without that term, training at this size fell into one
// digit drawn for every class in its first 15 epochs. Each step alternates,
// as gan.dlm does: the discriminator's update on real and generated images
// (each with the real batch's labels), then the generator's.
//
//   deno task dlm train lang-examples/cgan_digits.dlm --data digits --save cgan.safetensors
//   deno task dlm sample lang-examples/cgan_digits.dlm --model CganSampler \
//     --weights cgan.safetensors --n 100 --nrow 10 --set label=0,1,2,3,4,5,6,7,8,9 -o cgan.png
//
// CganSampler is the generator alone, its noise an input (which `dlm sample` draws) and its
// parameters named as in Cgan (`gen.*`), so the trained weights load into it.

// The class as a one-hot row: y[i, c] = 1 where label[i] = c.
block OneHot(classes: int)(label: i64[N]) -> f32[N, classes] {
  return cast(unsqueeze(label, 1) == unsqueeze(arange(classes), 0), "f32")
}

block Generator(hidden: int)(z: f32[N, Z], y: f32[N, C]) -> f32[N, 64] {
  return concat(z, y, axis: 1)
    |> fc1: linear(hidden)
    |> relu
    |> fc2: linear(hidden)
    |> relu
    |> fc3: linear(64)
    |> sigmoid
}

// Column 0: the real-or-generated logit; columns 1 .. classes: the class logits.
block Discriminator(hidden: int, classes: int)(
  x: f32[N, 64],
  y: f32[N, classes],
) -> f32[N, classes + 1] {
  return concat(x, y, axis: 1)
    |> fc1: linear(hidden)
    |> leaky_relu(alpha: 0.2)
    |> fc2: linear(hidden)
    |> leaky_relu(alpha: 0.2)
    |> fc3: linear(classes + 1)
}

model Cgan(noise: int = 16, hidden: int = 128, classes: int = 10) {
  input image: f32[N, 64]
  input label: i64[N]
  let y = label |> OneHot(classes)
  // The generator's noise is drawn in the graph, one row per real image.
  let z = randn_like(image[:, 0:noise])
  let disc = Discriminator(hidden, classes)
  output fake = gen: Generator(hidden)(z, y)
  let dr = disc(image, y)
  let df = disc(fake, y)
  output d_real = dr[:, 0:1]
  output d_fake = df[:, 0:1]
  output c_real = dr[:, 1:classes + 1]
  output c_fake = df[:, 1:classes + 1]
}

train Cgan {
  let ones = d_real * 0.0 + 1.0
  let zeros = d_real * 0.0
  let d_loss = bce_with_logits(d_real, ones) +
    bce_with_logits(d_fake, zeros) +
    cross_entropy(c_real, label)
  let g_loss = bce_with_logits(d_fake, ones) + cross_entropy(c_fake, label)
  phase("disc", loss: d_loss, optimizer: adam(lr: 1e-3, beta1: 0.5), params: "disc.*")
  phase("gen", loss: g_loss, optimizer: adam(lr: 1e-3, beta1: 0.5), params: "gen.*")
  epochs = 30
  batch_size = 32
}

// The generator alone, for sampling: noise and class in, image out (`gen.*` as in Cgan).
model CganSampler(noise: int = 16, hidden: int = 128, classes: int = 10) {
  input z: f32[N, noise]
  input label: i64[N]
  output image: f32[N, 64] = gen: Generator(hidden)(z, label |> OneHot(classes))
}
