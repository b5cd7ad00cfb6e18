// LoRA on a CNN: ResNet-18 adapted to a new task. Each 3x3 convolution of
// the last two stages gets a rank-8 update (A is a 3x3 convolution to 8
// channels, B a 1x1 convolution back, B = 0 at the start), and the new
// classifier head trains in full (also_train); the rest of the backbone,
// batch-norm statistics included, stays frozen.
//
//   dlm compile resnet_lora.dlm --set classes=10 --weights resnet18.safetensors \
//       --weights tuned.safetensors --adapters merged -o resnet_tuned.onnx
// gives ResNet-18's graph with W + (alpha/r) B A folded into each conv.
import "resnet18.dlm"

model ResNet18LoRA = ResNet18 with lora(
  rank: 8,
  alpha: 8,
  targets: "layer{3,4}.*.conv{1,2}",
  name: "task",
),
  also_train(targets: "fc.*")

train ResNet18LoRA {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  output accuracy = reduce_mean(cast(argmax(logits, axis: 1) == label, "f32"))
  optimizer = adam(lr: 1e-3)
}
