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

// The CIFAR variant of ResNet-18 (a 3x3 stride-1 stem, no max pool), as 32x32 images are usually
// trained: the maps stay 32x32 to 4x4 and the work is the activations', not the weights'.
model ResNet18Cifar(classes: int = 10) {
  input image: f32[N, 3, 32, 32]
  output logits: f32[N, classes] = image
    |> conv1: conv2d(64, kernel: 3, pad: 1, bias: false)
    |> bn1: batch_norm
    |> relu
    |> layer1: Stage(64, 2, 1)
    |> layer2: Stage(128, 2, 2)
    |> layer3: Stage(256, 2, 2)
    |> layer4: Stage(512, 2, 2)
    |> adaptive_avg_pool(1)
    |> flatten
    |> fc: linear(classes)
}

train ResNet18Cifar {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.1, momentum: 0.9)
  batch_size = 16
}
