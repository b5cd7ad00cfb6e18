/**
 * Test helper for fuse_attention and the target pipelines: the canonical
 * scaled dot-product attention pattern, built node by node.
 */
import { GraphBuilder } from "../ops/builder.ts";
import type { Span } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";

const span = (line: number): Span => ({ file: "m.dlm", line, col: 1, endLine: line, endCol: 5 });

export interface AttentionOpts {
  /** "div": Div by sqrt(h); "mul": Mul by 1 / sqrt(h). */
  scale?: "div" | "mul";
  mask?: "none" | "2d" | "4d";
  /** K's heads as [0, 2, 1, 3] then a [0, 1, 3, 2] swap. */
  keySwap?: boolean;
  /** Also output the attention weights (so the pattern must not fire). */
  leakWeights?: boolean;
  softmaxAxis?: number;
}

/**
 * Attention of q, k, v [N, T, 8] with 2 heads of 4, the canonical pattern,
 * built on `b`; returns the [N, T, 8] result.
 */
export function attention(
  b: GraphBuilder,
  q: string,
  k: string,
  v: string,
  o: AttentionOpts = {},
  mask?: string,
): string {
  const T = b.graph.types.get(q)!.shape[1] as number;
  const split = (x: string, perm: number[]) => {
    const len = b.graph.types.get(x)!.shape[1] as number;
    const shape4 = b.initializer("heads_shape", tensor("i64", [4], [0, len, 2, 4]));
    const [r] = b.addNode("Reshape", [x, shape4]);
    return b.addNode("Transpose", [r], { perm })[0];
  };
  const qh = split(q, [0, 2, 1, 3]);
  const kh = o.keySwap
    ? b.addNode("Transpose", [split(k, [0, 2, 1, 3])], { perm: [0, 1, 3, 2] })[0]
    : split(k, [0, 2, 3, 1]);
  const vh = split(v, [0, 2, 1, 3]);
  let [s] = b.addNode("MatMul", [qh, kh], {}, { name: "attn", spans: [span(1)] });
  [s] = o.scale === "mul"
    ? b.addNode("Mul", [b.initializer("scale", tensor("f32", [], [0.5])), s])
    : b.addNode("Div", [s, b.initializer("sqrt_h", tensor("f32", [], [2]))]);
  if (mask) [s] = b.addNode("Add", [s, mask], {}, { spans: [span(2)] });
  const [a] = b.addNode("Softmax", [s], { axis: o.softmaxAxis ?? -1 });
  const [c] = b.addNode("MatMul", [a, vh]);
  const [t] = b.addNode("Transpose", [c], { perm: [0, 2, 1, 3] });
  const [y] = b.addNode(
    "Reshape",
    [t, b.initializer("merge_shape", tensor("i64", [3], [0, T, 8]))],
    {},
    {
      spans: [span(3)],
    },
  );
  if (o.leakWeights) b.output(a);
  return y;
}
