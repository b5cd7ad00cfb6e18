/** The naive discrete Fourier transform shared by DFT and STFT. */

/**
 * X[k] = sum_{n < len} x[n] e^(-+ 2 pi i k n / size), k < bins, where x has
 * `len` complex samples at re[n * stride], im[n * stride] (im may be absent)
 * and size is the transform length (zero padding when len < size).
 * Inverse uses e^(+...) and divides by size.
 */
export function dft(
  re: ArrayLike<number>,
  im: ArrayLike<number> | undefined,
  start: number,
  stride: number,
  len: number,
  size: number,
  bins: number,
  inverse: boolean,
): { re: Float64Array; im: Float64Array } {
  const outRe = new Float64Array(bins), outIm = new Float64Array(bins);
  const sign = inverse ? 1 : -1;
  const n = Math.min(len, size);
  for (let k = 0; k < bins; k++) {
    let sr = 0, si = 0;
    for (let t = 0; t < n; t++) {
      // Reduce k * t mod size first so the angle stays small and exact.
      const angle = (sign * 2 * Math.PI * ((k * t) % size)) / size;
      const c = Math.cos(angle), s = Math.sin(angle);
      const xr = re[start + t * stride], xi = im ? im[start + t * stride] : 0;
      sr += xr * c - xi * s;
      si += xr * s + xi * c;
    }
    outRe[k] = inverse ? sr / size : sr;
    outIm[k] = inverse ? si / size : si;
  }
  return { re: outRe, im: outIm };
}
