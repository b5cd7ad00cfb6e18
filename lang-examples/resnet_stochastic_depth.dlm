// ResNet with stochastic depth (Huang et al., 2016): in train mode each
// residual branch is dropped for a whole sample with a probability that
// grows linearly with depth, up to `p_last` for the last block; in eval mode
// every block is active. drop_path scales kept branches by 1/(1 - p) during
// training, so eval needs no rescaling.
import "resnet18.dlm"

block StochasticBlock(width: int, stride: int, p: float)(x: f32[N, C, H, W]) {
  let y = x
    |> conv1: conv2d(width, kernel: 3, stride: stride, pad: 1, bias: false)
    |> bn1: batch_norm
    |> relu
    |> conv2: conv2d(width, kernel: 3, pad: 1, bias: false)
    |> bn2: batch_norm
    |> drop_path(p)
  let skip = if stride == 1 &&
    C == width { x } else {
      x |> downsample: (conv2d(width, kernel: 1, stride: stride, bias: false) |> batch_norm)
    }
  return relu(y + skip)
}

model StochasticDepthResNet(
  classes: int = 10,
  blocks: int = 3,
  p_last: float = 0.5,
  size: int = 32,
) {
  input image: f32[N, 3, size, size]
  let h = image |> conv1: conv2d(16, kernel: 3, pad: 1, bias: false) |> bn1: batch_norm |> relu
  let total = 3 * blocks
  let l = 0
  for (s, width) in enumerate([16, 32, 64]) {
    for i in 0..blocks {
      l = l + 1
      let stride = if s > 0 && i == 0 { 2 } else { 1 }
      h = h |> "layer${s + 1}.${i}": StochasticBlock(width, stride, p_last * l / total)
    }
  }
  output logits: f32[N, classes] = h |> global_avg_pool |> flatten |> fc: linear(classes)
}
