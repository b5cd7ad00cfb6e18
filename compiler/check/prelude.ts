/**
 * The standard prelude: layers written in .dlm itself, visible in every
 * file (a user definition of the same name takes precedence).
 */
export const PRELUDE_PATH = "<prelude>";

export const PRELUDE = `// Convolution, batch norm, ReLU: the workhorse of CNNs.
block conv_bn_relu(out: int, kernel: int = 3, stride: int = 1, pad: int = -1)(x) {
  let p = if pad < 0 { floor(kernel / 2) } else { pad }
  return x |> conv: conv2d(out, kernel: kernel, stride: stride, pad: p, bias: false) |> bn: batch_norm |> relu
}

// Linear layer followed by ReLU.
block linear_relu(out: int)(x) {
  return x |> fc: linear(out) |> relu
}

// The circle constant, for compile-time trigonometry (cosine schedules, rotations); last, so
// the spans of the blocks above stay where they were.
let pi = 3.141592653589793
`;
