// LeNet (lenet_digits.dlm) trained on a small slice of the 8x8 digits, 300 images, with data
// augmentation inside the training step: each image gets its own small rotation, shift, scale and
// shear (bilinear, zeros outside) at every step, drawn from the step's random stream, so a run is
// reproducible under --seed and `dlm diff --train` shares the draws. The evaluation model has no
// augmentation node at all. No flips: a mirrored 2 is not a 2.
//
//   deno task dlm train lang-examples/lenet_digits_augmented.dlm --data digits
//   deno task dlm train lang-examples/lenet_digits_augmented.dlm --data digits --set augment=false
//
// Validation accuracy on the held-out fifth of the set (359 images), five seeds each: see the
// README's table ("Data augmentation").

model LenetDigitsAugmented(
  classes: int = 10,
  augment: bool = true,
  degrees: float = 15.0,
  shift: float = 0.125,
  zoom: float = 0.1,
  shear: float = 10.0,
  c1: int = 16,
  c2: int = 32,
) {
  input image: f32[N, 64]
  let x = image |> reshape((-1, 1, 8, 8))
  let seen = if augment {
    x |> random_affine(degrees: degrees, translate: (shift, shift), scale: (1.0 - zoom, 1.0 + zoom), shear: shear)
  } else {
    x
  }
  output logits: f32[N, classes] = seen
    |> conv1: conv2d(c1, kernel: 3, pad: 1) |> relu |> max_pool(2)
    |> conv2: conv2d(c2, kernel: 3, pad: 1) |> relu |> max_pool(2)
    |> flatten
    |> fc1: linear(120) |> relu |> dropout(0.3)
    |> fc2: linear(84) |> relu
    |> fc3: linear(classes)
}

train LenetDigitsAugmented {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  output accuracy = reduce_mean(cast(argmax(logits, axis: 1) == label, "f32"))
  optimizer = adamw(lr: 0.001, weight_decay: 0.01)
  epochs = 60
  batch_size = 16
  val_split = 0.2
  train_samples = 300
}
