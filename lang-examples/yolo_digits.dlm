// YOLO v1 (Redmon et al., 2016) on canvases of several digits: the image
// is an S x S grid (here 8 x 8 cells of 8 pixels on the 64x64 canvas), and
// the cell that holds a digit's centre is responsible for it. Each cell
// predicts B = 2 boxes, each (x, y, sqrt w, sqrt h, confidence), and one set
// of class probabilities shared by its boxes: x, y the centre's offset in
// the cell, w and h relative to the canvas. Two digits of the canvases never
// share a cell: they do not overlap and are at least 12 pixels wide, so
// their centres lie more than 8 pixels apart along one axis.
//
// The loss, summed over cells i and boxes j and divided by the batch:
//   lambda_coord sum 1obj_ij [(x - x^)^2 + (y - y^)^2]
// + lambda_coord sum 1obj_ij [(sqrt w - sqrt w^)^2 + (sqrt h - sqrt h^)^2]
// + sum 1obj_ij (C - C^)^2 + lambda_noobj sum 1noobj_ij C^2
// + sum_i 1obj_i sum_c (p_i(c) - p^_i(c))^2
// with lambda_coord = 5 and lambda_noobj = 0.5: the many empty boxes would
// otherwise push every confidence to zero, and a box error counts for more
// than a confidence error. The square roots make an error of a pixel weigh
// more on a small box than on a large one.
//
// 1obj_ij marks the responsible box: of the B boxes of a cell holding a
// digit, the one whose predicted box has the highest IoU with the truth,
// and its confidence target C is that IoU. Both are targets computed from
// the model's own predictions, so they sit under a real stop_gradient: the
// loss pulls the confidence toward the IoU, never the box toward a larger
// confidence. Every other box is 1noobj_ij, target 0.
//
// As in the paper's network, errors are squared everywhere (the class
// probabilities too); unlike it, x, y and the confidence pass through a
// sigmoid and the classes a softmax (the paper's outputs are linear), and
// the head is a convolution over the grid rather than fully connected.
//
// Inference: class-specific confidences C * p(c) for every box, boxes in
// pixels, and per-class NMS (IoU 0.5, scores above 0.01, at most 10 a
// class), read by `dlm eval --metric map` and `dlm detect`.
//
//   deno run -A tools/digits_detection_data.ts out/canvases --objects 4 --count 2000 --digits 0:1500
//   deno task dlm train lang-examples/yolo_digits.dlm --data image=out/canvases/image.npy \
//       --data gt=out/canvases/boxes.npy --data labels=out/canvases/labels.npy \
//       --data mask=out/canvases/mask.npy --save yolo.safetensors

let canvas = 64
let grid = 8
let cell = 8.0
let per_cell = 2
let lambda_coord = 5.0
let lambda_noobj = 0.5

model YoloDigits(width: int = 32, classes: int = 10) {
  input image: f32[N, 1, canvas, canvas]
  let s2 = grid * grid
  let out = image
    |> conv1: conv2d(width, kernel: 3, stride: 2, pad: 1)
    |> leaky_relu(0.1)
    |> conv2: conv2d(2 * width, kernel: 3, stride: 2, pad: 1)
    |> leaky_relu(0.1)
    |> conv3: conv2d(2 * width, kernel: 3, stride: 2, pad: 1)
    |> leaky_relu(0.1)
    |> conv4: conv2d(4 * width, kernel: 3, pad: 1)
    |> leaky_relu(0.1)
    |> conv5: conv2d(4 * width, kernel: 3, pad: 1)
    |> leaky_relu(0.1)
    |> head: conv2d(per_cell * 5 + classes, kernel: 1)
    |> permute((0, 2, 3, 1))
    |> reshape((0, s2, per_cell * 5 + classes))
  // Per cell (row-major) and box: (x, y, sqrt w, sqrt h, confidence).
  let raw = reshape(out[:, :, 0:per_cell * 5], (0, s2, per_cell, 5))
  output xy: f32[N, s2, per_cell, 2] = sigmoid(raw[:, :, :, 0:2])
  output sqrt_wh: f32[N, s2, per_cell, 2] = raw[:, :, :, 2:4]
  output confidence: f32[N, s2, per_cell] = sigmoid(raw[:, :, :, 4])
  output class_probs: f32[N, s2, classes] = softmax(out[:, :, per_cell * 5:], axis: 2)
  // The boxes in pixels: centre (column + x, row + y) * cell, size (sqrt w)^2 * canvas.
  let index = cast(arange(s2), "f32")
  let row = floor(index / float(grid))
  let corner = unsqueeze(stack(index - float(grid) * row, row, axis: 1), 1)
  let centre = (corner + xy) * cell
  let half = 0.5 * float(canvas) * sqrt_wh * sqrt_wh
  output boxes: f32[N, s2 * per_cell, 4] = reshape(
    concat(centre - half, centre + half, axis: 3),
    (0, s2 * per_cell, 4),
  )
  // Class-specific confidence of every box: C * p(c), as [N, classes, boxes].
  let specific = unsqueeze(confidence, 3) * unsqueeze(class_probs, 2)
  output scores: f32[N, classes, s2 * per_cell] = permute(
    reshape(specific, (0, s2 * per_cell, classes)),
    (0, 2, 1),
  )
  output selected = nms(boxes, scores, iou: 0.5, max_boxes: 10, score_threshold: 0.01)
}

// The squared error of each element.
block Sq(a, b) {
  return (a - b) * (a - b)
}

train YoloDigits {
  input gt: f32[N, K, 4]
  input labels: i64[N, K]
  input mask: f32[N, K]
  let s2 = grid * grid
  // The cell of each digit's centre, as a one-hot owner [N, K, S*S] (padding owns none).
  let gc = 0.5 * (gt[:, :, 0:2] + gt[:, :, 2:4])
  let gwh = gt[:, :, 2:4] - gt[:, :, 0:2]
  let cell_xy = floor(gc / cell)
  let cell_index = cell_xy[:, :, 1] * float(grid) + cell_xy[:, :, 0]
  let owner = cast(unsqueeze(cell_index, 2) == cast(arange(s2), "f32"), "f32") * unsqueeze(mask, 2)
  // Per cell: whether a digit is centred there, its targets, its class as one-hot.
  let to_cells = permute(owner, (0, 2, 1))
  let has_obj = reduce_sum(to_cells, axes: 2)
  let t_xy = matmul(to_cells, gc / cell - cell_xy)
  let t_sqrt_wh = matmul(to_cells, sqrt(gwh / float(canvas)))
  // A cell without a digit gets a 1-pixel dummy box, so that IoU never
  // divides 0 by 0 (a NaN that 1noobj's 0 would not cancel).
  let t_box = matmul(to_cells, gt) + unsqueeze(1.0 - has_obj, 2) * tensor((0.0, 0.0, 1.0, 1.0))
  let one_hot = cast(unsqueeze(labels, 2) == arange(classes), "f32")
  let t_class = matmul(to_cells, one_hot)
  // The responsible box: the highest IoU of the cell's predictions with its
  // truth. Targets from the predictions, hence stop_gradient.
  let predicted = reshape(boxes, (0, s2, per_cell, 4))
  let iou = stop_gradient(squeeze(box_iou(predicted, unsqueeze(t_box, 2)), 3))
  let best = cast(unsqueeze(argmax(iou, axis: 2), 2) == arange(per_cell), "f32")
  let responsible = best * unsqueeze(has_obj, 2)
  let noobj = 1.0 - responsible
  let n = reduce_sum(zeros_like(mask[:, 0]) + 1.0)
  let coord = lambda_coord * reduce_sum(
    unsqueeze(responsible, 3) * (Sq(xy, unsqueeze(t_xy, 2)) + Sq(sqrt_wh, unsqueeze(t_sqrt_wh, 2))),
  )
  let obj = reduce_sum(responsible * Sq(confidence, iou))
  let empty = lambda_noobj * reduce_sum(noobj * confidence * confidence)
  let cls = reduce_sum(unsqueeze(has_obj, 2) * Sq(class_probs, t_class))
  loss = (coord + obj + empty + cls) / n
  output coordinates = coord / n
  output objects = obj / n
  output no_objects = empty / n
  output class_error = cls / n
  output responsible_iou = reduce_sum(responsible * iou) / reduce_sum(responsible)
  optimizer = adam(lr: 1e-3)
  epochs = 30
  batch_size = 32
  val_split = 0.1
}
