/**
 * A training step's random draws as inputs. Dropout in train mode and the
 * RandomUniformLike / RandomNormalLike draws of drop-path draw from each
 * runtime's own generator, whose state lives in the session: onnxruntime's
 * kernels continue one stream from run to run, so a resumed run (a new
 * session) draws other masks than the uninterrupted one did, and the
 * reference interpreter draws the same mask at every step. So the loop
 * takes them out of the graph:
 *
 *   Dropout(x, r, true)        ->  Where(mask, x * 1/(1-r), 0), mask an input
 *                                  (and the Dropout's mask output is that input)
 *   RandomUniformLike(x) etc.  ->  the draw, an input of the same type
 *   RandomNormal(shape) etc.      (randn((N, 16)) is one or the other)
 *
 * and feeds each step a draw that depends on the run's seed, the step's
 * number and the node alone. The step is then a pure function of its inputs:
 * a checkpoint that holds the seed and the step count resumes exactly, and
 * every backend trains on the same draws. In a multi-step model
 * (compiler/train/multistep.ts) the draws of the Scan's body become scan
 * inputs, one draw per stacked step, the same ones a one-step run draws.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import {
  cloneGraph,
  type Dim,
  type Graph,
  type Node,
  type TensorType,
} from "../../compiler/ir/graph.ts";
import { Rng } from "../../compiler/ir/rng.ts";
import { type Tensor, tensor, toNumbers } from "../../compiler/ir/tensor.ts";
import { evalDim } from "../../compiler/ops/dims.ts";
import { BODY_PREFIX } from "../../compiler/train/contract.ts";

/** The ops that fill a tensor with uniform or normal noise, with or without a like input. */
const RANDOM_FILLS = new Set([
  "RandomUniform",
  "RandomUniformLike",
  "RandomNormal",
  "RandomNormalLike",
]);

/** The prefix of the inputs that draws are fed to. */
export const DRAW_PREFIX = "draw:";

/** One random draw of a step, fed as an input. */
export interface Draw {
  /** The graph input it is fed to. */
  input: string;
  /** The random node's name in the one-step graph: with the seed and step, its stream. */
  key: string;
  /** Its type in one step. */
  type: TensorType;
  /** Fed with a leading axis of one draw per stacked step (a multi-step model's Scan). */
  stacked: boolean;
  /** mask: true with probability 1 - a (dropout's keep mask); uniform: U[a, b); normal: N(a, b²). */
  kind: "mask" | "uniform" | "normal";
  a: number;
  b: number;
}

/**
 * Rewrite `g` (in place) so that its random draws are inputs, and return them. A draw whose
 * shape its inputs' dims do not fix (a dim known only at run time), a Dropout whose ratio or
 * mode is not a constant, and noise of a dtype other than f32 or f64 stay in the graph.
 */
export function drawsAsInputs(g: Graph): Draw[] {
  const out: Draw[] = [];
  const symbols = new Set(g.inputs.flatMap((i) => i.type.shape.flatMap(symbolsOf)));
  const fixed = (t: TensorType) => t.shape.every((d) => symbolsOf(d).every((s) => symbols.has(s)));
  const nodes: Node[] = [];
  const addInput = (name: string, type: TensorType) => {
    g.inputs.push({ name, type });
    g.types.set(name, type);
  };
  for (const n of g.nodes) {
    if (RANDOM_FILLS.has(n.op)) {
      const type = g.types.get(n.outputs[0]);
      if (!type || !fixed(type) || (type.dtype !== "f32" && type.dtype !== "f64")) {
        nodes.push(n);
        continue;
      }
      const input = DRAW_PREFIX + n.name;
      addInput(input, type);
      nodes.push({ ...n, op: "Identity", inputs: [input], attrs: {} });
      const a = n.attrs as Record<string, number>;
      out.push(
        n.op.startsWith("RandomUniform")
          ? {
            input,
            key: n.name,
            type,
            stacked: false,
            kind: "uniform",
            a: a.low ?? 0,
            b: a.high ?? 1,
          }
          : {
            input,
            key: n.name,
            type,
            stacked: false,
            kind: "normal",
            a: a.mean ?? 0,
            b: a.scale ?? 1,
          },
      );
      continue;
    }
    if (n.op === "Scan" && n.attrs.body && typeof n.attrs.body === "object") {
      nodes.push(n);
      out.push(...scanDraws(g, n));
      continue;
    }
    const ratio = n.op === "Dropout" && n.inputs[1] ? constScalar(g, n.inputs[1]) : undefined;
    const training = n.op === "Dropout" && n.inputs[2] ? constScalar(g, n.inputs[2]) : undefined;
    const xType = g.types.get(n.inputs[0]);
    if (ratio === undefined || !training || !xType || !fixed(xType)) {
      nodes.push(n);
      continue;
    }
    // y = x mask / (1 - ratio): Where(mask, x * scale, 0), the mask a fed input.
    const input = DRAW_PREFIX + n.name;
    const type: TensorType = { dtype: "bool", shape: [...xType.shape] };
    addInput(input, type);
    const scaleName = `${input}:scale`, zeroName = `${input}:zero`, scaled = `${input}:scaled`;
    g.initializers.set(scaleName, tensor(xType.dtype, [], [1 / (1 - ratio)]));
    g.initializers.set(zeroName, tensor(xType.dtype, [], [0]));
    g.types.set(scaleName, { dtype: xType.dtype, shape: [] });
    g.types.set(zeroName, { dtype: xType.dtype, shape: [] });
    g.types.set(scaled, xType);
    const base = { attrs: {}, spans: n.spans };
    nodes.push({
      ...base,
      name: `${n.name}:scale`,
      op: "Mul",
      inputs: [n.inputs[0], scaleName],
      outputs: [scaled],
    });
    nodes.push({
      ...base,
      name: n.name,
      op: "Where",
      inputs: [input, scaled, zeroName],
      outputs: [n.outputs[0]],
    });
    if (n.outputs[1]) {
      nodes.push({
        ...base,
        name: `${n.name}:mask`,
        op: "Identity",
        inputs: [input],
        outputs: [n.outputs[1]],
      });
    }
    out.push({ input, key: n.name, type, stacked: false, kind: "mask", a: ratio, b: 0 });
  }
  g.nodes = nodes;
  return out;
}

/**
 * The draws of a Scan's body (a multi-step model): each becomes a scan input of the body, fed
 * from an outer input with a leading axis of the Scan's steps.
 */
function scanDraws(g: Graph, scan: Node): Draw[] {
  // A copy: the body may be shared with the graph this one was cloned from.
  const body = cloneGraph(scan.attrs.body as Graph);
  const inner = drawsAsInputs(body).filter((d) => !d.stacked);
  if (inner.length === 0) return [];
  const count = scan.attrs.num_scan_inputs as number;
  const first = scan.inputs[scan.inputs.length - count];
  const steps = (g.types.get(first) ?? g.inputs.find((i) => i.name === first)?.type)?.shape[0];
  const out: Draw[] = [];
  for (const d of inner) {
    const key = d.key.startsWith(BODY_PREFIX) ? d.key.slice(BODY_PREFIX.length) : d.key;
    const input = DRAW_PREFIX + key;
    const type: TensorType = { dtype: d.type.dtype, shape: [steps ?? "steps", ...d.type.shape] };
    g.inputs.push({ name: input, type });
    g.types.set(input, type);
    scan.inputs.push(input);
    out.push({ ...d, input, key, stacked: true });
  }
  scan.attrs = { ...scan.attrs, body, num_scan_inputs: count + inner.length };
  for (const k of ["scan_input_axes", "scan_input_directions"]) {
    const v = scan.attrs[k];
    if (Array.isArray(v)) scan.attrs[k] = [...(v as number[]), ...inner.map(() => 0)];
  }
  return out;
}

/** The symbols a dim names: "N", "floor((H + 1) / 2)" -> ["H"]. */
function symbolsOf(d: Dim): string[] {
  if (typeof d === "number") return [];
  return d.split(/[\s+\-*/(),]+/).filter((s) =>
    s && !/^\d+$/.test(s) && s !== "floor" && s !== "ceil" && s !== "max"
  );
}

/** The value of a scalar initializer or Constant node, if it is one. */
function constScalar(g: Graph, name: string): number | undefined {
  const t = g.initializers.get(name) ??
    (g.nodes.find((n) => n.op === "Constant" && n.outputs[0] === name)?.attrs.value as
      | Tensor
      | undefined);
  return t && t.data && t.data.length === 1 ? toNumbers(t)[0] : undefined;
}

/**
 * The sizes of the symbols of a model's inputs that one batch gives: `types` are the inputs'
 * types for one step (without a stacked axis), `batch` their values.
 */
export function batchSizes(
  types: { name: string; type: TensorType }[],
  batch: Record<string, Tensor>,
): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const { name, type } of types) {
    const t = batch[name];
    if (!t) continue;
    type.shape.forEach((d, k) => {
      if (typeof d === "string" && sizes[d] === undefined && t.shape[k] !== undefined) {
        sizes[d] = t.shape[k];
      }
    });
  }
  return sizes;
}

/**
 * The draw `d` for one step: a function of the seed, the step (`at`: its number, or another key
 * such as an evaluation batch's) and the node alone, so that the same step of any run, on any
 * backend, after any resume, draws the same values.
 */
export function drawValue(
  d: Draw,
  sizes: Readonly<Record<string, number>>,
  seed: number,
  at: number | string,
): Tensor {
  const shape = d.type.shape.map((x) => {
    const v = evalDim(x, sizes);
    if (v === undefined) {
      fail(
        ...diag(
          "DLM0423",
          `The random draw '${d.input}'`,
          `its dim '${x}' bound by the batch`,
          "an unbound dim",
        ),
      );
    }
    return v;
  });
  const rng = Rng.forName(seed, `${at}/${d.key}`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (d.kind === "mask") return { dtype: "bool", shape, data: keepMask(rng, n, d.a) };
  const out = d.type.dtype === "f64" ? new Float64Array(n) : new Float32Array(n);
  if (d.kind === "uniform") rng.fillUniform(out, d.a, d.b);
  else rng.fillNormal(out, d.a, d.b);
  return { dtype: d.type.dtype, shape, data: out };
}

/**
 * n elements kept with probability 1 - ratio: uniforms in bulk (Rng.fillUniform), then compared.
 * About 5-6 ms per million elements on a loaded 2-core machine, where one u32() call per element
 * took 15.
 */
function keepMask(rng: Rng, n: number, ratio: number): Uint8Array {
  const u = new Float32Array(n);
  rng.fillUniform(u, 0, 1);
  const keep = new Uint8Array(n);
  for (let i = 0; i < n; i++) keep[i] = u[i] >= ratio ? 1 : 0;
  return keep;
}

/**
 * The draws of a group of steps, by input: `steps` are their numbers (or keys) in order, one
 * per stacked batch for a multi-step model (one for a one-step model).
 */
export function drawFeeds(
  draws: Draw[],
  sizes: Readonly<Record<string, number>>,
  seed: number,
  steps: (number | string)[],
): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const d of draws) {
    if (!d.stacked) {
      feeds[d.input] = drawValue(d, sizes, seed, steps[0]);
      continue;
    }
    const each = steps.map((s) => drawValue(d, sizes, seed, s));
    const per = each[0].data.length;
    const data = d.kind === "mask"
      ? new Uint8Array(per * each.length)
      : d.type.dtype === "f64"
      ? new Float64Array(per * each.length)
      : new Float32Array(per * each.length);
    each.forEach((t, i) => (data as Uint8Array).set(t.data as Uint8Array, i * per));
    feeds[d.input] = { dtype: each[0].dtype, shape: [each.length, ...each[0].shape], data };
  }
  return feeds;
}
