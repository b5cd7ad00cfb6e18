// SSD (Liu et al., 2016) on canvases of several digits: a single-shot
// detector whose default boxes tile feature maps of several strides, each
// box predicting class scores (background and the ten digits) and offsets.
//
// Default boxes. The 64x64 canvas goes through stride-2 convolutions; the
// stride-8 map (8x8) and the stride-16 map (4x4) each carry, at every cell
// centre ((x + 0.5) * stride, (y + 0.5) * stride), boxes of two scales and
// three aspect ratios (1:2, 1:1, 2:1): scales 12 and 17 on the fine map,
// 24 and 34 on the coarse one, so small digits fall to the fine map and
// large ones to the coarse: SSD's scale s_k rising with depth, and its
// extra box between two scales, sqrt(s_k * s_k+1) (17 ~ sqrt(12 * 24),
// 34 ~ sqrt(24 * 48)), here in every ratio since anchors() pairs every size
// with every ratio. 8*8*6 + 4*4*6 = 480 priors.
//
// Matching (SSD section 2.2). Every prior takes the ground truth it
// overlaps most and is positive when that IoU is at least 0.5; besides,
// each ground truth's best prior is forced positive and matched to it (its
// IoU raised by 2 before the argmax), so a digit no prior covers well still
// has one to learn from. Padded truth (mask 0) is never matched.
//
// Loss, over the batch's N_pos positives:
//   L = (L_conf + L_loc) / N_pos
// L_loc: smooth L1 on the positives' offsets against the matched box
// encoded relative to its prior, g = ((cx - pcx) / pw, (cy - pcy) / ph,
// log(w / pw), log(h / ph)) scaled by SSD's variances (0.1, 0.1, 0.2, 0.2),
// i.e. encode_boxes weights (10, 10, 5, 5).
// L_conf: softmax cross entropy over the 11 classes for the positives
// (target: digit + 1) and for the hardest negatives (target 0, background):
// hard negative mining ranks the negatives of each image by their loss and
// keeps the top 3 * (that image's positives), so negatives outnumber
// positives at most 3:1 instead of the ~470:3 of all priors. The ranking is
// topk over every prior (a full descending sort) with its order scattered
// back into ranks; it only selects, so it sits under stop_gradient.
//
// Inference: softmax scores, boxes decoded from the offsets, and per-class
// NMS (IoU 0.45, scores above 0.01, at most 10 a class), whose (image,
// class, box) triples `dlm eval --metric map` and `dlm detect` read with
// `boxes` and `scores`.
//
//   deno run -A tools/digits_detection_data.ts out/canvases --objects 4 --count 2000 --digits 0:1500
//   deno run -A tools/digits_detection_data.ts out/heldout --objects 4 --count 300 \
//       --digits 1500:1797 --seed 2
//   deno task dlm train lang-examples/ssd_digits.dlm --data image=out/canvases/image.npy \
//       --data gt=out/canvases/boxes.npy --data labels=out/canvases/labels.npy \
//       --data mask=out/canvases/mask.npy --save ssd.safetensors
//   deno task dlm eval lang-examples/ssd_digits.dlm --weights ssd.safetensors --metric map \
//       --data image=out/heldout/image.npy --data gt=out/heldout/boxes.npy \
//       --data labels=out/heldout/labels.npy

let canvas = 64
let ratios = (0.5, 1.0, 2.0)
let fine_sizes = (12, 17)
let coarse_sizes = (24, 34)
// SSD's variances (0.1, 0.1, 0.2, 0.2) as box-coder weights.
let coder = (10.0, 10.0, 5.0, 5.0)

// The 480 default boxes, fine map first, each map's cells row-major and
// each cell's boxes in anchors()'s order (ratio-major), as the heads lay
// out their channels. anchors() centres boxes at the cells' corners (x *
// stride); SSD centres them in the cells, half a stride on.
let priors = concat(
  anchors(sizes: fine_sizes, ratios: ratios, grid: (8, 8), stride: 8) + 4.0,
  anchors(sizes: coarse_sizes, ratios: ratios, grid: (4, 4), stride: 16) + 8.0,
  axis: 0,
)

// One map's head: per cell and default box, `per` numbers, as [N, h*w*A, per].
block Head(x, boxes: int, per: int) {
  return x
    |> conv: conv2d(boxes * per, kernel: 3, pad: 1)
    |> permute((0, 2, 3, 1))
    |> reshape((0, -1, per))
}

model SsdDigits(width: int = 32, classes: int = 10) {
  input image: f32[N, 1, canvas, canvas]
  let a = len(ratios) * len(fine_sizes)
  let fine = image
    |> conv1: conv2d(width, kernel: 3, stride: 2, pad: 1)
    |> relu
    |> conv2: conv2d(2 * width, kernel: 3, stride: 2, pad: 1)
    |> relu
    |> conv3: conv2d(2 * width, kernel: 3, stride: 2, pad: 1)
    |> relu
    |> conv4: conv2d(2 * width, kernel: 3, pad: 1)
    |> relu
  let coarse = fine
    |> conv5: conv2d(2 * width, kernel: 3, stride: 2, pad: 1)
    |> relu
    |> conv6: conv2d(2 * width, kernel: 3, pad: 1)
    |> relu
  // Per default box: offsets and class logits (0 is background).
  output offsets: f32[N, 480, 4] = concat(
    fine |> loc_fine: Head(a, 4),
    coarse |> loc_coarse: Head(a, 4),
    axis: 1,
  )
  output class_logits: f32[N, 480, classes + 1] = concat(
    fine |> conf_fine: Head(a, classes + 1),
    coarse |> conf_coarse: Head(a, classes + 1),
    axis: 1,
  )
  // Inference: every prior's box, each digit class's score, and per-class NMS.
  output boxes: f32[N, 480, 4] = decode_boxes(priors, offsets, weights: coder)
  output scores: f32[N, classes, 480] = permute(softmax(class_logits, axis: 2)[:, :, 1:], (0, 2, 1))
  output selected = nms(boxes, scores, iou: 0.45, max_boxes: 10, score_threshold: 0.01)
}

train SsdDigits {
  input gt: f32[N, K, 4]
  input labels: i64[N, K]
  input mask: f32[N, K]
  let p = 480
  // Matching. iou [N, P, K], padded truth at -1 so that it never wins.
  let m = unsqueeze(mask, 1)
  let iou = box_iou(unsqueeze(priors, 0), gt) * m - (1.0 - m)
  // Each truth's best prior [N, K], forced: +2 on that (prior, truth) pair.
  let best_prior = argmax(iou, axis: 1)
  let forced = cast(unsqueeze(arange(p), 1) == unsqueeze(best_prior, 1), "f32") * m
  let quality = iou + 2.0 * forced
  let matched = argmax(quality, axis: 2)
  let positive = cast(reduce_max(quality, axes: 2) >= 0.5, "f32")
  // The matched truth of every prior, as a one-hot [N, P, K] product.
  let pick = cast(unsqueeze(matched, 2) == arange(K, like: mask), "f32")
  let matched_box = matmul(pick, gt)
  let matched_label = cast(reduce_sum(pick * unsqueeze(cast(labels, "f32"), 1), axes: 2), "i64")
  let target = cast(positive, "i64") * (matched_label + 1)
  let n_pos = maximum(reduce_sum(positive), 1.0)
  // Localisation: smooth L1 on the positives' encoded offsets.
  let g = encode_boxes(unsqueeze(priors, 0), matched_box, weights: coder)
  let loc = reduce_sum(smooth_l1(offsets, g, reduce: "none"), axes: 2)
  let loc_loss = reduce_sum(loc * positive) / n_pos
  // Confidence with hard negative mining at 3:1: rank each image's negatives
  // by their loss (positives last, at -1), keep ranks below 3 * positives.
  let ce = cross_entropy(class_logits, target, reduce: "none", axis: 2)
  let mining = stop_gradient(ce * (1.0 - positive) - positive)
  let (_, order) = topk(mining, p)
  let rank = scatter(
    zeros_like(mining),
    order,
    unsqueeze(cast(arange(p), "f32"), 0) + zeros_like(mining),
  )
  let n_neg = 3.0 * reduce_sum(positive, axes: 1, keepdims: true)
  let hard_negative = cast(rank < n_neg, "f32") * (1.0 - positive)
  let conf_loss = reduce_sum(ce * (positive + hard_negative)) / n_pos
  loss = conf_loss + loc_loss
  output localisation = loc_loss
  output confidence = conf_loss
  // Per image: positives, mined negatives (3 per positive while there are
  // negatives enough), and truths no positive prior is matched to (0: each
  // truth's best prior is forced positive).
  output positives = reduce_mean(reduce_sum(positive, axes: 1))
  output negatives = reduce_mean(reduce_sum(hard_negative, axes: 1))
  let covered = reduce_max(pick * unsqueeze(positive, 2), axes: 1)
  output unmatched = reduce_mean(reduce_sum(mask * (1.0 - covered), axes: 1))
  optimizer = adam(lr: 2e-3)
  epochs = 30
  batch_size = 32
  val_split = 0.1
}
