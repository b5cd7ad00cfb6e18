/**
 * What a drawing of the IR shows, independent of how it is drawn: one vertex
 * per graph input, node and graph output, each with its text lines, and one
 * edge per (value, consumer) pair labelled with the value's type. DOT and SVG
 * are both rendered from this, so the two always say the same thing.
 *
 * Initializers are not vertices: a ResNet-50 has ~320 of them and drawing
 * each would bury the network. They are summarised on the node that reads
 * them ("weight f32[64, 3, 7, 7]"), with their values when they are tiny.
 */
import type { AttrValue, Graph, Node, Span } from "../ir/graph.ts";
import { formatSpan, formatType, isGraph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { getNumber } from "../ir/tensor.ts";
import { type OpFamily, opFamily } from "./op_family.ts";

export type VertexKind = "input" | "op" | "output";

export interface DiagramVertex {
  /** Stable id: `i<k>` for inputs, `n<k>` for nodes, `o<k>` for outputs (k = index in the graph). */
  id: string;
  kind: VertexKind;
  /** Op family for colouring; "io" for graph inputs and outputs. */
  family: OpFamily | "io";
  /** First line: the op type, or the value name of an input/output. */
  title: string;
  /** Second line: the node's short name, or the type of an input/output. */
  subtitle: string;
  /** Attribute and initializer lines, each at most `maxLineChars` long. */
  details: string[];
  /** Source location, e.g. "model.dlm:12" (file base name and lines). */
  location?: string;
  /** Full name, op and every source span, for hover text. */
  tooltip: string;
}

export interface DiagramEdge {
  from: string;
  to: string;
  /** Name of the value flowing along the edge. */
  value: string;
  /** The value's type, e.g. "f32[N, 64, 112, 112]", or "?" when unknown. */
  label: string;
}

export interface Diagram {
  name: string;
  vertices: DiagramVertex[];
  edges: DiagramEdge[];
}

export interface DiagramOptions {
  /** Longest detail line, in characters (default 40). Longer values are elided. */
  maxLineChars?: number;
  /** Longest short node name, in characters (default 28). */
  maxNameChars?: number;
}

/** Attributes shown first, in this order; the rest follow alphabetically. */
const ATTR_ORDER = [
  "kernel_shape",
  "strides",
  "pads",
  "dilations",
  "group",
  "auto_pad",
  "ceil_mode",
  "perm",
  "axis",
  "axes",
  "keepdims",
  "transA",
  "transB",
  "alpha",
  "beta",
  "epsilon",
  "momentum",
];

/** Tensors with at most this many elements have their values printed. */
const SMALL_TENSOR = 4;

/**
 * Build the drawing model of a graph. Deterministic: the same graph always
 * gives the same vertices, edges and text, in the same order.
 */
export function buildDiagram(g: Graph, opts: DiagramOptions = {}): Diagram {
  const maxLine = opts.maxLineChars ?? 40;
  const maxName = opts.maxNameChars ?? 28;
  const vertices: DiagramVertex[] = [];
  const edges: DiagramEdge[] = [];
  // Where each value comes from: the vertex id of its producer or graph input.
  const source = new Map<string, string>();
  const typeLabel = (v: string) => {
    const t = g.types.get(v);
    return t ? formatType(t) : "?";
  };

  g.inputs.forEach((v, k) => {
    const id = `i${k}`;
    source.set(v.name, id);
    const span = g.spans?.get(v.name);
    vertices.push({
      id,
      kind: "input",
      family: "io",
      title: elide(v.name, maxName),
      subtitle: formatType(v.type),
      details: [],
      location: span ? spanLabel([span]) : undefined,
      tooltip: ioTooltip("input", v.name, formatType(v.type), span),
    });
  });

  g.nodes.forEach((n, k) => {
    const id = `n${k}`;
    const details = attrLines(n, maxLine);
    const seen = new Set<string>();
    for (const v of n.inputs) {
      if (!v || seen.has(v)) continue;
      seen.add(v);
      const from = source.get(v);
      if (from !== undefined) {
        edges.push({ from, to: id, value: v, label: typeLabel(v) });
      } else if (g.initializers.has(v)) {
        details.push(initializerLine(n, v, g.initializers.get(v)!, maxLine));
      } else {
        // An invalid graph (or one mid-rewrite): say so rather than hide the input.
        details.push(elide(`${shortValueName(n, v)}: undefined value`, maxLine));
      }
    }
    for (const o of n.outputs) if (o) source.set(o, id);
    const spans = n.spans ?? [];
    vertices.push({
      id,
      kind: "op",
      family: opFamily(n.op),
      title: n.domain ? `${n.domain}.${n.op}` : n.op,
      subtitle: shortName(n.name, maxName),
      details,
      location: spans.length ? spanLabel(spans) : undefined,
      tooltip: [
        n.name,
        `${n.domain ? `${n.domain}.` : ""}${n.op}`,
        ...spans.map(formatSpan),
      ].join("\n"),
    });
  });

  g.outputs.forEach((v, k) => {
    const id = `o${k}`;
    const from = source.get(v.name);
    if (from !== undefined) edges.push({ from, to: id, value: v.name, label: typeLabel(v.name) });
    const span = g.spans?.get(v.name);
    vertices.push({
      id,
      kind: "output",
      family: "io",
      title: elide(v.name, maxName),
      subtitle: formatType(v.type),
      details: [],
      location: span ? spanLabel([span]) : undefined,
      tooltip: ioTooltip("output", v.name, formatType(v.type), span),
    });
  });

  return { name: g.name, vertices, edges };
}

function ioTooltip(kind: string, name: string, type: string, span?: Span): string {
  return [`${kind} ${name}: ${type}`, ...(span ? [formatSpan(span)] : [])].join("\n");
}

/**
 * A node name short enough for a box: the whole name when it fits, else its
 * trailing dotted/slashed segments behind an ellipsis, since the end of a
 * hierarchical name ("layer3.4.conv2") is the part that tells boxes apart.
 *
 * @example
 * ```ts
 * shortName("encoder.layers.11.self_attn.q_proj", 24); // "…11.self_attn.q_proj"
 * ```
 */
export function shortName(name: string, max = 28): string {
  if ([...name].length <= max) return name;
  const parts = name.split(/(?<=[./])/);
  let tail = "";
  for (let i = parts.length - 1; i >= 0; i--) {
    if ([...(parts[i] + tail)].length > max - 1) break;
    tail = parts[i] + tail;
  }
  if (tail === "") tail = [...name].slice(-(max - 1)).join("");
  return `…${tail}`;
}

/** `s` cut to at most `max` characters, with an ellipsis when cut. */
export function elide(s: string, max: number): string {
  const cs = [...s];
  return cs.length <= max ? s : cs.slice(0, Math.max(1, max - 1)).join("") + "…";
}

/**
 * Source lines of a node as "file.dlm:12" or, for fused nodes, "file.dlm:12, 14"
 * (base names only: the full paths are in the tooltip).
 */
export function spanLabel(spans: Span[]): string {
  const byFile = new Map<string, number[]>();
  for (const s of spans) {
    const base = s.file.split(/[\\/]/).pop() || s.file;
    let lines = byFile.get(base);
    if (!lines) byFile.set(base, lines = []);
    if (!lines.includes(s.line)) lines.push(s.line);
  }
  const parts: string[] = [];
  for (const [file, lines] of byFile) {
    lines.sort((a, b) => a - b);
    const shown = lines.length > 4 ? [...lines.slice(0, 3), "…"] : lines;
    parts.push(`${file}:${shown.join(", ")}`);
  }
  return parts.join("; ");
}

/** A number as people read it: integers exactly, others to 6 significant digits. */
export function formatNumber(v: number): string {
  if (Number.isInteger(v) || !Number.isFinite(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}

function isTensor(v: AttrValue): v is Tensor {
  return typeof v === "object" && v !== null && "dtype" in v && "data" in v;
}

function listText(items: string[], max = 8): string {
  const shown = items.length > max
    ? [...items.slice(0, max - 2), `…+${items.length - max + 2}`]
    : items;
  return `[${shown.join(", ")}]`;
}

function tensorText(t: Tensor): string {
  const type = formatType({ dtype: t.dtype, shape: t.shape });
  if (t.data.length > SMALL_TENSOR) return type;
  const vals = t.dtype === "str"
    ? (t.data as string[]).map((s) => JSON.stringify(s))
    : Array.from({ length: t.data.length }, (_, i) => formatNumber(getNumber(t, i)));
  return `${type} = ${t.shape.length === 0 ? vals[0] : `{${vals.join(", ")}}`}`;
}

/** An attribute value as compact text: `[7, 7]`, `1e-05`, `"constant"`, `f32[3] = {…}`. */
export function formatAttrValue(v: AttrValue): string {
  if (typeof v === "number") return formatNumber(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) {
    return listText(
      (v as (number | string)[]).map((x) =>
        typeof x === "number" ? formatNumber(x) : JSON.stringify(x)
      ),
    );
  }
  if (isTensor(v)) return tensorText(v);
  if (isGraph(v)) return `graph ${JSON.stringify(v.name)} (${v.nodes.length} nodes)`;
  return "?";
}

/** Attributes as `name=value` items packed into lines of at most `max` characters. */
function attrLines(n: Node, max: number): string[] {
  const keys = Object.keys(n.attrs).sort((a, b) => {
    const ia = ATTR_ORDER.indexOf(a), ib = ATTR_ORDER.indexOf(b);
    if (ia !== ib) return (ia < 0 ? Infinity : ia) - (ib < 0 ? Infinity : ib);
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const items = keys.map((k) => elide(`${k}=${formatAttrValue(n.attrs[k])}`, max));
  const lines: string[] = [];
  for (const item of items) {
    const last = lines.length - 1;
    if (last >= 0 && [...lines[last]].length + 1 + [...item].length <= max) {
      lines[last] += ` ${item}`;
    } else {
      lines.push(item);
    }
  }
  return lines;
}

/** An initializer's name relative to the node reading it: "layer1.0.conv1.weight" on "layer1.0.conv1" is "weight". */
function shortValueName(n: Node, v: string): string {
  if (v.startsWith(`${n.name}.`) && v.length > n.name.length + 1) return v.slice(n.name.length + 1);
  return v.split(/[./]/).pop() || v;
}

function initializerLine(n: Node, v: string, t: Tensor, max: number): string {
  return elide(`${shortValueName(n, v)} ${tensorText(t)}`, max);
}
