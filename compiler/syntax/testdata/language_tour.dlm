import "layers/common.dlm"          // ImportDecl
let base_width = 64                 // ConstDecl (top-level let, optional type: `let w: int = 64`)

model LeNet5(classes: int = 10) {   // ModelDecl; the parameter list is optional: `model Tiny { ... }`
  input image: f32[N, 1, 32, 32]
  output logits: f32[N, classes] = image
    |> conv2d(6, kernel: 5) |> tanh |> avg_pool(2)
    |> flatten
    |> linear(classes)
}

// BlockDecl with a config list then an input list; with ONE list, config=[] and the list is the inputs.
block Basic(width: int, stride: int = 1)(x: f32[N, C, H, W]) -> f32[N, width, _, _] {
  let y = x
    |> conv1: conv2d(width, kernel: 3, stride: stride, pad: 1, bias: false)   // labelled stage
    |> bn1: batch_norm |> relu
  let skip = if stride == 1 && C == width { x }
             else { x |> downsample: (conv2d(width, kernel: 1, stride: stride, bias: false) |> batch_norm) }  // labelled group
  return relu(y + skip)
}

block Fractal(c: int, depth: int)(x) {
  if depth == 1 { return x |> conv_bn_relu(c) }
  else if depth > 10 { return x }
  return join(x |> Fractal(c, depth - 1) |> Fractal(c, depth - 1), x |> conv_bn_relu(c))
}

model ResNet {
  input x: f32[N, 3, 224, 224]
  let h = x |> stem: Stem
  for (i, (w, s)) in enumerate([(64, 1), (128, 2)]) {     // for with tuple destructuring (names flattened in order: i, w, s)
    h = h |> "layer${i + 1}": Stage(w, 2, s)              // AssignStmt; label is a string with ${expr} interpolation
  }
  for i in 0..4 { h = h |> "${i}": Basic(64) }            // ranges: a..b (exclusive), a..=b (inclusive)
  let enc = Encoder(128)                                  // binding a layer instance
  let (a, b) = split2(h)                                  // LetStmt with destructure=true, names [a, b]
  init conv2d.weight = kaiming_normal(mode: "fan_out")    // InitStmt, target "conv2d.weight", glob=false
  init "layer*.bn2.weight" = zeros                        // InitStmt, glob=true
  freeze "features.*"                                     // FreezeStmt glob=true; `freeze features` glob=false
  assert(w > 0, "width must be positive")                 // ExprStmt
  let z = mu + exp(0.5 * logvar) * randn_like(mu)
  let m = q @ k.T / sqrt(d) ; let s = x[:, 0, 1:3, ::2] ; let t = shape[-1]
  let c = conv1: conv2d(64)(x)                            // LabeledExpr outside a pipe (label = identifier)
  output recon = h
  output feats                                            // OutputStmt without value: exports binding `feats`
  return a, b                                             // return of a tuple (in blocks)
}

train GPT with lora(rank: 8, alpha: 16, targets: "layers.*.attn.{q,v}") {   // TrainDecl: with-list optional
  input next: i64[N, T]
  loss = cross_entropy(logits, next)                       // AssignStmt
  optimizer = adamw(lr: 2e-4)
}
