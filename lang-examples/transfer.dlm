// Transfer learning: ResNet-18's feature extractor with a new head for a
// new task. Load a trained backbone by name (the file may be a torchvision
// resnet18 state dict saved as safetensors: its fc.* tensors are reported
// as unused and the new head keeps its initial values):
//
//   dlm compile lang-examples/transfer.dlm -o transfer.onnx --weights resnet18.safetensors
//
// The backbone is frozen: training updates only the head.
import "resnet18.dlm"

model Transfer(classes: int = 5, size: int = 224) {
  input image: f32[N, 3, size, size]
  freeze "conv1.*"
  freeze "bn1.*"
  freeze "layer*"
  let features = image |> _: ResNet18Features()
  output logits: f32[N, classes] = features |> dropout(0.2) |> head: linear(classes)
}
