// expect DLM0104
// The imported file does not exist.
import "layers/no_such_file.dlm"

model Uses {
  input x: f32[N, 4]
  output y = x |> relu
}
