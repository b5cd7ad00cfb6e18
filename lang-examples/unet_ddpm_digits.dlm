// A class-conditional denoising diffusion model (Ho et al., 2020) on the 8x8 handwritten digits,
// with a U-Net as the noise predictor, trained for classifier-free guidance (Ho and Salimans,
// 2022), and two samplers: one that mixes the conditional and unconditional predictions by a
// guidance weight w, one guided by a classifier's gradient (Dhariwal and Nichol, 2021).
//
//   deno task dlm train lang-examples/unet_ddpm_digits.dlm --data digits --save unet.safetensors
//   deno task dlm train lang-examples/unet_ddpm_digits.dlm --model NoisyClassifier --data digits \
//     --save noisy.safetensors
//   deno task dlm run lang-examples/unet_ddpm_digits.dlm --model GuidedSampler \
//     --weights unet.safetensors --input label=label.npy --input guidance=w.npy --out samples
//   deno task dlm run lang-examples/unet_ddpm_digits.dlm --model ClassifierGuidedSampler \
//     --weights unet.safetensors --weights noisy.safetensors --input label=... --input guidance=...
//
// (label.npy: i64 [n] classes; w.npy: f32 [n] guidance weights.) tools/unet_ddpm_eval.ts samples
// both and has a separately trained LeNet judge whether the samples are of the requested class.
//
// The U-Net (Ronneberger et al., 2015, as DDPM uses it) sees the noised image as [N, 1, 8, 8]:
// a down path of residual blocks (8x8, then 4x4 after a strided convolution), a bottleneck at 2x2
// with cross-attention to the condition, and an up path whose every stage concatenates the down
// path's map of its size (the skip connections) before its residual block. The timestep enters
// as a sinusoidal embedding through a small MLP; the class enters twice: as an embedding added to
// the timestep's, which sets each residual block's adaptive group norm (the norm's scale and
// shift are computed from the embedding, Dhariwal and Nichol's AdaGN), and as a sequence, the
// class's English name spelt in letters, that the bottleneck attends to, as a text-to-image
// model attends to its prompt. Label dropout replaces the class by the null class (index 10,
// whose name is empty: five padding letters) for 10% of the samples, so one network learns both
// eps(x, c) and eps(x, null).
//
// Pixels come in [0, 1] (`--data digits`) and are scaled to [-1, 1]; the samplers return [0, 1].

// The linear schedule of Ho et al. for 1000 steps, beta from 1e-4 to 0.02, respaced to `steps`
// steps as Nichol and Dhariwal respace it: step k of the short chain is step
// floor((k + 1) 1000 / steps) - 1 of the long one, with its abar, and beta_k = 1 - abar_k /
// abar_{k-1}. So every chain length runs from almost clean data to almost pure noise (abar ends at
// 4e-5), a chain of 4 steps as well as one of 50.
let beta_first = 0.0001
let beta_last = 0.02
// The null class: the index label dropout puts in place of the class.
let NULL_CLASS = 10
// Each class's name in letters (a = 1 .. z = 26, 0 pads), rows 0..9, and the null class's empty
// name as row 10: the sequence condition the cross-attention reads.
let CLASS_NAMES = (
  (26, 5, 18, 15, 0), // zero
  (15, 14, 5, 0, 0), // one
  (20, 23, 15, 0, 0), // two
  (20, 8, 18, 5, 5), // three
  (6, 15, 21, 18, 0), // four
  (6, 9, 22, 5, 0), // five
  (19, 9, 24, 0, 0), // six
  (19, 5, 22, 5, 14), // seven
  (5, 9, 7, 8, 20), // eight
  (14, 9, 14, 5, 0), // nine
  (0, 0, 0, 0, 0), // the null class
)

// The timestep's sinusoidal embedding (Vaswani et al.'s positions, one row per timestep) through
// an MLP, plus the class's embedding: what sets every adaptive group norm.
block Conditioning(steps: int, dim: int)(t: i64[N], label: i64[N]) -> f32[N, dim] {
  let time = index_select(sinusoidal_positions(steps, dim), 0, t)
    |> time_fc1: linear(dim * 2)
    |> silu
    |> time_fc2: linear(dim)
  return time + (label |> class_embed: embedding(NULL_CLASS + 1, dim))
}

// The class's name as a sequence of letter embeddings with learned positions: [N, 5, dim].
block NameEncoder(dim: int)(label: i64[N]) -> f32[N, 5, dim] {
  let letters = index_select(tensor(CLASS_NAMES, dtype: "i64"), 0, label)
  return letters |> letter_embed: embedding(27, dim) |> add_positions
}

// Adaptive group norm: the group norm's own affine map replaced by one computed from the
// conditioning embedding, y = norm(x) * (1 + scale) + shift.
block AdaGroupNorm(groups: int)(x: f32[N, C, H, W], emb: f32[N, E]) -> f32[N, C, H, W] {
  let ss = emb |> silu |> proj: linear(C * 2)
  let scale = view(ss[:, 0:C], (N, C, 1, 1))
  let shift = view(ss[:, C:(C * 2)], (N, C, 1, 1))
  return (x |> norm: group_norm(groups, affine: false)) * (scale + 1.0) + shift
}

// A residual block: group norm, SiLU, 3x3 convolution, then the conditioned norm, SiLU and a
// second convolution; a 1x1 convolution on the skip when the width changes.
block ResBlock(width: int, groups: int)(x: f32[N, C, H, W], emb: f32[N, E]) -> f32[N, width, H, W] {
  let h = x |> norm1: group_norm(groups) |> silu |> conv1: conv2d(width, kernel: 3, pad: 1)
  h = (h, emb) |> ada: AdaGroupNorm(groups) |> silu |> conv2: conv2d(width, kernel: 3, pad: 1)
  let skip = if C == width { x } else { x |> skip: conv2d(width, kernel: 1) }
  return skip + h
}

// Cross-attention from the map's positions (the queries) to a condition sequence (keys and
// values), added back to the map: f32[N, C, H, W] attends to f32[N, S, D].
block CrossAttention(dim: int, heads: int, groups: int)(
  x: f32[N, C, H, W],
  context: f32[N, S, D],
) -> f32[N, C, H, W] {
  let tokens = x |> norm: group_norm(groups) |> view((N, C, H * W)) |> permute((0, 2, 1))
  let q = tokens |> q_proj: linear(dim) |> view((N, H * W, heads, -1)) |> permute((0, 2, 1, 3))
  let k = context |> k_proj: linear(dim) |> view((N, S, heads, -1)) |> permute((0, 2, 1, 3))
  let v = context |> v_proj: linear(dim) |> view((N, S, heads, -1)) |> permute((0, 2, 1, 3))
  let o = scaled_dot_product_attention(q, k, v)
    |> permute((0, 2, 1, 3))
    |> view((N, H * W, dim))
    |> out_proj: linear(C)
  return x + view(permute(o, (0, 2, 1)), (N, C, H, W))
}

// The noise predictor eps(x_t, t, c): x_t f32[N, 64] in [-1, 1], t and c as indices.
block UNet(steps: int, width: int, groups: int, heads: int)(
  noised: f32[N, 64],
  t: i64[N],
  label: i64[N],
) -> f32[N, 64] {
  let emb = (t, label) |> cond: Conditioning(steps, width * 4)
  let context = label |> name: NameEncoder(width * 2)
  let h0 = noised |> view((N, 1, 8, 8)) |> conv_in: conv2d(width, kernel: 3, pad: 1)
  // Down: 8x8, then 4x4.
  let h1 = (h0, emb) |> down1: ResBlock(width, groups)
  let h2 = h1 |> down1_pool: conv2d(width, kernel: 3, stride: 2, pad: 1)
  let h3 = (h2, emb) |> down2: ResBlock(width * 2, groups)
  let h4 = h3 |> down2_pool: conv2d(width * 2, kernel: 3, stride: 2, pad: 1)
  // The bottleneck at 2x2, where the map attends to the class's name.
  let m = (h4, emb) |> mid1: ResBlock(width * 2, groups)
  m = (m, context) |> mid_attn: CrossAttention(width * 2, heads, groups)
  m = (m, emb) |> mid2: ResBlock(width * 2, groups)
  // Up: back to 4x4 and 8x8, each stage concatenating the down path's map of its size.
  let u2 = m |> up2_upsample: conv_transpose2d(width * 2, kernel: 2, stride: 2)
  u2 = (concat(u2, h3, axis: 1), emb) |> up2: ResBlock(width * 2, groups)
  let u1 = u2 |> up1_upsample: conv_transpose2d(width, kernel: 2, stride: 2)
  u1 = (concat(u1, h1, axis: 1), emb) |> up1: ResBlock(width, groups)
  return u1
    |> out_norm: group_norm(groups)
    |> silu
    |> conv_out: conv2d(1, kernel: 3, pad: 1)
    |> view((N, 64))
}

// Training: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps for a random t and noise, and the
// class replaced by the null class with probability `p_uncond`.
model UNetDdpm(
  steps: int = 50,
  width: int = 32,
  groups: int = 8,
  heads: int = 4,
  p_uncond: float = 0.1,
) {
  input image: f32[N, 64]
  input label: i64[N]
  // abar_t and beta_t = 1 - abar_t / abar_{t-1} for t = 0 .. steps - 1, tuples at compile time.
  let betas = (0.0,)
  let abars = (1.0,)
  let abar = 1.0
  let kept = 1.0
  let k = 0
  for j in 0..1000 {
    abar = abar * (1.0 - (beta_first + (beta_last - beta_first) * j / 999))
    if j == floor((k + 1) * 1000 / steps) - 1 {
      betas = if k == 0 { (1.0 - abar / kept,) } else { betas + (1.0 - abar / kept,) }
      abars = if k == 0 { (abar,) } else { abars + (abar,) }
      kept = abar
      k = k + 1
    }
  }
  let x0 = image * 2.0 - 1.0
  let t = randint(0, steps, (N,))
  let eps = randn((N, 64))
  let a = unsqueeze(index_select(sqrt(tensor(abars)), 0, t), 1)
  let b = unsqueeze(index_select(sqrt(1.0 - tensor(abars)), 0, t), 1)
  // Label dropout: the null class for a fraction p_uncond of the samples.
  let dropped = bernoulli(p_uncond, (N,), dtype: "bool")
  let cls = where(dropped, NULL_CLASS, label)
  output predicted: f32[N, 64] = (a * x0 + b * eps, t, cls)
    |> unet: UNet(steps, width, groups, heads)
  output noise = eps
}

train UNetDdpm {
  loss = mse(predicted, noise)
  optimizer = adam(lr: 2e-3)
  schedule = cosine_lr(t_max: 2000, warmup: 50)
  epochs = 60
  batch_size = 64
  val_split = 0.1
}

// Ancestral sampling (DDPM) from x_T ~ N(0, I) down to x_0 in `steps` steps, unrolled: at each
// step the network sees the batch twice, with the requested class and with the null class, and
// the two predictions are mixed by the guidance weight,
//   eps = (1 + w) eps(x_t, c) - w eps(x_t, null),
// w = 0 being the plain conditional model. From eps, x_0 is estimated and clipped to [-1, 1],
//   x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t),
// and x_{t-1} is drawn from the posterior q(x_{t-1} | x_t, x0_hat), of mean
//   sqrt(abar_{t-1}) beta_t / (1 - abar_t) x0_hat + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t
// and variance beta_t (1 - abar_{t-1}) / (1 - abar_t) (none at t = 0). Every coefficient is a
// number computed at compile time.
model GuidedSampler(steps: int = 50, width: int = 32, groups: int = 8, heads: int = 4) {
  input label: i64[N]
  input guidance: f32[N]
  // abar_t and beta_t = 1 - abar_t / abar_{t-1} for t = 0 .. steps - 1, tuples at compile time.
  let betas = (0.0,)
  let abars = (1.0,)
  let abar = 1.0
  let kept = 1.0
  let k = 0
  for j in 0..1000 {
    abar = abar * (1.0 - (beta_first + (beta_last - beta_first) * j / 999))
    if j == floor((k + 1) * 1000 / steps) - 1 {
      betas = if k == 0 { (1.0 - abar / kept,) } else { betas + (1.0 - abar / kept,) }
      abars = if k == 0 { (abar,) } else { abars + (abar,) }
      kept = abar
      k = k + 1
    }
  }
  let unet = UNet(steps, width, groups, heads)
  let w = unsqueeze(guidance, 1)
  let null_label = label * 0 + NULL_CLASS
  let both = concat(label, null_label, axis: 0)
  let x = randn((N, 64))
  for k in 0..steps {
    let i = steps - 1 - k
    let t = label * 0 + i
    let eps_both = (concat(x, x, axis: 0), concat(t, t, axis: 0), both) |> unet
    let pair = view(eps_both, (2, N, 64))
    let eps = (w + 1.0) * pair[0] - w * pair[1]
    x = Denoise(abars[i], if i == 0 { 1.0 } else { abars[i - 1] }, betas[i])(x, eps)
  }
  output image: f32[N, 64] = (x + 1.0) * 0.5
}

// One reverse step of the posterior above, from x_t and the predicted noise to x_{t-1}.
// At the last step (abar_prev = 1) the variance is 0 and no noise is drawn.
block Denoise(abar: float, abar_prev: float, b: float)(x: f32[N, P], eps: f32[N, P]) -> f32[N, P] {
  let x0 = clip((x - sqrt(1.0 - abar) * eps) / sqrt(abar), -1.0, 1.0)
  let mu = x0 * (sqrt(abar_prev) * b / (1.0 - abar)) +
    x * (sqrt(1.0 - b) * (1.0 - abar_prev) / (1.0 - abar))
  return if abar_prev == 1.0 { mu } else {
    mu + randn((N, P)) * sqrt(b * (1.0 - abar_prev) / (1.0 - abar))
  }
}

// A classifier of noised digits, p(c | x_t, t): the same timestep embedding, a small
// convolutional network. Trained on its own (`--model NoisyClassifier`), its parameters are named
// `classifier.*`, as the classifier-guided sampler names them, so its weights file loads there.
block TimeClassifier(steps: int, width: int)(x: f32[N, 64], t: i64[N]) -> f32[N, 10] {
  let time = index_select(sinusoidal_positions(steps, width * 2), 0, t)
    |> time_fc: linear(width * 2)
  let h = x
    |> view((N, 1, 8, 8))
    |> conv1: conv2d(width, kernel: 3, pad: 1)
    |> silu
    |> conv2: conv2d(width * 2, kernel: 3, stride: 2, pad: 1)
  h = silu(h + view(time, (N, width * 2, 1, 1)))
  return h
    |> conv3: conv2d(width * 2, kernel: 3, stride: 2, pad: 1)
    |> silu
    |> flatten
    |> fc: linear(10)
}

model NoisyClassifier(steps: int = 50, width: int = 32) {
  input image: f32[N, 64]
  // abar_t and beta_t = 1 - abar_t / abar_{t-1} for t = 0 .. steps - 1, tuples at compile time.
  let betas = (0.0,)
  let abars = (1.0,)
  let abar = 1.0
  let kept = 1.0
  let k = 0
  for j in 0..1000 {
    abar = abar * (1.0 - (beta_first + (beta_last - beta_first) * j / 999))
    if j == floor((k + 1) * 1000 / steps) - 1 {
      betas = if k == 0 { (1.0 - abar / kept,) } else { betas + (1.0 - abar / kept,) }
      abars = if k == 0 { (abar,) } else { abars + (abar,) }
      kept = abar
      k = k + 1
    }
  }
  let x0 = image * 2.0 - 1.0
  let t = randint(0, steps, (N,))
  let a = unsqueeze(index_select(sqrt(tensor(abars)), 0, t), 1)
  let b = unsqueeze(index_select(sqrt(1.0 - tensor(abars)), 0, t), 1)
  output logits: f32[N, 10] = (a * x0 + b * randn((N, 64)), t)
    |> classifier: TimeClassifier(steps, width)
}

train NoisyClassifier {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  output accuracy = reduce_mean(cast(argmax(logits, axis: 1) == label, "f32"))
  optimizer = adam(lr: 2e-3)
  epochs = 30
  batch_size = 64
  val_split = 0.1
}

// Classifier guidance: the unconditional prediction eps(x_t, null) is moved along the gradient
// of the noisy classifier's log-probability of the requested class,
//   eps = eps(x_t, null) - s sqrt(1 - abar_t) grad_{x_t} log p(c | x_t, t),
// the score of p(x_t | c) = p(x_t) p(c | x_t) / p(c) scaled by the guidance scale s (Dhariwal
// and Nichol's Algorithm 1 in eps form). The gradient is grad() over the classifier, per sample
// since the samples do not interact.
model ClassifierGuidedSampler(
  steps: int = 50,
  width: int = 32,
  groups: int = 8,
  heads: int = 4,
  classifier_width: int = 32,
) {
  input label: i64[N]
  input guidance: f32[N]
  // abar_t and beta_t = 1 - abar_t / abar_{t-1} for t = 0 .. steps - 1, tuples at compile time.
  let betas = (0.0,)
  let abars = (1.0,)
  let abar = 1.0
  let kept = 1.0
  let k = 0
  for j in 0..1000 {
    abar = abar * (1.0 - (beta_first + (beta_last - beta_first) * j / 999))
    if j == floor((k + 1) * 1000 / steps) - 1 {
      betas = if k == 0 { (1.0 - abar / kept,) } else { betas + (1.0 - abar / kept,) }
      abars = if k == 0 { (abar,) } else { abars + (abar,) }
      kept = abar
      k = k + 1
    }
  }
  let unet = UNet(steps, width, groups, heads)
  let classifier = TimeClassifier(steps, classifier_width)
  let s = unsqueeze(guidance, 1)
  let null_label = label * 0 + NULL_CLASS
  let x = randn((N, 64))
  for k in 0..steps {
    let i = steps - 1 - k
    let t = label * 0 + i
    let logp = (x, t) |> classifier |> log_softmax(axis: 1)
    let score = grad(reduce_sum(take_along_axis(logp, unsqueeze(label, 1), axis: 1)), wrt: x)
    let eps = ((x, t, null_label) |> unet) - s * sqrt(1.0 - abars[i]) * score
    x = Denoise(abars[i], if i == 0 { 1.0 } else { abars[i - 1] }, betas[i])(x, eps)
  }
  output image: f32[N, 64] = (x + 1.0) * 0.5
}
