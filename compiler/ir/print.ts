/**
 * The IR as text: a compact, deterministic listing for golden files, bug
 * reports and `--dump-ir`. One header line per graph input and output, one
 * line per initializer (its type and role, never its values unless it is
 * tiny), and one line per node in the MLIR-like form
 *
 * ```text
 * %out1, %out2 = Op[attr=..., ...](%in1, %in2)  : f32[N, 64, 56, 56]  # file.dlm:12:7
 * ```
 *
 * The same helpers print ONNX files (`compiler/onnx/print.ts`), so the two
 * forms of one model line up in a diff.
 */
import type { AttrType, AttrValue, Graph, Node, ParamInfo, Span, TensorType } from "./graph.ts";
import { formatSpan, formatType, isGraph } from "./graph.ts";
import { type DType, getNumber, isFloat, numel, type Tensor } from "./tensor.ts";

/** Tensors with at most this many elements have their values printed. */
export const MAX_PRINTED_ELEMENTS = 8;

/** How a printer describes a node beyond its inputs, outputs and attributes. */
export interface NodeDecor {
  /** The ONNX type of attribute `name`; undefined: guessed from the value. */
  attrType?(name: string): AttrType | undefined;
  /** Text after `#`, e.g. the source location; undefined: no comment. */
  comment?: string;
}

/** Hooks that let `printGraphWith` print graphs that did not come from the elaborator. */
export interface GraphPrintOptions {
  /** Lines before the `graph` line (ONNX model metadata). */
  header?: string[];
  /** Per-node description; default: attribute types guessed from the values, spans as the comment. */
  decorate?(node: Node): NodeDecor;
  /** Comment of a graph input or output; default: its span. */
  valueComment?(name: string): string | undefined;
  /** Extra words after an initializer's type; default: its role from `g.params`. */
  initializerNote?(name: string): string | undefined;
}

/**
 * A graph as text, with hooks for the parts that differ between IR graphs
 * (`printGraph` of `compiler/ops/print_graph.ts`, which knows attribute
 * types from the op table) and decoded ONNX files (`compiler/onnx/print.ts`).
 */
export function printGraphWith(g: Graph, opts: GraphPrintOptions): string {
  const lines: string[] = [...(opts.header ?? [])];
  const params = new Map<string, ParamInfo>(g.params.map((p) => [p.name, p]));
  const valueComment = opts.valueComment ??
    ((name: string) => {
      const s = g.spans?.get(name);
      return s ? formatSpan(s) : undefined;
    });
  const initializerNote = opts.initializerNote ??
    ((name: string) => {
      const p = params.get(name);
      return p ? paramNote(p) : undefined;
    });
  const decorate = opts.decorate ?? spanDecor;
  printBody(g, "", lines, { valueComment, initializerNote, decorate });
  return lines.join("\n") + "\n";
}

interface BodyHooks {
  valueComment(name: string): string | undefined;
  initializerNote(name: string): string | undefined;
  decorate(node: Node): NodeDecor;
}

function printBody(g: Graph, indent: string, lines: string[], hooks: BodyHooks): void {
  let elements = 0;
  for (const t of g.initializers.values()) elements += numel(t.shape);
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
  lines.push(
    `${indent}graph ${formatName(g.name)}  # ${plural(g.nodes.length, "node")}, ` +
      `${plural(g.initializers.size, "initializer")} (${plural(elements, "element")})`,
  );
  const inner = indent + "  ";
  const io = (kind: string, name: string, t: TensorType) =>
    lines.push(
      withComment(
        `${inner}${kind} ${formatValue(name)}: ${formatType(t)}`,
        hooks.valueComment(name),
      ),
    );
  for (const v of g.inputs) io("input", v.name, v.type);
  for (const v of g.outputs) io("output", v.name, v.type);
  for (const [name, t] of g.initializers) {
    const note = hooks.initializerNote(name);
    lines.push(`${inner}const ${formatValue(name)}: ${formatTensor(t)}${note ? `  ${note}` : ""}`);
  }
  for (const n of g.nodes) {
    const decor = hooks.decorate(n);
    lines.push(withComment(inner + formatNode(n, g, decor), decor.comment));
    // Subgraphs (If branches, Loop bodies) follow their node, one level deeper.
    for (const key of Object.keys(n.attrs).sort()) {
      const v = n.attrs[key];
      if (isGraph(v)) printBody(v, inner + "  ", lines, hooks);
    }
  }
}

/** A node's name when it differs from its first output, and its spans, as the comment after it. */
export function spanDecor(n: Node): NodeDecor {
  return { comment: nodeComment(n, n.spans?.length ? formatSpans(n.spans) : undefined) };
}

/**
 * `# where`, prefixed by the node's name when it is not its first output's
 * (a fused node keeps the name of the first node it replaced).
 */
export function nodeComment(n: Node, where: string | undefined): string | undefined {
  const named = n.name && n.name !== n.outputs[0];
  if (named && where) return `${n.name} at ${where}`;
  if (named) return `node ${n.name}`;
  return where;
}

/** Spans as the emitter writes them into ONNX doc strings: `a.dlm:1:2; a.dlm:3:4`. */
export function formatSpans(spans: Span[]): string {
  return spans.map(formatSpan).join("; ");
}

function paramNote(p: ParamInfo): string {
  const words = [p.layer ? `${p.role} of ${p.layer}` : p.role];
  if (!p.trainable) words.push("not trainable");
  if (p.frozen) words.push("frozen");
  if (p.copyOf) words.push(`copy of ${p.copyOf}`);
  const note = words.join(", ");
  return p.span ? `${note}  # ${formatSpan(p.span)}` : note;
}

/** One node line without its comment: `%y = Op[a=1](%x, _)  : f32[N, 3]`. */
export function formatNode(n: Node, g: Graph, decor: NodeDecor): string {
  const outs = n.outputs.map(formatValue).join(", ");
  const op = n.domain ? `${n.domain}::${n.op}` : n.op;
  const keys = Object.keys(n.attrs).sort().filter((k) => n.attrs[k] !== undefined);
  const attrs = keys.length
    ? `[${keys.map((k) => `${k}=${formatAttr(n.attrs[k], decor.attrType?.(k))}`).join(", ")}]`
    : "";
  const ins = n.inputs.map(formatValue).join(", ");
  const types = n.outputs.map((o) => {
    const t = o ? g.types.get(o) : undefined;
    return t ? formatType(t) : "?";
  });
  const lhs = n.outputs.length ? `${outs} = ` : "";
  return `${lhs}${op}${attrs}(${ins})  : ${types.join(", ")}`;
}

function withComment(line: string, comment: string | undefined): string {
  return comment ? `${line}  # ${comment}` : line;
}

/** A value reference: `%name`, `%"odd name"`, or `_` for an omitted optional input/output. */
export function formatValue(name: string): string {
  if (name === "") return "_";
  return `%${formatName(name)}`;
}

/** A name as is when it is plain (letters, digits, `_ . : / -`), JSON-quoted otherwise. */
function formatName(name: string): string {
  return /^[A-Za-z0-9_.:/\-]+$/.test(name) ? name : JSON.stringify(name);
}

/**
 * An attribute value. `type` (from the op table or the ONNX file) tells
 * floats from ints: a float attribute prints as `1.0`, an int as `1`.
 */
export function formatAttr(v: AttrValue, type?: AttrType): string {
  if (typeof v === "number") {
    return type === "float" || (!type && !Number.isInteger(v)) ? formatFloat(v) : formatInt(v);
  }
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) {
    const items = (v as (number | string)[]).map((x) =>
      typeof x === "string"
        ? JSON.stringify(x)
        : formatAttr(x, type === "floats" ? "float" : type === "ints" ? "int" : undefined)
    );
    return `[${items.join(", ")}]`;
  }
  if (isGraph(v)) return `graph ${formatName(v.name)}`;
  const values = tensorValues(v);
  return values === undefined ? tensorType(v) : `${tensorType(v)} ${values}`;
}

/** An int, with INT64 extremes (Slice's "to the end") spelled out rather than as 9223372036854776000. */
function formatInt(v: number): string {
  if (v >= 2 ** 63) return "INT64_MAX";
  if (v <= -(2 ** 63)) return "INT64_MIN";
  return String(v);
}

/** `f32[64, 3, 7, 7]`, or with values when small: `i64[2] = [0, -1]`, `f32[] = 1.0`. */
export function formatTensor(t: Tensor): string {
  const values = tensorValues(t);
  return values === undefined ? tensorType(t) : `${tensorType(t)} = ${values}`;
}

function tensorType(t: Tensor): string {
  return `${t.dtype}[${t.shape.join(", ")}]`;
}

/** `[0, -1]`, `1.0` for a scalar, or undefined when the tensor is too large to print. */
function tensorValues(t: Tensor): string | undefined {
  const n = numel(t.shape);
  if (n > MAX_PRINTED_ELEMENTS) return undefined;
  const items: string[] = [];
  for (let i = 0; i < n; i++) items.push(formatElement(t, i));
  return t.shape.length === 0 ? items[0] : `[${items.join(", ")}]`;
}

function formatElement(t: Tensor, i: number): string {
  const v = t.data[i];
  if (t.dtype === "str") return JSON.stringify(v);
  if (t.dtype === "bool") return v ? "true" : "false";
  if (typeof v === "bigint") return String(v);
  if (isFloat(t.dtype)) return formatFloat(getNumber(t, i), precisionOf(t.dtype));
  return String(v);
}

function precisionOf(d: DType): "f32" | "f64" {
  // f16 and bf16 values are exact in f32, and their shortest f32 form is short enough.
  return d === "f64" ? "f64" : "f32";
}

/**
 * A float in the shortest decimal form that reads back as the same value at
 * `precision` (ONNX float attributes are f32, so 0.9 prints as `0.9`, not
 * `0.8999999761581421`), written as Python's `repr` does: `1.0`, `0.9`,
 * `1e-05`, `1.5e+16`, `nan`, `inf`.
 */
export function formatFloat(v: number, precision: "f32" | "f64" = "f32"): string {
  if (Number.isNaN(v)) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  if (v === 0) return Object.is(v, -0) ? "-0.0" : "0.0";
  let s = String(v);
  if (precision === "f32") {
    const want = Math.fround(v);
    for (let p = 1; p <= 9; p++) {
      const c = v.toPrecision(p);
      if (Math.fround(Number(c)) === want) {
        s = c;
        break;
      }
    }
  }
  // Digits and decimal exponent of the shortest form: d.ddd x 10^e.
  const [mant, expText] = Number(s).toExponential().split("e");
  const sign = mant.startsWith("-") ? "-" : "";
  const digits = mant.replace("-", "").replace(".", "");
  const e = Number(expText);
  if (e >= -4 && e < 16) {
    if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
    const int = digits.slice(0, e + 1).padEnd(e + 1, "0");
    const frac = digits.slice(e + 1) || "0";
    return `${sign}${int}.${frac}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const ee = `${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  return `${sign}${m}e${ee}`;
}
