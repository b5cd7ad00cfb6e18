/**
 * A detector's outputs turned into detections, and a data set's boxes into
 * ground truth, for average precision (average_precision.ts) and drawing.
 *
 * Outputs are found by role; each role has default output names (the first
 * present is taken) and can be named explicitly. Two forms:
 *
 * Per box (one row per image, K boxes an image; K = 1 may be left out):
 *   boxes       f32[N, K, 4] or [N, 4]   (x1, y1, x2, y2) in input pixels
 *   labels      int or integral float [N, K] or [N]: the class of each box
 *   logits      f32[N, K, C] or [N, C]: class logits, when there are no labels:
 *               label = argmax, class probability p = softmax's maximum
 *   scores      f32[N, K] or [N]: the detection's score, as given
 *   objectness  f32[N, K] or [N] a logit per box, or [N, A] for one box an
 *               image chosen as the top-scoring of A anchors (its logit is
 *               the maximum; digit_detector.dlm's form)
 *   count       int [N]: boxes k >= count[n] of image n are padding
 * Without scores, a box's score is p * sigmoid(objectness), a factor 1 for
 * each of the two that is missing; without labels and logits every box is
 * of class 0 (class-agnostic AP). Boxes whose label is negative are padding.
 *
 * NMS triples (the batched form of the `nms` built-in, ONNX NonMaxSuppression):
 *   selected    int [K, 3]: (image, class, box) triples
 *   boxes       f32[N, M, 4]
 *   scores      f32[N, C, M]
 * give a detection (image, class, scores[image, class, box], boxes[image, box])
 * for each triple (a triple with a negative entry is padding).
 *
 * Ground truth: boxes [N, 4] with labels [N] (one box an image, the digit
 * canvases of tools/digits_detection_data.ts), or boxes [N, M, 4] with labels
 * [N, M], padded: an entry whose label is negative or whose box is all zeros
 * is not a box.
 *
 * A model of one image a run whose outputs have no batch dim (boxes [K, 4],
 * labels, scores [K], as detection.dlm's kept boxes) is read as one image of
 * K boxes when `images` is 1; else the boxes' first dim must be `images`.
 *
 * Detections below `scoreThreshold` are dropped. Image ids are the row
 * numbers plus `firstImage`, so batches run in chunks line up with the truth.
 */
import { type Code, diag, DlmError, error } from "../../compiler/diagnostics.ts";
import type { Span } from "../../compiler/ir/graph.ts";
import { isFloat, type Tensor } from "../../compiler/ir/tensor.ts";
import type { Box, Detection, GroundTruth } from "./average_precision.ts";

/** What an output can be to the conversion. */
export type Role = "boxes" | "labels" | "logits" | "scores" | "objectness" | "count" | "selected";

export const ROLES: readonly Role[] = [
  "boxes",
  "labels",
  "logits",
  "scores",
  "objectness",
  "count",
  "selected",
];

/** Output names tried for each role, in order, when the role is not named. */
export const DEFAULT_NAMES: Readonly<Record<Role, readonly string[]>> = {
  boxes: ["boxes", "box", "pred_boxes", "detection_boxes", "kept_boxes"],
  labels: ["labels", "pred_labels", "detection_classes", "classes"],
  logits: ["class_logits", "logits", "pred_logits"],
  scores: ["scores", "score", "detection_scores", "kept_scores"],
  objectness: ["objectness"],
  count: ["count", "num_detections"],
  selected: ["selected", "selected_indices"],
};

/** The output of each role (absent roles left out). */
export type Roles = Partial<Record<Role, string>>;

/**
 * The outputs that play each role: those named in `chosen` (which must
 * exist), else the first default name among `outputs`. Fails (DLM0545) when
 * no output gives boxes, naming the outputs there are.
 */
export function resolveRoles(
  outputs: readonly string[],
  chosen: Roles = {},
  spans?: ReadonlyMap<string, Span>,
): Roles {
  const have = new Set(outputs);
  const list = outputs.map((o) => `'${o}'`).join(", ") || "none";
  const roles: Roles = {};
  for (const role of ROLES) {
    const named = chosen[role];
    if (named !== undefined) {
      if (!have.has(named)) {
        throw located(spans, undefined, diag("DLM0420", `'${named}' (${role})`, list));
      }
      roles[role] = named;
    } else {
      const found = DEFAULT_NAMES[role].find((n) => have.has(n));
      if (found !== undefined) roles[role] = found;
    }
  }
  if (roles.boxes === undefined) {
    throw located(
      spans,
      undefined,
      diag(
        "DLM0545",
        `boxes (an output named ${DEFAULT_NAMES.boxes.map((n) => `'${n}'`).join(", ")}, ` +
          `or --output boxes=NAME)`,
        list,
      ),
    );
  }
  return roles;
}

export interface ConvertOptions {
  /** The image id of row 0 (default 0). */
  firstImage?: number;
  /** Images the outputs are of (the rows run), when known: checked against the outputs. */
  images?: number;
  /** Detections scored below this are dropped (default: none). */
  scoreThreshold?: number;
  /** Where each output is declared, for located diagnostics. */
  spans?: ReadonlyMap<string, Span>;
}

/** The detections in a batch of outputs, by the roles `resolveRoles` found. */
export function toDetections(
  outputs: Readonly<Record<string, Tensor>>,
  roles: Roles,
  options: ConvertOptions = {},
): Detection[] {
  const first = options.firstImage ?? 0;
  const threshold = options.scoreThreshold ?? -Infinity;
  const spans = options.spans;
  const get = (r: Role) => {
    const name = roles[r];
    if (name === undefined) return undefined;
    const t = outputs[name];
    if (!t) throw located(spans, undefined, diag("DLM0545", `'${name}' (${r})`, "no such output"));
    if (Array.isArray(t.data)) bad(spans, name, t, "numbers, not strings");
    return { name, t };
  };
  const boxes = get("boxes")!;
  const out: Detection[] = [];
  const images = options.images;
  const selected = get("selected");
  if (selected) {
    const scores = get("scores");
    const [nb, m] = boxes.t.shape;
    if (boxes.t.shape.length !== 3 || boxes.t.shape[2] !== 4) {
      bad(spans, boxes.name, boxes.t, "[N, M, 4] beside NMS triples");
    }
    if (selected.t.shape.length !== 2 || selected.t.shape[1] !== 3) {
      bad(spans, selected.name, selected.t, "(image, class, box) triples [K, 3]");
    }
    if (!scores) {
      throw located(
        spans,
        selected.name,
        diag("DLM0545", "scores [N, C, M] beside NMS triples", "none"),
      );
    }
    const st = scores.t;
    if (st.shape.length !== 3 || st.shape[0] !== nb || st.shape[2] !== m) {
      bad(spans, scores.name, st, `[${nb}, C, ${m}] beside boxes ${shapeText(boxes.t.shape)}`);
    }
    if (images !== undefined && nb !== images) {
      bad(spans, boxes.name, boxes.t, `boxes [${images}, M, 4] for the ${images} images run`);
    }
    const c = st.shape[1];
    const sel = numbers(selected.t), bx = numbers(boxes.t), sc = numbers(st);
    for (let k = 0; k < selected.t.shape[0]; k++) {
      const [b, cls, i] = [sel[3 * k], sel[3 * k + 1], sel[3 * k + 2]];
      if (b < 0 || cls < 0 || i < 0) continue;
      if (b >= nb || cls >= c || i >= m) {
        bad(
          spans,
          selected.name,
          selected.t,
          `triples within [${nb}, ${c}, ${m}] (row ${k} is (${b}, ${cls}, ${i}))`,
        );
      }
      const score = sc[(b * c + cls) * m + i];
      if (!(score >= threshold)) continue;
      out.push({ image: first + b, label: cls, score, box: boxAt(bx, b * m + i) });
    }
    return out;
  }

  // Per box: [N, K, 4] or [N, 4]; one image's [K, 4] when one image was run.
  if (!((boxes.t.shape.length === 3 || boxes.t.shape.length === 2) && boxes.t.shape.at(-1) === 4)) {
    bad(spans, boxes.name, boxes.t, "boxes [N, K, 4] or [N, 4]");
  }
  const unbatched = images === 1 && boxes.t.shape.length === 2 && boxes.t.shape[0] !== 1;
  if (unbatched) {
    // Every per-box output gains the batch dim of one: [K, ...] -> [1, K, ...].
    const lift = (x: Tensor): Tensor => ({ ...x, shape: [1, ...x.shape] });
    const lifted: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(outputs)) lifted[k] = lift(v);
    return toDetections(lifted, roles, { ...options, images: 1 });
  }
  const bs = boxes.t.shape;
  if (images !== undefined && bs[0] !== images) {
    bad(
      spans,
      boxes.name,
      boxes.t,
      `boxes [${images}, K, 4] or [${images}, 4] for the ${images} images run`,
    );
  }
  const n = bs[0], k = bs.length === 3 ? bs[1] : 1;
  const perBox = bs.length === 3 ? [n, k] : [n];
  const want = (r: Role, extra: number[] = []) => {
    const v = get(r);
    if (!v) return undefined;
    const shape = [...perBox, ...extra.map((e) => e < 0 ? v.t.shape[perBox.length] : e)];
    if (!sameShape(v.t.shape, shape)) {
      bad(
        spans,
        v.name,
        v.t,
        `${shapeText(shape.map((d, i) => i === perBox.length ? "C" : d))} ` +
          `beside boxes ${shapeText(bs)}`,
      );
    }
    return v;
  };
  const labels = want("labels");
  const logits = labels ? undefined : want("logits", [-1]);
  const scores = want("scores");
  let objectness: { name: string; t: Tensor } | undefined;
  const obj = get("objectness");
  if (obj && !scores) {
    const os = obj.t.shape;
    const perAnchor = k === 1 && os.length === 2 && os[0] === n;
    if (!perAnchor && !sameShape(os, perBox)) {
      bad(
        spans,
        obj.name,
        obj.t,
        `${shapeText(perBox)} beside boxes ${shapeText(bs)}` +
          (k === 1 ? ` (or [${n}, A]: one logit an anchor)` : ""),
      );
    }
    objectness = obj;
  }
  const count = get("count");
  if (count && !sameShape(count.t.shape, [n])) {
    bad(spans, count.name, count.t, `one count an image [${n}]`);
  }
  if (labels && !integral(labels.t)) {
    bad(spans, labels.name, labels.t, "integer class labels");
  }
  const bx = numbers(boxes.t);
  const lb = labels ? numbers(labels.t) : undefined;
  const lg = logits ? numbers(logits.t) : undefined;
  const c = logits ? logits.t.shape[perBox.length] : 0;
  if (logits && c < 1) bad(spans, logits.name, logits.t, "at least one class");
  const sc = scores ? numbers(scores.t) : undefined;
  const ob = objectness ? numbers(objectness.t) : undefined;
  const a = objectness && objectness.t.shape.length === 2 && k === 1 ? objectness.t.shape[1] : 1;
  const cn = count ? numbers(count.t) : undefined;
  for (let i = 0; i < n; i++) {
    const valid = cn ? Math.min(k, cn[i]) : k;
    for (let j = 0; j < valid; j++) {
      const at = i * k + j;
      let label = 0, p = 1;
      if (lb) label = lb[at];
      else if (lg) [label, p] = softmaxMax(lg, at * c, c);
      if (label < 0) continue;
      let score = p;
      if (sc) score = sc[at];
      else if (ob) {
        let best = -Infinity;
        for (let q = 0; q < a; q++) best = Math.max(best, ob[at * a + q]);
        score *= 1 / (1 + Math.exp(-best));
      }
      if (!(score >= threshold)) continue;
      out.push({ image: first + i, label, score, box: boxAt(bx, at) });
    }
  }
  return out;
}

/**
 * Ground truth from a data set's boxes ([N, 4] or [N, M, 4]) and labels ([N]
 * or [N, M]); `names` name the two arrays in messages.
 */
export function toGroundTruth(
  boxes: Tensor,
  labels: Tensor,
  names: { boxes: string; labels: string },
  firstImage = 0,
): GroundTruth[] {
  const bs = boxes.shape;
  if (!((bs.length === 2 || bs.length === 3) && bs[bs.length - 1] === 4) || !isFloat(boxes.dtype)) {
    throw new DlmError(
      error(
        ...diag(
          "DLM0480",
          `boxes '${names.boxes}'`,
          `${boxes.dtype}${shapeText(bs)}`,
          "float boxes [N, 4] or [N, M, 4] (x1, y1, x2, y2)",
        ),
      ),
    );
  }
  const per = bs.length === 3 ? [bs[0], bs[1]] : [bs[0]];
  if (!sameShape(labels.shape, per) || !integral(labels)) {
    throw new DlmError(
      error(
        ...diag(
          "DLM0480",
          `labels '${names.labels}'`,
          `${labels.dtype}${shapeText(labels.shape)}`,
          `integer labels ${shapeText(per)} beside boxes '${names.boxes}' ${shapeText(bs)}`,
        ),
      ),
    );
  }
  const n = bs[0], m = bs.length === 3 ? bs[1] : 1;
  const bx = numbers(boxes), lb = numbers(labels);
  const out: GroundTruth[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const at = i * m + j;
      const box = boxAt(bx, at);
      if (lb[at] < 0 || box.every((v) => v === 0)) continue;
      out.push({ image: firstImage + i, label: lb[at], box });
    }
  }
  return out;
}

function boxAt(d: ArrayLike<number>, i: number): Box {
  return [d[4 * i], d[4 * i + 1], d[4 * i + 2], d[4 * i + 3]];
}

/** The argmax of `c` logits from `at` and its softmax probability. */
function softmaxMax(d: ArrayLike<number>, at: number, c: number): [number, number] {
  let best = 0;
  for (let q = 1; q < c; q++) if (d[at + q] > d[at + best]) best = q;
  let sum = 0;
  for (let q = 0; q < c; q++) sum += Math.exp(d[at + q] - d[at + best]);
  return [best, 1 / sum];
}

function numbers(t: Tensor): ArrayLike<number> {
  const d = t.data;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Array.from(d, Number);
  if (Array.isArray(d)) return d.map(Number);
  return d as ArrayLike<number>;
}

function integral(t: Tensor): boolean {
  if (t.dtype === "bool" || Array.isArray(t.data)) return false;
  if (!isFloat(t.dtype)) return true;
  const d = t.data as ArrayLike<number>;
  for (let i = 0; i < d.length; i++) if (!Number.isInteger(d[i])) return false;
  return true;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function shapeText(s: readonly (number | string)[]): string {
  return `[${s.join(", ")}]`;
}

/** DLM0546 on output `name`, located at its declaration when known. */
function bad(
  spans: ReadonlyMap<string, Span> | undefined,
  name: string,
  t: Tensor,
  needs: string,
): never {
  throw located(spans, name, diag("DLM0546", name, `${t.dtype}${shapeText(t.shape)}`, needs));
}

/** A diagnostic located at output `at`'s declaration, when its span is known. */
function located(
  spans: ReadonlyMap<string, Span> | undefined,
  at: string | undefined,
  [code, message]: [Code, string],
): DlmError {
  const span = at === undefined ? undefined : spans?.get(at);
  return new DlmError(error(code, message, span));
}
