/**
 * The IR graph as a standalone SVG, for `dlm graph --format svg`. No Graphviz:
 * the graph is laid out by `layout.ts` (layered, top to bottom) and drawn
 * here: rounded boxes coloured by op family, ellipses for graph inputs and
 * outputs, edges as cubic Béziers with arrowheads, each value's type written
 * once where it leaves its producer, and a `<title>` on every box and edge so
 * that hovering in a browser shows the full name and source spans.
 *
 * Text is measured with a monospace estimate (advance = 0.6 em, true of
 * DejaVu Sans Mono, Menlo and Consolas), which is why the SVG asks for one.
 */
import type { Graph } from "../ir/graph.ts";
import { buildDiagram, type Diagram, type DiagramVertex } from "./diagram.ts";
import { type Layout, layoutLayered, type LayoutNode, type Point } from "./layout.ts";
import { FAMILIES, FAMILY_STYLES, type OpFamily } from "./op_family.ts";

export interface SvgOptions {
  /** Heading drawn above the graph (default: the graph's name). */
  title?: string;
  /** Draw the colour legend of the op families present (default true). */
  legend?: boolean;
}

/** Layout of a graph as drawn by `graphToSvg`, for tests and other renderers. */
export interface GraphLayout {
  diagram: Diagram;
  /** Node coordinates are relative to the drawing area, which starts `top` pixels down. */
  layout: Layout;
  top: number;
  /** Width and height of the whole picture. */
  width: number;
  height: number;
}

/** Advance width of a monospace character, in em. */
const EM = 0.6;
const PAD_X = 9;
const PAD_Y = 5;
const LABEL_SIZE = 10;
const LABEL_SLACK = 14;

interface Line {
  text: string;
  cls: "t" | "s" | "d" | "l";
  size: number;
  lineHeight: number;
}

const LINE_STYLE = {
  t: { size: 12, lineHeight: 15 },
  s: { size: 11, lineHeight: 14 },
  d: { size: 10, lineHeight: 13 },
  l: { size: 9, lineHeight: 12 },
};

function line(text: string, cls: Line["cls"]): Line {
  return { text, cls, ...LINE_STYLE[cls] };
}

function textWidth(s: string, size: number): number {
  return [...s].length * size * EM;
}

function vertexLines(v: DiagramVertex): Line[] {
  const lines = [line(v.title, "t"), line(v.subtitle, v.kind === "op" ? "s" : "d")];
  for (const d of v.details) lines.push(line(d, "d"));
  if (v.location) lines.push(line(v.location, "l"));
  return lines;
}

/** Box size of a vertex: text block plus padding; ellipses get extra room for their curved sides. */
function vertexSize(v: DiagramVertex, lines: Line[]): { width: number; height: number } {
  const tw = Math.max(...lines.map((l) => textWidth(l.text, l.size)));
  const th = lines.reduce((s, l) => s + l.lineHeight, 0);
  if (v.kind !== "op") return { width: Math.max(tw * 1.15 + 28, 80), height: th + 18 };
  return { width: Math.max(tw + 2 * PAD_X, 56), height: th + 2 * PAD_Y };
}

/**
 * Lay out a graph as `graphToSvg` draws it: vertex sizes from their text,
 * room reserved beside each box for its edge labels.
 */
export function layoutGraph(g: Graph, opts: SvgOptions = {}): GraphLayout {
  const diagram = buildDiagram(g);
  const outLabels = outgoingLabels(diagram);
  const nodes: LayoutNode[] = diagram.vertices.map((v) => {
    const { width, height } = vertexSize(v, vertexLines(v));
    const labels = outLabels.get(v.id) ?? [];
    let left = width / 2, right = width / 2;
    if (labels.length === 1) {
      // Slack for the label moving right of an edge that curves away to the right.
      right = Math.max(right, 5 + textWidth(labels[0], LABEL_SIZE) + LABEL_SLACK);
    } else if (labels.length > 1) {
      // Ports are spread over at most 60% of the box; labels sit outside them.
      const half = Math.min(width * 0.6, (labels.length - 1) * 36) / 2;
      const w = Math.max(...labels.map((l) => textWidth(l, LABEL_SIZE)));
      left = Math.max(left, half + 5 + w);
      right = Math.max(right, half + 5 + w);
    }
    return { id: v.id, width, height, left, right };
  });
  const layout = layoutLayered(
    nodes,
    diagram.edges.map((e) => ({
      from: e.from,
      to: e.to,
      fromKey: e.value,
      toKey: e.value,
    })),
  );
  const top = headerHeight(diagram, opts);
  const titleW = textWidth(opts.title ?? g.name, 14) + 32;
  return {
    diagram,
    layout,
    top,
    width: Math.max(layout.width, titleW, legendWidth(diagram, opts) + 32),
    height: layout.height + top,
  };
}

/** The distinct value types leaving each op vertex, in first-use order (one label per value). */
function outgoingLabels(d: Diagram): Map<string, string[]> {
  const kind = new Map(d.vertices.map((v) => [v.id, v.kind]));
  const seen = new Set<string>();
  const out = new Map<string, string[]>();
  for (const e of d.edges) {
    if (kind.get(e.from) !== "op" || seen.has(`${e.from}\n${e.value}`)) continue;
    seen.add(`${e.from}\n${e.value}`);
    let l = out.get(e.from);
    if (!l) out.set(e.from, l = []);
    l.push(e.label);
  }
  return out;
}

function familiesUsed(d: Diagram): OpFamily[] {
  const used = new Set(d.vertices.map((v) => v.family));
  return FAMILIES.filter((f) => used.has(f));
}

function headerHeight(d: Diagram, opts: SvgOptions): number {
  return opts.legend === false || familiesUsed(d).length === 0 ? 34 : 56;
}

function legendWidth(d: Diagram, opts: SvgOptions): number {
  if (opts.legend === false) return 0;
  return familiesUsed(d).reduce((s, f) => s + 22 + textWidth(FAMILY_STYLES[f].label, 10) + 12, 0);
}

/**
 * Render a graph as a standalone SVG document (UTF-8 text). Deterministic,
 * and every piece of user text is escaped.
 *
 * @example
 * ```ts
 * await writeFileAtomic("resnet50.svg", graphToSvg(graph));
 * ```
 */
export function graphToSvg(g: Graph, opts: SvgOptions = {}): string {
  const gl = layoutGraph(g, opts);
  const { diagram, layout, top } = gl;
  const out: string[] = [];
  const W = num(gl.width), H = num(gl.height);
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace">`,
  );
  out.push(`<title>${esc(opts.title ?? g.name)}</title>`);
  out.push(`<style>${css()}</style>`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text class="gt" x="16" y="22">${esc(opts.title ?? g.name)}</text>`);
  if (opts.legend !== false) out.push(legend(diagram));
  out.push(`<g transform="translate(0,${top})">`);

  const byId = new Map(layout.nodes.map((n) => [n.id, n]));
  const vertexById = new Map(diagram.vertices.map((v) => [v.id, v]));

  out.push(`<g class="edges">`);
  diagram.edges.forEach((e, k) => {
    const pts = layout.edges[k].points;
    if (pts.length < 2) return;
    const from = vertexById.get(e.from)!, to = vertexById.get(e.to)!;
    out.push(
      `<g class="e"><title>${
        esc(`${e.value}: ${e.label}\n${from.tooltip.split("\n")[0]} → ${to.tooltip.split("\n")[0]}`)
      }</title><path d="${edgePath(pts)}"/>${arrowHead(pts[pts.length - 1])}</g>`,
    );
  });
  out.push(`</g>`);

  out.push(`<g class="labels">`);
  out.push(...edgeLabels(diagram, layout));
  out.push(`</g>`);

  out.push(`<g class="nodes">`);
  for (const v of diagram.vertices) out.push(vertexSvg(v, byId.get(v.id)!));
  out.push(`</g>`);

  out.push(`</g>`);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

function css(): string {
  const rules = [
    `.gt{font-size:14px;font-weight:bold;fill:#222}`,
    `.lg{font-size:10px;fill:#444}`,
    `.e path{fill:none;stroke:#6b6b6b;stroke-width:1.2}`,
    `.e polygon{fill:#6b6b6b}`,
    `.el{font-size:${LABEL_SIZE}px;fill:#505050;paint-order:stroke;stroke:#ffffff;stroke-width:3px;stroke-linejoin:round}`,
    `.v text{fill:#1a1a1a;text-anchor:middle}`,
    `.v .t{font-size:12px;font-weight:bold}`,
    `.v .s{font-size:11px}`,
    `.v .d{font-size:10px;fill:#3a3a3a}`,
    `.v .l{font-size:9px;fill:#777777}`,
    `.io ellipse{fill:#ffffff;stroke:#333333;stroke-width:1.4}`,
    `.io.out ellipse{stroke-width:2.2}`,
  ];
  for (const f of FAMILIES) {
    const s = FAMILY_STYLES[f];
    rules.push(`.${f} rect{fill:${s.fill};stroke:${s.stroke};stroke-width:1.2}`);
  }
  return rules.join("");
}

function legend(d: Diagram): string {
  const parts: string[] = [`<g class="legend">`];
  let x = 16;
  for (const f of familiesUsed(d)) {
    const s = FAMILY_STYLES[f];
    parts.push(
      `<g class="${f}"><rect x="${x}" y="34" width="16" height="11" rx="2"/></g>` +
        `<text class="lg" x="${x + 20}" y="43">${esc(s.label)}</text>`,
    );
    x += 22 + textWidth(s.label, 10) + 12;
  }
  parts.push(`</g>`);
  return parts.join("");
}

/**
 * Cubic Béziers with vertical tangents at every point: consecutive points
 * (p, q) are joined by C (p.x, p.y + dy/2) (q.x, q.y - dy/2) q, which is
 * smooth through the dummy points of long edges. The path stops short of the
 * target so that the arrowhead's tip, not the line, touches the box.
 */
function edgePath(pts: Point[]): string {
  const d: string[] = [`M${num(pts[0].x)},${num(pts[0].y)}`];
  for (let i = 1; i < pts.length; i++) {
    const p = pts[i - 1], q = pts[i];
    const last = i === pts.length - 1;
    const qy = last ? q.y - ARROW_LEN + 1 : q.y;
    if (p.x === q.x) {
      d.push(`L${num(q.x)},${num(qy)}`);
    } else {
      const dy = q.y - p.y;
      d.push(
        `C${num(p.x)},${num(p.y + dy / 2)} ${num(q.x)},${num(q.y - dy / 2)} ${num(q.x)},${num(qy)}`,
      );
    }
  }
  return d.join(" ");
}

const ARROW_LEN = 8;

function arrowHead(tip: Point): string {
  const { x, y } = tip;
  return `<polygon points="${num(x - 4)},${num(y - ARROW_LEN)} ${num(x + 4)},${
    num(y - ARROW_LEN)
  } ${num(x)},${num(y)}"/>`;
}

/** Depth below a port that an edge label occupies. */
const LABEL_BAND = 16;

/**
 * x of the edge curve from p to q (see `edgePath`) at depth `dy` below p.
 * Both coordinates are monotone in t, so t is found by bisection on y:
 * y(t) = p.y + (q.y - p.y)(1.5t - 1.5t² + t³), x(t) = p.x + (q.x - p.x)(3t² - 2t³).
 */
export function curveXAt(p: Point, q: Point, dy: number): number {
  const h = q.y - p.y;
  if (q.x === p.x || dy <= 0) return p.x;
  if (h <= dy) return q.x;
  let lo = 0, hi = 1;
  for (let i = 0; i < 30; i++) {
    const t = (lo + hi) / 2;
    if (h * (1.5 * t - 1.5 * t * t + t * t * t) < dy) lo = t;
    else hi = t;
  }
  const t = (lo + hi) / 2;
  return p.x + (q.x - p.x) * (3 * t * t - 2 * t * t * t);
}

/**
 * One label per (producer, value), just below the port where the value
 * leaves the box, on the right of the port and of every edge curving away
 * to the right from it, so that no line runs through the text.
 */
function edgeLabels(d: Diagram, layout: Layout): string[] {
  const kind = new Map(d.vertices.map((v) => [v.id, v.kind]));
  type Port = { x: number; y: number; text: string; lo: number; hi: number };
  const ports = new Map<string, Map<string, Port>>();
  d.edges.forEach((e, k) => {
    const pts = layout.edges[k].points;
    if (kind.get(e.from) !== "op" || pts.length < 2) return;
    let m = ports.get(e.from);
    if (!m) ports.set(e.from, m = new Map());
    let p = m.get(e.value);
    if (!p) {
      m.set(e.value, p = { x: pts[0].x, y: pts[0].y, text: e.label, lo: pts[0].x, hi: pts[0].x });
    }
    const cx = curveXAt(pts[0], pts[1], LABEL_BAND);
    p.lo = Math.min(p.lo, cx);
    p.hi = Math.max(p.hi, cx);
  });
  const out: string[] = [];
  const centre = new Map(layout.nodes.map((n) => [n.id, n.x]));
  for (const [id, m] of ports) {
    const l = [...m.values()];
    const cx = centre.get(id)!;
    if (l.length === 1) {
      out.push(labelSvg(l[0].hi + 5, l[0].y + 12, "start", l[0].text));
      continue;
    }
    // Several outputs: labels of ports left of centre go left, the others right;
    // on each side the outermost label is lowest so the lines stay clear of inner text.
    const leftSide = l.filter((p) => p.x < cx).sort((a, b) => b.x - a.x);
    const rightSide = l.filter((p) => p.x >= cx).sort((a, b) => a.x - b.x);
    leftSide.forEach((p, i) => out.push(labelSvg(p.lo - 5, p.y + 12 + 12 * i, "end", p.text)));
    rightSide.forEach((p, i) => out.push(labelSvg(p.hi + 5, p.y + 12 + 12 * i, "start", p.text)));
  }
  return out;
}

function labelSvg(x: number, y: number, anchor: "start" | "end", text: string): string {
  const a = anchor === "end" ? ` text-anchor="end"` : "";
  return `<text class="el" x="${num(x)}" y="${num(y)}"${a}>${esc(text)}</text>`;
}

function vertexSvg(v: DiagramVertex, p: { x: number; y: number; width: number; height: number }) {
  const lines = vertexLines(v);
  const cls = v.kind === "op" ? `v ${v.family}` : `v io${v.kind === "output" ? " out" : ""}`;
  const parts: string[] = [`<g class="${cls}"><title>${esc(v.tooltip)}</title>`];
  if (v.kind === "op") {
    parts.push(
      `<rect x="${num(p.x - p.width / 2)}" y="${num(p.y - p.height / 2)}" width="${
        num(p.width)
      }" height="${num(p.height)}" rx="5"/>`,
    );
  } else {
    parts.push(
      `<ellipse cx="${num(p.x)}" cy="${num(p.y)}" rx="${num(p.width / 2)}" ry="${
        num(p.height / 2)
      }"/>`,
    );
  }
  const th = lines.reduce((s, l) => s + l.lineHeight, 0);
  let y = p.y - th / 2;
  for (const l of lines) {
    // Baseline sits about 0.3 em above the bottom of the line box.
    const base = y + l.lineHeight - (l.lineHeight - l.size) / 2 - l.size * 0.18;
    parts.push(`<text class="${l.cls}" x="${num(p.x)}" y="${num(base)}">${esc(l.text)}</text>`);
    y += l.lineHeight;
  }
  parts.push(`</g>`);
  return parts.join("");
}

/** A coordinate with one decimal, never "-0". */
function num(v: number): string {
  const r = Math.round(v * 10) / 10;
  return String(r === 0 ? 0 : r);
}

/** Text for XML content and attributes; characters XML 1.0 forbids become U+FFFD. */
export function esc(s: string): string {
  return s
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "\ufffd")
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}
