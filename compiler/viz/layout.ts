/**
 * Layered (Sugiyama-style) layout of a directed acyclic graph, top to bottom,
 * for drawing the IR without Graphviz. The four classic phases:
 *
 * 1. Layering by longest path: layer(v) = 1 + max layer(u) over edges u -> v,
 *    so every edge points strictly downward. Sources (graph inputs, Constant
 *    nodes) are then pulled down to just above their first consumer, so that a
 *    mask fed in at the bottom of a network does not start at the top.
 * 2. Edges longer than one layer are split by dummy vertices, one per layer
 *    crossed, so that they can be ordered and routed around boxes.
 * 3. Crossing reduction: alternating down/up barycentre sweeps (a vertex moves
 *    to the mean position of its neighbours in the layer just fixed); the
 *    ordering with the fewest crossings is kept. Crossings are counted as
 *    inversions with a Fenwick tree (Barth, Jünger & Mutzel 2002).
 * 4. Coordinates by Brandes & Köpf (2001): vertices are aligned into
 *    vertical blocks with their median neighbour (four ways: up/down x
 *    left/right), each alignment is compacted, and BK's balanced mean of the
 *    four is a fifth candidate; the one whose edges bend least is kept. Chains
 *    line up and long edges run straight, so a ResNet reads as a straight
 *    spine with its skip connections beside it. Balancing can break minimum
 *    gaps; they are restored per layer by least squares under the order
 *    constraints (isotonic regression by pool-adjacent-violators).
 *
 * The input must be acyclic. A cycle (only in an invalid graph) is broken by
 * leaving out the edges that close it; those come back with no points.
 */

export interface LayoutNode {
  id: string;
  width: number;
  height: number;
  /** Room to keep free left of the centre (default width / 2), e.g. for labels. */
  left?: number;
  /** Room to keep free right of the centre (default width / 2). */
  right?: number;
}

export interface LayoutEdge {
  from: string;
  to: string;
  /** Edges with the same key leave their source at the same port (one value, many consumers). */
  fromKey?: string;
  /** Edges with the same key enter their target at the same port. */
  toKey?: string;
}

export interface LayoutOptions {
  /** Minimum horizontal gap between two boxes (default 24). */
  nodeSep?: number;
  /** Minimum horizontal gap next to a routed long edge (default 12). */
  edgeSep?: number;
  /** Vertical gap between layers (default 40). */
  rankSep?: number;
  /** Empty border around the drawing (default 16). */
  margin?: number;
  /** Rounds of down+up barycentre sweeps (default 12). */
  orderRounds?: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface PlacedNode {
  id: string;
  /** Layer index, 0 at the top. */
  layer: number;
  /** Position within the layer, 0 at the left (dummies counted). */
  order: number;
  /** Centre of the box. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedEdge {
  from: string;
  to: string;
  /**
   * Route from the source's bottom side to the target's top side, through one
   * vertical stretch per layer crossed; y never decreases along it. Draw
   * consecutive points joined by cubic Béziers with vertical tangents. Empty
   * for an edge left out to break a cycle.
   */
  points: Point[];
}

export interface Layout {
  /** In the order given. */
  nodes: PlacedNode[];
  /** In the order given. */
  edges: PlacedEdge[];
  width: number;
  height: number;
  layerCount: number;
  /** Edge crossings of the chosen ordering. */
  crossings: number;
}

/** One layer-to-layer piece of an edge. */
interface Segment {
  a: number; // upper vertex
  b: number; // lower vertex
}

/**
 * Lay out a DAG top to bottom. Deterministic, and near-linear in practice:
 * a ResNet-50 (175 nodes, 169 layers) takes a few tens of milliseconds.
 *
 * @example
 * ```ts
 * const l = layoutLayered(
 *   [{ id: "a", width: 60, height: 30 }, { id: "b", width: 60, height: 30 }],
 *   [{ from: "a", to: "b" }],
 * );
 * l.nodes[1].layer; // 1
 * ```
 */
export function layoutLayered(
  nodes: LayoutNode[],
  edges: LayoutEdge[],
  opts: LayoutOptions = {},
): Layout {
  const nodeSep = opts.nodeSep ?? 24;
  const edgeSep = opts.edgeSep ?? 12;
  const rankSep = opts.rankSep ?? 40;
  const margin = opts.margin ?? 16;
  const n = nodes.length;
  const index = new Map<string, number>();
  nodes.forEach((v, i) => {
    if (index.has(v.id)) throw new Error(`layoutLayered(): duplicate node id "${v.id}"`);
    index.set(v.id, i);
  });
  const ends = edges.map((e) => {
    const a = index.get(e.from), b = index.get(e.to);
    if (a === undefined || b === undefined) {
      throw new Error(`layoutLayered(): edge "${e.from}" -> "${e.to}" names an unknown node`);
    }
    return [a, b] as const;
  });

  const kept = breakCycles(n, ends);
  const layer = assignLayers(n, ends, kept);

  // Proper layered graph: real vertices 0..n-1, then dummies.
  const vLayer = [...layer];
  const isDummy: boolean[] = new Array(n).fill(false);
  const segs: Segment[] = [];
  const chains: number[][] = ends.map(([a, b], k) => {
    if (!kept[k]) return [];
    const chain = [a];
    for (let l = layer[a] + 1; l < layer[b]; l++) {
      chain.push(vLayer.length);
      vLayer.push(l);
      isDummy.push(true);
    }
    chain.push(b);
    for (let i = 0; i + 1 < chain.length; i++) segs.push({ a: chain[i], b: chain[i + 1] });
    return chain;
  });
  const total = vLayer.length;
  const up: Segment[][] = Array.from({ length: total }, () => []);
  const down: Segment[][] = Array.from({ length: total }, () => []);
  for (const s of segs) {
    down[s.a].push(s);
    up[s.b].push(s);
  }
  const layerCount = total === 0 ? 0 : maxOf(vLayer) + 1;

  const layers = initialOrder(total, vLayer, layerCount, down);
  const { best, crossings } = reduceCrossings(layers, up, down, opts.orderRounds ?? 12);

  const left = (v: number) => isDummy[v] ? 0 : nodes[v].left ?? nodes[v].width / 2;
  const right = (v: number) => isDummy[v] ? 0 : nodes[v].right ?? nodes[v].width / 2;
  const gap = (u: number, v: number) =>
    right(u) + left(v) + (isDummy[u] || isDummy[v] ? edgeSep : nodeSep);
  const x = placeX(best, gap, up, down, isDummy, { left, right });

  // Rows: each layer is as tall as its tallest box; boxes are centred in their row.
  // The gap below a layer grows with the widest sideways step of its edges (up
  // to twice rankSep), so that a wide fan-out is not drawn as flat, tangled curves.
  const rowTop: number[] = [];
  const rowH: number[] = [];
  let yy = margin;
  for (let l = 0; l < layerCount; l++) {
    let h = 0, dx = 0;
    for (const v of best[l]) {
      if (!isDummy[v]) h = Math.max(h, nodes[v].height);
      for (const s of down[v]) dx = Math.max(dx, Math.abs(x[s.a] - x[s.b]));
    }
    rowTop.push(yy);
    rowH.push(h);
    yy += h + rankSep + Math.min(rankSep, dx / 8);
  }
  const height = layerCount === 0 ? 2 * margin : yy - rankSep + margin;

  let minX = Infinity, maxX = -Infinity;
  for (let v = 0; v < total; v++) {
    minX = Math.min(minX, x[v] - left(v));
    maxX = Math.max(maxX, x[v] + right(v));
  }
  if (total === 0) minX = maxX = 0;
  const shift = margin - minX;
  for (let v = 0; v < total; v++) x[v] += shift;
  const width = maxX - minX + 2 * margin;

  const order: number[] = new Array(total);
  for (const row of best) row.forEach((v, i) => order[v] = i);
  const placed: PlacedNode[] = nodes.map((nd, v) => ({
    id: nd.id,
    layer: layer[v],
    order: order[v],
    x: x[v],
    y: rowTop[layer[v]] + rowH[layer[v]] / 2,
    width: nd.width,
    height: nd.height,
  }));

  const { outOffset, inOffset } = assignPorts(nodes, edges, chains, x);
  const routed: PlacedEdge[] = edges.map((e, k) => {
    const chain = chains[k];
    if (chain.length === 0) return { from: e.from, to: e.to, points: [] };
    const a = placed[chain[0]], b = placed[chain[chain.length - 1]];
    const pts: Point[] = [{ x: a.x + outOffset[k], y: a.y + a.height / 2 }];
    for (const d of chain.slice(1, -1)) {
      const l = vLayer[d];
      pts.push({ x: x[d], y: rowTop[l] });
      if (rowH[l] > 0) pts.push({ x: x[d], y: rowTop[l] + rowH[l] });
    }
    pts.push({ x: b.x + inOffset[k], y: b.y - b.height / 2 });
    return { from: e.from, to: e.to, points: pts };
  });

  return { nodes: placed, edges: routed, width, height, layerCount, crossings };
}

function minOf(xs: number[]): number {
  return xs.reduce((m, x) => Math.min(m, x), Infinity);
}

function maxOf(xs: number[]): number {
  return xs.reduce((m, x) => Math.max(m, x), -Infinity);
}

/** Which edges to keep: all of them unless the graph has a cycle (Kahn's algorithm, smallest index first). */
function breakCycles(n: number, ends: (readonly [number, number])[]): boolean[] {
  const kept = ends.map(([a, b]) => a !== b);
  const indeg = new Array(n).fill(0);
  const outs: number[][] = Array.from({ length: n }, () => []);
  const ins: number[][] = Array.from({ length: n }, () => []);
  ends.forEach(([a, b], k) => {
    if (!kept[k]) return;
    indeg[b]++;
    outs[a].push(k);
    ins[b].push(k);
  });
  const done = new Array(n).fill(false);
  let remaining = n;
  const ready: number[] = [];
  for (let v = 0; v < n; v++) if (indeg[v] === 0) ready.push(v);
  while (remaining > 0) {
    if (ready.length === 0) {
      // A cycle: release the first waiting vertex, dropping its unfinished in-edges.
      const v = done.findIndex((d) => !d);
      for (const k of ins[v]) if (!done[ends[k][0]]) kept[k] = false;
      indeg[v] = 0;
      ready.push(v);
    }
    const v = ready.shift()!;
    if (done[v]) continue;
    done[v] = true;
    remaining--;
    for (const k of outs[v]) {
      if (!kept[k]) continue;
      const b = ends[k][1];
      if (!done[b] && --indeg[b] === 0) ready.push(b);
    }
  }
  return kept;
}

/** Longest-path layers, then sources pulled down next to their first consumer. */
function assignLayers(
  n: number,
  ends: (readonly [number, number])[],
  kept: boolean[],
): number[] {
  const preds: number[][] = Array.from({ length: n }, () => []);
  const succs: number[][] = Array.from({ length: n }, () => []);
  ends.forEach(([a, b], k) => {
    if (!kept[k]) return;
    preds[b].push(a);
    succs[a].push(b);
  });
  const layer = new Array<number>(n).fill(-1);
  const visit = (root: number) => {
    // Iterative DFS over predecessors: deep graphs must not overflow the stack.
    const stack = [root];
    while (stack.length) {
      const v = stack[stack.length - 1];
      if (layer[v] >= 0) {
        stack.pop();
        continue;
      }
      const pending = preds[v].filter((p) => layer[p] < 0);
      if (pending.length) {
        stack.push(...pending);
        continue;
      }
      layer[v] = preds[v].reduce((m, p) => Math.max(m, layer[p] + 1), 0);
      stack.pop();
    }
  };
  for (let v = 0; v < n; v++) visit(v);
  for (let v = 0; v < n; v++) {
    if (preds[v].length === 0 && succs[v].length > 0) {
      layer[v] = Math.min(...succs[v].map((s) => layer[s])) - 1;
    }
  }
  return layer;
}

/** Order each layer by depth-first discovery, which keeps chains together from the start. */
function initialOrder(
  total: number,
  vLayer: number[],
  layerCount: number,
  down: Segment[][],
): number[][] {
  const seen = new Array<boolean>(total).fill(false);
  const layers: number[][] = Array.from({ length: layerCount }, () => []);
  const hasUp = new Array<boolean>(total).fill(false);
  for (const segs of down) for (const s of segs) hasUp[s.b] = true;
  const roots = [...Array(total).keys()].filter((v) => !hasUp[v]);
  for (const r of [...roots, ...Array(total).keys()]) {
    const stack = [r];
    while (stack.length) {
      const v = stack.pop()!;
      if (seen[v]) continue;
      seen[v] = true;
      layers[vLayer[v]].push(v);
      // Reverse so that the first successor is visited first.
      for (let i = down[v].length - 1; i >= 0; i--) stack.push(down[v][i].b);
    }
  }
  return layers;
}

/** Barycentre sweeps; returns the best ordering seen and its crossing count. */
function reduceCrossings(
  layers: number[][],
  up: Segment[][],
  down: Segment[][],
  rounds: number,
): { best: number[][]; crossings: number } {
  const pos = new Map<number, number>();
  const setPos = () => layers.forEach((row) => row.forEach((v, i) => pos.set(v, i)));
  setPos();
  let best = layers.map((r) => [...r]);
  let bestC = countCrossings(layers, down, pos);
  const sweep = (l: number, neighbours: Segment[][], other: "a" | "b") => {
    const key = new Map<number, number>();
    for (const v of layers[l]) {
      const ns = neighbours[v];
      key.set(
        v,
        ns.length ? ns.reduce((s, seg) => s + pos.get(seg[other])!, 0) / ns.length : pos.get(v)!,
      );
    }
    layers[l].sort((p, q) => key.get(p)! - key.get(q)! || pos.get(p)! - pos.get(q)!);
    layers[l].forEach((v, i) => pos.set(v, i));
  };
  for (let r = 0; r < rounds && bestC > 0; r++) {
    for (let l = 1; l < layers.length; l++) sweep(l, up, "a");
    for (let l = layers.length - 2; l >= 0; l--) sweep(l, down, "b");
    const c = countCrossings(layers, down, pos);
    if (c < bestC) {
      bestC = c;
      best = layers.map((row) => [...row]);
    }
  }
  return { best, crossings: bestC };
}

/** Crossings between consecutive layers, as inversions of lower positions sorted by upper position. */
function countCrossings(
  layers: number[][],
  down: Segment[][],
  pos: Map<number, number>,
): number {
  let total = 0;
  for (let l = 0; l + 1 < layers.length; l++) {
    const pairs: [number, number][] = [];
    for (const v of layers[l]) for (const s of down[v]) pairs.push([pos.get(s.a)!, pos.get(s.b)!]);
    pairs.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
    const size = layers[l + 1].length;
    const tree = new Array<number>(size + 1).fill(0);
    let seen = 0;
    for (const [, b] of pairs) {
      // Count earlier pairs whose lower end is strictly right of b.
      let le = 0;
      for (let i = b + 1; i > 0; i -= i & -i) le += tree[i];
      total += seen - le;
      for (let i = b + 1; i <= size; i += i & -i) tree[i]++;
      seen++;
    }
  }
  return total;
}

/**
 * Horizontal centres for every vertex, given the final order of each layer:
 * Brandes & Köpf (2001). Each vertex is aligned with the median of its upper
 * (or lower) neighbours, preferring the left (or right) one, giving four
 * alignments into vertical blocks; each is compacted, and a fifth placement
 * gives every vertex the mean of its two middle candidates (BK's balancing).
 * Of the five, the one whose edges bend least is kept. Segments between two
 * dummies ("inner segments") win conflicts, so long edges run straight; chains
 * of single-input ops (the spine of a ResNet) line up vertically.
 * Compaction follows dagre's variant (a block graph swept twice), and a
 * per-layer pass restores minimum gaps that balancing may have broken.
 */
function placeX(
  layers: number[][],
  gap: (leftV: number, rightV: number) => number,
  up: Segment[][],
  down: Segment[][],
  isDummy: boolean[],
  extent: { left: (v: number) => number; right: (v: number) => number },
): number[] {
  const total = isDummy.length;
  const preds = (v: number) => up[v].map((s) => s.a);
  const succs = (v: number) => down[v].map((s) => s.b);
  const conflicts = innerSegmentConflicts(layers, preds, isDummy);
  const candidates: number[][] = [];
  for (const vert of ["u", "d"] as const) {
    for (const horiz of ["l", "r"] as const) {
      let lay = vert === "u" ? layers : [...layers].reverse();
      if (horiz === "r") lay = lay.map((row) => [...row].reverse());
      const root = verticalAlignment(lay, conflicts, vert === "u" ? preds : succs, total);
      // In a mirrored layering the earlier vertex is the right one.
      const sep = horiz === "r" ? (a: number, b: number) => gap(b, a) : gap;
      const xs = compact(lay, root, sep, total);
      candidates.push(horiz === "r" ? xs.map((x) => -x) : xs);
    }
  }
  // Align all four to the narrowest: left ones by their minimum, right ones by their maximum.
  const widthOf = (xs: number[]) => {
    let lo = Infinity, hi = -Infinity;
    xs.forEach((x, v) => {
      lo = Math.min(lo, x - extent.left(v));
      hi = Math.max(hi, x + extent.right(v));
    });
    return hi - lo;
  };
  const narrow = candidates.reduce((b, xs) => (widthOf(xs) < widthOf(b) ? xs : b));
  const aligned = candidates.map((xs, k) => {
    if (xs === narrow || total === 0) return xs;
    const delta = k % 2 === 0 ? minOf(narrow) - minOf(xs) : maxOf(narrow) - maxOf(xs);
    return xs.map((x) => x + delta);
  });
  const balanced = new Array<number>(total);
  for (let v = 0; v < total; v++) {
    const c = aligned.map((xs) => xs[v]).sort((a, b) => a - b);
    balanced[v] = (c[1] + c[2]) / 2;
  }
  for (const row of layers) {
    const fixed = isotonicPlace(
      row.map((v) => balanced[v]),
      row.map(() => 1),
      row.map((v, i) => (i ? gap(row[i - 1], v) : 0)),
    );
    row.forEach((v, i) => balanced[v] = fixed[i]);
  }
  // Keep the candidate whose edges bend least: sum over segments of w |x_a - x_b|,
  // with w = 2 between real vertices, 1 where a long edge starts or ends, 8 inside
  // a long edge. The spine of ops is what a reader follows, so it should stay
  // straight, and a skip connection is read most easily as a straight lane that
  // leaves and rejoins it. Ties go to the balanced placement (symmetric fan-outs).
  const bend = (xs: number[]) => {
    let sum = 0;
    for (let v = 0; v < total; v++) {
      for (const s of down[v]) {
        const w = isDummy[s.a] && isDummy[s.b] ? 8 : isDummy[s.a] || isDummy[s.b] ? 1 : 2;
        sum += w * Math.abs(xs[s.a] - xs[s.b]);
      }
    }
    return sum;
  };
  let best = balanced, bestBend = bend(balanced);
  for (const xs of aligned) {
    const b = bend(xs);
    if (b < bestBend - 1e-6) [best, bestBend] = [xs, b];
  }
  return best;
}

/**
 * Type 1 conflicts: a segment with at most one dummy end that crosses an
 * inner segment (dummy to dummy). Such segments may not be aligned, so the
 * long edge keeps its straight line. Keys are "upper,lower".
 */
function innerSegmentConflicts(
  layers: number[][],
  preds: (v: number) => number[],
  isDummy: boolean[],
): Set<string> {
  const conflicts = new Set<string>();
  const pos = new Map<number, number>();
  layers.forEach((row) => row.forEach((v, i) => pos.set(v, i)));
  for (let l = 1; l < layers.length; l++) {
    const prevLen = layers[l - 1].length, row = layers[l];
    let k0 = 0, scan = 0;
    row.forEach((v, i) => {
      const w = isDummy[v] ? preds(v).find((u) => isDummy[u]) : undefined;
      const k1 = w !== undefined ? pos.get(w)! : prevLen;
      if (w === undefined && i !== row.length - 1) return;
      for (const s of row.slice(scan, i + 1)) {
        for (const u of preds(s)) {
          const p = pos.get(u)!;
          if ((p < k0 || k1 < p) && !(isDummy[u] && isDummy[s])) conflicts.add(`${u},${s}`);
        }
      }
      scan = i + 1;
      k0 = k1;
    });
  }
  return conflicts;
}

/** Blocks of vertically aligned vertices, as the block root (first vertex) of every vertex. */
function verticalAlignment(
  lay: number[][],
  conflicts: Set<string>,
  neighbours: (v: number) => number[],
  total: number,
): number[] {
  const root = Array.from({ length: total }, (_, v) => v);
  const align = Array.from({ length: total }, (_, v) => v);
  const pos = new Array<number>(total);
  lay.forEach((row) => row.forEach((v, i) => pos[v] = i));
  const conflict = (a: number, b: number) =>
    conflicts.has(`${a},${b}`) || conflicts.has(`${b},${a}`);
  for (const row of lay) {
    let prev = -1;
    for (const v of row) {
      const ws = neighbours(v).sort((a, b) => pos[a] - pos[b]);
      if (ws.length === 0) continue;
      const mid = (ws.length - 1) / 2;
      for (let i = Math.floor(mid); i <= Math.ceil(mid); i++) {
        const w = ws[i];
        if (align[v] === v && prev < pos[w] && !conflict(v, w)) {
          align[w] = v;
          align[v] = root[v] = root[w];
          prev = pos[w];
        }
      }
    }
  }
  return root;
}

/**
 * Leftmost-then-rightmost placement of blocks: a block graph has an edge from
 * block A to block B, weighted by the minimum gap, wherever a vertex of A is
 * directly left of a vertex of B. The first sweep gives each block its
 * smallest coordinate, the second pulls blocks right to close unused space.
 */
function compact(
  lay: number[][],
  root: number[],
  sep: (a: number, b: number) => number,
  total: number,
): number[] {
  const outs = new Map<number, Map<number, number>>();
  const ins = new Map<number, Map<number, number>>();
  const blocks = new Set<number>();
  for (const row of lay) {
    row.forEach((v, i) => {
      blocks.add(root[v]);
      if (i === 0) return;
      const a = root[row[i - 1]], b = root[v], w = sep(row[i - 1], v);
      if (!outs.has(a)) outs.set(a, new Map());
      if (!ins.has(b)) ins.set(b, new Map());
      const cur = outs.get(a)!.get(b) ?? 0;
      outs.get(a)!.set(b, Math.max(cur, w));
      ins.get(b)!.set(a, Math.max(cur, w));
    });
  }
  // Topological order of the block graph (acyclic by construction).
  const indeg = new Map<number, number>();
  for (const b of blocks) indeg.set(b, ins.get(b)?.size ?? 0);
  const order: number[] = [];
  const ready = [...blocks].filter((b) => indeg.get(b) === 0);
  while (ready.length) {
    const b = ready.pop()!;
    order.push(b);
    for (const c of outs.get(b)?.keys() ?? []) {
      indeg.set(c, indeg.get(c)! - 1);
      if (indeg.get(c) === 0) ready.push(c);
    }
  }
  const bx = new Map<number, number>();
  for (const b of order) {
    let x = 0;
    for (const [a, w] of ins.get(b) ?? []) x = Math.max(x, bx.get(a)! + w);
    bx.set(b, x);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const b = order[i];
    const o = outs.get(b);
    if (!o || o.size === 0) continue;
    let min = Infinity;
    for (const [c, w] of o) min = Math.min(min, bx.get(c)! - w);
    bx.set(b, Math.max(bx.get(b)!, min));
  }
  const xs = new Array<number>(total).fill(0);
  for (let v = 0; v < total; v++) xs[v] = bx.get(root[v]) ?? 0;
  return xs;
}

/**
 * Positions x_0 < x_1 < ... closest to `target` in weighted least squares with
 * x_i - x_{i-1} >= gaps[i]. With c_i = sum_{j<=i} gaps[j] and y_i = x_i - c_i
 * the constraints become y_{i-1} <= y_i: isotonic regression of target_i - c_i,
 * solved by pooling adjacent violators into blocks at their weighted mean.
 */
export function isotonicPlace(target: number[], weight: number[], gaps: number[]): number[] {
  const c: number[] = [];
  let acc = 0;
  for (let i = 0; i < target.length; i++) c.push(acc += i ? gaps[i] : 0);
  const blocks: { w: number; wy: number; n: number }[] = [];
  for (let i = 0; i < target.length; i++) {
    blocks.push({ w: weight[i], wy: weight[i] * (target[i] - c[i]), n: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1], a = blocks[blocks.length - 2];
      if (a.wy / a.w <= b.wy / b.w) break;
      blocks.pop();
      a.w += b.w;
      a.wy += b.wy;
      a.n += b.n;
    }
  }
  const out: number[] = [];
  for (const b of blocks) for (let k = 0; k < b.n; k++) out.push(b.wy / b.w + c[out.length]);
  return out;
}

/**
 * Horizontal offsets of each edge's end points from its box centres. Edges
 * sharing a key share a port; ports are spread over the middle of the box and
 * ordered by where their edges go, so edges leaving one box do not cross.
 */
function assignPorts(
  nodes: LayoutNode[],
  edges: LayoutEdge[],
  chains: number[][],
  x: number[],
): { outOffset: number[]; inOffset: number[] } {
  const outOffset = new Array<number>(edges.length).fill(0);
  const inOffset = new Array<number>(edges.length).fill(0);
  const spread = (
    side: "out" | "in",
    offsets: number[],
  ) => {
    // node -> key -> edge indices
    const groups = new Map<number, Map<string, number[]>>();
    edges.forEach((e, k) => {
      const ch = chains[k];
      if (ch.length === 0) return;
      const v = side === "out" ? ch[0] : ch[ch.length - 1];
      const key = (side === "out" ? e.fromKey : e.toKey) ?? `#${k}`;
      let m = groups.get(v);
      if (!m) groups.set(v, m = new Map());
      let g = m.get(key);
      if (!g) m.set(key, g = []);
      g.push(k);
    });
    for (const [v, m] of groups) {
      const ports = [...m.values()].map((ks) => {
        const far = ks.map((k) => {
          const ch = chains[k];
          return x[side === "out" ? ch[1] : ch[ch.length - 2]];
        });
        return { ks, at: far.reduce((s, q) => s + q, 0) / far.length };
      });
      ports.sort((p, q) => p.at - q.at);
      const k = ports.length;
      const span = k > 1 ? Math.min(nodes[v].width * 0.6, (k - 1) * 36) : 0;
      ports.forEach((p, i) => {
        const off = k > 1 ? -span / 2 + (i * span) / (k - 1) : 0;
        for (const e of p.ks) offsets[e] = off;
      });
    }
  };
  spread("out", outOffset);
  spread("in", inOffset);
  return { outOffset, inOffset };
}
