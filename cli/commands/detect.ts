/**
 * `dlm detect`: a detector run on rows of data, each image drawn enlarged
 * with its detections (runtime/eval/draw.ts: class colours and numbers) and,
 * when the data has it, its ground truth in green, as one PNG (a grid for
 * several images). Detections are read as `dlm eval --metric map` reads them.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import { isFloat, type Tensor } from "../../compiler/ir/tensor.ts";
import {
  autoRange,
  encodePng,
  type Image,
  imageGrid,
  imageShape,
  zoomImage,
} from "../../runtime/formats/png.ts";
import { drawDetections, tile } from "../../runtime/eval/draw.ts";
import { writeFileAtomic } from "../../runtime/fs.ts";
import { loadData, parseDataSpecs, takeRows } from "../../runtime/data/mod.ts";
import { buildOptionsOf } from "../build.ts";
import { backendOf, type Io, one, type Parsed, UsageError } from "../command.ts";
import { buildGraph } from "../pipeline.ts";
import { warn } from "../report.ts";
import { detect, noWeights, rolesOf, rowsOf, truthArrays, truthOf } from "../detector.ts";

/** Run `dlm detect FILE --input image=DATA -o OUT.png`; returns the exit code. */
export async function run(args: Parsed, io: Io): Promise<number> {
  const file = one(args, "file");
  const out = args.opts.out as string | undefined;
  if (out === undefined) throw new UsageError(...diag("DLM0506", "-o OUT.png"));
  const inputs = (args.opts.input as string[] | undefined) ?? [];
  if (!inputs.length) throw new UsageError(...diag("DLM0506", "--input NAME=DATA"));
  const backend = backendOf(args, true);
  const roles = rolesOf(args);
  const data = loadData(parseDataSpecs(inputs));
  const built = buildGraph(file, buildOptionsOf(args));
  warn(built, io);
  noWeights(args, built, "dlm detect", io);
  const g = built.graph;

  // The image drawn: the first float input of the model given in the data, as [C, H, W].
  const imageInput = g.inputs.find((i) =>
    !g.initializers.has(i.name) && data[i.name] && isFloat(data[i.name].dtype)
  );
  if (!imageInput) {
    fail(
      ...diag(
        "DLM0419",
        g.inputs.filter((i) => !g.initializers.has(i.name)).map((i) => `'${i.name}'`).join(", "),
        "an image input given by --input NAME=DATA",
      ),
    );
  }
  const images = data[imageInput.name];
  const total = images.shape[0];
  const start = (args.opts.start as number | undefined) ?? 0;
  const n = (args.opts.n as number | undefined) ?? 1;
  // The rows drawn: from --start, among all rows or those dlm train holds out (--val-split).
  const { rows: pool, which } = rowsOf(args, total);
  if (start + n > pool.length) {
    fail(
      ...diag(
        "DLM0423",
        `--start ${start} --n ${n}`,
        `${start + n} rows (${which})`,
        `${pool.length}`,
      ),
    );
  }
  const rows = pool.slice(start, start + n);
  const chw = imageShape(images.shape);
  if (typeof chw === "string") {
    fail(
      ...diag("DLM0530", imageInput.name, `[${images.shape.join(", ")}]`, chw),
    );
  }
  const threshold = (args.opts["score-threshold"] as number | undefined) ?? 0.3;
  const detections = await detect(built, data, rows, roles, {
    scoreThreshold: threshold,
    backend,
    io,
  });
  const truthNames = truthArrays(args, data, "dlm detect --truth", "optional");
  const truth = truthNames ? truthOf(data, truthNames, rows) : [];

  const batch = f32(takeRows(images, rows));
  const range = autoRange(batch.data as Float32Array);
  const zoom = (args.opts.zoom as number | undefined) ??
    Math.max(1, Math.ceil(128 / Math.max(chw[1], chw[2])));
  const per = chw[0] * chw[1] * chw[2];
  const drawn: Image[] = rows.map((_, k) => {
    const one: Tensor = {
      dtype: "f32",
      shape: [1, ...chw],
      data: (batch.data as Float32Array).subarray(k * per, (k + 1) * per),
    };
    const img = zoomImage(imageGrid(one, chw, { nrow: 1, range, pad: 0 }), zoom);
    return drawDetections(
      img,
      zoom,
      detections.filter((d) => d.image === k),
      truth.filter((t) => t.image === k),
    );
  });
  const nrow = (args.opts.nrow as number | undefined) ?? Math.ceil(Math.sqrt(n));
  const grid = n === 1 ? drawn[0] : tile(drawn, nrow);
  writeFileAtomic(out, encodePng(grid));
  const labels = [...new Set(detections.map((d) => d.label))].sort((a, b) => a - b);
  io.out(
    `wrote ${out}: ${n} image${n === 1 ? "" : "s"} of '${imageInput.name}' (rows ${
      rows.length > 8 ? `${rows.slice(0, 8).join(", ")}, ...` : rows.join(", ")
    }${which === "all rows" ? "" : `, ${which}`}; ${zoom}x), ${detections.length} detection${
      detections.length === 1 ? "" : "s"
    } scored ${threshold} or more (classes ${labels.join(", ") || "none"})` +
      (truthNames ? `, ${truth.length} ground-truth boxes in green` : ""),
  );
  return 0;
}

function f32(t: Tensor): Tensor {
  if (t.data instanceof Float32Array) return t;
  return { dtype: "f32", shape: t.shape, data: Float32Array.from(t.data as ArrayLike<number>) };
}
