/**
 * The kernel contract of the reference interpreter: one function per ONNX
 * operator, from input tensors and attributes to output tensors.
 */
import type { AttrValue, Graph, Node } from "../../compiler/ir/graph.ts";
import type { Tensor } from "../../compiler/ir/tensor.ts";

/** What a kernel may ask of the interpreter besides its inputs. */
export interface KernelContext {
  /** The node being run (name, op, attributes as written). */
  node: Node;
  /** Version of the default operator set of the model, e.g. 17. */
  opset: number;
  /**
   * Run a subgraph attribute (If/Loop/Scan bodies). `feeds` binds the
   * subgraph's inputs by name; values of the enclosing graphs are visible
   * by name, as ONNX scoping requires. Returns the outputs in order.
   */
  runSubgraph(graph: Graph, feeds: Record<string, Tensor>): Tensor[];
}

/**
 * A kernel. `inputs[i]` is undefined for an omitted optional input; absent
 * attributes take their ONNX defaults inside the kernel. Returns the outputs
 * in order (trailing optional outputs may be left off).
 */
export type Kernel = (
  inputs: (Tensor | undefined)[],
  attrs: Record<string, AttrValue>,
  ctx: KernelContext,
) => Tensor[];

/** A kernel rejected its inputs; the interpreter adds the node and op (DLM0602). */
export class KernelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KernelError";
  }
}

/** Throw a KernelError. */
export function kernelFail(message: string): never {
  throw new KernelError(message);
}
