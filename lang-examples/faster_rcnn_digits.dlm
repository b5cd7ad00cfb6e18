// Faster R-CNN (Ren et al. 2015) on canvases of several digits, in torchvision's
// form (torchvision.models.detection: AnchorGenerator, RPNHead, BoxCoder,
// RegionProposalNetwork, MultiScaleRoIAlign, TwoMLPHead, FastRCNNPredictor,
// RoIHeads), one feature level.
//
// Two stages over one backbone (four convolutions, stride 4):
// - The region proposal network slides a small head over the feature map. At
//   every cell, for each anchor (a reference box of a fixed size centred on the
//   cell), it predicts an objectness logit and box deltas (dx, dy, dw, dh) that
//   move and rescale the anchor (decode_boxes, Faster R-CNN's parameterisation).
//   Proposals: the pre_nms highest-scoring anchors, decoded, clipped to the
//   canvas, tiny ones dropped, non-maximum suppression at IoU 0.7, then the
//   `proposals` best survivors (fewer survivors: suppressed boxes fill the rest,
//   scored as they are). Proposals are constants to the second stage
//   (stop_gradient), as torchvision detaches them.
// - The detection head pools each proposal's features to a fixed grid with
//   RoI Align (bilinear samples, 2 x 2 per bin; its gradient trains the
//   backbone through the pooled features), two fully connected layers, then per
//   proposal a class (10 digits + background) and class-specific box deltas
//   (weights 10, 10, 5, 5). Detections: each class's refined box scored by its
//   softmax probability, scores above 0.05, NMS at 0.5 within each class
//   (boxes of different classes moved apart first, torchvision's batched_nms),
//   the `detections` best, padded with label -1. `--set pooler=pool` pools with
//   Fast R-CNN's RoI max pooling (roi_pool, torchvision's RoIPool) instead.
//
// Training (the train section): the RPN's anchors are matched to the ground
// truth by IoU (>= 0.7 positive, < 0.3 negative, and each box's best anchors
// positive), 256 sampled per canvas (at most half positive, drawn at random);
// objectness BCE and smooth L1 (beta 1/9) on the sampled positives' encoded
// deltas. The head's rois are the proposals and the ground-truth boxes
// (torchvision's add_gt_proposals: the section applies the model's own
// `roi_head` to them, the same parameters), matched the same way (>= 0.5 a
// digit, below background) and sampled per canvas (at most a quarter
// positive); cross entropy, and smooth L1 on the deltas of the true class.
// All four losses are divided by the number sampled, as torchvision's.
//
//   deno run -A tools/digits_detection_data.ts out/canvases --objects 4 --count 2000 --digits 0:1500
//   deno run -A tools/digits_detection_data.ts out/heldout --objects 4 --count 300 --digits 1500:1797 --seed 2
//   deno task dlm train lang-examples/faster_rcnn_digits.dlm --data image=out/canvases/image.npy \
//       --data boxes=out/canvases/boxes.npy --data labels=out/canvases/labels.npy \
//       --data mask=out/canvases/mask.npy --out frcnn
//   deno task dlm eval lang-examples/faster_rcnn_digits.dlm --weights frcnn/checkpoint.safetensors \
//       --data image=out/heldout/image.npy --data boxes=out/heldout/boxes.npy \
//       --data labels=out/heldout/labels.npy --metric map
//
// After its 12 epochs: AP 0.789, AP50 0.939 on the 300 held-out canvases (README,
// "Detection on digit canvases").

// Anchor sizes in canvas pixels (the digits are 12 to 24 pixels square), one aspect ratio.
let anchor_sizes = (12, 20)
let stride = 4
// torchvision's Fast R-CNN box coder weights (the RPN's are 1, 1, 1, 1).
let head_weights = (10.0, 10.0, 5.0, 5.0)

// torchvision's RPNHead: a 3x3 convolution, then per anchor an objectness logit
// and 4 deltas, flattened cell-major (y, x, anchor) as the anchors are.
block RpnHead(anchors_per_cell: int)(f: f32[N, C, H, W]) {
  let t = f |> conv: conv2d(C, kernel: 3, pad: 1) |> relu
  let objectness = t
    |> cls_logits: conv2d(anchors_per_cell, kernel: 1)
    |> permute((0, 2, 3, 1))
    |> reshape((0, -1))
  let deltas = t
    |> bbox_pred: conv2d(4 * anchors_per_cell, kernel: 1)
    |> permute((0, 2, 3, 1))
    |> reshape((0, -1, 4))
  return (objectness, deltas)
}

// Boxes clipped to a size x size canvas (torchvision's clip_boxes_to_image).
block ClipBoxes(size: int)(b: f32[..., 4]) {
  return clip(b, 0.0, size * 1.0)
}

// Boxes at least min_size wide and high (torchvision's remove_small_boxes), as 0/1.
block BigEnough(min_size: float)(b: f32[..., 4]) {
  let (x1, y1, x2, y2) = split(b, 4)
  return squeeze(cast(minimum(x2 - x1, y2 - y1) >= min_size, "f32"), -1)
}

// Rows taken from [N, M, 4] boxes at indices [N, K].
block TakeBoxes(b: f32[N, M, 4], idx: i64[N, K]) -> f32[N, K, 4] {
  return take_along_axis(b, unsqueeze(idx, 2) + 0 * unsqueeze(arange(4), (0, 1)), axis: 1)
}

// 1 where NMS kept a box: the (image, class, box) triples of nms() over [N, M] boxes, scattered.
block Kept(m: int)(sel: i64[K, 3], like: f32[N, M]) -> f32[N, M] {
  let flat = reshape(zeros_like(like), (-1,))
  return reshape(scatter(flat, sel[:, 0] * m + sel[:, 2], 1.0, axis: 0), (-1, m))
}

// torchvision's RegionProposalNetwork.filter_proposals for one level: the pre_nms
// top-scoring anchors decoded, clipped and without tiny boxes, NMS at nms_iou, the
// post_nms best of the kept (sigmoid scores), suppressed ones after them.
block Proposals(size: int, pre_nms: int, post_nms: int, nms_iou: float)(
  priors: f32[A, 4],
  objectness: f32[N, A],
  deltas: f32[N, A, 4],
) {
  let (top, idx) = topk(objectness, pre_nms, axis: 1)
  let boxes = decode_boxes(unsqueeze(priors, 0), deltas) |> ClipBoxes(size) |> TakeBoxes(idx)
  let prob = sigmoid(top) * BigEnough(1e-3)(boxes) - (1.0 - BigEnough(1e-3)(boxes))
  let kept = Kept(pre_nms)(nms(boxes, unsqueeze(prob, 1), iou: nms_iou, score_threshold: 0.0), prob)
  let (scores, order) = topk(where(kept > 0.5, prob, prob - 2.0), post_nms, axis: 1)
  return (TakeBoxes(boxes, order), scores)
}

// torchvision's RoIHeads.postprocess_detections: per proposal and class, the refined box
// and its probability; background dropped, scores above 0.05, boxes at least 0.01 wide,
// NMS within each class, the best `detections`. Labels are the digits 0..9, -1 padding.
block Detect(size: int, classes: int, detections: int)(
  proposals: f32[N, P, 4],
  logits: f32[N, P, K1],
  deltas: f32[N, P, K1, 4],
) {
  let boxes = decode_boxes(unsqueeze(proposals, 2), deltas, weights: head_weights)
    |> ClipBoxes(size)
  let each = reshape(boxes[:, :, 1:, :], (0, -1, 4))
  let label = reshape(0 * unsqueeze(arange(P), 1) + unsqueeze(arange(classes), 0), (-1,))
  let prob = reshape(softmax(logits, axis: -1)[:, :, 1:], (0, -1)) * BigEnough(0.01)(each)
  // Classes apart: each box moved by (size + 1) times its class, so NMS never compares two classes.
  let apart = each + unsqueeze(cast(label, "f32") * (size + 1.0), 1)
  let kept = Kept(P * classes)(
    nms(apart, unsqueeze(prob, 1), iou: 0.5, score_threshold: 0.05),
    prob,
  )
  let (score, idx) = topk(where(kept > 0.5, prob, -1.0), detections, axis: 1)
  let found = score > 0.0
  return (TakeBoxes(each, idx), where(found, score, 0.0), where(found, gather(label, idx), -1))
}

// torchvision's MultiScaleRoIAlign (one level, sampling ratio 2, aligned false),
// TwoMLPHead and FastRCNNPredictor over each canvas's rois [N, R, 4]: class logits
// [N R, classes + 1] (0 background) and class-specific deltas [N R, classes + 1, 4],
// canvas-major.
// pooler "pool" takes Fast R-CNN's RoI max pooling (roi_pool) instead of RoI Align.
block RoiHead(pool: int, hidden: int, classes: int, pooler: str)(
  f: f32[N, C, H, W],
  rois: f32[N, R, 4],
) {
  // roi r of the flattened [N R, 4] is in canvas floor(r / R).
  let which = reshape(
    unsqueeze(arange(N, like: f), 1) + 0 * unsqueeze(arange(R, like: rois), 0),
    (-1,),
  )
  let flat = reshape(rois, (-1, 4))
  let pooled = if pooler == "pool" {
    roi_pool(f, flat, output: pool, batch_indices: which, spatial_scale: 1.0 / stride)
  } else {
    roi_align(
      f,
      flat,
      output: pool,
      batch_indices: which,
      spatial_scale: 1.0 / stride,
      sampling_ratio: 2,
      aligned: false,
    )
  }
  let h = pooled |> flatten |> fc6: linear(hidden) |> relu |> fc7: linear(hidden) |> relu
  return (
    h |> cls_score: linear(classes + 1),
    h |> bbox_pred: linear(4 * (classes + 1)) |> reshape((-1, classes + 1, 4))
  )
}

model FasterRcnnDigits(
  canvas: int = 64,
  width: int = 32,
  pre_nms: int = 256,
  proposals: int = 32,
  pool: int = 7,
  hidden: int = 128,
  classes: int = 10,
  detections: int = 20,
  pooler: str = "align",
) {
  input image: f32[N, 1, canvas, canvas]
  let grid = floor(canvas / stride)
  let features = image
    |> conv1: conv2d(floor(width / 2), kernel: 3, pad: 1)
    |> relu
    |> conv2: conv2d(width, kernel: 3, stride: 2, pad: 1)
    |> relu
    |> conv3: conv2d(width, kernel: 3, stride: 2, pad: 1)
    |> relu
    |> conv4: conv2d(width, kernel: 3, pad: 1)
    |> relu
  let priors = anchors(sizes: anchor_sizes, ratios: 1.0, grid: grid, stride: stride)
  let (objectness, deltas) = features |> rpn: RpnHead(len(anchor_sizes))
  output rpn_objectness: f32[N, grid * grid * len(anchor_sizes)] = objectness
  output rpn_deltas: f32[N, grid * grid * len(anchor_sizes), 4] = deltas
  let (boxes, _) = Proposals(canvas, pre_nms, proposals, 0.7)(
    priors,
    stop_gradient(objectness),
    stop_gradient(deltas),
  )
  output rois: f32[N, proposals, 4] = boxes
  let roi_head = RoiHead(pool, hidden, classes, pooler)
  let (logits, box_deltas) = roi_head(features, boxes)
  output roi_class_logits: f32[N, proposals, classes + 1] = reshape(
    logits,
    (-1, proposals, classes + 1),
  )
  output roi_box_deltas: f32[N, proposals, classes + 1, 4] = reshape(
    box_deltas,
    (-1, proposals, classes + 1, 4),
  )
  let (b, s, l) = Detect(canvas, classes, detections)(boxes, roi_class_logits, roi_box_deltas)
  output detection_boxes: f32[N, detections, 4] = b
  output detection_scores: f32[N, detections] = s
  output detection_classes: i64[N, detections] = l
}

// torchvision's BalancedPositiveNegativeSampler, per canvas: at most
// floor(per_image * fraction) positives drawn at random, negatives drawn to
// fill per_image. A random order (uniform keys, candidates first) ranks each
// kind; the first n of each rank are taken. Returns (positives, all) taken, 0/1.
// Each element's place in a random order of a canvas's row, the candidates (kind 1) first.
block Rank(kind: f32[N, A], u: f32[N, A]) -> f32[N, A] {
  return cast(argsort(argsort(where(kind > 0.5, u, u + 2.0), axis: 1), axis: 1), "f32")
}

block Sample(per_image: int, fraction: float)(positive: f32[N, A], negative: f32[N, A]) {
  let u = rand((N, A))
  let n_pos = minimum(
    reduce_sum(positive, axes: 1, keepdims: true),
    floor(per_image * fraction) * 1.0,
  )
  let pos = positive * cast(Rank(positive, u) < n_pos, "f32")
  let n_neg = minimum(
    reduce_sum(negative, axes: 1, keepdims: true),
    per_image - reduce_sum(pos, axes: 1, keepdims: true),
  )
  return (pos, pos + negative * cast(Rank(negative, u) < n_neg, "f32"))
}

// torchvision's Matcher: IoU of each box in `a` [.., A, 4] with the canvas's
// ground truth (padding -1); the best match's IoU and index, and with
// low_quality each ground-truth box's best boxes (ties included) as 0/1.
block Match(a: f32[M, A, 4], gt: f32[N, K, 4], mask: f32[N, K]) {
  let valid = unsqueeze(mask, 1)
  let iou = box_iou(a, gt) * valid - (1.0 - valid)
  let best_gt = reduce_max(iou, axes: 1, keepdims: true)
  let low_quality = reduce_max(cast(iou == best_gt, "f32") * valid, axes: 2)
  return (reduce_max(iou, axes: 2), argmax(iou, axis: 2), low_quality)
}

train FasterRcnnDigits {
  input boxes: f32[N, K, 4]
  input labels: i64[N, K]
  input mask: f32[N, K]
  let rpn_batch = 256
  let roi_batch = 64
  // RPN: anchors against the ground truth.
  let priors = unsqueeze(
    anchors(sizes: anchor_sizes, ratios: 1.0, grid: floor(canvas / stride), stride: stride),
    0,
  )
  let (best, matched, low_quality) = Match(priors, boxes, mask)
  let positive = maximum(cast(best >= 0.7, "f32"), low_quality)
  let (rpn_pos, rpn_all) = Sample(rpn_batch, 0.5)(
    positive,
    cast(best < 0.3, "f32") * (1.0 - positive),
  )
  let rpn_n = reduce_sum(rpn_all)
  let obj_loss = reduce_sum(
    bce_with_logits(rpn_objectness, positive, reduce: "none") * rpn_all,
  ) / rpn_n
  let rpn_targets = encode_boxes(priors, TakeBoxes(boxes, matched))
  let rpn_reg = reduce_sum(
    smooth_l1(rpn_deltas, rpn_targets, beta: 1.0 / 9, reduce: "none"),
    axes: 2,
  )
  let rpn_box_loss = reduce_sum(rpn_reg * rpn_pos) / rpn_n
  // Detection head: the proposals and the ground-truth boxes (torchvision's add_gt_proposals)
  // against the ground truth, through the model's own head; padding rows are no candidates.
  let train_rois = concat(rois, boxes, axis: 1)
  let candidate = concat(zeros_like(rois[:, :, 0]) + 1.0, mask, axis: 1)
  let (roi_best, roi_matched, _) = Match(train_rois, boxes, mask)
  let fg = cast(roi_best >= 0.5, "f32") * candidate
  let (roi_pos, roi_all) = Sample(roi_batch, 0.25)(fg, candidate - fg)
  let roi_n = reduce_sum(roi_all)
  let target = reshape(where(fg > 0.5, take_along_axis(labels, roi_matched, axis: 1) + 1, 0), (-1,))
  // The head's predictions over the rois flattened canvas-major, as the targets.
  let (roi_logits, roi_deltas) = roi_head(features, train_rois)
  let cls_loss = reduce_sum(
    cross_entropy(roi_logits, target, reduce: "none") * reshape(roi_all, (-1,)),
  ) / roi_n
  let idx = unsqueeze(unsqueeze(target, 1), 2) + 0 * unsqueeze(arange(4), (0, 1))
  let own = squeeze(take_along_axis(roi_deltas, idx, axis: 1), 1)
  // Targets of the positives only: a padding row (an empty box) encodes to infinities.
  let pos = unsqueeze(reshape(roi_pos, (-1,)), 1) > 0.5
  let encoded = encode_boxes(train_rois, TakeBoxes(boxes, roi_matched), weights: head_weights)
  let roi_targets = where(pos, reshape(encoded, (-1, 4)), own)
  let roi_box_loss = reduce_sum(smooth_l1(own, roi_targets, beta: 1.0 / 9, reduce: "none")) / roi_n
  loss = obj_loss + rpn_box_loss + cls_loss + roi_box_loss
  output rpn_loss = obj_loss + rpn_box_loss
  output head_loss = cls_loss + roi_box_loss
  // The share of the model's proposals that overlap a digit (IoU >= 0.5): the RPN at work.
  output fg_share = reduce_mean(cast(roi_best[:, 0:proposals] >= 0.5, "f32"))
  optimizer = adam(lr: 1e-3)
  epochs = 12
  batch_size = 16
  val_split = 0.1
}
