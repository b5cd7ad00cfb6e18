// expect DLM0270
// A reference model that does not match the policy it copies: one layer is narrower, and
// another copy names a sub-model that does not exist.
block Scorer(hidden: int = 16)(x: f32[N, C]) {
  return x |> fc1: linear(hidden) |> relu |> fc2: linear(4)
}

model Preference {
  input prompt: f32[N, 8]
  init ref from policy
  init target from polcy
  freeze ref
  output policy_logp = prompt |> policy: Scorer()
  output ref_logp = prompt |> ref: Scorer(hidden: 8)
  output target_logp = prompt |> target: Scorer()
}
