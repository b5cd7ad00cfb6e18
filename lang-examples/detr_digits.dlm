// DETR (Carion et al., 2020): detection as set prediction. A CNN backbone
// turns the canvas into a feature map; its cells, with 2D sine positions,
// are the tokens of a Transformer encoder. A Transformer decoder turns a
// fixed set of object queries into as many predictions, each a class (or
// "no object", class `classes`) and a box (centre, width, height in [0, 1]
// of the canvas). No anchors are assigned and there is no NMS: the loss makes
// each object the job of exactly one query. The object queries are DINO's
// (after DAB-DETR): zero content at a learned reference box each, the query's
// position the box's centre in the image's own sine features (through an
// MLP), and its predicted box the reference moved in logit space (DAB-DETR
// reports it converging in far fewer epochs than DETR's free embeddings).
//
// The set loss. For each image, the cost of giving object k to query q is
//   C[k, q] = -p_q(class_k) * w_class + |b_k - b^_q|_1 * w_l1 - GIoU(b_k, b^_q) * w_giou
// and the matching is the assignment of objects to distinct queries of
// least total cost, exact: linear_sum_assignment (the Hungarian method, in
// the ONNX step; no gradient flows through the assignment). Then: cross
// entropy on every query's class, the matched object's or "no object",
// the latter weighted by `eos` (0.1) against the many empty queries; and on
// matched queries only, L1 and 1 - GIoU between boxes (generalized_box_iou),
// averaged over the objects. Every decoder layer's output goes through the
// same heads and gets the same loss with a matching of its own (auxiliary
// decoding losses), summed over the layers.
//
// DINO's contrastive denoising (Zhang et al., 2022), `--set dn_groups=G`:
// in training, G groups of extra queries are noised ground truth. For each
// object, a positive query (its box moved by less than dn_box_noise times
// half its size per side, its label flipped with probability dn_label_noise)
// must reconstruct the object, and a negative query (moved by between one
// and two times that) must say "no object". Their content is an embedding of
// the (noised) label and their reference box the noised box; they need no
// matching (each knows its object). An attention mask keeps the matching
// queries from seeing any denoising query, and each group from seeing the
// others, so the matching part, and so what the model predicts at inference
// (without the extra queries), is the same computation as without them.
//
// A Grounding-DINO-style open-set head (Liu et al., 2023), `--set head="text"`:
// the classes are their names, the words "zero" .. "nine" as letter tokens
// (a = 1 .. z = 26, 0 padding). A small Transformer encodes each name; a
// feature enhancer cross-attends image tokens to the names and the names to
// the image; each decoder layer cross-attends to the names before the image;
// and a query's class logits are its similarity with each name (dot product
// of projections / sqrt(dim)), beside a learned "no object" logit. Nothing in
// the head has a weight per class: the classes are whatever names it reads.
//
// Data: canvases of several digits (tools/digits_detection_data.ts):
//   deno run -A tools/digits_detection_data.ts out/canvases --objects 4 --count 2000 --digits 0:1500
//   deno task dlm train lang-examples/detr_digits.dlm --data image=out/canvases/image.npy \
//       --data boxes=out/canvases/boxes.npy --data labels=out/canvases/labels.npy \
//       --data mask=out/canvases/mask.npy
// The full-size configuration (DETR-R50's dims: ResNet-50, width 256, 8 heads,
// 6 + 6 layers, feed-forward 2048, 100 queries, 91 classes, 800 x 800 RGB):
//   --set backbone="resnet50" --set size=800 --set channels=3 --set dim=256 --set heads=8
//   --set hidden=2048 --set enc_layers=6 --set dec_layers=6 --set queries=100 --set classes=91
//   --set objects=20 (ground truth padded to 20 objects an image)
import "lib/transformer.dlm"

// The names of the ten digits as letter tokens, padded with 0 to 5 letters.
let DIGIT_NAMES = (
  (26, 5, 18, 15, 0),
  (15, 14, 5, 0, 0),
  (20, 23, 15, 0, 0),
  (20, 8, 18, 5, 5),
  (6, 15, 21, 18, 0),
  (6, 9, 22, 5, 0),
  (19, 9, 24, 0, 0),
  (19, 5, 22, 5, 14),
  (5, 9, 7, 8, 20),
  (14, 9, 14, 5, 0),
)

// Three stride-2 convolutions (a 1/16 map would be 4 x 4 on a 64 x 64 canvas) and one more.
block SmallBackbone(width: int)(x) {
  return x
    |> conv1: conv2d(width, kernel: 3, stride: 2, pad: 1)
    |> bn1: batch_norm
    |> relu
    |> conv2: conv2d(width, kernel: 3, stride: 2, pad: 1)
    |> bn2: batch_norm
    |> relu
    |> conv3: conv2d(width, kernel: 3, stride: 2, pad: 1)
    |> bn3: batch_norm
    |> relu
    |> conv4: conv2d(width, kernel: 3, pad: 1)
    |> bn4: batch_norm
    |> relu
}

// ResNet-50 (resnet50.dlm) without its classifier: [N, 2048, H / 32, W / 32].
block R50Bottleneck(width: int, stride: int = 1)(x: f32[N, C, H, W]) -> f32[N, width * 4, _, _] {
  let y = x
    |> conv1: conv2d(width, kernel: 1, bias: false)
    |> bn1: batch_norm
    |> relu
    |> conv2: conv2d(width, kernel: 3, stride: stride, pad: 1, bias: false)
    |> bn2: batch_norm
    |> relu
    |> conv3: conv2d(width * 4, kernel: 1, bias: false)
    |> bn3: batch_norm
  let skip = if stride == 1 &&
    C == width * 4 { x } else {
      x |> downsample: (conv2d(width * 4, kernel: 1, stride: stride, bias: false) |> batch_norm)
    }
  return relu(y + skip)
}

block ResNet50Backbone()(x) {
  let h = x
    |> conv1: conv2d(64, kernel: 7, stride: 2, pad: 3, bias: false)
    |> bn1: batch_norm
    |> relu
    |> max_pool(3, stride: 2, pad: 1)
  for (s, (width, blocks)) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)]) {
    for i in 0..blocks {
      h = h |> "layer${s + 1}.${i}": R50Bottleneck(width, if i == 0 && s > 0 { 2 } else { 1 })
    }
  }
  return h
}

// Sine features of positions x [..., 1] (in cells): sin(x f_i), cos(x f_i) for the
// frequencies f_i = 10000^(-2i / n), i < n / 2: [..., n].
block Sine(n: int)(x) {
  let fs = []
  for i in 0..floor(n / 2) {
    fs = fs + [10000.0 ** (-2.0 * i / n)]
  }
  let xf = x * tensor(fs)
  return concat(sin(xf), cos(xf), axis: -1)
}

// DETR's 2D sine positions of an H x W map: half the channels encode the row, half the column,
// at the cells' centres.
block SinePositions2d(dim: int)(f: f32[N, C, H, W]) -> f32[1, H * W, dim] {
  let half = floor(dim / 2)
  let ys = unsqueeze(cast(arange(H), "f32") + 0.5, 1) |> Sine(half)
  let xs = unsqueeze(cast(arange(W), "f32") + 0.5, 1) |> Sine(half)
  let py = expand(unsqueeze(ys, 1), (H, W, half))
  let px = expand(unsqueeze(xs, 0), (H, W, half))
  return reshape(concat(py, px, axis: 2), (1, H * W, dim))
}

// A query's position from its reference box ref [B, T, 4] (cx, cy, w, h in [0, 1]): the same
// sine features as the image's cell at its centre (on an H x W map), through an MLP (DAB-DETR's
// ref_point_head), so that a query finds its place on the map by a dot product.
block RefPositions(dim: int, H: int, W: int)(ref) {
  let half = floor(dim / 2)
  let s = concat(ref[:, :, 1:2] * H |> Sine(half), ref[:, :, 0:1] * W |> Sine(half), axis: -1)
  return s |> "layers.0": linear(dim) |> relu |> "layers.1": linear(dim)
}

// log(x / (1 - x)), the inverse of the sigmoid, kept finite at 0 and 1.
block InverseSigmoid()(x) {
  let c = clip(x, 1e-3, 1.0 - 1e-3)
  return log(c / (1.0 - c))
}

// Multi-head attention with its own query, key and value inputs: DETR adds positions to
// queries and keys, never to values. mask: bool (true = attend), when masked.
block Attention(dim: int, heads: int, masked: bool = false)(q_in, k_in, v_in, mask) {
  let q = q_in |> q_proj: linear(dim) |> SplitHeads(heads)
  let k = k_in |> k_proj: linear(dim) |> SplitHeads(heads)
  let v = v_in |> v_proj: linear(dim) |> SplitHeads(heads)
  let o = if masked { scaled_dot_product_attention(q, k, v, mask: mask) } else {
    scaled_dot_product_attention(q, k, v)
  }
  return o |> MergeHeads |> out_proj: linear(dim)
}

// DETR's encoder layer (post-norm), positions added to queries and keys.
block EncoderLayerPos(dim: int, heads: int, hidden: int)(x: f32[N, S, D], pos) -> f32[N, S, D] {
  let qk = x + pos
  let attn = self_attn: Attention(dim, heads)
  let h = x + attn(qk, qk, x, 0.0) |> norm1: layer_norm
  return h + (h |> _: FeedForward(dim, hidden)) |> norm2: layer_norm
}

// DETR's decoder layer: self-attention among the queries (masked for denoising groups),
// with the text head cross-attention to the class names, cross-attention to the image.
block DecoderLayerPos(dim: int, heads: int, hidden: int, masked: bool, with_text: bool)(
  t: f32[N, T, D],
  qpos,
  memory,
  pos,
  mask,
  text,
) -> f32[N, T, D] {
  let q = t + qpos
  let sa = self_attn: Attention(dim, heads, masked: masked)
  let h = t + sa(q, q, t, mask) |> norm1: layer_norm
  if with_text {
    let ta = text_attn: Attention(dim, heads)
    h = h + ta(h + qpos, text, text, 0.0) |> norm_text: layer_norm
  }
  let ca = cross_attn: Attention(dim, heads)
  h = h + ca(h + qpos, memory + pos, memory, 0.0) |> norm2: layer_norm
  return h + (h |> _: FeedForward(dim, hidden)) |> norm3: layer_norm
}

// The decoder's every layer, through one shared final norm: [layers, N, T, D].
block DetrDecoder(layers: int, dim: int, heads: int, hidden: int, masked: bool, with_text: bool)(
  t: f32[N, T, D],
  qpos,
  memory,
  pos,
  mask,
  text,
) -> f32[layers, N, T, D] {
  let norm = layer_norm()
  let hs = []
  let h = t
  for i in 0..layers {
    h = "layers.${i}": DecoderLayerPos(dim, heads, hidden, masked, with_text)(
      h,
      qpos,
      memory,
      pos,
      mask,
      text,
    )
    hs = hs + [h |> norm]
  }
  return stack(hs, axis: 0)
}

// A box from a query h and its reference box ref (cx, cy, w, h in [0, 1]): a 3-layer MLP
// moves the reference in logit space (Deformable DETR, DAB-DETR).
block BoxHead(dim: int)(h, ref) {
  let delta = h
    |> "layers.0": linear(dim)
    |> relu
    |> "layers.1": linear(dim)
    |> relu
    |> "layers.2": linear(4)
  return sigmoid(delta + InverseSigmoid()(ref))
}

// (cx, cy, w, h) -> (x1, y1, x2, y2), along the last axis.
block CornerBoxes()(b) {
  let (c, s) = split(b, (2, 2))
  return concat(c - 0.5 * s, c + 0.5 * s, axis: -1)
}

// (x1, y1, x2, y2) -> (cx, cy, w, h), along the last axis.
block CentreBoxes()(b) {
  let (lo, hi) = split(b, (2, 2))
  return concat(0.5 * (lo + hi), hi - lo, axis: -1)
}

// The class names as features: letter embeddings with positions, one encoder layer whose
// attention skips the padding, and each name's mean over its letters: [classes, dim].
block NameEncoder(dim: int, heads: int, hidden: int)(tokens: i64[C, T]) -> f32[C, dim] {
  let valid = tokens > 0
  let x = (tokens |> letters: embedding(27, dim)) + unsqueeze(sinusoidal_positions(T, dim), 0)
  let keys = unsqueeze(unsqueeze(valid, 1), 1)
  let h = layer: EncoderLayer(dim, heads, hidden, masked: true)(x, keys)
  let w = unsqueeze(cast(valid, "f32"), 2)
  return reduce_sum(h * w, axes: 1) / reduce_sum(w, axes: 1)
}

// Class logits: a linear layer (classes + "no object"), or with the text head the
// similarity of each query with each name, beside a learned "no object" logit.
block ClassHead(classes: int, dim: int, text_head: bool)(h, names) {
  return if text_head {
    let sim = matmul(
      h |> query_proj: linear(dim),
      transpose(names |> name_proj: linear(dim), (0, 2, 1)),
    )
    concat(sim / sqrt(dim), h |> no_object: linear(1), axis: -1)
  } else { h |> class_embed: linear(classes + 1) }
}

model DetrDigits(
  size: int = 64,
  channels: int = 1,
  backbone: str = "small",
  width: int = 64,
  dim: int = 64,
  heads: int = 4,
  hidden: int = 128,
  enc_layers: int = 2,
  dec_layers: int = 2,
  queries: int = 12,
  classes: int = 10,
  objects: int = 4,
  head: str = "linear",
  dn_groups: int = 0,
  dn_box_noise: float = 0.4,
  dn_label_noise: float = 0.2,
  eos: float = 0.1,
  w_class: float = 1.0,
  w_l1: float = 5.0,
  w_giou: float = 2.0,
) {
  input image: f32[N, channels, size, size]
  assert(head == "linear" || head == "text", "head must be \"linear\" or \"text\"")
  assert(
    head == "linear" || classes == len(DIGIT_NAMES),
    "the text head reads the ten digits' names",
  )
  let text_head = head == "text"
  let f = if backbone == "resnet50" { image |> backbone: ResNet50Backbone() } else {
    image |> backbone: SmallBackbone(width)
  }
  // Tokens [N, H W, dim] and their positions [1, H W, dim].
  let pos = SinePositions2d(dim)(f)
  // The map's side: 1/8 of the canvas for the small backbone, 1/32 for ResNet-50.
  let stride = if backbone == "resnet50" { 32 } else { 8 }
  let fh = floor((size + stride - 1) / stride)
  let tokens = f
    |> input_proj: conv2d(dim, kernel: 1)
    |> reshape((0, dim, -1))
    |> permute((0, 2, 1))
  let memory0 = tokens
  for i in 0..enc_layers {
    memory0 = "encoder.layers.${i}": EncoderLayerPos(dim, heads, hidden)(memory0, pos)
  }
  // The text head's feature enhancer: image tokens attend to the names, the names to the image.
  let names0 = if text_head {
    expand(
      unsqueeze(
        tensor(DIGIT_NAMES, dtype: "i64") |> text_encoder: NameEncoder(dim, heads, hidden),
        0,
      ),
      (N, classes, dim),
    )
  } else { memory0 }
  let memory = memory0
  let names = names0
  if text_head {
    let to_text = image_text_attn: Attention(dim, heads)
    memory = memory0 + to_text(memory0 + pos, names0, names0, 0.0) |> image_text_norm: layer_norm
    let to_image = text_image_attn: Attention(dim, heads)
    names = names0 + to_image(names0, memory + pos, memory, 0.0) |> text_image_norm: layer_norm
  }
  // Object queries: zero content at learned reference boxes (DAB-DETR's anchor queries, which
  // DINO keeps), their positions from the boxes.
  let query_anchor = param((queries, 4), name: "query_anchor", init: uniform(-2.0, 2.0))
  let ref = unsqueeze(sigmoid(query_anchor), 0)
  let ref_pos = RefPositions(dim, fh, fh)
  let qpos = zeros_like(memory[:, 0:1, :]) + ref_pos(ref)
  let decoder = DetrDecoder(dec_layers, dim, heads, hidden, dn_groups > 0, text_head)
  let class_head = ClassHead(classes, dim, text_head)
  let box_head = BoxHead(dim)
  // Without denoising queries the mask is not read; with them, every query sees every query.
  let all_see = tensor(1, dtype: "bool")
  let hs = decoder(qpos * 0.0, qpos, memory, pos, all_see, names)
  // Every layer's predictions: logits [layers, N, queries, classes + 1], boxes [.., 4].
  let logits_all = class_head(hs, names)
  let boxes_all = box_head(hs, ref)
  // Detections from the last layer (DETR's PostProcess): the most probable real class.
  let prob = softmax(logits_all[dec_layers - 1], axis: 2)[:, :, 0:classes]
  output pred_boxes: f32[N, queries, 4] = CornerBoxes()(boxes_all[dec_layers - 1]) * size
  output scores: f32[N, queries] = reduce_max(prob, axes: 2, keepdims: false)
  output pred_labels: i64[N, queries] = argmax(prob, axis: 2)
}

// DETR's set criterion for a batch of B predictions: logits [B, Q, classes + 1], boxes
// pb [B, Q, 4] (cx, cy, w, h in [0, 1]), and padded targets tb [B, K, 4] (the same form),
// tl i64[B, K] (-1 padding), tm f32[B, K] (1 for an object). Each object gets its own query
// by the exact matching of least cost; the others are "no object". Returns
// (class loss, L1 loss, GIoU loss), each averaged (the class loss weighted).
block SetLoss(classes: int, eos: float, w_class: float, w_l1: float, w_giou: float)(
  logits: f32[B, Q, C],
  pb: f32[B, Q, 4],
  tb: f32[B, K, 4],
  tl: i64[B, K],
  tm: f32[B, K],
) {
  let tlc = where(tm > 0.5, tl, zeros_like(tl))
  // Cost [B, K, Q]: the matched class's probability, L1 and GIoU between the boxes.
  let prob = softmax(logits, axis: 2)
  let p_obj = take_along_axis(prob, expand(unsqueeze(tlc, 1), (-1, Q, -1)), axis: 2)
  let pxy = CornerBoxes()(pb)
  let txy = CornerBoxes()(tb)
  let c_l1 = reduce_sum(abs(unsqueeze(tb, 2) - unsqueeze(pb, 1)), axes: 3)
  let cost = c_l1 * w_l1 -
    generalized_box_iou(txy, pxy) * w_giou -
    transpose(p_obj, (0, 2, 1)) * w_class
  let (query_of, object_of) = linear_sum_assignment(cost, mask: tm)
  // Each query's class: its object's, or "no object" (index `classes`), weighted by eos.
  let matched = object_of >= 0
  let oq = where(matched, object_of, zeros_like(object_of))
  let target = where(matched, take_along_axis(tlc, oq, axis: 1), zeros_like(oq) + classes)
  let w = cast(matched, "f32") * (1.0 - eos) + eos
  let ce = cross_entropy(logits, target, reduce: "none", axis: 2)
  let loss_class = reduce_sum(ce * w) / reduce_sum(w)
  // The matched boxes [B, K, 4], against the objects', averaged over the objects.
  let qk = where(query_of < 0, zeros_like(query_of), query_of)
  let pm = take_along_axis(pb, expand(unsqueeze(qk, 2), (-1, -1, 4)), axis: 1)
  let n = maximum(reduce_sum(tm), 1.0)
  let loss_l1 = reduce_sum(abs(pm - tb) * unsqueeze(tm, 2)) / n
  let giou = squeeze(
    generalized_box_iou(unsqueeze(CornerBoxes()(pm), 2), unsqueeze(txy, 2)),
    (2, 3),
  )
  let loss_giou = reduce_sum((1.0 - giou) * tm) / n
  return (loss_class, loss_l1, loss_giou)
}

train DetrDigits {
  input boxes: f32[N, objects, 4]
  input labels: i64[N, objects]
  input mask: f32[N, objects]
  let K = objects
  let L = dec_layers
  // Targets in the predictions' form, (cx, cy, w, h) in [0, 1].
  let tb = CentreBoxes()(boxes / size)
  // Denoising queries (DINO): G groups of K positive then K negative queries, after the
  // matching queries. Noise per side: u * lambda * half the size, u in [0, 1) for positives,
  // [1, 2) for negatives, a random sign; labels flipped to a random class with probability p.
  let G = dn_groups
  let D = 2 * G * K
  let dn = if G > 0 {
    let tb_dn = reshape(expand(unsqueeze(tb, 1), (-1, 2 * G, -1, -1)), (-1, D, 4))
    let tl_dn = reshape(expand(unsqueeze(labels, 1), (-1, 2 * G, -1)), (-1, D))
    let tm_dn = reshape(expand(unsqueeze(mask, 1), (-1, 2 * G, -1)), (-1, D))
    let negs = []
    let gids = []
    for i in 0..D {
      negs = negs + [floor(i / K) % 2]
      gids = gids + [floor(i / (2 * K))]
    }
    let negative = tensor(negs, dtype: "f32")
    let sign = bernoulli(0.5, (N, D, 4)) * 2.0 - 1.0
    let part = rand((N, D, 4)) + unsqueeze(unsqueeze(negative, 0), 2)
    let xy = CornerBoxes()(tb_dn)
    let half = concat(tb_dn[:, :, 2:4], tb_dn[:, :, 2:4], axis: -1) * 0.5
    let noised = CentreBoxes()(clip(xy + sign * part * half * dn_box_noise, 0.0, 1.0))
    let flip = bernoulli(dn_label_noise, (N, D), dtype: "bool")
    let valid = tl_dn >= 0
    let noised_labels = where(
      flip,
      randint(0, classes, (N, D)),
      where(valid, tl_dn, zeros_like(tl_dn)),
    )
    // Content: an embedding of the noised label; reference box: the noised box (DINO).
    let content = noised_labels |> dn_label_embed: embedding(classes, dim)
    let dn_pos = ref_pos(noised)
    // The attention mask [N, 1, T, T] over T = queries + D queries: a query sees the matching
    // queries if it is one or a denoising query; a denoising query also sees its own group's
    // objects (not padding), never another group's.
    let gid = concat(zeros_like(query_anchor[:, 0]) - 1.0, tensor(gids, dtype: "f32"), axis: 0)
    let same = cast(unsqueeze(gid, 1) == unsqueeze(gid, 0), "f32")
    let to_matching = cast(unsqueeze(gid, 0) < 0.0, "f32")
    let key_ok = concat(zeros_like(qpos[:, :, 0]) + 1.0, tm_dn, axis: 1)
    let sees = maximum(to_matching, same * unsqueeze(key_ok, 1)) > 0.5
    let hs_all = decoder(
      concat(qpos * 0.0, content, axis: 1),
      concat(qpos, dn_pos, axis: 1),
      memory,
      pos,
      unsqueeze(sees, 1),
      names,
    )
    let parts = (
      hs_all[:, :, 0:queries],
      hs_all[:, :, queries:queries + D],
      tb_dn,
      tl_dn,
      tm_dn,
      negative,
      noised
    )
    parts
  } else { (hs, hs, tb, labels, mask, mask, tb) }
  let m_logits = if G > 0 { class_head(dn[0], names) } else { logits_all }
  let m_boxes = if G > 0 { box_head(dn[0], ref) } else { boxes_all }
  // Every decoder layer's predictions matched and scored as one batch of L N images.
  let crit = SetLoss(classes, eos, w_class, w_l1, w_giou)
  let (lc, l1, lg) = crit(
    reshape(m_logits, (-1, queries, classes + 1)),
    reshape(m_boxes, (-1, queries, 4)),
    reshape(expand(unsqueeze(tb, 0), (L, -1, -1, -1)), (-1, K, 4)),
    reshape(expand(unsqueeze(labels, 0), (L, -1, -1)), (-1, K)),
    reshape(expand(unsqueeze(mask, 0), (L, -1, -1)), (-1, K)),
  )
  let matching_loss = (lc * w_class + l1 * w_l1 + lg * w_giou) * L
  // Denoising: positives reconstruct their object, negatives say "no object"; no matching.
  let dn_loss = if G > 0 {
    let (h_dn, tb_dn, tl_dn, tm_dn, negative, noised) = (dn[1], dn[2], dn[3], dn[4], dn[5], dn[6])
    let lg_dn = class_head(h_dn, names)
    let bx_dn = box_head(h_dn, noised)
    let pos_q = unsqueeze(1.0 - negative, 0) * tm_dn
    let tcls = where(
      unsqueeze(negative, 0) > 0.5,
      zeros_like(tl_dn) + classes,
      where(tm_dn > 0.5, tl_dn, zeros_like(tl_dn)),
    )
    let ce = cross_entropy(lg_dn, expand(unsqueeze(tcls, 0), (L, -1, -1)), reduce: "none", axis: 3)
    let wq = unsqueeze(tm_dn * (unsqueeze(negative, 0) * eos + (1.0 - unsqueeze(negative, 0))), 0)
    let n = maximum(reduce_sum(pos_q), 1.0)
    let l1_dn = reduce_sum(abs(bx_dn - unsqueeze(tb_dn, 0)) * unsqueeze(unsqueeze(pos_q, 0), 3)) / n
    let gi = squeeze(
      generalized_box_iou(
        unsqueeze(CornerBoxes()(bx_dn), 3),
        unsqueeze(unsqueeze(CornerBoxes()(tb_dn), 0), 3),
      ),
      (3, 4),
    )
    let giou_dn = reduce_sum((1.0 - gi) * unsqueeze(pos_q, 0)) / n
    reduce_sum(ce * wq) / maximum(reduce_sum(wq), 1e-6) * L * w_class +
      l1_dn * w_l1 +
      giou_dn * w_giou
  } else { 0.0 }
  loss = matching_loss + dn_loss
  output class_loss = lc
  output l1_loss = l1
  output giou_loss = lg
  optimizer = adamw(lr: 1e-3, weight_decay: 1e-4)
  clip = clip_norm(1.0)
  epochs = 30
  batch_size = 16
  val_split = 0.1
}
