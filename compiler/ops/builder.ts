/**
 * GraphBuilder: appends nodes to a Graph, naming values and inferring each
 * node's output types through the op table. Used by the elaborator, by
 * passes that add nodes, and by tests that build graphs by hand. It sits
 * above the table (it imports `table.ts`), so a module that imports only
 * this one can build any op.
 */
import type { AttrValue, Graph, Node, Span, TensorType, ValueInfo } from "../ir/graph.ts";
import { emptyGraph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { ShapeError, withDefaults } from "./op_def.ts";
import { getOp } from "./table.ts";
import { diag } from "../diagnostics.ts";

export class GraphBuilder {
  readonly graph: Graph;
  /** Value names (inputs, initializers, node outputs). Node names live in their own namespace, as in ONNX. */
  #used = new Set<string>();
  #nodeNames = new Set<string>();
  /** Constant tensors known at build time (initializers and folded Constant nodes). */
  readonly constants = new Map<string, Tensor>();

  /**
   * For a subgraph body (Scan, Loop, If): the enclosing graph's builder.
   * Values of the outer scope (weights, constants) are read by name, their
   * types and constant values come from there, and the body's own names
   * start with `prefix` so that they never clash with the outer graph's
   * (ONNX wants names unique across scopes).
   */
  readonly outer?: GraphBuilder;
  readonly prefix: string;

  constructor(graphOrName: Graph | string, opts: { outer?: GraphBuilder; prefix?: string } = {}) {
    this.graph = typeof graphOrName === "string" ? emptyGraph(graphOrName) : graphOrName;
    this.outer = opts.outer;
    this.prefix = opts.prefix ?? "";
    for (const v of this.graph.inputs) this.#used.add(v.name);
    for (const [k, t] of this.graph.initializers) {
      this.#used.add(k);
      this.constants.set(k, t);
    }
    for (const n of this.graph.nodes) {
      this.#nodeNames.add(n.name);
      for (const o of n.outputs) this.#used.add(o);
    }
  }

  /** A name not used yet by any value or node: `base`, else `base_1`, `base_2`, ... */
  fresh(base: string): string {
    return this.#freshIn(this.#used, this.#nextValue, this.prefix + base);
  }

  /** The type of a value of this graph or of an enclosing one. */
  typeOf(name: string): TensorType | undefined {
    return this.graph.types.get(name) ?? this.outer?.typeOf(name);
  }

  /** The constant value of a value of this graph or of an enclosing one. */
  constantOf(name: string): Tensor | undefined {
    return this.constants.get(name) ?? this.outer?.constantOf(name);
  }

  // Next suffix to try per base name, so naming the 20,000th `relu` does not
  // first try relu_1 ... relu_19999 (which made long loops quadratic).
  #nextValue = new Map<string, number>();
  #nextNode = new Map<string, number>();

  #freshIn(used: Set<string>, next: Map<string, number>, base: string): string {
    let name = base;
    if (used.has(name)) {
      let i = next.get(base) ?? 1;
      while (used.has(name = `${base}_${i}`)) i++;
      next.set(base, i + 1);
    }
    used.add(name);
    return name;
  }

  isUsed(name: string): boolean {
    return this.#used.has(name);
  }

  input(name: string, type: TensorType, span?: Span): string {
    const n = this.fresh(name);
    const v: ValueInfo = { name: n, type };
    this.graph.inputs.push(v);
    this.graph.types.set(n, type);
    if (span) this.graph.spans?.set(n, span);
    return n;
  }

  /** Add an initializer under exactly `name` (which must be free). */
  initializer(name: string, t: Tensor): string {
    const n = this.fresh(name);
    this.graph.initializers.set(n, t);
    this.graph.types.set(n, { dtype: t.dtype, shape: [...t.shape] });
    this.constants.set(n, t);
    return n;
  }

  output(value: string, name?: string, span?: Span): void {
    const type = this.typeOf(value);
    if (!type) throw new Error(`output(): unknown value ${value}`);
    let v = value;
    if (name && name !== value) {
      // Graph outputs carry the user's name: rename through an Identity only when needed.
      if (this.#used.has(name)) throw new Error(`output(): name ${name} is taken`);
      v = this.rename(value, name);
    }
    this.graph.outputs.push({ name: v, type });
    if (span) this.graph.spans?.set(v, span);
  }

  /**
   * Give `value` the new name `name` by renaming it where it is defined. Inputs
   * and initializers that are used elsewhere keep their names and get an Identity.
   */
  rename(value: string, name: string): string {
    const prod = this.graph.nodes.find((n) => n.outputs.includes(value));
    const usedElsewhere = this.graph.outputs.some((o) => o.name === value);
    if (!prod || usedElsewhere) {
      this.addNode("Identity", [value], {}, { name, outputs: [name] });
      return name;
    }
    this.#used.add(name);
    prod.outputs = prod.outputs.map((o) => (o === value ? name : o));
    for (const n of this.graph.nodes) n.inputs = n.inputs.map((i) => (i === value ? name : i));
    const t = this.graph.types.get(value)!;
    this.graph.types.delete(value);
    this.graph.types.set(name, t);
    for (const [k, c] of this.constants) {
      if (k === value) {
        this.constants.delete(k);
        this.constants.set(name, c);
      }
    }
    return name;
  }

  /**
   * Append a node, inferring output types with the op's shape rule.
   * Throws ShapeError (from the rule) for bad inputs; the caller adds location.
   */
  addNode(
    op: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    opts: {
      name?: string;
      outputs?: string[];
      nOutputs?: number;
      spans?: Span[];
      domain?: string;
    } = {},
  ): string[] {
    const def = getOp(op, opts.domain);
    if (!def) throw new Error(`internal: op ${op} is not registered`);
    const types = inputs.map((i) => {
      if (!i) return undefined;
      const t = this.typeOf(i);
      if (!t) throw new Error(`internal: value ${i} has no type`);
      return t;
    });
    const full = withDefaults(def, attrs);
    const outTypes = def.infer({
      inputs: types,
      attrs: full,
      constant: (k: number) => (inputs[k] ? this.constantOf(inputs[k]) : undefined),
      outputCount: opts.outputs?.length ?? opts.nOutputs,
    });
    const named = opts.name ?? op.toLowerCase();
    const base = named.startsWith(this.prefix) ? named : this.prefix + named;
    const nodeName = this.#freshIn(this.#nodeNames, this.#nextNode, base);
    const count = opts.outputs?.length ?? opts.nOutputs ?? outTypes.length;
    const outputs: string[] = [];
    for (let k = 0; k < count; k++) {
      const want = opts.outputs?.[k] ?? (count === 1 ? nodeName : `${nodeName}:${k}`);
      outputs.push(
        opts.outputs?.[k] !== undefined && !this.#used.has(want)
          ? this.#claim(want)
          : this.#freshIn(this.#used, this.#nextValue, want), // `want` carries the prefix already
      );
    }
    if (outTypes.length < count) {
      throw new ShapeError(
        ...diag("DLM0227", op, `a request for ${outTypes.length} outputs`, count),
      );
    }
    const node: Node = { name: nodeName, op, inputs: [...inputs], outputs, attrs: { ...attrs } };
    if (opts.domain) node.domain = opts.domain;
    if (opts.spans?.length) node.spans = opts.spans;
    this.graph.nodes.push(node);
    outputs.forEach((o, k) => this.graph.types.set(o, outTypes[k]));
    return outputs;
  }

  /** Record a value as a known constant (e.g. the output of a Constant node). */
  setConstant(name: string, t: Tensor): void {
    this.constants.set(name, t);
  }

  #claim(name: string): string {
    this.#used.add(name);
    return name;
  }
}
