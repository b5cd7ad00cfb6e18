/**
 * Optimiser state in the layout its update writes: a step model declares an
 * `opt:<slot>:<param>` input (and its `next:` output) in the shape of the
 * node that computes the new value, when that node's result only reaches the
 * output through a view (Reshape, Flatten, Squeeze, Unsqueeze, Identity).
 */
import type { Graph, Node, TensorType } from "../ir/graph.ts";
import { numel, tensor } from "../ir/tensor.ts";
import { freshName, isStatic, plain, stableTopo, takenNames, Uses } from "../passes/match.ts";
import { fedInput, parseOptSlot } from "./contract.ts";

/**
 * Why: onnxruntime gives every graph output a buffer of its own, so a graph
 * output that a Reshape produces is a copy of the Reshape's input, never a
 * view of it (a Reshape between two inner values is free). SGD's momentum of
 * a convolution weight [M, C, k, k] is one Gemm over im2col's columns
 * (fuse_gemm_accumulate folds mu v into it), whose [M, C k k] result a Reshape
 * turned into `next:opt:momentum:W`: 44 MB copied per ResNet-18 step, 0.35 ms
 * for each of layer 4's 9.4 MB weights (a measured minimal model: Gemm then
 * Reshape to a graph output 0.41 ms for the Reshape, 0.01 ms to an inner value).
 *
 * The rewrite, for a state input X (an optimiser slot) whose output is
 *
 *   next:X = Reshape(v, S)       v = P(...) of shape S', numel S' = numel S,
 *
 * (or Flatten, Squeeze, Unsqueeze, Identity of v: each a Reshape to its output's
 * shape) declares X and next:X of shape S' (the same elements in the same
 * row-major order: a view only relabels them), lets P write next:X itself, and gives
 * the nodes that read X or next:X in shape S a Reshape of them to S (a view in
 * onnxruntime); a view of X in shape S' is X itself. Values are unchanged, so
 * results are exactly those of the graph before.
 *
 * Only optimiser state: its layout is the step's own business (callers hold it
 * in its parameter's shape and view it in the declared one: runtime/train's
 * initialState and the `named` state of a run), while parameters and buffers
 * keep the shapes weight files give them. Conditions: X is a graph input, v is
 * not one and is made by a plain node other than a view (no chain of views),
 * static shapes, and next:X and v not read by subgraphs.
 *
 * Returns how many states changed layout.
 */
export function stateInUpdateLayout(g: Graph): number {
  const uses = new Uses(g);
  const taken = takenNames(g);
  const inputs = new Map(g.inputs.map((v) => [v.name, v]));
  const added: [Node, Node][] = []; // [new node, the node it goes before]
  const removed = new Set<Node>();
  let changed = 0;
  for (const out of g.outputs) {
    const x = fedInput(out.name);
    const xin = x === undefined ? undefined : inputs.get(x);
    if (!x || !xin || !parseOptSlot(x)) continue;
    const r = plain(uses.producer(out.name));
    if (!r || !VIEWS.has(r.op) || uses.isCaptured(out.name)) continue;
    const v = r.inputs[0];
    const p = plain(uses.producer(v));
    const vt = g.types.get(v), xt = xin.type;
    if (!p || VIEWS.has(p.op) || inputs.has(v) || uses.isGraphOutput(v)) continue;
    if (uses.isCaptured(v) || uses.isCaptured(x)) continue;
    if (!isStatic(vt) || !isStatic(xt) || vt.dtype !== xt.dtype) continue;
    if (numel(vt.shape) !== numel(xt.shape)) continue;
    const old: TensorType = { dtype: xt.dtype, shape: [...xt.shape] };
    const layout: TensorType = { dtype: vt.dtype, shape: [...vt.shape] };
    // An Identity (or a view to the same shape): P writes next:X, nothing else changes.
    const relabel = !sameShape(old, layout);

    // The output: P writes next:X in v's shape; v's other readers read it under its new name.
    uses.drop(r);
    removed.add(r);
    const outReaders = uses.readers(out.name);
    g.types.delete(v);
    uses.renameOutput(v, out.name);
    g.types.set(out.name, layout);
    out.type = { ...layout, shape: [...layout.shape] };
    // Nodes that read next:X in its old shape read a view of it.
    if (relabel && outReaders.length) {
      const view = viewOf(g, out.name, old, taken, `${out.name}/view`);
      for (const n of outReaders) n.inputs = n.inputs.map((i) => (i === out.name ? view.out : i));
      added.push([view.node, outReaders[0]]);
      uses.add(view.node);
    }

    changed++;
    if (!relabel) continue;
    // The input: a view of X in the new shape is X; other readers read a view in the old shape.
    xin.type = { ...layout, shape: [...layout.shape] };
    g.types.set(x, layout);
    const others: Node[] = [];
    for (const n of uses.readers(x)) {
      const o = n.outputs[0];
      const isView = VIEWS.has(plain(n)?.op ?? "") && n.inputs[0] === x;
      if (isView && sameShape(g.types.get(o), layout) && !uses.isGraphOutput(o)) {
        uses.drop(n);
        removed.add(n);
        uses.replace(n.outputs[0], x);
        g.types.delete(n.outputs[0]);
      } else others.push(n);
    }
    if (others.length) {
      const view = viewOf(g, x, old, taken, `${x}/view`);
      for (const n of others) n.inputs = n.inputs.map((i) => (i === x ? view.out : i));
      added.push([view.node, others[0]]);
      uses.add(view.node);
    }
  }
  if (!changed) return 0;
  const before = new Map<Node, Node[]>();
  for (const [n, at] of added) before.set(at, [...(before.get(at) ?? []), n]);
  g.nodes = g.nodes.flatMap((n) => removed.has(n) ? [] : [...(before.get(n) ?? []), n]);
  // The shapes of the views removed, when nothing else reads them (onnxruntime would warn of
  // each unused initializer at every load).
  const read = new Set(g.nodes.flatMap((n) => n.inputs));
  for (const n of removed) {
    for (const i of n.inputs) {
      if (
        g.initializers.has(i) && !read.has(i) && !inputs.has(i) && !uses.isGraphOutput(i) &&
        !uses.isCaptured(i)
      ) {
        g.initializers.delete(i);
        g.types.delete(i);
      }
    }
  }
  // A view goes before its first reader, which may come before the writer of what it views.
  g.nodes = stableTopo(g.nodes);
  return changed;
}

/** Ops whose output is their first input's elements in the same order, under another shape. */
const VIEWS = new Set(["Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"]);

/** A Reshape of `value` to `type`'s shape, with its shape constant. */
function viewOf(
  g: Graph,
  value: string,
  type: TensorType,
  taken: Set<string>,
  base: string,
): { node: Node; out: string } {
  const dims = type.shape as number[];
  const shape = freshName(g, `${base}/shape`, taken);
  g.initializers.set(shape, tensor("i64", [dims.length], dims));
  g.types.set(shape, { dtype: "i64", shape: [dims.length] });
  const out = freshName(g, base, taken);
  g.types.set(out, { dtype: type.dtype, shape: [...dims] });
  return {
    node: {
      op: "Reshape",
      name: freshName(g, base, taken),
      inputs: [value, shape],
      outputs: [out],
      attrs: {},
    },
    out,
  };
}

function sameShape(a: TensorType | undefined, b: TensorType): boolean {
  return !!a && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}
