// Vision Transformer (Dosovitskiy et al., 2021): the image cut into
// patch x patch squares by a strided convolution, a learned class token in
// front, learned positions, a pre-norm Transformer encoder, and a linear
// classifier on the class token. With distilled: true, DeiT's distillation
// token follows the class token and a second head reads it (the two
// predictions averaged, as DeiT at inference). Parameter names follow
// Hugging Face's ViTForImageClassification without the leading "vit."
// (embeddings.cls_token, embeddings.patch_embeddings.projection,
// encoder.layer.0.attention.attention.query, ..., layernorm, classifier).
import "lib/transformer.dlm"

block ViTLayer(dim: int, heads: int, hidden: int, eps: float = 1e-12)(
  x: f32[N, L, D],
) -> f32[N, L, D] {
  let n = x |> layernorm_before: layer_norm(eps: eps)
  let a = attention: MultiHeadAttention(
    dim,
    heads,
    names: ("attention.query", "attention.key", "attention.value", "output.dense"),
  )(n, n)
  let h = x + a
  return h +
    (h
      |> layernorm_after: layer_norm(eps: eps)
      |> "intermediate.dense": linear(hidden)
      |> gelu
      |> "output.dense": linear(dim))
}

block ViT(
  size: int,
  patch: int,
  dim: int,
  layers: int,
  heads: int,
  hidden: int,
  classes: int,
  distilled: bool,
)(image: f32[N, 3, H, W]) -> f32[N, classes] {
  assert(size % patch == 0, "the image size must be a multiple of the patch size")
  // [N, 3, H, W] -> [N, dim, H/p, W/p] -> [N, patches, dim]
  let h = image
    |> "embeddings.patch_embeddings.projection": conv2d(dim, kernel: patch, stride: patch)
    |> view((N, dim, -1))
    |> permute((0, 2, 1))
  if distilled {
    h = h |> "embeddings.distillation_token": prepend_token
  }
  h = h |> "embeddings.cls_token": prepend_token |> "embeddings.position_embeddings": add_positions
  for i in 0..layers {
    h = h |> "encoder.layer.${i}": ViTLayer(dim, heads, hidden)
  }
  h = h |> layernorm: layer_norm(eps: 1e-12)
  let logits = h[:, 0] |> classifier: linear(classes)
  return if distilled {
    (logits + (h[:, 1] |> distillation_classifier: linear(classes))) * 0.5
  } else { logits }
}

// ViT-B/16: 224 x 224 images, 16 x 16 patches, 12 layers, width 768, 12 heads (86M parameters).
model ViTB16(
  size: int = 224,
  patch: int = 16,
  dim: int = 768,
  layers: int = 12,
  heads: int = 12,
  hidden: int = 3072,
  classes: int = 1000,
  distilled: bool = false,
) {
  input image: f32[N, 3, size, size]
  output logits: f32[N, classes] = image
    |> _: ViT(size, patch, dim, layers, heads, hidden, classes, distilled)
}

// A tiny configuration for tests: 32 x 32 images, 8 x 8 patches.
model ViTTiny(
  size: int = 32,
  patch: int = 8,
  dim: int = 32,
  layers: int = 2,
  heads: int = 4,
  hidden: int = 64,
  classes: int = 10,
  distilled: bool = false,
) {
  input image: f32[N, 3, size, size]
  output logits: f32[N, classes] = image
    |> _: ViT(size, patch, dim, layers, heads, hidden, classes, distilled)
}
