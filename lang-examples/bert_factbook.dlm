// BERT's pre-training objective (Devlin et al., 2019), masked language
// modelling, on English prose: 15% of the positions of each window are
// chosen; of those, 80% are replaced by [MASK], 10% by a random token and
// 10% left as they are, and the model predicts the original token at the
// chosen positions only.
//
//   dlm tokenizer train lang-examples/data/factbook.txt --vocab-size 2048 \
//       --special "[MASK]" -o bert_tok.json
//   dlm train lang-examples/bert_factbook.dlm --tokenizer bert_tok.json --set "mask_id=[MASK]" \
//       --data ids=text:lang-examples/data/factbook.txt:64 --save bert.safetensors
//
// Framing: the data are windows of 64 consecutive token ids of the corpus
// (`text:FILE:T`), packed across sentence and paragraph ends, with no
// [CLS]/[SEP] and no sentence pairs: the masked-language-model objective
// alone, as RoBERTa trains it (without next-sentence prediction). Every
// position is attended to (no padding) and has token type 0.
//
// Special tokens: `dlm tokenizer train --special ...` gives them the last ids
// of the vocabulary, in order, so the model takes `specials` (how many there
// are) and `mask_id`. `--set "mask_id=[MASK]"` with `--tokenizer` reads the
// id from the tokenizer (a tokenizer without [MASK] is DLM0335); without it,
// a negative mask_id counts from the end as a Python index does, and the
// default -1 is the last id, [MASK] for a tokenizer trained with
// `--special "[MASK]"` (last, or alone) whose vocabulary is `vocab` tokens
// (a small corpus may not fill it). A mask_id outside the vocabulary, or not
// among its last `specials` ids, is an error at compile time (DLM0306).
// Positions holding a special token are never chosen, and a random
// replacement is never special.
//
// The masking is drawn in the graph at every step from the random built-ins
// (5.8), so `dlm diff --train` feeds both runtimes the same draws and a
// resumed run continues bit for bit; the evaluation model draws the same
// masks every epoch, so `val_masked_accuracy` compares epochs on the same
// held-out positions.
import "bert.dlm"

// The corrupted ids, the labels (the original id at a chosen position, -100,
// cross_entropy's ignore_index, elsewhere) and the chosen positions.
// ordinary = id < vocab - specials; chosen = ordinary and u < rate for u ~ U[0, 1);
// with a second r ~ U[0, 1): r < 0.8 -> mask_id, 0.8 <= r < 0.9 -> a random
// ordinary id, r >= 0.9 -> unchanged.
block MaskTokens(vocab: int, mask_id: int, specials: int, rate: float)(ids: i64[N, T]) {
  let ordinary = ids < vocab - specials
  let chosen = rand((N, T)) < rate && ordinary
  let r = rand((N, T))
  let random_ids = randint(0, vocab - specials, (N, T))
  let corrupted = where(chosen && r < 0.8, mask_id, where(chosen && r >= 0.9, random_ids, ids))
  return (corrupted, where(chosen, ids, -100), chosen)
}

// The pre-training model: masking, then BERT with its tied MLM head.
model BertFactbook(
  vocab: int = 2048,
  positions: int = 64,
  dim: int = 128,
  layers: int = 4,
  heads: int = 4,
  hidden: int = 512,
  mask_id: int = -1,
  specials: int = 1,
  rate: float = 0.15,
) {
  let mask = if mask_id < 0 { vocab + mask_id } else { mask_id }
  assert(
    mask >= vocab - specials && mask < vocab,
    "mask_id ${mask_id} is not one of the last ${specials} id(s) of the vocabulary of ${vocab} " +
      "(${vocab - specials}..${vocab - 1}), where `dlm tokenizer train --special` puts [MASK]",
  )
  input ids: i64[N, T]
  let (corrupted, l, c) = masking: MaskTokens(vocab, mask, specials, rate)(ids)
  output masked_ids = corrupted
  output labels = l
  output chosen = c
  output logits: f32[N, T, vocab] = (corrupted, ids * 0 + 1, ids * 0)
    |> _: Bert(vocab, positions, 1, dim, layers, heads, hidden)
}

train BertFactbook {
  // Cross entropy at the chosen positions only: the labels elsewhere are -100, ignored and not
  // counted in the mean.
  loss = cross_entropy(transpose(logits, (0, 2, 1)), labels)
  // The share of chosen positions whose original token is the top prediction.
  output masked_accuracy = reduce_sum(
    cast(chosen && argmax(logits, axis: 2) == labels, "f32"),
  ) / maximum(reduce_sum(cast(chosen, "f32")), 1.0)
  optimizer = adamw(lr: 1e-3, no_decay: "*.bias")
  epochs = 1
  batch_size = 32
  val_split = 0.05
}
