/**
 * Random draws shared by the two sides of `dlm diff`. The reference
 * interpreter and onnxruntime each draw from their own generator, so a model
 * with random nodes could never agree with itself: a train-mode Dropout
 * (its mask), RandomUniformLike and RandomNormalLike (`rand_like`,
 * `randn_like`, drop-path noise) become graph inputs, drawn here from a
 * seeded generator and fed the same to both sides. A plain diff draws once;
 * a training diff draws afresh for every step.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import type { Graph, Node, TensorType } from "../../compiler/ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../../compiler/ir/tensor.ts";
import { Rng } from "../../compiler/ir/rng.ts";

/** The prefix of the graph inputs that carry shared draws. */
export const SHARED_DRAW_PREFIX = "diff:mask:";

/** Symbolic dims of the graph's inputs, bound by one batch. */
export function bindDims(g: Graph, batch: Record<string, Tensor>): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const i of g.inputs) {
    const t = batch[i.name];
    if (!t) continue;
    i.type.shape.forEach((d, k) => {
      if (typeof d === "string") dims[d] = t.shape[k];
    });
  }
  return dims;
}

/** One random node made a graph input: what to draw for it. */
export interface SharedDraw {
  input: string;
  type: TensorType;
  /** A dropout mask keeps an element with probability 1 - ratio. */
  ratio: number;
  /** Random noise instead of a mask: U[a, b) or N(a, b²). */
  draw?: { kind: "uniform" | "normal"; a: number; b: number };
}

/**
 * Make every random draw of `g` (changed in place) a graph input fed the same to both sides: a
 * train-mode Dropout becomes Where(mask, x * scale, 0) with the mask as the input;
 * RandomUniformLike/RandomNormalLike (`rand_like`, `randn_like`, drop-path noise) become the
 * input itself. Returns what to draw for each new input.
 */
export function shareRandomDraws(g: Graph): SharedDraw[] {
  const out: SharedDraw[] = [];
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    if (n.op === "RandomUniformLike" || n.op === "RandomNormalLike") {
      // Drop-path noise and the like: the draw becomes a shared input too.
      const type = g.types.get(n.outputs[0])!;
      const input = SHARED_DRAW_PREFIX + n.name;
      g.inputs.push({ name: input, type });
      g.types.set(input, type);
      nodes.push({ ...n, op: "Identity", inputs: [input], attrs: {} });
      const a = n.attrs as Record<string, number>;
      out.push({
        input,
        type,
        ratio: 0,
        draw: n.op === "RandomUniformLike"
          ? { kind: "uniform", a: a.low ?? 0, b: a.high ?? 1 }
          : { kind: "normal", a: a.mean ?? 0, b: a.scale ?? 1 },
      });
      continue;
    }
    const ratio = n.op === "Dropout" && n.inputs[2] ? constScalar(g, n.inputs[1]) : undefined;
    const xType = g.types.get(n.inputs[0]);
    if (ratio === undefined || !xType || !n.inputs[2]) {
      nodes.push(n);
      continue;
    }
    const input = SHARED_DRAW_PREFIX + n.name;
    const type: TensorType = { dtype: "bool", shape: [...xType.shape] };
    g.inputs.push({ name: input, type });
    g.types.set(input, type);
    const scaleName = `${input}:scale`, zeroName = `${input}:zero`, scaled = `${input}:scaled`;
    g.initializers.set(scaleName, tensor(xType.dtype, [], [1 / (1 - ratio)]));
    g.initializers.set(zeroName, tensor(xType.dtype, [], [0]));
    g.types.set(scaleName, { dtype: xType.dtype, shape: [] });
    g.types.set(zeroName, { dtype: xType.dtype, shape: [] });
    g.types.set(scaled, xType);
    nodes.push({
      name: `${n.name}:scale`,
      op: "Mul",
      inputs: [n.inputs[0], scaleName],
      outputs: [scaled],
      attrs: {},
      spans: n.spans,
    });
    nodes.push({
      name: n.name,
      op: "Where",
      inputs: [input, scaled, zeroName],
      outputs: [n.outputs[0]],
      attrs: {},
      spans: n.spans,
    });
    if (n.outputs[1]) {
      nodes.push({
        name: `${n.name}:mask`,
        op: "Identity",
        inputs: [input],
        outputs: [n.outputs[1]],
        attrs: {},
        spans: n.spans,
      });
    }
    out.push({ input, type, ratio });
  }
  g.nodes = nodes;
  return out;
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
 * A fresh draw for one step `k` (0 for a plain diff): a keep-mask, each element kept with
 * probability 1 - ratio, or the node's noise. The dims come from `dims` (the inputs' bound
 * ones); a dim the inputs do not bind is DLM0423.
 */
export function drawShared(
  m: SharedDraw,
  dims: Record<string, number>,
  seed: number,
  k: number,
): Tensor {
  const shape = m.type.shape.map((d) => {
    if (typeof d === "number") return d;
    if (dims[d] === undefined) {
      fail(
        ...diag(
          "DLM0423",
          `The shared random input '${m.input}'`,
          `its dim '${d}' bound by the batch`,
          "an unbound dim",
        ),
      );
    }
    return dims[d];
  });
  const rng = Rng.forName(seed + k, m.input);
  const n = shape.reduce((a, b) => a * b, 1);
  if (m.draw) {
    const out = new Float32Array(n);
    if (m.draw.kind === "uniform") rng.fillUniform(out, m.draw.a, m.draw.b);
    else rng.fillNormal(out, m.draw.a, m.draw.b);
    return tensor(m.type.dtype, shape, out);
  }
  const vals = new Array<number>(n);
  for (let i = 0; i < n; i++) vals[i] = rng.u32() / 4294967296 >= m.ratio ? 1 : 0;
  return tensor("bool", shape, vals);
}
