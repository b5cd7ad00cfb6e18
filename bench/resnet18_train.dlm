// ResNet-18 for 32x32 images and 10 classes, trained with SGD and momentum:
// the largest model of the training benchmark (bench/bench_train.ts).
import "../lang-examples/resnet18.dlm"

model ResNet18Small(classes: int = 10, size: int = 32) {
  input image: f32[N, 3, size, size]
  output logits: f32[N, classes] = image |> _: ResNet18Features() |> fc: linear(classes)
}

train ResNet18Small {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.1, momentum: 0.9)
  batch_size = 16
}
