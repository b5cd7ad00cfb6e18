/**
 * The random cost matrices of the matching oracle test (tests/matching_oracle_test.ts), made
 * here and by tests/fixtures/matching/make_matching_fixture.py alike from one seed per group:
 * xorshift32, so that the fixture stores only seeds and scipy's optimal costs.
 */

/** One group: B matrices of one shape and kind, drawn in order from `seed`. */
export interface Group {
  R: number;
  C: number;
  B: number;
  /** "int": integers below `levels` (many ties); "float": multiples of 2^-24 in [0, 1). */
  kind: "int" | "float";
  levels?: number;
  /** "none", "random" (each row valid with probability 3/4) or "prefix" (the first k rows). */
  mask: "none" | "random" | "prefix";
  seed: number;
}

/** xorshift32: the next state, an unsigned 32-bit integer. */
export function xorshift32(x: number): number {
  x ^= x << 13;
  x >>>= 0;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}

/** The group's costs, f32[B, R, C] in row-major order, and its mask, 1/0 [B, R]. */
export function generate(g: Group): { cost: Float32Array; mask: Uint8Array } {
  let s = g.seed >>> 0;
  const next = () => (s = xorshift32(s));
  const cost = new Float32Array(g.B * g.R * g.C);
  for (let k = 0; k < cost.length; k++) {
    const x = next();
    cost[k] = g.kind === "int" ? x % g.levels! : (x >>> 8) / 2 ** 24;
  }
  const mask = new Uint8Array(g.B * g.R).fill(1);
  for (let b = 0; b < g.B; b++) {
    if (g.mask === "random") {
      for (let r = 0; r < g.R; r++) mask[b * g.R + r] = next() % 4 === 0 ? 0 : 1;
    } else if (g.mask === "prefix") {
      const k = next() % (g.R + 1);
      for (let r = k; r < g.R; r++) mask[b * g.R + r] = 0;
    }
  }
  return { cost, mask };
}
