/**
 * Named values to packed ones and back (compiler/train/pack.ts packs a step's
 * parameters into flat vectors): what a runner needs at every checkpoint,
 * save and resume. A module of its own so that running a compiled step loads
 * no compiler pass.
 */
import {
  formatType,
  memberSize,
  type PackLayout,
  type PackMember,
  rowLength,
} from "../ir/graph.ts";
import { numel, type Tensor, zeros } from "../ir/tensor.ts";
import { diag, fail } from "../diagnostics.ts";
import { optSlotName, parseOptSlot } from "./contract.ts";

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
 *
 * A member with `taps` is a new tensor: its parameter's value in `base` (by
 * the parameter's name: the values the step started from) with the pack's
 * taps written in, or zeros and the taps for an optimiser slot, whose other
 * taps stay zero (packValues checks that they start so). Without its base,
 * DLM0416.
 */
export function unpackValues(
  packs: readonly PackLayout[],
  values: ReadonlyMap<string, Tensor>,
  base: ReadonlyMap<string, Tensor> = new Map(),
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
      const n = memberSize(m);
      const part = data.subarray(m.offset, m.offset + n);
      const key = slot ? optSlotName(slot.slot, m.param) : m.param;
      if (!m.taps) {
        out.set(key, { dtype: t.dtype, shape: [...m.shape], data: part });
        continue;
      }
      let whole: Tensor;
      if (slot) whole = zeros(t.dtype, m.shape);
      else {
        const from = base.get(m.param);
        if (!from || from.dtype !== t.dtype || numel(from.shape) !== numel(m.shape)) {
          fail(...diag("DLM0416", `'${m.param}' (the kernel taps its step does not train)`));
        }
        whole = { dtype: t.dtype, shape: [...m.shape], data: from.data.slice() } as Tensor;
      }
      scatterTaps(whole.data as Float32Array, rowLength(m.shape), m.taps, part);
      out.set(key, whole);
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
    const m = at.member;
    if (m.taps) {
      const k = rowLength(m.shape);
      // A slot's other taps must be zero: the step keeps them so, as a step of every tap would
      // (their gradient is zero), only from zero.
      if (target !== at.pack.name && !deadTapsZero(t.data as Float32Array, k, m.taps)) {
        fail(...diag("DLM0424", `'${name}'`, m.param));
      }
    }
    setPackMember(p, m, t);
    out.delete(name);
  }
  for (const [k, t] of built) out.set(k, t);
  return out;
}

/** Writes what a pack holds of member `m`'s value `t` into the pack's data (`pack`, in place). */
export function setPackMember(pack: Tensor, m: PackMember, t: Tensor): void {
  (pack.data as Float32Array).set(packedPart(m, t).data as Float32Array, m.offset);
}

/** What a pack holds of a member's value `t`: all of it, or its taps. */
export function packedPart(m: PackMember, t: Tensor): Tensor {
  if (!m.taps) return t;
  const k = rowLength(m.shape), rows = numel(m.shape) / k, l = m.taps.length;
  const src = t.data as Float32Array;
  const out = zeros(t.dtype, [rows * l]);
  const dst = out.data as Float32Array;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < l; j++) dst[r * l + j] = src[r * k + m.taps[j]];
  }
  return out;
}

/** Writes `part` (rows of the taps) into `whole` (rows of K). */
function scatterTaps(whole: Float32Array, k: number, taps: number[], part: Float32Array): void {
  const l = taps.length, rows = whole.length / k;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < l; j++) whole[r * k + taps[j]] = part[r * l + j];
  }
}

/** Whether every element of `data` (rows of K) off the taps is zero. */
function deadTapsZero(data: Float32Array, k: number, taps: number[]): boolean {
  const live = new Set(taps);
  for (let i = 0; i < data.length; i++) if (data[i] !== 0 && !live.has(i % k)) return false;
  return true;
}
