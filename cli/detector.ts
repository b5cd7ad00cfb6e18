/**
 * What `dlm eval --metric map` and `dlm detect` share: a detector built with
 * its weights, run over rows of data in chunks, its outputs turned into
 * detections (runtime/eval/detections.ts) and the data's boxes into ground
 * truth, with diagnostics located at the model's output declarations.
 */
import { diag, DlmError, fail, formatDiagnostic, warning } from "../compiler/diagnostics.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import type { Detection, GroundTruth } from "../runtime/eval/average_precision.ts";
import {
  resolveRoles,
  type Role,
  ROLES,
  type Roles,
  toDetections,
  toGroundTruth,
} from "../runtime/eval/detections.ts";
import { permutation, takeRows } from "../runtime/data/mod.ts";
import { keyValues } from "./args.ts";
import { type Io, type Parsed, UsageError } from "./command.ts";
import type { Built } from "./pipeline.ts";
import { runForward } from "./forward.ts";

/** Rows a forward run takes at a time (a model of a fixed batch takes its batch). */
const CHUNK = 256;

/** Data arrays tried for the ground truth's boxes and labels, in order. */
export const TRUTH_NAMES = { boxes: ["gt", "boxes", "box"], labels: ["labels", "label"] } as const;

/** `--output ROLE=NAME` items: which output plays which role. */
export function rolesOf(args: Parsed): Roles {
  const chosen: Roles = {};
  for (const [k, v] of Object.entries(keyValues(args.opts.output, "output"))) {
    if (!(ROLES as readonly string[]).includes(k)) {
      throw new UsageError(
        ...diag("DLM0515", `--output ${k}=${v}`, `one of ${ROLES.join(", ")}`, `'${k}'`),
      );
    }
    chosen[k as Role] = v;
  }
  return chosen;
}

/**
 * The ground truth's arrays in `data` (`--truth boxes=NAME labels=NAME`, else
 * the first of TRUTH_NAMES): labels always, boxes when `boxes` is "required",
 * and when "optional" the pair or nothing.
 */
export function truthArrays(
  args: Parsed,
  data: Record<string, Tensor>,
  what: string,
  boxes: "required" | "optional" | "none",
): { boxes?: string; labels: string } | undefined {
  const given = keyValues(args.opts.truth, "truth");
  for (const k of Object.keys(given)) {
    if (k !== "boxes" && k !== "labels") {
      throw new UsageError(
        ...diag("DLM0515", `--truth ${k}=${given[k]}`, "boxes or labels", `'${k}'`),
      );
    }
  }
  const pick = (role: "boxes" | "labels") => {
    const name = given[role] ?? TRUTH_NAMES[role].find((n) => data[n]);
    if (given[role] !== undefined && !data[given[role]]) {
      fail(...diag("DLM0423", `--truth ${role}=${given[role]}`, "an array of that name", "none"));
    }
    return name;
  };
  const b = boxes === "none" ? undefined : pick("boxes"), labels = pick("labels");
  if (b === undefined && boxes === "optional" && Object.keys(given).length === 0) return undefined;
  const names = (role: "boxes" | "labels") =>
    `ground-truth ${role} in the data (an array named ${
      TRUTH_NAMES[role].map((n) => `'${n}'`).join(", ")
    }, or --truth ${role}=NAME)`;
  if (b === undefined && boxes !== "none") fail(...diag("DLM0423", what, names("boxes"), "none"));
  if (labels === undefined) fail(...diag("DLM0423", what, names("labels"), "none"));
  return { boxes: b, labels };
}

/**
 * A warning (DLM0547) when a model with trainable parameters is scored or
 * drawn without --weights: its initial random weights, seldom what is meant.
 */
export function noWeights(args: Parsed, built: Built, command: string, io: Io): void {
  const given = (args.opts.weights as string[] | undefined) ?? [];
  if (given.length || !built.graph.params.some((p) => p.trainable)) return;
  const seed = (args.opts.seed as number | undefined) ?? 0;
  io.err(formatDiagnostic(warning(...diag("DLM0547", command, seed))));
}

/** The detector's detections on `rows` of `data` (image ids: the positions in `rows`). */
export async function detect(
  built: Built,
  data: Record<string, Tensor>,
  rows: readonly number[],
  roles: Roles,
  opts: { scoreThreshold?: number; backend: "node" | "web" | "reference"; io: Io },
): Promise<Detection[]> {
  const g = built.graph;
  const spans = g.spans;
  const resolved = located(built, () => resolveRoles(g.outputs.map((o) => o.name), roles, spans));
  const fed = g.inputs.filter((i) => !g.initializers.has(i.name));
  for (const inp of fed) {
    if (!data[inp.name]) {
      fail(...diag("DLM0419", `'${inp.name}'`, "an array of that name in the data"));
    }
  }
  const fixed = fed.map((i) => i.type.shape[0]).find((d): d is number => typeof d === "number");
  const chunk = fixed ?? CHUNK;
  if (fixed !== undefined && rows.length % fixed !== 0) {
    fail(
      ...diag(
        "DLM0423",
        `The model's batch of ${fixed}`,
        `a multiple of ${fixed} rows`,
        `${rows.length}`,
      ),
    );
  }
  const out: Detection[] = [];
  for (let s = 0; s < rows.length; s += chunk) {
    const part = rows.slice(s, s + chunk);
    const feeds: Record<string, Tensor> = {};
    for (const inp of fed) feeds[inp.name] = takeRows(data[inp.name], part);
    const outputs = await runForward(g, feeds, opts.backend, opts.io);
    out.push(...located(built, () =>
      toDetections(outputs, resolved, {
        firstImage: s,
        images: part.length,
        scoreThreshold: opts.scoreThreshold,
        spans,
      })));
  }
  return out;
}

/** The ground truth of `rows` (image ids: the positions in `rows`). */
export function truthOf(
  data: Record<string, Tensor>,
  names: { boxes?: string; labels: string },
  rows: readonly number[],
): GroundTruth[] {
  if (names.boxes === undefined) return [];
  return toGroundTruth(
    takeRows(data[names.boxes], rows),
    takeRows(data[names.labels], rows),
    { boxes: names.boxes, labels: names.labels },
  );
}

/** `f()`, its diagnostics quoting the model's source lines. */
function located<T>(built: Built, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DlmError && !e.sources) e.sources = built.sources;
    throw e;
  }
}

/** The rows scored: all (no --val-split, or 0), or those `dlm train --val-split F --seed S` holds out. */
export function rowsOf(args: Parsed, n: number): { rows: number[]; which: string } {
  const split = args.opts["val-split"] as number | undefined;
  if (!split) return { rows: [...Array(n).keys()], which: "all rows" };
  const seed = (args.opts.seed as number | undefined) ?? 0;
  // runtime/data/dataset.ts's unstratified split: the first rows of one seeded permutation.
  const perm = permutation(n, seed * 7919);
  const k = Math.min(n - 1, Math.max(1, Math.round(n * split)));
  if (k < 1) fail(...diag("DLM0423", "--val-split", "at least 2 rows", `${n}`));
  return {
    rows: perm.slice(0, k).sort((a, b) => a - b),
    which: `held out by --val-split ${split} --seed ${seed}`,
  };
}
