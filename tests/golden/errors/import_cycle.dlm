// expect DLM0105
// This file imports a file that imports it back.
import "imports/cycle_partner.dlm"

model Cyclic {
  input x: f32[N, 4]
  output y = x |> Helper()
}
