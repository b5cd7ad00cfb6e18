/**
 * Einsum: out[output letters] = sum over the other letters of the product of
 * the inputs at their letters. "..." broadcasts (right-aligned) like numpy;
 * without "->" the output is the ellipsis dims then the letters used once,
 * alphabetically. A naive loop over every letter combination.
 */
import type { Kernel } from "../kernel.ts";
import { attrString, finish, kernelFail, kernelFailIf, numbers, scratch } from "../util.ts";
import { numel, type Tensor } from "../../../compiler/ir/tensor.ts";

export const einsum: Kernel = (inputs, attrs) => {
  const ts = inputs.filter((t): t is Tensor => !!t);
  const eq = attrString(attrs, "equation", "").replace(/\s/g, "");
  const [lhs, rhs] = eq.split("->");
  const terms = lhs.split(",");
  kernelFailIf(
    terms.length !== ts.length,
    `Equation "${eq}" has ${terms.length} operands, found ${ts.length}`,
  );
  // Ellipsis dims become private letters \u0100.. (right-aligned across operands).
  const ell = Math.max(
    0,
    ...terms.map((t, i) => (t.includes("...") ? ts[i].shape.length - (t.length - 3) : 0)),
  );
  const ellLetters = Array.from({ length: ell }, (_, i) => String.fromCharCode(0x100 + i));
  const expand = (t: string, rank: number) => {
    if (!t.includes("...")) return [...t];
    const n = rank - (t.length - 3);
    const [a, b] = t.split("...");
    return [...a, ...ellLetters.slice(ell - n), ...b];
  };
  const inLetters = terms.map((t, i) => expand(t, ts[i].shape.length));
  inLetters.forEach((l, i) => {
    kernelFailIf(
      l.length !== ts[i].shape.length,
      `Term "${terms[i]}" does not match rank ${ts[i].shape.length}`,
    );
  });
  let outLetters: string[];
  if (rhs !== undefined) outLetters = expand(rhs, ell + rhs.replace("...", "").length);
  else {
    const count = new Map<string, number>();
    for (const l of inLetters.flat()) count.set(l, (count.get(l) ?? 0) + 1);
    const once = [...count].filter(([l, c]) => c === 1 && l.charCodeAt(0) < 0x100).map(([l]) => l);
    outLetters = [...ellLetters, ...once.sort()];
  }
  const size = new Map<string, number>();
  inLetters.forEach((ls, i) =>
    ls.forEach((l, d) => {
      const s = ts[i].shape[d], prev = size.get(l);
      if (prev === undefined || prev === 1) size.set(l, s);
      else if (s !== 1 && s !== prev) kernelFail(`Letter '${l}' has sizes ${prev} and ${s}`);
    })
  );
  const letters = [...size.keys()];
  const pos = new Map(letters.map((l, i) => [l, i]));
  const dims = letters.map((l) => size.get(l)!);
  const outShape = outLetters.map((l) => size.get(l) ?? 1);
  // Stride of each letter in each operand (0 for broadcast size-1 dims) and in the output.
  const strideIn = ts.map((t, i) => {
    const s = new Array<number>(letters.length).fill(0);
    let acc = 1;
    for (let d = t.shape.length - 1; d >= 0; d--) {
      if (t.shape[d] !== 1) s[pos.get(inLetters[i][d])!] += acc;
      acc *= t.shape[d];
    }
    return s;
  });
  const strideOut = new Array<number>(letters.length).fill(0);
  for (let d = outLetters.length - 1, acc = 1; d >= 0; d--) {
    strideOut[pos.get(outLetters[d])!] = acc;
    acc *= outShape[d];
  }
  const vals = ts.map(numbers);
  const acc = new Float64Array(numel(outShape));
  const idx = new Array<number>(letters.length).fill(0);
  const total = numel(dims);
  for (let f = 0; f < total; f++) {
    let p = 1, o = 0;
    for (let i = 0; i < ts.length; i++) {
      let off = 0;
      for (let l = 0; l < letters.length; l++) off += idx[l] * strideIn[i][l];
      p *= vals[i][off];
    }
    for (let l = 0; l < letters.length; l++) o += idx[l] * strideOut[l];
    acc[o] += p;
    for (let l = letters.length - 1; l >= 0; l--) {
      if (++idx[l] < dims[l]) break;
      idx[l] = 0;
    }
  }
  const out = scratch(ts[0].dtype, acc.length);
  for (let i = 0; i < acc.length; i++) out[i] = acc[i];
  return [finish(ts[0].dtype, outShape, out)];
};
