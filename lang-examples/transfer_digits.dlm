// Transfer learning on the digits: the hidden layer of a trained MLP
// (lang-examples/mlp_digits.dlm) is kept frozen as a feature extractor and
// only a new head is trained, here to tell even digits from odd ones.
//
//   deno task dlm train lang-examples/mlp_digits.dlm --data digits --save out/mlp.safetensors
//   deno task dlm train lang-examples/transfer_digits.dlm --data image=digits:0-63 \
//     --data label=digits:64 --weights out/mlp.safetensors
//
// Only head.weight and head.bias change; fc1.* loads from the MLP's file.

model ParityHead(hidden: int = 32) {
  input image: f32[N, 64]
  let features = image |> fc1: linear(hidden) |> relu
  output logits: f32[N, 2] = features |> head: linear(2)
}

train ParityHead {
  input label: i64[N]
  freeze "fc1.*"
  let parity = label % 2
  loss = cross_entropy(logits, parity)
  output accuracy = reduce_mean(cast(argmax(logits, axis: 1) == parity, "f32"))
  optimizer = adam(lr: 0.01)
  epochs = 10
  batch_size = 32
  val_split = 0.2
}
