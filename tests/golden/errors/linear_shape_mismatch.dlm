// expect DLM0235
// One linear layer applied to inputs of two widths: its weight fits only the first.
model Shared {
  input a: f32[N, 16]
  input b: f32[N, 32]
  let proj = linear(8)
  output ya = proj(a)
  output yb = proj(b)
}
