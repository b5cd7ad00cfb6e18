// expect DLM0208
// The declared output type says 10 classes; the head makes 5.
model Classifier(classes: int = 10) {
  input x: f32[N, 64]
  output logits: f32[N, classes] = x |> linear(5)
}
