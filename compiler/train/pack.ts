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
import { formatType, type Graph, type PackLayout } from "../ir/graph.ts";
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
import { optSlotName, parseOptSlot } from "./contract.ts";

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
