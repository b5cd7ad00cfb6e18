// A GRU encoder whose initial state is a model input (e.g. a context vector from another network,
// or the state left by the previous chunk). Gives every step's state and the final one.
model GruEncoder(features: int = 64, hidden: int = 256, layers: int = 1) {
  input x: f32[N, T, features]
  input h0: f32[layers, N, hidden]
  let (y, h) = x |> gru: gru(hidden, layers: layers)(h0: h0)
  output states: f32[N, T, hidden] = y
  output h_n: f32[layers, N, hidden] = h
}
