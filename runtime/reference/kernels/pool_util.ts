/**
 * The window walk shared by MaxPool, AveragePool and LpPool: for each
 * (n, c) plane and output position, visit the input positions the window
 * covers (skipping padding) and fold them.
 */
import { numel } from "../../../compiler/ir/tensor.ts";
import type { WindowGeometry } from "./conv_util.ts";

/**
 * Call `visit(plane, outIndex, inIndices)` for every output element, where
 * `inIndices` lists the in-input positions of its window (offsets within the
 * plane) and `windowSize(includePad)` how many positions the window has.
 */
export function forEachWindow(
  planes: number,
  inSp: number[],
  geo: WindowGeometry,
  visit: (plane: number, out: number, inside: number[], padded: number) => void,
): void {
  const r = inSp.length;
  const outP = numel(geo.out), ksz = numel(geo.kernel);
  const inStr = new Array<number>(r);
  for (let d = r - 1, s = 1; d >= 0; d--) {
    inStr[d] = s;
    s *= inSp[d];
  }
  const o = new Array<number>(r), k = new Array<number>(r);
  const inside: number[] = [];
  for (let p = 0; p < outP; p++) {
    let q = p;
    for (let d = r - 1; d >= 0; d--) {
      o[d] = q % geo.out[d];
      q = Math.floor(q / geo.out[d]);
    }
    inside.length = 0;
    // Window positions inside the explicitly padded input (for count_include_pad).
    let padded = 1;
    for (let d = 0; d < r; d++) {
      const start = o[d] * geo.strides[d] - geo.padsBegin[d];
      let count = 0;
      for (let kd = 0; kd < geo.kernel[d]; kd++) {
        const pos = start + kd * geo.dilations[d];
        if (pos >= -geo.padsBegin[d] && pos < inSp[d] + geo.padsEnd[d]) count++;
      }
      padded *= count;
    }
    for (let kk = 0; kk < ksz; kk++) {
      let rest = kk;
      for (let d = r - 1; d >= 0; d--) {
        k[d] = rest % geo.kernel[d];
        rest = Math.floor(rest / geo.kernel[d]);
      }
      let idx = 0, ok = true;
      for (let d = 0; d < r; d++) {
        const pos = o[d] * geo.strides[d] + k[d] * geo.dilations[d] - geo.padsBegin[d];
        if (pos < 0 || pos >= inSp[d]) {
          ok = false;
          break;
        }
        idx += pos * inStr[d];
      }
      if (ok) inside.push(idx);
    }
    for (let plane = 0; plane < planes; plane++) visit(plane, p, inside, padded);
  }
}
