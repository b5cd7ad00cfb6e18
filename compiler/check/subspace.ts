/**
 * Intrinsic-dimension subspace training (Li et al. 2018, "Measuring the
 * intrinsic dimension of objective landscapes"): `subspace(d: 200)` trains
 * one vector z of d numbers and nothing else, every selected parameter
 * becoming
 *
 *     theta_i = theta0_i + reshape(slice_i(P z))
 *
 * with theta0 the (frozen) base parameters and P a fixed random D x d
 * matrix, D the number of values the selected parameters hold. z starts at
 * zero, so the model starts equal to its base. P's columns have unit norm
 * (in expectation for the dense one, exactly for the structured one), so a
 * step of z moves theta by as much as the same step would in the d
 * coordinates of theta itself.
 *
 * Two projections, both seeded from the model's seed and the method's name:
 *
 * - dense: P_i (the rows of the i-th parameter) is a constant [n_i, d] with
 *   entries N(0, 1/D); delta_i = P_i z is one MatMul. Used where D d is at
 *   most DENSE_MAX values (16 MiB of f32), as the paper does for small nets.
 * - fastfood (Le, Sarlos and Smola 2013; Li et al.'s structured projection):
 *   z padded to L = 2^ceil(log2 d) values, and b = ceil(D / L) blocks each
 *   computing
 *
 *       V_j z = H G_j Pi_j H B_j z,
 *
 *   with H the L x L Walsh-Hadamard matrix (entries +-1, unnormalised),
 *   B_j a random +-1 diagonal, Pi_j a random permutation and G_j a Gaussian
 *   diagonal. Column k of V_j has squared norm
 *   ||H G Pi H B e_k||^2 = L ||G Pi H B e_k||^2 = L sum_m G_m^2 (since
 *   H^T H = L I and every entry of Pi H B e_k is +-1), so dividing G_j by
 *   sqrt(L sum G_j^2) and by sqrt(b) gives the stacked [V_1; ...; V_b] unit
 *   columns exactly. The first D rows are P. Only B, Pi and G are stored
 *   (O(D) numbers, never the D x d matrix); H is plain ONNX ops, log2 L
 *   butterfly stages of (u, v) -> (u + v, u - v).
 *
 * Each selected parameter's readers read theta_i instead of theta0_i; a
 * MergeRecord per parameter lets `--adapters merged` fold theta_i into the
 * weight (compiler/passes/merge_adapters.ts evaluates the projection with
 * the reference kernels, so the merged numbers are those the graph computes).
 */
import type { Graph, MergeRecord, Node, Span } from "../ir/graph.ts";
import { isFloat, numel, tensor } from "../ir/tensor.ts";
import { Rng } from "../ir/rng.ts";
import type { Expr } from "../ir/expr.ts";
import { type Code, diag } from "../diagnostics.ts";
import type { Ctx } from "./context.ts";
import type { NamePattern } from "./glob.ts";
import { CtxGraph, withGraphs } from "./builtins/util.ts";

export interface SubspaceSpec {
  method: "subspace";
  name: string;
  d: number;
  targets: string;
  re: NamePattern;
  projection: "auto" | "dense" | "fastfood";
  span: Span;
}

export const PROJECTIONS = ["auto", "dense", "fastfood"] as const;

/** The largest dense P (D times d values) `projection: "auto"` makes: 16 MiB of f32. */
export const DENSE_MAX = 1 << 22;

export interface SubspaceHost {
  graph: Graph;
  ctx(span: Span): Ctx;
  seed: number;
  report: (code: Code, message: string, span: Span) => void;
  markAdapter(name: string, method: string): void;
  merges: MergeRecord[];
}

/** What one application chose, for tests and `dlm params`. */
export interface SubspacePlan {
  params: string[];
  total: number;
  projection: "dense" | "fastfood";
  z?: string;
}

/**
 * Rewrite the elaborated graph: theta_i -> theta0_i + P_i z for every
 * trainable float parameter (not a method's own) whose name matches the
 * targets. Returns undefined after reporting (no match, d too large).
 */
export function applySubspace(s: SubspaceSpec, host: SubspaceHost): SubspacePlan | undefined {
  const g = host.graph;
  const selected = g.params.filter((p) =>
    p.trainable && !p.adapter && s.re.test(p.name) && isFloat(g.types.get(p.name)!.dtype) &&
    g.types.get(p.name)!.shape.every((x) => typeof x === "number")
  ).map((p) => ({ name: p.name, shape: g.types.get(p.name)!.shape as number[] }));
  if (selected.length === 0) {
    host.report(
      ...diag(
        "DLM0215",
        `subspace(targets: "${s.targets}")`,
        "trainable parameter",
        " (see dlm params)",
      ),
      s.span,
    );
    return undefined;
  }
  const total = selected.reduce((a, p) => a + numel(p.shape), 0);
  if (s.d > total) {
    host.report(
      ...diag(
        "DLM0725",
        s.d,
        total,
        selected.length === 1 ? "one parameter" : `${selected.length} parameters`,
      ),
      s.span,
    );
    return undefined;
  }
  const projection = s.projection === "auto"
    ? (total * s.d <= DENSE_MAX ? "dense" : "fastfood")
    : s.projection;
  const ctx = host.ctx(s.span);
  const prefix = `subspace.${s.name}`;
  const z = ctx.param(prefix, "z", [s.d], { kind: "zeros" }, {
    layer: "subspace",
    explicit: { kind: "zeros" },
  });
  if (!z) return undefined;
  host.markAdapter(z.v, `subspace:${s.name}`);
  const rng = Rng.forName(host.seed, `${prefix}.P`);
  const first = g.nodes.length;
  const results = withGraphs(ctx, (e) => {
    const zx = e.v(z.v);
    const deltas = projection === "dense"
      ? dense(e, zx, selected, total, s.d, rng)
      : fastfood(e, zx, selected, total, s.d, rng);
    return selected.map((p, i) =>
      e.v(p.name).op("Add", [deltas[i]], {}, { name: `${p.name}.${prefix}` })
    );
  });
  if (!results) return undefined;
  // The new nodes read only parameters and constants: they go first, before any reader.
  const made = g.nodes.splice(first);
  const mine = new Set<Node>(made);
  g.nodes.unshift(...made);
  selected.forEach((p, i) => {
    const theta = results[i].v;
    for (const n of g.nodes) {
      if (mine.has(n)) continue;
      n.inputs = n.inputs.map((x) => x === p.name ? theta : x);
    }
    host.merges.push({
      method: "subspace",
      adapter: s.name,
      layer: "subspace",
      weight: p.name,
      vector: z.v,
      base: p.name,
      result: theta,
    });
  });
  return { params: selected.map((p) => p.name), total, projection, z: z.v };
}

type Param = { name: string; shape: number[] };

/** delta_i = reshape(P_i z), P_i ~ N(0, 1/D) of shape [n_i, d]. */
function dense(
  e: CtxGraph,
  z: Expr,
  params: Param[],
  total: number,
  d: number,
  rng: Rng,
): Expr[] {
  return params.map((p) => {
    const n = numel(p.shape);
    const data = new Float32Array(n * d);
    rng.fillNormal(data, 0, 1 / Math.sqrt(total));
    const pm = e.constant(tensor("f32", [n, d], data));
    const flat = pm.matmul(z);
    return flat.reshape(p.shape);
  });
}

/** The fastfood projection's numbers: B (+-1), Pi and the scaled G, each [blocks, L]. */
export function fastfoodFactors(
  rng: Rng,
  total: number,
  d: number,
): { L: number; blocks: number; b: Float32Array; perm: number[]; g: Float32Array } {
  const L = 1 << Math.ceil(Math.log2(Math.max(d, 1)));
  const blocks = Math.ceil(total / L);
  const b = new Float32Array(blocks * L);
  for (let i = 0; i < b.length; i++) b[i] = rng.u32() & 1 ? 1 : -1;
  const perm: number[] = [];
  for (let j = 0; j < blocks; j++) {
    const p = Array.from({ length: L }, (_, i) => i);
    for (let i = L - 1; i > 0; i--) {
      const k = rng.u32() % (i + 1);
      [p[i], p[k]] = [p[k], p[i]];
    }
    perm.push(...p);
  }
  const g = new Float32Array(blocks * L);
  rng.fillNormal(g, 0, 1);
  for (let j = 0; j < blocks; j++) {
    let ss = 0;
    for (let i = 0; i < L; i++) ss += g[j * L + i] ** 2;
    const k = 1 / Math.sqrt(L * ss * blocks);
    for (let i = 0; i < L; i++) g[j * L + i] *= k;
  }
  return { L, blocks, b, perm, g };
}

/** The [blocks, L] values' Walsh-Hadamard transform along L: log2 L butterfly stages. */
function hadamard(e: CtxGraph, x: Expr, blocks: number, L: number): Expr {
  // Stage s (s = 1, 2, 4, ... < L) pairs entries s apart: viewed as [blocks L / 2s, 2, s],
  // (u, v) = (x[:, 0, :], x[:, 1, :]) -> (u + v, u - v). The product of the stages is H_L.
  let y = x;
  for (let s = 1; s < L; s *= 2) {
    const v = y.reshape([(blocks * L) / (2 * s), 2, s]);
    const lo = v.op("Slice", [e.ints([0]), e.ints([1]), e.ints([1])]);
    const hi = v.op("Slice", [e.ints([1]), e.ints([2]), e.ints([1])]);
    y = e.op1("Concat", [lo.add(hi), lo.sub(hi)], { axis: 1 });
  }
  return y.reshape([blocks, L]);
}

function fastfood(
  e: CtxGraph,
  z: Expr,
  params: Param[],
  total: number,
  d: number,
  rng: Rng,
): Expr[] {
  const { L, blocks, b, perm, g } = fastfoodFactors(rng, total, d);
  const padded = L > d
    ? e.op1("Concat", [z, e.constant(tensor("f32", [L - d], new Float32Array(L - d)))], { axis: 0 })
    : z;
  const bx = padded.reshape([1, L]).mul(e.constant(tensor("f32", [blocks, L], b)));
  const h1 = hadamard(e, bx, blocks, L);
  const permuted = e.op1("GatherElements", [h1, e.constant(tensor("i64", [blocks, L], perm))], {
    axis: 1,
  });
  const gx = permuted.mul(e.constant(tensor("f32", [blocks, L], g)));
  const flat = hadamard(e, gx, blocks, L).reshape([blocks * L]);
  const out: Expr[] = [];
  let at = 0;
  for (const p of params) {
    const n = numel(p.shape);
    const piece = flat.op("Slice", [e.ints([at]), e.ints([at + n]), e.ints([0])]);
    out.push(piece.reshape(p.shape));
    at += n;
  }
  return out;
}
