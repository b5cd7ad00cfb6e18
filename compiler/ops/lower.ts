/**
 * Lowering of IR nodes (opset 17 semantics) to a target ONNX opset.
 */
import type { Node } from "../ir/graph.ts";
import { getOp } from "./table.ts";

/**
 * The ONNX nodes for one IR node at `opset`: the op's `lower` rule when it
 * has one, else the node itself. Throws when the opset is not supported.
 * @example lowerNode(reduceMeanNode, 18) // [Constant axes, ReduceMean(data, axes)]
 */
export function lowerNode(node: Node, opset: number): Node[] {
  if (opset < 17 || opset > 21) {
    throw new RangeError(`Opset ${opset} is not supported: expected 17 to 21`);
  }
  const def = getOp(node.op, node.domain ?? "");
  return def?.lower ? def.lower(node, opset) : [node];
}
