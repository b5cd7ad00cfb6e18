// FractalNet (Larsson et al., 2016): the expansion rule
//   f_1(z) = conv(z)
//   f_{C+1}(z) = join(f_C(f_C(z)), conv(z))
// unrolled by the compiler, where join is the elementwise mean of its
// branches. A network is a few fractal blocks separated by pooling.

block Fractal(c: int, depth: int)(x) {
  if depth == 1 {
    return x |> conv_bn_relu(c)
  }
  return join(
    x |> deep: (Fractal(c, depth - 1) |> Fractal(c, depth - 1)),
    x |> shallow: conv_bn_relu(c),
  )
}

model FractalNet(classes: int = 10, columns: int = 3, width: int = 64, size: int = 32) {
  input image: f32[N, 3, size, size]
  let h = image
  for (b, mult) in enumerate([1, 2, 4, 8]) {
    h = h |> "block${b + 1}": Fractal(width * mult, columns) |> max_pool(2)
  }
  output logits: f32[N, classes] = h |> global_avg_pool |> flatten |> fc: linear(classes)
}
