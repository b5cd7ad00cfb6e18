// A single-stage detector's inference path, with torchvision's conventions:
// a small convolutional backbone to a stride-8 feature map, a head that
// predicts, for each of the A anchors at every cell, box deltas and an
// objectness score, the anchors of that grid, the boxes decoded from the
// deltas (Faster R-CNN's parameterisation), non-maximum suppression, and
// RoI Align of the kept boxes' features for a second stage.
//
//   deno task dlm run lang-examples/detection.dlm
//
// Boxes are (x1, y1, x2, y2) in input pixels. Outputs: the kept boxes and
// their scores, highest first, and their pooled features.

model Detector(size: int = 64, width: int = 32, sizes: (int, int) = (16, 32), pool: int = 3) {
  input image: f32[1, 3, size, size]
  let ratios = (0.5, 1.0, 2.0)
  let a = len(ratios) * len(sizes)
  let grid = floor(size / 8)
  let features = image
    |> conv1: conv2d(width, kernel: 3, stride: 2, pad: 1)
    |> relu
    |> conv2: conv2d(width, kernel: 3, stride: 2, pad: 1)
    |> relu
    |> conv3: conv2d(width, kernel: 3, stride: 2, pad: 1)
    |> relu
  // Per cell and anchor: 4 deltas and 1 score, laid out (y, x, anchor) like the anchors.
  let deltas = features
    |> box_head: conv2d(4 * a, kernel: 3, pad: 1)
    |> permute((0, 2, 3, 1))
    |> reshape((-1, 4))
  let logits = features
    |> score_head: conv2d(a, kernel: 3, pad: 1)
    |> permute((0, 2, 3, 1))
    |> reshape((-1,))
  let priors = anchors(sizes: sizes, ratios: ratios, grid: (grid, grid), stride: 8)
  let boxes = decode_boxes(priors, deltas, weights: (1.0, 1.0, 1.0, 1.0))
  let scores = sigmoid(logits)
  let keep = nms(boxes, scores, iou: 0.5, max_boxes: 20)
  output kept_boxes = index_select(boxes, 0, keep)
  output kept_scores = index_select(scores, 0, keep)
  // The second stage's input: each kept box's features, pooled to pool x pool.
  output roi_features = roi_align(features, kept_boxes, output: pool, spatial_scale: 0.125)
}
