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
import { formatType, type Graph, type Node, type PackLayout } from "../ir/graph.ts";
import { type Expr, exprGraph } from "../ir/expr.ts";
import {
  constantPool,
  isTrainBatchNorm,
  type SplitBatchNorm,
  splitBatchNorm,
} from "../passes/share_batch_statistics.ts";
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
import { diag, fail } from "../diagnostics.ts";
import { nextName, optSlotName, parseOptSlot } from "./contract.ts";

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
): { names: string[]; groupOf: Map<string, string> } {
  const g = b.graph;
  const buckets = new Map<string, string[]>();
  const single: string[] = [];
  for (const p of params) {
    const t = g.types.get(p);
    const init = g.initializers.get(p);
    const size = t?.shape.every((d) => typeof d === "number")
      ? numel(t.shape as number[])
      : undefined;
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
  for (const members of buckets.values()) {
    if (members.length < 2) {
      single.push(...members);
      continue;
    }
    const layout = newPack(b, members);
    const { name, dtype } = layout;
    // Split the pack and give each piece its parameter's name and shape.
    const sizes = b.initializer(
      b.fresh(`${name}/sizes`),
      tensor(
        "i64",
        [members.length],
        layout.members.map((m) => numel(m.shape)),
      ),
    );
    const pieces = layout.members.map((m) =>
      m.shape.length === 1 ? m.param : b.fresh(`${name}/${m.param}`)
    );
    front.push({
      name: `${name}/split`,
      op: "Split",
      inputs: [name, sizes],
      outputs: pieces,
      attrs: { axis: 0 },
    });
    layout.members.forEach((m, i) => {
      const n = numel(m.shape);
      g.types.set(pieces[i], { dtype, shape: [n] });
      if (pieces[i] === m.param) return;
      const shape = b.initializer(
        b.fresh(`${name}/shape`),
        tensor("i64", [m.shape.length], m.shape),
      );
      front.push({
        name: `${name}/${m.param}/reshape`,
        op: "Reshape",
        inputs: [pieces[i], shape],
        outputs: [m.param],
        attrs: {},
      });
    });
    names.push(name);
    groupOf.set(name, members[0]);
  }
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
export function newPack(b: GraphBuilder, members: string[]): PackLayout {
  const g = b.graph;
  const dtype = g.types.get(members[0])!.dtype;
  const packs = g.packs ??= [];
  const name = b.fresh(`${PACK_PREFIX}${packs.length}`);
  const layout: PackLayout = { name, dtype, size: 0, members: [] };
  for (const p of members) {
    const shape = g.types.get(p)!.shape as number[];
    layout.members.push({ param: p, offset: layout.size, shape: [...shape] });
    layout.size += numel(shape);
  }
  const data = packData(
    dtype,
    layout.size,
    layout.members.map((m) => g.initializers.get(m.param)!),
  );
  const member = new Set(members);
  g.inputs = g.inputs.filter((i) => !member.has(i.name));
  g.inputs.push({ name, type: { dtype, shape: [layout.size] } });
  g.types.set(name, { dtype, shape: [layout.size] });
  g.initializers.set(name, { dtype, shape: [layout.size], data } as Tensor);
  for (const p of members) {
    g.initializers.delete(p);
    b.constants.delete(p);
  }
  packs.push(layout);
  return layout;
}

/**
 * The running statistics of every train-mode batch norm of a step, updated in one chain: the
 * batch norms are split as share_batch_statistics does (inference-mode nodes reading the batch's
 * statistics), and their running means and variances become one step input per dtype, a pack
 * `pack:<k>` [m_1 .. m_k, v_1 .. v_k] (f32[2 sum C]) laid out as parameter packs are, whose next
 * value is ONNX's rule applied once to the whole vector:
 *
 *   next = pack * momentum + concat(mean_1 .. mean_k, var_1 .. var_k) * (1 - momentum)
 *
 * (momentum a per-element constant where the batch norms differ). That is six nodes for the step
 * where the per-layer form takes seven per batch norm: a Concat of the keepdims means along the
 * channel axis and a Reshape, a Concat with the variances ([C] already), and the update. The
 * batch norms read only the batch's statistics in a step, so the pack needs no Split.
 * A batch norm applied more than once in a step (a shared layer, whose applications update its
 * statistics in turn: batch_norm_state.ts) is left out: its statistics are not the step's inputs
 * updated once, and share_batch_statistics gives it its own chain.
 * Returns the packs' next values with their output names, and the statistics packed; those are no
 * longer step inputs (nor initializers: their initial values are the pack's).
 */
export function packRunningStatistics(
  b: GraphBuilder,
): { outs: [string, string][]; packed: Set<string> } {
  const g = b.graph;
  const pool = constantPool(g);
  const splits: SplitBatchNorm[] = [];
  const state = new Set(g.inputs.map((i) => i.name).filter((n) => g.initializers.has(n)));
  const reads = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) reads.set(i, (reads.get(i) ?? 0) + 1);
  const once = (bn: Node) =>
    [3, 4].every((j) => state.has(bn.inputs[j]) && !reads.has(bn.outputs[j - 2] ?? ""));
  for (const bn of [...g.nodes]) {
    if (isTrainBatchNorm(bn) && once(bn)) splits.push(splitBatchNorm(b, bn, pool));
  }
  const byDtype = new Map<string, SplitBatchNorm[]>();
  for (const s of splits) {
    const dtype = g.types.get(s.runMean)!.dtype;
    byDtype.set(dtype, [...(byDtype.get(dtype) ?? []), s]);
  }
  const e = exprGraph({
    node: (op, inputs, attrs, o) =>
      b.addNode(op, inputs, attrs, { ...o, name: `stats/${op.toLowerCase()}` }),
    constant: (t) => pool.get(t, (t) => b.initializer("stats.c", t)),
    typeOf: (name) => g.types.get(name)!,
  });
  const outs: [string, string][] = [];
  const packed = new Set<string>();
  for (const group of byDtype.values()) {
    // The running statistics the step updates (a batch norm's output may be unused: none then).
    const means = group.filter((s) => s.nextMean), vars = group.filter((s) => s.nextVar);
    const members = [...means.map((s) => s.runMean), ...vars.map((s) => s.runVar)];
    if (members.length === 0) continue;
    const layout = newPack(b, members);
    const name = layout.name;
    const momenta: number[] = [];
    for (const [i, m] of layout.members.entries()) {
      const s = i < means.length ? means[i] : vars[i - means.length];
      for (let k = 0; k < numel(m.shape); k++) momenta.push(s.momentum);
    }
    // The keepdims means ([1, C, 1, ...]) concatenated along the channel axis and flattened
    // (each flattened first where the batch norms' ranks differ).
    const pieces: Expr[] = [];
    const rank = means[0]?.mean.type.shape.length;
    if (means.length > 1 && means.every((s) => s.mean.type.shape.length === rank)) {
      pieces.push(e.op1("Concat", means.map((s) => s.mean), { axis: 1 }).reshape([-1]));
    } else pieces.push(...means.map((s) => s.mean.reshape([-1])));
    pieces.push(...vars.map((s) => s.variance));
    const batch = pieces.length === 1 ? pieces[0] : e.op1("Concat", pieces, { axis: 0 });
    const uniform = momenta.every((m) => m === momenta[0]);
    const m = uniform
      ? e.scalar(momenta[0], layout.dtype)
      : e.constant(tensor(layout.dtype, [layout.size], momenta));
    const rest = uniform
      ? e.scalar(1 - momenta[0], layout.dtype)
      : e.constant(tensor(layout.dtype, [layout.size], momenta.map((x) => 1 - x)));
    const next = e.v(name).mul(m).add(batch.mul(rest));
    outs.push([next.name, nextName(name)]);
    for (const m of members) packed.add(m);
  }
  return { outs, packed };
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

/** `opt:<slot>:<pack>` -> [slot, pack layout] for the packs of `packs`. */
function packedSlot(
  name: string,
  byName: Map<string, PackLayout>,
): { slot: string; pack: PackLayout } | undefined {
  const s = parseOptSlot(name);
  const pack = s && byName.get(s.param);
  return s && pack ? { slot: s.slot, pack } : undefined;
}

/**
 * Named values from packed ones: each pack (and each optimiser slot of a
 * pack, `opt:m:pack:0`) becomes its members (`fc.weight`,
 * `opt:m:fc.weight`), as views of the pack's data. Other values pass
 * through.
 */
export function unpackValues(
  packs: readonly PackLayout[],
  values: ReadonlyMap<string, Tensor>,
): Map<string, Tensor> {
  const byName = new Map(packs.map((p) => [p.name, p]));
  const out = new Map<string, Tensor>();
  for (const [name, t] of values) {
    const direct = byName.get(name);
    const slot = direct ? undefined : packedSlot(name, byName);
    const pack = direct ?? slot?.pack;
    if (!pack) {
      out.set(name, t);
      continue;
    }
    const data = t.data as Float32Array;
    for (const m of pack.members) {
      const n = numel(m.shape);
      out.set(slot ? optSlotName(slot.slot, m.param) : m.param, {
        dtype: t.dtype,
        shape: [...m.shape],
        data: data.subarray(m.offset, m.offset + n),
      });
    }
  }
  return out;
}

/**
 * Packed values from named ones: for each pack, the members given in
 * `values` (and the optimiser slots of members) are written into a copy of
 * the pack's value in `base` (zeros when it has none); the members' entries
 * are replaced by the pack's. A member of the wrong shape raises DLM0403.
 */
export function packValues(
  packs: readonly PackLayout[],
  values: ReadonlyMap<string, Tensor>,
  base: ReadonlyMap<string, Tensor> = new Map(),
): Map<string, Tensor> {
  const out = new Map(values);
  const where = new Map<
    string,
    { pack: PackLayout; slot?: string; member: PackLayout["members"][number] }
  >();
  for (const pack of packs) {
    for (const m of pack.members) {
      where.set(m.param, { pack, member: m });
    }
  }
  const built = new Map<string, Tensor>();
  for (const [name, t] of values) {
    const s = parseOptSlot(name);
    const at = where.get(name) ?? (s ? where.get(s.param) : undefined);
    if (!at) continue;
    const target = where.has(name) ? at.pack.name : optSlotName(s!.slot, at.pack.name);
    let p = built.get(target);
    if (!p) {
      const from = values.get(target) ?? base.get(target);
      const data = from ? from.data.slice() : zeros(at.pack.dtype, [at.pack.size]).data;
      p = { dtype: at.pack.dtype, shape: [at.pack.size], data } as Tensor;
      built.set(target, p);
    }
    if (
      t.dtype !== at.pack.dtype || t.shape.length !== at.member.shape.length ||
      t.shape.some((d, i) => d !== at.member.shape[i])
    ) {
      fail(
        ...diag(
          "DLM0403",
          `'${name}'`,
          formatType(t),
          "the step model's input",
          formatType({ dtype: at.pack.dtype, shape: at.member.shape }),
        ),
      );
    }
    (p.data as Float32Array).set(t.data as Float32Array, at.member.offset);
    out.delete(name);
  }
  for (const [k, t] of built) out.set(k, t);
  return out;
}
