// CLIP (Radford et al., 2021) on the 8x8 handwritten digits: an image encoder
// and a text encoder map a digit and a caption naming its class into one
// embedding space, trained with the symmetric cross-entropy over the batch's
// image-caption similarity matrix (each image's own caption is its positive,
// the other captions in the batch its negatives, and the same the other way
// round) and a learned temperature.
//
//   deno task dlm train lang-examples/clip_digits.dlm --data digits --save clip.safetensors
//
// The captions are made in the graph from each digit's label: one of four
// templates drawn at random per sample ("a handwritten digit seven",
// "the number seven", "a written seven", "seven"), as word ids of a small
// vocabulary (below). The train section reports zero-shot accuracy: each image
// is given the class whose prompts, encoded by the text encoder and averaged
// over the templates (CLIP's prompt ensemble), lie closest to its embedding.
// No classifier is trained; the labels only choose the captions. To classify
// digits with the trained encoders:
//
//   deno task dlm run lang-examples/clip_digits.dlm --model ZeroShot \
//     --weights clip.safetensors --input image=digits.npy --out zs/
//
// writes zs/predicted.npy (the class) and zs/class_logits.npy (the scaled
// cosine similarity to each class's prompts).
import "lib/transformer.dlm"

// The vocabulary: 0 padding, 1 "a", 2 "handwritten", 3 "digit", 4 "the", 5 "number",
// 6 "written", and 10 + c the name of digit c ("zero" .. "nine").
let WORDS = 20
// Each template's words before the name, padded in front: "a handwritten digit seven",
// "the number seven", "a written seven", "seven".
let TEMPLATES = [[1, 2, 3], [0, 4, 5], [0, 1, 6], [0, 0, 0]]

// The caption of class c[i] under template t[i]: i64[B, 4], the name last.
block Caption(c: i64[B], t: i64[B]) -> i64[B, 4] {
  let words = gather(tensor(TEMPLATES, dtype: "i64"), t)
  return concat(words, unsqueeze(c + 10, 1), axis: 1)
}

// Rows scaled to unit length.
block Normalize(x: f32[B, D]) -> f32[B, D] {
  return x / sqrt(reduce_sum(x * x, axes: 1, keepdims: true) + 1e-12)
}

block ImageEncoder(hidden: int, embed: int)(x: f32[N, 64]) -> f32[N, embed] {
  return x
    |> fc1: linear(hidden)
    |> relu
    |> fc2: linear(hidden)
    |> relu
    |> proj: linear(embed, bias: false)
}

// Word embeddings and positions, a pre-norm Transformer, and (as CLIP reads its
// end-of-text token) the last position's features, which here is the class name
// having attended to its template.
block TextEncoder(width: int, layers: int, heads: int, embed: int)(
  ids: i64[B, T],
) -> f32[B, embed] {
  let h = ids
    |> token_embedding: embedding(WORDS, width)
    |> positional_embedding: add_positions
    |> transformer: Encoder(layers, width, heads, 4 * width, norm_first: true, act: "gelu")
    |> ln_final: layer_norm
  return h[:, -1] |> text_projection: linear(embed, bias: false)
}

// Zero-shot classification: the ten classes' prompts under every template, encoded and
// averaged per class (renormalised), against the image embeddings [N, 10].
block ZeroShotLogits(text_encoder, scale: f32[])(image_embeds: f32[N, D]) -> f32[N, 10] {
  let classes = arange(10)
  let class_sum = Caption(classes, classes * 0) |> text_encoder |> Normalize
  for t in 1..len(TEMPLATES) {
    class_sum = class_sum + (Caption(classes, classes * 0 + t) |> text_encoder |> Normalize)
  }
  return scale * image_embeds @ (class_sum |> Normalize).T
}

// CLIP's temperature: logit_scale starts at log(1 / 0.07), and exp(logit_scale) is kept
// within [1, 100] (open_clip clamps the parameter to [0, log 100] after each step; here
// the clamp is in the forward, so the gradient stops at the bound).
block Scale()() -> f32[] {
  let logit_scale = param((), name: "logit_scale", init: constant(2.6592600369))
  return exp(clip(logit_scale, 0.0, 4.6051701860))
}

model Clip(hidden: int = 128, embed: int = 32, width: int = 32, layers: int = 1, heads: int = 4) {
  input image: f32[N, 64]
  input label: i64[N]
  let text_encoder = text: TextEncoder(width, layers, heads, embed)
  output image_embeds: f32[N, embed] = image |> visual: ImageEncoder(hidden, embed) |> Normalize
  // A caption per image, its template drawn at random (in eval mode too).
  let captions = Caption(label, randint(0, len(TEMPLATES), (N,)))
  output text_embeds: f32[N, embed] = captions |> text_encoder |> Normalize
  output scale = _: Scale()()
  // [N images, N captions]: the scaled cosine similarities.
  output logits_per_image: f32[N, N] = scale * image_embeds @ text_embeds.T
  output zero_shot_logits = image_embeds |> ZeroShotLogits(text_encoder, scale)
}

// The trained encoders as a classifier: image in, class out (Clip's parameter names).
model ZeroShot(
  hidden: int = 128,
  embed: int = 32,
  width: int = 32,
  layers: int = 1,
  heads: int = 4,
) {
  input image: f32[N, 64]
  let image_embeds = image |> visual: ImageEncoder(hidden, embed) |> Normalize
  let text_encoder = text: TextEncoder(width, layers, heads, embed)
  let scale = _: Scale()()
  output class_logits = image_embeds |> ZeroShotLogits(text_encoder, scale)
  output predicted = argmax(class_logits, axis: 1)
}

train Clip {
  // Image i's caption is caption i: the diagonal is the target, across the rows (image to
  // text) and down the columns (text to image).
  let targets = arange(image.shape[0], like: image)
  loss = (
    cross_entropy(logits_per_image, targets) +
      cross_entropy(transpose(logits_per_image, (1, 0)), targets)
  ) / 2
  output zero_shot_accuracy = reduce_mean(cast(argmax(zero_shot_logits, axis: 1) == label, "f32"))
  output temperature = 1.0 / scale
  optimizer = adamw(lr: 2e-3, weight_decay: 0.1, no_decay: "*logit_scale")
  epochs = 30
  batch_size = 128
  val_split = 0.2
}
