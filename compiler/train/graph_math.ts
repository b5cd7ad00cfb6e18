/**
 * Element-wise arithmetic on graph values for the training builders
 * (optimisers, schedules, clipping): each call appends one plain ONNX node
 * through a GraphBuilder and returns the new value's name. Scalar constants
 * are f32 initializers, shared per value.
 */
import type { GraphBuilder } from "../ops/builder.ts";
import { tensor } from "../ir/tensor.ts";

/** Arithmetic helpers bound to one builder. */
export class GraphMath {
  readonly b: GraphBuilder;
  #consts = new Map<string, string>();

  constructor(b: GraphBuilder) {
    this.b = b;
  }

  /** An f32 (or i64) scalar constant, one initializer per distinct value. */
  c(v: number, dtype: "f32" | "i64" = "f32"): string {
    const key = `${dtype}:${Object.is(v, -0) ? "-0" : v}`;
    let name = this.#consts.get(key);
    if (!name) {
      name = this.b.initializer("train_const", tensor(dtype, [], [v]));
      this.#consts.set(key, name);
    }
    return name;
  }

  op(op: string, inputs: string[], attrs: Record<string, number | number[]> = {}): string {
    return this.b.addNode(op, inputs, attrs)[0];
  }

  add(a: string, b: string): string {
    return this.op("Add", [a, b]);
  }
  sub(a: string, b: string): string {
    return this.op("Sub", [a, b]);
  }
  mul(a: string, b: string): string {
    return this.op("Mul", [a, b]);
  }
  div(a: string, b: string): string {
    return this.op("Div", [a, b]);
  }
  sqrt(a: string): string {
    return this.op("Sqrt", [a]);
  }
  /** a * k for a number k; k = 1 adds no node. */
  scale(a: string, k: number): string {
    return k === 1 ? a : this.mul(a, this.c(k));
  }
  /** a + k * x, the axpy of the update rules; k = 0 returns a. */
  axpy(a: string, k: number, x: string): string {
    return k === 0 ? a : this.add(a, this.scale(x, k));
  }
  /** An i64 scalar (e.g. `step`) as f32. */
  toFloat(a: string): string {
    return this.op("Cast", [a], { to: 1 });
  }
  /** Sum of squares of all elements, an f32 scalar. */
  sumSquares(a: string): string {
    return this.op("ReduceSumSquare", [a], { keepdims: 0 });
  }
  /** cond ? a : b. */
  where(cond: string, a: string, b: string): string {
    return this.op("Where", [cond, a, b]);
  }
}
