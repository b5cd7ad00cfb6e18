// A denoising diffusion probabilistic model (Ho et al., 2020) on the 8x8
// handwritten digits, trained with the simple objective: for a random
// timestep t and Gaussian noise eps, the network sees the noised image
//   x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps
// and the timestep's sinusoidal embedding, and predicts eps (mean squared
// error). The linear beta schedule and its cumulative products abar_t are
// computed at compile time and become constant tables indexed by t.
//
//   deno task dlm train lang-examples/ddpm_digits.dlm --data digits
//
// Pixels come in [0, 1] (`--data digits`) and are scaled to [-1, 1].

// The linear schedule's end points (Ho et al.'s, for 1000 steps; here spread over `steps`).
let beta_first = 0.0001
let beta_last = 0.02

model Ddpm(steps: int = 100, hidden: int = 256, embed: int = 32) {
  input image: f32[N, 64]
  // sqrt(abar_t) and sqrt(1 - abar_t) for t = 0 .. steps - 1, built as tuples at compile time.
  let abar = 1.0
  let root_abar = (1.0,)
  let root_one_minus = (0.0,)
  for i in 0..steps {
    let beta = beta_first + (beta_last - beta_first) * i / (steps - 1)
    abar = abar * (1.0 - beta)
    root_abar = if i == 0 { (sqrt(abar),) } else { root_abar + (sqrt(abar),) }
    root_one_minus = if i == 0 { (sqrt(1.0 - abar),) } else { root_one_minus + (sqrt(1.0 - abar),) }
  }
  let x0 = image * 2.0 - 1.0
  // t ~ U{0, ..., steps - 1} and eps ~ N(0, I), drawn in the graph at every run.
  let t = cast(floor(rand_like(x0[:, 0]) * steps), "i64")
  let eps = randn_like(x0)
  let a = unsqueeze(index_select(tensor(root_abar), 0, t), 1)
  let b = unsqueeze(index_select(tensor(root_one_minus), 0, t), 1)
  let noised = a * x0 + b * eps
  let time = index_select(sinusoidal_positions(steps, embed), 0, t)
  output predicted: f32[N, 64] = concat(noised, time, axis: 1)
    |> fc1: linear(hidden)
    |> silu
    |> fc2: linear(hidden)
    |> silu
    |> fc3: linear(hidden)
    |> silu
    |> out: linear(64)
  output noise = eps
}

train Ddpm {
  loss = mse(predicted, noise)
  optimizer = adam(lr: 1e-3)
  epochs = 20
  batch_size = 64
  val_split = 0.2
}
