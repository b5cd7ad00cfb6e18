// The other half of ../import_cycle.dlm: it imports that file back.
import "../import_cycle.dlm"

block Helper()(x) {
  return x |> relu
}
