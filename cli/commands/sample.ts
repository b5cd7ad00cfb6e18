/**
 * `dlm sample`: a generative model's outputs drawn as a PNG grid.
 *
 * Which inputs are drawn and which are set: an input named by `--set
 * NAME=VALUE` takes that value (one number for every element, a list
 * `a,b,...` of one value a row cycled over the batch, or of one row's
 * values); an input given by `--input NAME=DATA` takes the first `--n` rows
 * of that data (reconstructions); every other floating-point input is noise,
 * N(0, 1) from `--seed`; any other input (an integer class label) must be set.
 * A `--set` key that names a parameter of the model, not an input, overrides
 * the parameter as in every other command. The batch symbol (the first dim
 * of the inputs) is `--n`.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import { selectModel } from "../../compiler/compile.ts";
import { isProgram, loadProgram, readFromDisk } from "../../compiler/check/program.ts";
import { isFloat, numel, type Tensor } from "../../compiler/ir/tensor.ts";
import {
  autoRange,
  encodePng,
  imageGrid,
  imageShape,
  type ValueRange,
  zoomImage,
} from "../../runtime/formats/png.ts";
import { writeNpy } from "../../runtime/formats/mod.ts";
import { writeFileAtomic } from "../../runtime/fs.ts";
import { loadData, parseDataSpecs, takeRows } from "../../runtime/data/mod.ts";
import { dimsOf, keyValues, setValue } from "../args.ts";
import { backendOf, type Io, one, type Parsed, UsageError } from "../command.ts";
import { buildGraph, type BuildOptions, isOnnxPath } from "../pipeline.ts";
import { warn } from "../report.ts";
import { runForward } from "../forward.ts";
import { sampleInputs } from "../../runtime/sample_inputs.ts";

/** Run `dlm sample FILE -o grid.png ...`; returns the exit code. */
export async function run(args: Parsed, io: Io): Promise<number> {
  const file = one(args, "file");
  const out = args.opts.out as string | undefined;
  if (out === undefined) throw new UsageError(...diag("DLM0506", "-o OUT.png"));
  const backend = backendOf(args, true);
  const seed = (args.opts.seed as number | undefined) ?? 0;
  const range = rangeOf(args.opts.range as string | undefined);
  const shape = shapeOf(args.opts.shape as string | undefined);
  const model = args.opts.model as string | undefined;
  const { overrides, conditions } = splitSets(file, model, keyValues(args.opts.set, "set"));
  const o: BuildOptions = {
    model,
    seed,
    weights: (args.opts.weights as string[] | undefined) ?? [],
    weightsMap: args.opts["weights-map"] as string | undefined,
    overrides,
  };
  const built = buildGraph(file, o);
  warn(built, io);
  const g = built.graph;

  // Data inputs (reconstructions): the first --n rows of each.
  const given = loadData(parseDataSpecs((args.opts.input as string[] | undefined) ?? []));
  for (const name of Object.keys(given)) {
    if (!g.inputs.some((i) => i.name === name)) {
      fail(...diag("DLM0418", `'${name}'`, g.inputs.map((i) => `'${i.name}'`).join(", ")));
    }
  }
  const rows = Object.values(given).map((t) => t.shape[0]);
  const n = (args.opts.n as number | undefined) ?? Math.min(16, ...rows);
  if (rows.some((r) => r < n)) {
    fail(...diag("DLM0423", `--n ${n}`, `as many rows in --input`, `${Math.min(...rows)}`));
  }
  const first = (k: number) => Array.from({ length: k }, (_, i) => i);
  for (const [name, t] of Object.entries(given)) given[name] = takeRows(t, first(n));

  // The batch symbol is every input's first dim; --dim sizes any other.
  const dims: Record<string, number> = { ...dimsOf(args) };
  for (const inp of g.inputs) {
    const d = inp.type.shape[0];
    if (typeof d === "string") dims[d] = n;
  }
  const { feeds, drawn, set } = sampleInputs(g, { seed, dims, given, conditions });
  for (const name of Object.keys(conditions)) {
    if (!g.inputs.some((i) => i.name === name)) {
      fail(...diag("DLM0418", `'${name}'`, g.inputs.map((i) => `'${i.name}'`).join(", ")));
    }
  }

  const outName = (args.opts.output as string | undefined) ?? g.outputs[0]?.name;
  if (!g.outputs.some((x) => x.name === outName)) {
    fail(...diag("DLM0420", `'${outName}'`, g.outputs.map((x) => `'${x.name}'`).join(", ")));
  }
  const outputs = await runForward(g, feeds, backend, io);
  const y = toF32(outputs[outName]);
  const chw = imageShape(y.shape, shape);
  if (typeof chw === "string") fail(...diag("DLM0530", outName, formatShape(y.shape), chw));

  // Reconstructions: the first data input of the output's size goes beside each output.
  const per = chw[0] * chw[1] * chw[2];
  const beside = Object.keys(given).find((k) =>
    isFloat(given[k].dtype) && numel(given[k].shape) === n * per
  );
  let batch = y;
  if (beside) batch = interleave(toF32(given[beside]), y, per);
  const r = range === "auto" ? autoRange(batch.data as Float32Array) : range;
  const nrow = ((args.opts.nrow as number | undefined) ?? Math.ceil(Math.sqrt(n))) *
    (beside ? 2 : 1);
  const img = zoomImage(
    imageGrid(batch, chw, { nrow, range: r }),
    (args.opts.zoom as number | undefined) ?? 1,
  );
  writeFileAtomic(out, encodePng(img));
  const npy = args.opts.npy as string | undefined;
  if (npy) writeFileAtomic(npy, writeNpy(outputs[outName]));
  const how = [
    drawn.length ? `drawn from N(0, 1): ${drawn.join(", ")}` : "",
    set.length ? `set: ${set.join(", ")}` : "",
    beside ? `beside each its input '${beside}'` : "",
  ].filter((s) => s).join("; ");
  io.out(
    `wrote ${out}: ${n} of '${outName}' (${chw.join("x")}, values [${
      r.map((v) => +v.toPrecision(4)).join(", ")
    }] to 0..255) ` +
      `in a ${img.width}x${img.height} grid${how ? `; ${how}` : ""}`,
  );
  return 0;
}

/** `--range lo,hi` or `auto` (default). */
function rangeOf(s: string | undefined): ValueRange | "auto" {
  if (s === undefined || s === "auto") return "auto";
  const p = s.split(",").map((x) => Number(x));
  if (p.length !== 2 || p.some((x) => !Number.isFinite(x)) || !(p[0] < p[1])) {
    throw new UsageError(...diag("DLM0501", "--range", "'auto' or LO,HI with LO < HI", `'${s}'`));
  }
  return [p[0], p[1]];
}

/** `--shape H,W` or `C,H,W`. */
function shapeOf(s: string | undefined): number[] | undefined {
  if (s === undefined) return undefined;
  const p = s.split(",").map((x) => Number(x));
  if ((p.length !== 2 && p.length !== 3) || p.some((x) => !Number.isInteger(x) || x < 1)) {
    throw new UsageError(
      ...diag("DLM0501", "--shape", "H,W or C,H,W (positive integers)", `'${s}'`),
    );
  }
  return p;
}

/**
 * `--set` keys that name a parameter of the model override it; the others
 * are conditions (inputs). Found from the parsed file; an .onnx file has no
 * parameters to override.
 */
function splitSets(
  file: string,
  model: string | undefined,
  sets: Record<string, string>,
): { overrides: Record<string, number | boolean | string>; conditions: Record<string, string> } {
  const overrides: Record<string, number | boolean | string> = {};
  const conditions: Record<string, string> = {};
  let params = new Set<string>();
  if (!isOnnxPath(file)) {
    const p = loadProgram(file, readFromDisk);
    const m = isProgram(p) ? selectModel(p, model) : undefined;
    if (m && "kind" in m && m.kind === "model") params = new Set(m.params.map((q) => q.name));
  }
  for (const [k, v] of Object.entries(sets)) {
    if (!params.has(k)) {
      conditions[k] = v;
      continue;
    }
    overrides[k] = setValue(v);
  }
  return { overrides, conditions };
}

/** A float32 copy of a numeric output (images are drawn from f32). */
function toF32(t: Tensor): Tensor {
  if (t.data instanceof Float32Array) return t;
  if (Array.isArray(t.data)) fail(...diag("DLM0530", "the output", "str", "numbers"));
  return {
    dtype: "f32",
    shape: t.shape,
    data: Float32Array.from(t.data as ArrayLike<number>, Number),
  };
}

/** [x0, y0, x1, y1, ...]: each input beside its output, per = elements of one item. */
function interleave(x: Tensor, y: Tensor, per: number): Tensor {
  const n = y.shape[0];
  const out = new Float32Array(2 * n * per);
  const a = x.data as Float32Array, b = y.data as Float32Array;
  for (let i = 0; i < n; i++) {
    out.set(a.subarray(i * per, (i + 1) * per), 2 * i * per);
    out.set(b.subarray(i * per, (i + 1) * per), (2 * i + 1) * per);
  }
  return { dtype: "f32", shape: [2 * n, ...y.shape.slice(1)], data: out };
}

function formatShape(s: readonly number[]): string {
  return `[${s.join(", ")}]`;
}
