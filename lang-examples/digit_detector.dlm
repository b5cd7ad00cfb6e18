// A single-stage detector trained end to end: find and classify one digit
// on a 32x32 canvas (tools/digits_detection_data.ts makes the set from the
// bundled digits). A stride-8 feature map carries anchors of two sizes per
// cell; each anchor predicts an objectness logit and box deltas, and a
// pooled head predicts the class.
//
// Training targets are assigned in the train section, from IoU with the
// ground-truth box: anchors with IoU >= 0.5, and the best one, are
// positives. Loss: objectness BCE over all anchors, smooth L1 on the
// positives' encoded deltas (Faster R-CNN's parameterisation), and the
// class's cross entropy. The metric `hit` counts a detection right when the
// top-scoring box overlaps the truth with IoU >= 0.5 and the class is right.
//
//   deno run -A tools/digits_detection_data.ts out/det
//   deno task dlm train lang-examples/digit_detector.dlm --data image=out/det/image.npy \
//       --data gt=out/det/box.npy --data label=out/det/label.npy

let anchor_sizes = (12, 20)

model DigitDetector(width: int = 32, classes: int = 10) {
  input image: f32[N, 1, 32, 32]
  let f = image
    |> conv1: conv2d(width, kernel: 3, stride: 2, pad: 1)
    |> relu
    |> conv2: conv2d(width, kernel: 3, stride: 2, pad: 1)
    |> relu
    |> conv3: conv2d(width, kernel: 3, stride: 2, pad: 1)
    |> relu
  let a = len(anchor_sizes)
  // Per cell (y, x) and anchor: an objectness logit and 4 deltas, in the anchors' order.
  output objectness: f32[N, 16 * a] = f
    |> obj_head: conv2d(a, kernel: 3, pad: 1)
    |> permute((0, 2, 3, 1))
    |> reshape((0, -1))
  output deltas: f32[N, 16 * a, 4] = f
    |> box_head: conv2d(4 * a, kernel: 3, pad: 1)
    |> permute((0, 2, 3, 1))
    |> reshape((0, -1, 4))
  output class_logits: f32[N, classes] = f
    |> flatten
    |> cls_hidden: linear(128)
    |> relu
    |> cls_head: linear(classes)
  // The anchors, and the decoded box of the highest-scoring anchor.
  let priors = anchors(sizes: anchor_sizes, ratios: 1.0, grid: (4, 4), stride: 8)
  let best = argmax(objectness, axis: 1)
  let pick = cast(unsqueeze(best, 1) == unsqueeze(arange(16 * a), 0), "f32")
  let best_deltas = reduce_sum(deltas * unsqueeze(pick, 2), axes: 1)
  output box: f32[N, 4] = decode_boxes(index_select(priors, 0, best), best_deltas)
}

train DigitDetector {
  input gt: f32[N, 4]
  input label: i64[N]
  let k = 16 * len(anchor_sizes)
  let priors = unsqueeze(anchors(sizes: anchor_sizes, ratios: 1.0, grid: (4, 4), stride: 8), 0)
  // IoU of every anchor with the image's box: [N, k].
  let iou = squeeze(box_iou(priors, unsqueeze(gt, 1)), 2)
  let best_anchor = cast(unsqueeze(argmax(iou, axis: 1), 1) == unsqueeze(arange(k), 0), "f32")
  let positive = maximum(cast(iou >= 0.5, "f32"), best_anchor)
  let obj_loss = bce_with_logits(objectness, positive)
  // Smooth L1 on the positives' deltas toward the encoded box, averaged over positives.
  let targets = encode_boxes(priors, unsqueeze(gt, 1))
  let reg = reduce_sum(smooth_l1(deltas, targets, beta: 0.1, reduce: "none"), axes: 2)
  let box_loss = reduce_sum(reg * positive) / reduce_sum(positive)
  let cls_loss = cross_entropy(class_logits, label)
  loss = obj_loss + box_loss + cls_loss
  output mean_iou = reduce_mean(squeeze(box_iou(unsqueeze(box, 1), unsqueeze(gt, 1)), (1, 2)))
  let found = cast(squeeze(box_iou(unsqueeze(box, 1), unsqueeze(gt, 1)), (1, 2)) >= 0.5, "f32")
  output hit = reduce_mean(found * cast(argmax(class_logits, axis: 1) == label, "f32"))
  optimizer = adam(lr: 2e-3)
  epochs = 30
  batch_size = 32
  val_split = 0.2
}
