/**
 * The matcher layer the rewrite passes share: which values are constants and
 * what they hold, who produces and who reads a value, the shapes a pattern's
 * nodes must have, and the few edits every rewrite makes (rewiring readers,
 * dropping initializers, fresh names). A pass imports these instead of
 * keeping its own copy.
 */
import {
  type AttrValue,
  type Dim,
  type Graph,
  isGraph,
  type Node,
  type TensorType,
} from "../ir/graph.ts";

import { dimEquals } from "../ops/dims.ts";
import { explicitPads } from "../ops/conv.ts";
import {
  type DType,
  DTYPES,
  getNumber,
  numel,
  type Tensor,
  tensor,
  toNumbers,
} from "../ir/tensor.ts";
import { capturedNames, renameCaptured } from "../ir/captures.ts";
import type { PassContext } from "./context.ts";

/** Whether an attribute value is a tensor (rather than a number, string or graph). */
export function isTensor(v: AttrValue | undefined): v is Tensor {
  return typeof v === "object" && v !== null && !Array.isArray(v) && "data" in v && "dtype" in v;
}

/** Whether a node carries a subgraph (If/Loop/Scan): such nodes are left alone. */
export function hasSubgraph(n: Node): boolean {
  for (const k in n.attrs) if (isGraph(n.attrs[k])) return true;
  return false;
}

/** `n` when it is of the default domain and has no subgraph: a node a pattern may take. */
export function plain(n: Node | undefined): Node | undefined {
  return n && !n.domain && !hasSubgraph(n) ? n : undefined;
}

/** The value of a Constant node, whichever `value*` attribute holds it. */
export function constantNodeValue(n: Node): Tensor | undefined {
  if (n.op !== "Constant" || n.domain) return undefined;
  const a = n.attrs;
  if (isTensor(a.value)) return a.value;
  if (typeof a.value_float === "number") return tensor("f32", [], [a.value_float]);
  if (Array.isArray(a.value_floats)) {
    const v = a.value_floats as number[];
    return tensor("f32", [v.length], v);
  }
  if (typeof a.value_int === "number") return tensor("i64", [], [a.value_int]);
  if (Array.isArray(a.value_ints)) {
    const v = a.value_ints as number[];
    return tensor("i64", [v.length], v);
  }
  return undefined;
}

/**
 * Values whose contents are known at compile time: initializers and the
 * outputs of Constant nodes. With `ctx.keepParams` (training graphs) the
 * initializers listed in `params` are variables, not constants: the trainable
 * ones change every step, and buffers such as running statistics are rewritten
 * by the training graph itself. An initializer that is also a graph input
 * (`--adapters inputs`) is a default value, not a constant.
 */
export function constantTable(g: Graph, ctx: PassContext): Map<string, Tensor> {
  const vars = ctx.keepParams ? new Set(g.params.map((p) => p.name)) : new Set<string>();
  // An initializer that is also a graph input is only a default: a session may feed another.
  for (const i of g.inputs) vars.add(i.name);
  const m = new Map<string, Tensor>();
  for (const [k, t] of g.initializers) if (!vars.has(k)) m.set(k, t);
  for (const n of g.nodes) {
    const v = constantNodeValue(n);
    if (v && n.outputs[0]) m.set(n.outputs[0], v);
  }
  return m;
}

/** Bytes a tensor of this dtype and element count occupies (strings count 8 each). */
export function byteSize(dtype: DType, count: number): number {
  return count * (DTYPES[dtype].bytes || 8);
}

/** Bytes of a tensor. */
export function tensorSize(t: Tensor): number {
  return byteSize(t.dtype, numel(t.shape));
}

/** Same dtype and the same dims (compared as dim expressions). */
export function sameType(a: TensorType | undefined, b: TensorType | undefined): boolean {
  return !!a && !!b && a.dtype === b.dtype && sameDims(a.shape, b.shape);
}

/** The same dims, compared as dim expressions. */
export function sameDims(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => dimEquals(d, b[i]));
}

/** Whether every dim of the type is a number. */
export function isStatic(t: TensorType | undefined): t is TensorType & { shape: number[] } {
  return !!t && t.shape.every((d) => typeof d === "number");
}

/**
 * The value of a one-element numeric constant (any shape holding one
 * element; strings and bools are not numbers here).
 */
export function scalar(consts: ReadonlyMap<string, Tensor>, name: string): number | undefined {
  const t = consts.get(name);
  // numel, not t.data.length: reading a lazy weight's `data` draws all of it.
  if (!t || numel(t.shape) !== 1 || t.dtype === "str" || t.dtype === "bool") return undefined;
  return toNumbers(t)[0];
}

/** Every element of a numeric tensor equals `x` exactly (f16/bf16 decoded; -0 equals 0). */
export function allEqual(t: Tensor, x: number): boolean {
  if (t.dtype === "str") return false;
  for (let i = 0; i < t.data.length; i++) if (getNumber(t, i) !== x) return false;
  return true;
}

/**
 * Who reads each value: nodes (by input slot or subgraph capture) and graph
 * outputs. Kept up to date by `replace` and `drop` while a pass rewrites.
 */
export class Uses {
  // A set per value read by two nodes or more: a value read by many nodes (x in x + x + ... + x,
  // 100,000 times) made adding, dropping and replacing readers quadratic with a list. A value
  // read by one node (most of them) maps to that node: a Uses is built by every pass, and a Set
  // per value was most of its cost.
  readonly #readers = new Map<string, Node | Set<Node>>();
  readonly #captured = new Set<string>();
  readonly #outputs: Set<string>;
  readonly #producers = new Map<string, Node>();
  readonly #graph: Graph;

  constructor(g: Graph) {
    this.#graph = g;
    this.#outputs = new Set(g.outputs.map((v) => v.name));
    for (const n of g.nodes) {
      for (const i of n.inputs) if (i) this.#add(i, n);
      for (const c of capturedNames(n)) {
        this.#captured.add(c);
        this.#add(c, n);
      }
      for (const o of n.outputs) if (o) this.#producers.set(o, n);
    }
  }

  #add(name: string, n: Node): void {
    const l = this.#readers.get(name);
    if (!l) this.#readers.set(name, n);
    else if (l instanceof Set) l.add(n);
    else if (l !== n) this.#readers.set(name, new Set([l, n]));
  }

  /** Nodes reading `name` (each once, in the order they were added). */
  readers(name: string): Node[] {
    const l = this.#readers.get(name);
    return !l ? [] : l instanceof Set ? [...l] : [l];
  }

  /** How many nodes read `name`. */
  readerCount(name: string): number {
    const l = this.#readers.get(name);
    return !l ? 0 : l instanceof Set ? l.size : 1;
  }

  /** The node defining `name`, if a node does. */
  producer(name: string): Node | undefined {
    return this.#producers.get(name);
  }

  isGraphOutput(name: string): boolean {
    return this.#outputs.has(name);
  }

  /** Read by a subgraph: such values are never renamed or bypassed. */
  isCaptured(name: string): boolean {
    return this.#captured.has(name);
  }

  /** Read by anything at all (a node, a subgraph or a graph output). */
  isUsed(name: string): boolean {
    return this.readerCount(name) > 0 || this.#outputs.has(name);
  }

  /**
   * The one node reading `name`, when nothing else does (no other node, no
   * graph output, no subgraph): the condition for fusing it into that node.
   */
  soleReader(name: string): Node | undefined {
    const r = this.#readers.get(name);
    if (!r || this.#outputs.has(name) || this.#captured.has(name)) return undefined;
    if (!(r instanceof Set)) return r;
    return r.size === 1 ? r.values().next().value : undefined;
  }

  /** Make every node reading `from` read `to` instead. */
  replace(from: string, to: string): void {
    for (const n of this.readers(from)) {
      n.inputs = n.inputs.map((i) => (i === from ? to : i));
      // A subgraph reading `from` by name (a Loop body's capture) reads `to` too.
      if (this.#captured.has(from)) renameCaptured(n, from, to);
      this.#add(to, n);
    }
    if (this.#captured.has(from)) this.#captured.add(to);
    this.#readers.delete(from);
  }

  /** Forget `n` as a reader and producer (it is being removed from the graph). */
  drop(n: Node): void {
    for (const i of n.inputs) {
      const l = this.#readers.get(i);
      if (l === n) this.#readers.delete(i);
      else if (l instanceof Set) l.delete(n);
    }
    for (const o of n.outputs) if (this.#producers.get(o) === n) this.#producers.delete(o);
  }

  /** Record `n` as the producer of `value` (an output moved to it from another node). */
  adopt(value: string, n: Node): void {
    this.#producers.set(value, n);
  }

  /** Record `n` as a reader of its inputs and producer of its outputs (it was just added). */
  add(n: Node): void {
    for (const i of n.inputs) if (i) this.#add(i, n);
    for (const o of n.outputs) if (o) this.#producers.set(o, n);
  }

  /** Rename output `from` of its producer to `to`, and every reader with it. */
  renameOutput(from: string, to: string): void {
    const p = this.#producers.get(from);
    if (p) {
      p.outputs = p.outputs.map((o) => (o === from ? to : o));
      this.#producers.delete(from);
      this.#producers.set(to, p);
    }
    this.replace(from, to);
    const t = this.#graph.types.get(from);
    this.#graph.types.delete(from);
    if (t && !this.#graph.types.has(to)) this.#graph.types.set(to, t);
  }
}

/**
 * The sole reader of `value` when it is a plain `op` node (default domain,
 * no subgraph) and nothing else reads `value`: the next node of a chain.
 */
export function sole(uses: Uses, value: string, op: string): Node | undefined {
  const r = plain(uses.soleReader(value));
  return r?.op === op ? r : undefined;
}

/**
 * The plain producer of `value` (default domain, no subgraph) when `reader`
 * is the only thing reading `value`: the previous node of a chain.
 */
export function producerOnlyFor(uses: Uses, value: string, reader: Node): Node | undefined {
  const p = plain(uses.producer(value));
  return p && uses.soleReader(value) === reader ? p : undefined;
}

/** The other input of a binary node that reads `value` (undefined if it reads it twice). */
export function otherInput(n: Node, value: string): string | undefined {
  if (n.inputs.length !== 2) return undefined;
  if (n.inputs[0] === value && n.inputs[1] !== value) return n.inputs[1];
  if (n.inputs[1] === value && n.inputs[0] !== value) return n.inputs[0];
  return undefined;
}

/**
 * The nodes in an order where every value is defined before it is read
 * (by an input or a subgraph capture), otherwise as given: a stable
 * depth-first sort that places each node after the producers of what it
 * reads. Rewrites that let a node take over a value defined earlier call it
 * to restore the order. Iterative, with an explicit stack: graphs can be
 * deeper than the call stack.
 */
export function stableTopo(nodes: readonly Node[]): Node[] {
  const producer = new Map<string, Node>();
  for (const n of nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const placed = new Set<Node>();
  const out: Node[] = [];
  const reads = (n: Node) => [...n.inputs, ...capturedNames(n)];
  for (const root of nodes) {
    const stack: [Node, string[], number][] = [[root, reads(root), 0]];
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [n, names, k] = top;
      if (placed.has(n)) {
        stack.pop();
        continue;
      }
      if (k < names.length) {
        top[2]++;
        const p = names[k] ? producer.get(names[k]) : undefined;
        if (p && !placed.has(p)) stack.push([p, reads(p), 0]);
        continue;
      }
      placed.add(n);
      out.push(n);
      stack.pop();
    }
  }
  return out;
}

/**
 * Remove initializers among `names` that nothing reads any more, with their
 * types and their `params` entries (unless `ctx.keepParams` keeps params).
 */
export function dropUnusedInitializers(
  g: Graph,
  names: Iterable<string>,
  uses: Uses,
  ctx: PassContext,
): void {
  const params = new Set(g.params.map((p) => p.name));
  const gone = new Set<string>();
  for (const k of names) {
    if (!k || !g.initializers.has(k) || uses.isUsed(k)) continue;
    if (ctx.keepParams && params.has(k)) continue;
    g.initializers.delete(k);
    g.types.delete(k);
    gone.add(k);
  }
  if (gone.size) g.params = g.params.filter((p) => !gone.has(p.name));
}

/**
 * Every name the graph uses, values and nodes alike: pass it to `freshName`
 * when a rewrite makes many names (and add to it what else it reserves).
 */
export function takenNames(g: Graph): Set<string> {
  const used = new Set<string>();
  for (const v of g.inputs) used.add(v.name);
  for (const k of g.initializers.keys()) used.add(k);
  for (const k of g.types.keys()) used.add(k);
  for (const n of g.nodes) {
    used.add(n.name);
    for (const o of n.outputs) used.add(o);
  }
  return used;
}

/**
 * A fresh value name: `base`, else `base_1`, `base_2`, ... (not a value or
 * node name yet, nor in `taken` when given; the name is added to `taken`).
 */
export function freshName(g: Graph, base: string, taken?: Set<string>): string {
  const used = taken ?? takenNames(g);
  let name = base;
  for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
  used.add(name);
  return name;
}

/** A Conv's sizes, every one static, and its padding made explicit (`explicitPads`). */
export interface ConvGeometry {
  /** Spatial dims. */
  n: number;
  group: number;
  channelsIn: number;
  channelsOut: number;
  inSp: number[];
  outSp: number[];
  kernel: number[];
  strides: number[];
  dil: number[];
  /** Begin pads of every spatial dim, then end pads. */
  pads: number[];
}

/**
 * The geometry of a Conv whose input, weight and output types give static channels, maps and
 * kernel (any batch), or undefined.
 */
export function convGeometry(g: Graph, conv: Node): ConvGeometry | undefined {
  const [x, w] = conv.inputs;
  const xt = g.types.get(x), wt = g.types.get(w), yt = g.types.get(conv.outputs[0]);
  if (!xt || !wt || !yt || xt.shape.length < 3 || wt.shape.length !== xt.shape.length) {
    return undefined;
  }
  const n = xt.shape.length - 2;
  const dims = [xt.shape[1], wt.shape[0], ...xt.shape.slice(2), ...yt.shape.slice(2)];
  const kernel = wt.shape.slice(2);
  if ([...dims, ...kernel].some((d) => typeof d !== "number")) return undefined;
  const [channelsIn, channelsOut] = dims as number[];
  const inSp = xt.shape.slice(2) as number[], outSp = yt.shape.slice(2) as number[];
  const k = kernel as number[];
  const ones = new Array<number>(n).fill(1);
  const strides = (conv.attrs.strides as number[] | undefined) ?? ones;
  const dil = (conv.attrs.dilations as number[] | undefined) ?? ones;
  const group = (conv.attrs.group as number | undefined) ?? 1;
  const pads = explicitPads(conv.attrs, inSp, outSp, k, strides, dil);
  return { n, group, channelsIn, channelsOut, inSp, outSp, kernel: k, strides, dil, pads };
}

/** Ops of one input that map each element on its own (attributes only, no other operand). */
export const ELEMENTWISE_UNARY: ReadonlySet<string> = new Set([
  "Relu",
  "Neg",
  "Abs",
  "Sigmoid",
  "Tanh",
  "Exp",
  "Sqrt",
  "Reciprocal",
  "HardSigmoid",
  "HardSwish",
  "LeakyRelu",
  "Identity",
  "Not",
  "Clip",
]);
/** Ops whose inputs broadcast against each other and meet element by element. */
export const ELEMENTWISE_BROADCAST: ReadonlySet<string> = new Set([
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Greater",
  "Less",
  "GreaterOrEqual",
  "LessOrEqual",
  "Equal",
  "Where",
  "Max",
  "Min",
  "And",
  "Or",
]);
