/**
 * COCO-style average precision of a detector, computed as pycocotools'
 * COCOeval does it for boxes (`iouType="bbox"`, all areas, 100 detections),
 * so a figure reported here means what a paper's "AP" means.
 *
 * For each image and class, detections are taken in order of score (highest
 * first, ties in their given order) up to `maxDetections`, and each IoU
 * threshold t matches them greedily: a detection takes the unmatched
 * ground-truth box of its class with the highest IoU >= t (a crowd box may
 * be taken by any number of detections, and is only taken when no ordinary
 * box qualifies). A detection matched to a crowd box is ignored, as are the
 * crowd boxes themselves.
 *
 * For each class and threshold, the detections of all images are ranked by
 * score, and after the k-th
 *
 *   recall(k)    = TP(k) / G          G: the class's non-crowd boxes
 *   precision(k) = TP(k) / (TP(k) + FP(k))
 *
 * Precision is made non-increasing from the right (the interpolated
 * precision: the best precision at any recall at least as high), then read
 * at the 101 recalls 0, 0.01, ..., 1: at each r, the precision of the first
 * rank whose recall reaches r, or 0 when none does. AP is the mean of those
 * 101 values; the summary AP is the mean over classes and the ten
 * thresholds 0.50, 0.55, ..., 0.95, AP50 and AP75 the mean over classes at
 * one threshold. A class without ground-truth boxes has no AP and is left
 * out of the means (its detections count nowhere), as in COCOeval.
 *
 * Boxes are (x1, y1, x2, y2), as torchvision's and dlm's detection built-ins
 * write them. IoU is intersection over union of the areas (no +1 pixel
 * convention); against a crowd box it is intersection over the detection's
 * area.
 */

/** A box as (x1, y1, x2, y2). */
export type Box = readonly [number, number, number, number];

/** One predicted box. */
export interface Detection {
  /** Which image it is in (any integer id). */
  image: number;
  /** Its class. */
  label: number;
  score: number;
  box: Box;
}

/** One ground-truth box. */
export interface GroundTruth {
  image: number;
  label: number;
  box: Box;
  /** A crowd region (COCO's iscrowd): neither a miss nor a false positive. */
  crowd?: boolean;
}

export interface ApOptions {
  /** IoU thresholds (default 0.50:0.05:0.95). */
  iouThresholds?: readonly number[];
  /** Detections kept per image and class, highest score first (default 100). */
  maxDetections?: number;
}

/** One class's figures; `ap`, `ap50`, `ap75` are null for a class without ground truth. */
export interface ClassAp {
  label: number;
  /** Non-crowd ground-truth boxes. */
  boxes: number;
  detections: number;
  ap: number | null;
  ap50: number | null;
  ap75: number | null;
  /** Recall at the end of the ranking, at each IoU threshold. */
  recall: (number | null)[];
}

export interface ApResult {
  /** Mean over classes and thresholds (null when no class has ground truth). */
  ap: number | null;
  ap50: number | null;
  ap75: number | null;
  /** Mean over classes of the recall at each threshold, then over thresholds (COCO's AR@maxDetections). */
  ar: number | null;
  iouThresholds: number[];
  classes: ClassAp[];
}

/** numpy.linspace(start, stop, n): i * step + start, the last exactly stop. */
export function linspace(start: number, stop: number, n: number): number[] {
  const step = (stop - start) / (n - 1);
  const out = Array.from({ length: n }, (_, i) => i * step + start);
  out[n - 1] = stop;
  return out;
}

/** COCO's IoU thresholds 0.50, 0.55, ..., 0.95 and recall points 0, 0.01, ..., 1. */
export const COCO_IOU_THRESHOLDS: readonly number[] = linspace(0.5, 0.95, 10);
const RECALL_POINTS: readonly number[] = linspace(0, 1, 101);

/** IoU of a detection and a ground-truth box (intersection over the detection's area for a crowd box). */
export function boxIou(d: Box, g: Box, crowd = false): number {
  const w = Math.min(d[2], g[2]) - Math.max(d[0], g[0]);
  if (w <= 0) return 0;
  const h = Math.min(d[3], g[3]) - Math.max(d[1], g[1]);
  if (h <= 0) return 0;
  const inter = w * h;
  const da = (d[2] - d[0]) * (d[3] - d[1]);
  const union = crowd ? da : da + (g[2] - g[0]) * (g[3] - g[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** The greedy matching of one image and class at every threshold. */
interface ImageEval {
  /** Scores of the kept detections, highest first. */
  scores: number[];
  /** matched[t][d]: detection d found a box at threshold t. */
  matched: boolean[][];
  /** ignored[t][d]: detection d matched a crowd box at threshold t. */
  ignored: boolean[][];
}

function evaluateImage(
  dets: Detection[],
  gts: GroundTruth[],
  thresholds: readonly number[],
  maxDet: number,
): ImageEval {
  // Ordinary boxes first, crowd boxes last; detections by score, stable.
  const g = [...gts.filter((x) => !x.crowd), ...gts.filter((x) => x.crowd)];
  const d = dets.map((x, i) => ({ x, i }))
    .sort((a, b) => b.x.score - a.x.score || a.i - b.i)
    .slice(0, maxDet).map((e) => e.x);
  const ious = d.map((dd) => g.map((gg) => boxIou(dd.box, gg.box, gg.crowd ?? false)));
  const matched: boolean[][] = [];
  const ignored: boolean[][] = [];
  for (const t of thresholds) {
    const taken = new Array<boolean>(g.length).fill(false);
    const m = new Array<boolean>(d.length).fill(false);
    const ig = new Array<boolean>(d.length).fill(false);
    for (let di = 0; di < d.length; di++) {
      let best = Math.min(t, 1 - 1e-10);
      let found = -1;
      for (let gi = 0; gi < g.length; gi++) {
        const crowd = g[gi].crowd ?? false;
        if (taken[gi] && !crowd) continue;
        // An ordinary box already found: crowd boxes (sorted last) cannot replace it.
        if (found > -1 && !(g[found].crowd ?? false) && crowd) break;
        if (ious[di][gi] < best) continue;
        best = ious[di][gi];
        found = gi;
      }
      if (found === -1) continue;
      m[di] = true;
      ig[di] = g[found].crowd ?? false;
      taken[found] = true;
    }
    matched.push(m);
    ignored.push(ig);
  }
  return { scores: d.map((x) => x.score), matched, ignored };
}

/**
 * The 101-point interpolated AP of one class at one threshold, from its
 * detections over all images (scores, matches, ignores in image order) and
 * its count of non-crowd boxes; also the final recall.
 */
function classAp(
  perImage: { ev: ImageEval; t: number }[],
  boxes: number,
): { ap: number; recall: number } {
  const scores: number[] = [];
  const tp: boolean[] = [];
  const ig: boolean[] = [];
  for (const { ev, t } of perImage) {
    for (let k = 0; k < ev.scores.length; k++) {
      scores.push(ev.scores[k]);
      tp.push(ev.matched[t][k]);
      ig.push(ev.ignored[t][k]);
    }
  }
  // A stable ranking by score (numpy's mergesort of -score).
  const order = scores.map((_, k) => k).sort((a, b) => scores[b] - scores[a] || a - b);
  const rc: number[] = [];
  const pr: number[] = [];
  let tps = 0, fps = 0;
  for (const k of order) {
    if (ig[k]) {
      // An ignored detection adds neither a true nor a false positive, but
      // still holds a rank, as in COCOeval's cumulative sums.
    } else if (tp[k]) tps++;
    else fps++;
    rc.push(tps / boxes);
    pr.push(tps / (tps + fps + Number.EPSILON));
  }
  for (let k = pr.length - 1; k > 0; k--) if (pr[k] > pr[k - 1]) pr[k - 1] = pr[k];
  let sum = 0;
  let k = 0;
  for (const r of RECALL_POINTS) {
    while (k < rc.length && rc[k] < r) k++; // searchsorted(rc, r, side="left")
    if (k < rc.length) sum += pr[k];
  }
  return { ap: sum / RECALL_POINTS.length, recall: rc.length ? rc[rc.length - 1] : 0 };
}

function mean(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/** COCO-style AP, AP50, AP75 and AR of detections against ground truth, overall and per class. */
export function averagePrecision(
  detections: readonly Detection[],
  truth: readonly GroundTruth[],
  options: ApOptions = {},
): ApResult {
  const thresholds = [...(options.iouThresholds ?? COCO_IOU_THRESHOLDS)];
  const maxDet = options.maxDetections ?? 100;
  const labels = [...new Set([...truth.map((g) => g.label), ...detections.map((d) => d.label)])]
    .sort((a, b) => a - b);
  const images = [...new Set([...truth.map((g) => g.image), ...detections.map((d) => d.image)])]
    .sort((a, b) => a - b);
  const key = (image: number, label: number) => `${image}:${label}`;
  const dets = new Map<string, Detection[]>();
  const gts = new Map<string, GroundTruth[]>();
  for (const d of detections) push(dets, key(d.image, d.label), d);
  for (const g of truth) push(gts, key(g.image, g.label), g);
  const at = (v: number) => thresholds.findIndex((t) => Math.abs(t - v) < 1e-9);
  const t50 = at(0.5), t75 = at(0.75);

  const classes: ClassAp[] = labels.map((label) => {
    const evals = images.map((image) =>
      evaluateImage(
        dets.get(key(image, label)) ?? [],
        gts.get(key(image, label)) ?? [],
        thresholds,
        maxDet,
      )
    );
    const boxes = truth.filter((g) => g.label === label && !g.crowd).length;
    const nDet = evals.reduce((s, e) => s + e.scores.length, 0);
    if (boxes === 0) {
      const none = thresholds.map(() => null);
      return { label, boxes, detections: nDet, ap: null, ap50: null, ap75: null, recall: none };
    }
    const perT = thresholds.map((_, t) => classAp(evals.map((ev) => ({ ev, t })), boxes));
    return {
      label,
      boxes,
      detections: nDet,
      ap: mean(perT.map((p) => p.ap)),
      ap50: t50 >= 0 ? perT[t50].ap : null,
      ap75: t75 >= 0 ? perT[t75].ap : null,
      recall: perT.map((p) => p.recall),
    };
  });
  return {
    ap: mean(classes.map((c) => c.ap)),
    ap50: mean(classes.map((c) => c.ap50)),
    ap75: mean(classes.map((c) => c.ap75)),
    ar: mean(classes.map((c) => mean(c.recall))),
    iouThresholds: thresholds,
    classes,
  };
}

function push<T>(m: Map<string, T[]>, k: string, v: T) {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}
