/**
 * Packed parameters: a training step may update many small parameters as
 * one flat vector (what PyTorch's "foreach" optimisers and apex's flat
 * buffers do). A small model's step is dominated by per-tensor costs, not
 * arithmetic: LeNet's AdamW step has 14 nodes and 3 inputs and outputs per
 * parameter. Packed, its parameters are one input `pack:0` (f32[P]) that
 * a Split and Reshapes turn back into the named values the model reads, the
 * optimiser updates the vector in 14 nodes, and its state is one vector per
 * slot (`opt:m:pack:0`).
 *
 * Only the step's interface changes; the layout (which parameter sits where)
 * is recorded in the graph (`Graph.packs`, emitted as the ONNX metadata
 * entry `dlm.packs`) so a runner can pack named values into the vectors and
 * unpack the results: checkpoints and saved weights keep the parameters'
 * own names.
 */
import {
  type Graph,
  memberSize,
  type Node,
  type PackLayout,
  type PackMember,
  rowLength,
} from "../ir/graph.ts";
import type { GraphBuilder } from "../ops/builder.ts";
import {
  type DType,
  isFloat,
  numel,
  type Tensor,
  tensor,
  type TensorData,
  zeros,
} from "../ir/tensor.ts";
import { plain, Uses } from "../passes/match.ts";
import { packedPart } from "./pack_values.ts";
export { packValues, setPackMember, unpackValues } from "./pack_values.ts";

/**
 * Parameters above this many elements stay separate: their update's cost is
 * the memory it moves, not per-node overhead, and copying them into and out
 * of a pack would add to it.
 */
export const PACK_MAX_ELEMENTS = 1 << 16;

/** The prefix of pack inputs: `pack:0`, `pack:1`, ... */
export const PACK_PREFIX = "pack:";

/**
 * Replace the graph inputs of `params` (the trainable parameters, each an
 * input with its initial value as initializer) by packs: one per `bucket`
 * key (parameters that share a dtype and optimiser settings) with at least
 * two members of static shape and at most `maxElements` elements each.
 * Returns the names to differentiate and update: the packs, then the
 * parameters left alone, and for each pack the parameter whose name
 * selects its optimiser group.
 */
export function packParams(
  b: GraphBuilder,
  params: string[],
  bucket: (param: string) => string,
  maxElements = PACK_MAX_ELEMENTS,
  windows: ReadonlyMap<string, TapWindow> = new Map(),
): { names: string[]; groupOf: Map<string, string> } {
  const g = b.graph;
  const buckets = new Map<string, string[]>();
  const single: string[] = [];
  for (const p of params) {
    const t = g.types.get(p);
    const init = g.initializers.get(p);
    const w = windows.get(p);
    const size = w
      ? w.rows * w.taps.length
      : t?.shape.every((d) => typeof d === "number")
      ? numel(t.shape as number[])
      : undefined;
    // A windowed weight is packed however large: its pack holds what the step trains of it.
    if (w && t && init && size !== undefined && size > maxElements) {
      buckets.set(`window\u0000${p}`, [p]);
      continue;
    }
    if (
      !t || !init || !isFloat(t.dtype) || t.dtype === "bf16" || size === undefined ||
      size > maxElements || !g.inputs.some((i) => i.name === p)
    ) {
      single.push(p);
      continue;
    }
    const key = `${t.dtype}\u0000${bucket(p)}`;
    const list = buckets.get(key) ?? [];
    list.push(p);
    buckets.set(key, list);
  }
  const names: string[] = [];
  const groupOf = new Map<string, string>();
  const front: typeof g.nodes = [];
  const dropped = new Set<Node>();
  // A batch norm's scale and bias go last, in their order: their gradients are means times a
  // count, which the pack's gradient then scales in one run (passes/hoist_concat_scales.ts).
  const norms = new Set(
    g.nodes.filter((n) => n.op === "BatchNormalization").flatMap((n) => n.inputs.slice(1, 3)),
  );
  for (const [key, list] of buckets) {
    buckets.set(key, [...list.filter((p) => !norms.has(p)), ...list.filter((p) => norms.has(p))]);
  }
  for (const members of buckets.values()) {
    if (members.length < 2 && !windows.has(members[0])) {
      single.push(...members);
      continue;
    }
    const layout = newPack(b, members, windows);
    const { name, dtype } = layout;
    // Split the pack and give each piece its parameter's name and shape. A pack of one (a weight
    // trained at some taps) is its one piece.
    const alone = layout.members.length === 1;
    const pieces = layout.members.map((m) =>
      alone ? name : m.shape.length === 1 && !m.taps ? m.param : b.fresh(`${name}/${m.param}`)
    );
    if (!alone) {
      const sizes = b.initializer(
        b.fresh(`${name}/sizes`),
        tensor("i64", [members.length], layout.members.map(memberSize)),
      );
      front.push({
        name: `${name}/split`,
        op: "Split",
        inputs: [name, sizes],
        outputs: pieces,
        attrs: { axis: 0 },
      });
    }
    layout.members.forEach((m, i) => {
      const n = memberSize(m);
      if (!alone) g.types.set(pieces[i], { dtype, shape: [n] });
      if (pieces[i] === m.param) return;
      const w = windows.get(m.param);
      // A windowed weight's piece is its live taps as rows: what the pick made of it.
      const dims = w ? [w.rows, w.taps.length] : m.shape;
      const shape = b.initializer(b.fresh(`${name}/shape`), tensor("i64", [dims.length], dims));
      front.push({
        name: `${name}/${m.param}/reshape`,
        op: "Reshape",
        inputs: [pieces[i], shape],
        outputs: [w ? w.picked : m.param],
        attrs: {},
      });
      if (w) { for (const n of w.nodes) dropped.add(n); }
    });
    names.push(name);
    groupOf.set(name, members[0]);
  }
  if (dropped.size) g.nodes = g.nodes.filter((n) => !dropped.has(n));
  g.nodes.unshift(...front);
  // Keep the parameters' order for the ones left alone.
  const left = new Set(single);
  names.push(...params.filter((p) => left.has(p)));
  return { names, groupOf };
}

/**
 * Make `members` (graph inputs of one dtype and static shape, each with its
 * initial value as initializer) one input `pack:<k>` whose initial value is
 * theirs end to end, and record its layout in `Graph.packs`. The members are
 * inputs no longer; whoever reads them must take them from the pack.
 */
export function newPack(
  b: GraphBuilder,
  members: string[],
  windows: ReadonlyMap<string, TapWindow> = new Map(),
): PackLayout {
  const g = b.graph;
  const dtype = g.types.get(members[0])!.dtype;
  const packs = g.packs ??= [];
  const name = b.fresh(`${PACK_PREFIX}${packs.length}`);
  const layout: PackLayout = { name, dtype, size: 0, members: [] };
  for (const p of members) {
    const shape = g.types.get(p)!.shape as number[];
    const taps = windows.get(p)?.taps;
    const m: PackMember = { param: p, offset: layout.size, shape: [...shape] };
    if (taps) m.taps = [...taps];
    layout.members.push(m);
    layout.size += memberSize(m);
  }
  const data = packData(
    dtype,
    layout.size,
    layout.members.map((m) => packedPart(m, g.initializers.get(m.param)!)),
  );
  const member = new Set(members);
  g.inputs = g.inputs.filter((i) => !member.has(i.name));
  g.inputs.push({ name, type: { dtype, shape: [layout.size] } });
  g.types.set(name, { dtype, shape: [layout.size] });
  g.initializers.set(name, { dtype, shape: [layout.size], data } as Tensor);
  for (const p of members) {
    // A windowed weight keeps its initial value, read by no node: the taps its step never
    // changes come from there (unpackValues' `base`).
    if (!windows.has(p)) g.initializers.delete(p);
    b.constants.delete(p);
  }
  packs.push(layout);
  return layout;
}

function packData(dtype: DType, size: number, parts: Tensor[]): TensorData {
  // f16 as its raw bits, like every f16 tensor.
  const out = zeros(dtype, [size]).data as Float32Array;
  let o = 0;
  for (const t of parts) {
    out.set(t.data as Float32Array, o);
    o += t.data.length;
  }
  return out;
}

/** The members of a graph's packs, by pack name. */
export function packMembers(g: Pick<Graph, "packs">): Map<string, string[]> {
  return new Map((g.packs ?? []).map((p) => [p.name, p.members.map((m) => m.param)]));
}

/**
 * A convolution weight of which a training step reads only some kernel taps: trim_conv_taps
 * made the convolution read `picked` = W as rows [M C, K] times a constant 0/1 matrix [K, L]
 * (compiler/passes/trim_conv_taps.ts), and `nodes` (that Reshape and MatMul) are W's only
 * readers.
 */
export interface TapWindow {
  /** The row offsets picked, ascending. */
  taps: number[];
  /** M C. */
  rows: number;
  /** The MatMul's output [M C, L], which the pack's piece becomes. */
  picked: string;
  nodes: Node[];
}

/**
 * The trainable weights of `params` that a step can train on their live taps alone, with the
 * rest left as they are: why dlm train's step updates 1/9 of ResNet-18's last stage at 32x32.
 *
 * At a fixed input size trim_conv_taps proves that the other taps only ever meet padding, so
 * their gradient is exactly zero. An optimiser whose update of a zero gradient and zero state
 * is zero (`keepsZeros`: SGD, Adam, AdamW, RMSprop and AdaGrad without weight decay) leaves
 * them, and their state, as they were: PyTorch's step reads, writes and returns them unchanged
 * (for ResNet-18 at 32x32, four 2.36M-element weights: the momentum, the lr scaling and the
 * subtraction, three passes over 9.4 MB each, and the pick itself). Packed with their live taps
 * only (PackMember.taps), the step reads and writes only those; runners put the rest back from
 * the values they started with (unpackValues), and refuse optimiser state that is not zero off
 * the taps (packValues, DLM0424).
 *
 * Conditions: W's only reader is the pick's Reshape to rows [M C, K], whose only reader is the
 * MatMul by a constant 0/1 matrix with one 1 per column, in ascending rows; W is a graph input
 * of static shape with an initial value, not a graph output.
 */
export function tapWindows(
  g: Graph,
  params: readonly string[],
  keepsZeros: (param: string) => boolean,
): Map<string, TapWindow> {
  const uses = new Uses(g);
  const out = new Map<string, TapWindow>();
  const inputs = new Map(g.inputs.map((i) => [i.name, i.type]));
  for (const p of params) {
    const t = inputs.get(p);
    if (!t || t.dtype !== "f32" || t.shape.length < 3) continue;
    if (!t.shape.every((d): d is number => typeof d === "number")) continue;
    if (!g.initializers.has(p)) continue;
    if (uses.isGraphOutput(p) || uses.isCaptured(p) || !keepsZeros(p)) continue;
    const shape = t.shape as number[];
    const k = rowLength(shape), rows = numel(shape) / k;
    const readers = uses.readers(p);
    const reshape = readers.length === 1 ? plain(readers[0]) : undefined;
    if (!reshape || reshape.op !== "Reshape" || reshape.inputs[0] !== p) continue;
    const rt = g.types.get(reshape.outputs[0]);
    if (!rt || rt.shape.length !== 2 || rt.shape[0] !== rows || rt.shape[1] !== k) continue;
    const next = uses.readers(reshape.outputs[0]);
    const pick = next.length === 1 ? plain(next[0]) : undefined;
    if (!pick || pick.op !== "MatMul" || pick.inputs[0] !== reshape.outputs[0]) continue;
    if (uses.isGraphOutput(reshape.outputs[0]) || uses.isCaptured(reshape.outputs[0])) continue;
    const m = g.initializers.get(pick.inputs[1]);
    if (!m || inputs.has(pick.inputs[1])) continue;
    const taps = pickedRows(m, k);
    if (!taps) continue;
    out.set(p, { taps, rows, picked: pick.outputs[0], nodes: [readers[0], next[0]] });
  }
  return out;
}

/** The row of the single 1 in each column of a 0/1 matrix [K, L], ascending; else undefined. */
function pickedRows(m: Tensor, k: number): number[] | undefined {
  if (m.shape.length !== 2 || m.shape[0] !== k || m.dtype !== "f32") return undefined;
  const l = m.shape[1], d = m.data as Float32Array;
  const taps: number[] = [];
  for (let j = 0; j < l; j++) {
    let at = -1;
    for (let i = 0; i < k; i++) {
      const v = d[i * l + j];
      if (v === 0) continue;
      if (v !== 1 || at >= 0) return undefined;
      at = i;
    }
    if (at < 0 || (taps.length && at <= taps[taps.length - 1])) return undefined;
    taps.push(at);
  }
  return l > 0 && l < k ? taps : undefined;
}
