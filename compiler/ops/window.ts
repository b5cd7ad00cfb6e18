/**
 * Spatial output sizes of sliding-window ops (Conv, MaxPool, AveragePool)
 * from their `auto_pad`, `pads`, `strides`, `dilations` and `ceil_mode`
 * attributes, shared so the three ops agree on every padding mode.
 */
import { type AttrValue, type Dim, formatType, type TensorType } from "../ir/graph.ts";
import { ShapeError } from "./op_def.ts";
import { convOutDim, dimDiv } from "./dims.ts";
import { intsAttr, strAttr } from "./rules.ts";
import { diag } from "../diagnostics.ts";
import { numel, setNumber, type Tensor, zeros } from "../ir/tensor.ts";

/** Read an INTS attribute that must have `n` entries, defaulting to `fill`. */
export function spatialInts(
  op: string,
  attrs: Record<string, AttrValue>,
  name: string,
  n: number,
  fill: number,
): number[] {
  const v = intsAttr(attrs, name);
  if (v === undefined) return new Array(n).fill(fill);
  if (v.length !== n) {
    throw new ShapeError(
      ...diag(
        "DLM0227",
        op,
        `${name} to have ${n} value${n === 1 ? "" : "s"}`,
        `[${v.join(", ")}]`,
      ),
    );
  }
  return v;
}

/**
 * Output spatial dims for input `x` (N, C, D1, ..., Dn) and a kernel of the
 * given spatial sizes:
 *   NOTSET:     out = floor_or_ceil((in + pb + pe - d*(k-1) - 1) / s) + 1
 *   SAME_*:     out = ceil(in / s)
 *   VALID:      NOTSET with zero pads
 */
export function windowOutput(
  op: string,
  x: TensorType,
  kernel: readonly Dim[],
  attrs: Record<string, AttrValue>,
  ceilMode: boolean,
): Dim[] {
  const n = kernel.length;
  const strides = spatialInts(op, attrs, "strides", n, 1);
  const dilations = spatialInts(op, attrs, "dilations", n, 1);
  const autoPad = strAttr(attrs, "auto_pad", "NOTSET");
  const pads = autoPad === "NOTSET"
    ? spatialInts(op, attrs, "pads", 2 * n, 0)
    : new Array(2 * n).fill(0);
  if (!["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"].includes(autoPad)) {
    throw new ShapeError(
      ...diag(
        "DLM0227",
        op,
        "auto_pad to be NOTSET, SAME_UPPER, SAME_LOWER or VALID",
        `'${autoPad}'`,
      ),
    );
  }
  for (
    const [name, vs, min] of [["strides", strides, 1], ["dilations", dilations, 1], [
      "pads",
      pads,
      0,
    ]] as const
  ) {
    if (vs.some((v) => v < min)) {
      throw new ShapeError(...diag("DLM0227", op, `${name} >= ${min}`, `[${vs.join(", ")}]`));
    }
  }
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const input = x.shape[2 + i];
    if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
      out.push(dimDiv(input, strides[i], "ceil"));
      continue;
    }
    const d = convOutDim(
      input,
      kernel[i],
      strides[i],
      pads[i],
      pads[n + i],
      dilations[i],
      ceilMode,
    );
    if (typeof d === "number" && d < 1) {
      const k = kernel[i];
      const span = typeof k === "number" ? (k - 1) * dilations[i] + 1 : k;
      throw new ShapeError(
        ...diag(
          "DLM0230",
          `${op} window of ${span}`,
          `in dim ${2 + i} of input ${formatType(x)} padded to ${
            typeof input === "number" ? input + pads[i] + pads[n + i] : input
          }`,
        ),
      );
    }
    out.push(d);
  }
  return out;
}

/**
 * S [K, O * I]: S[k, (o, i)] = 1 where tap k of output position o reads input position i, for a
 * window op (a convolution, a pool) of that kernel, strides, dilations and pads between maps of
 * those sizes (positions row-major). passes/depthwise_matrix.ts builds convolution matrices from
 * it, AveragePool's gradient its spreading matrix.
 */
export function tapMatrix(
  dtype: Tensor["dtype"],
  p: {
    kernel: number[];
    strides: number[];
    dil: number[];
    /** Begin pads of every spatial dim, then end pads. */
    pads: number[];
    inSp: number[];
    outSp: number[];
  },
): Tensor {
  const taps = numel(p.kernel), positionsIn = numel(p.inSp), positionsOut = numel(p.outSp);
  const s = zeros(dtype, [taps, positionsOut * positionsIn]);
  const n = p.kernel.length;
  const index = (flat: number, dims: number[]) => {
    const at = new Array<number>(dims.length);
    for (let d = dims.length - 1; d >= 0; d--) {
      at[d] = flat % dims[d];
      flat = Math.floor(flat / dims[d]);
    }
    return at;
  };
  for (let o = 0; o < positionsOut; o++) {
    const oAt = index(o, p.outSp);
    for (let k = 0; k < taps; k++) {
      const kAt = index(k, p.kernel);
      let i = 0, inside = true;
      for (let d = 0; d < n && inside; d++) {
        const at = oAt[d] * p.strides[d] + kAt[d] * p.dil[d] - p.pads[d];
        inside = at >= 0 && at < p.inSp[d];
        i = i * p.inSp[d] + at;
      }
      if (inside) setNumber(s, k * positionsIn * positionsOut + o * positionsIn + i, 1);
    }
  }
  return s;
}
