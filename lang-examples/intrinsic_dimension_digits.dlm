// Intrinsic dimension (Li et al. 2018): train an MLP 64-64-10 on the digits not in its own
// 4,810 coordinates but in a random d-dimensional subspace of them, theta = theta0 + P z, where
// theta0 is the initialisation, P a fixed random D x d projection and z (d numbers, zero at the
// start) the only thing that trains. d_90, the smallest d whose validation accuracy reaches 90%
// of the full model's, measures how many directions the task needs.
//
//   deno task dlm train lang-examples/intrinsic_dimension_digits.dlm --data digits
//   deno task dlm train lang-examples/intrinsic_dimension_digits.dlm --model MlpDigitsSubspace \
//     --set d=100 --data digits
//   deno task dlm sweep lang-examples/intrinsic_dimension_digits.dlm --model MlpDigitsSubspace \
//     --set d=5,10,20,40,80,160,320,640,1280 --metric accuracy \
//     --reference-model MlpDigitsFull --data digits -o out/intrinsic
//
// P is dense (entries N(0, 1/D)) while D d fits in 16 MiB, else the structured fastfood
// projection H G Pi H B, of which only three vectors of about D numbers are stored.
// `dlm compile --adapters merged --weights trained.safetensors` folds theta0 + P z into plain
// weights: the merged model is the MLP itself.

// d: the subspace's dimension, read by MlpDigitsSubspace below (the full model ignores it).
model MlpDigitsFull(hidden: int = 64, d: int = 100) {
  input image: f32[N, 64]
  output logits: f32[N, 10] = image |> fc1: linear(hidden) |> relu |> fc2: linear(10)
}

// The reference: every parameter trains.
train MlpDigitsFull {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  output accuracy = reduce_mean(cast(argmax(logits, axis: 1) == label, "f32"))
  optimizer = adam(lr: 0.003)
  epochs = 30
  batch_size = 32
  val_split = 0.2
}

// Only z trains: one vector of d numbers shared by all four parameters.
model MlpDigitsSubspace = MlpDigitsFull with subspace(d: d)

train MlpDigitsSubspace {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  output accuracy = reduce_mean(cast(argmax(logits, axis: 1) == label, "f32"))
  optimizer = adam(lr: 0.03)
  epochs = 30
  batch_size = 32
  val_split = 0.2
}
