/**
 * Shared pieces of shape rules: reading inputs and attributes, dtype
 * checks, axis normalisation and fresh symbolic dims. Every failure is a
 * ShapeError whose message names the op and quotes the types involved.
 */
import { type Dim, formatType, type TensorType } from "../ir/graph.ts";
import { type DType, toNumbers } from "../ir/tensor.ts";
import type { AttrValue } from "../ir/graph.ts";
import { type InferContext, ShapeError } from "./op_def.ts";
import { broadcastShapes } from "./dims.ts";
import { diag } from "../diagnostics.ts";

/** Float element types. */
export const FLOAT: readonly DType[] = ["f16", "f32", "f64", "bf16"];
/** Float types without bfloat16 (many older ONNX ops). */
export const FLOAT_NO_BF16: readonly DType[] = ["f16", "f32", "f64"];
/** Integer element types. */
export const INT: readonly DType[] = ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"];
/** Every numeric element type. */
export const NUMERIC: readonly DType[] = [...INT, ...FLOAT];
/** Every element type. */
export const ANY: readonly DType[] = [...NUMERIC, "bool", "str"];
/** Index types (Gather, Slice, ...). */
export const INDEX: readonly DType[] = ["i32", "i64"];

/** Input `i`, which must be present. */
export function input(ctx: InferContext, op: string, i: number, port: string): TensorType {
  const t = ctx.inputs[i];
  if (!t) throw new ShapeError(...diag("DLM0227", op, `input '${port}'`, "none"));
  return t;
}

/** Check that `t` has one of the `allowed` dtypes. */
export function expectDtype(
  op: string,
  port: string,
  t: TensorType,
  allowed: readonly DType[],
): void {
  if (allowed.includes(t.dtype)) return;
  throw new ShapeError(
    ...diag("DLM0227", op, `'${port}' to be ${describeDtypes(allowed)}`, formatType(t)),
  );
}

function describeDtypes(allowed: readonly DType[]): string {
  if (allowed.length === 1) return `of type ${allowed[0]}`;
  if (sameSet(allowed, FLOAT) || sameSet(allowed, FLOAT_NO_BF16)) {
    return `a float tensor (${allowed.join(", ")})`;
  }
  return `one of ${allowed.join(", ")}`;
}

function sameSet(a: readonly DType[], b: readonly DType[]): boolean {
  return a.length === b.length && a.every((d) => b.includes(d));
}

/** Check that all given (present) inputs share one dtype; returns it. */
export function sameDtype(op: string, ports: [string, TensorType | undefined][]): DType {
  const present = ports.filter((p): p is [string, TensorType] => p[1] !== undefined);
  const first = present[0];
  for (const [name, t] of present.slice(1)) {
    if (t.dtype !== first[1].dtype) {
      throw new ShapeError(
        ...diag(
          "DLM0228",
          op,
          `'${name}' to have the same element type as '${first[0]}'`,
          `found ${formatType(t)} and ${formatType(first[1])}`,
        ),
      );
    }
  }
  return first[1].dtype;
}

/** Check that `t` has exactly `rank` dims (or at least `rank` with `atLeast`). */
export function expectRank(
  op: string,
  port: string,
  t: TensorType,
  rank: number,
  atLeast = false,
): void {
  if (atLeast ? t.shape.length >= rank : t.shape.length === rank) return;
  throw new ShapeError(
    ...diag(
      "DLM0227",
      op,
      `'${port}' to have ${atLeast ? "at least " : ""}${rank} dim${rank === 1 ? "" : "s"}`,
      formatType(t),
    ),
  );
}

/** An axis in [-rank, rank) normalised to [0, rank). */
export function normAxis(op: string, axis: number, rank: number, what = "axis"): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ShapeError(
      ...diag("DLM0227", op, `${what} in [${-rank}, ${rank - 1}] for a rank-${rank} input`, axis),
    );
  }
  return axis < 0 ? axis + rank : axis;
}

/** A list of axes normalised and checked for duplicates. */
export function normAxes(op: string, axes: readonly number[], rank: number): number[] {
  const out = axes.map((a) => normAxis(op, a, rank, "axes"));
  const dup = out.find((a, i) => out.indexOf(a) !== i);
  if (dup !== undefined) {
    throw new ShapeError(...diag("DLM0227", op, "distinct axes", `[${axes.join(", ")}]`));
  }
  return out;
}

/** Attribute as a number (0 when absent). */
export function intAttr(attrs: Record<string, AttrValue>, name: string, fallback = 0): number {
  const v = attrs[name];
  return typeof v === "number" ? v : fallback;
}

/** Attribute as a list of numbers, or undefined when absent. */
export function intsAttr(attrs: Record<string, AttrValue>, name: string): number[] | undefined {
  const v = attrs[name];
  return Array.isArray(v) ? (v as number[]) : undefined;
}

/** Attribute as a string. */
export function strAttr(attrs: Record<string, AttrValue>, name: string, fallback = ""): string {
  const v = attrs[name];
  return typeof v === "string" ? v : fallback;
}

/** The values of constant input `i` as numbers, or undefined when it is not constant. */
export function constInts(ctx: InferContext, i: number): number[] | undefined {
  if (!ctx.inputs[i]) return undefined;
  const t = ctx.constant(i);
  if (!t || t.dtype === "str") return undefined;
  return toNumbers(t);
}

let freshCount = 0;

/**
 * A fresh symbolic dim for a size only known at run time, e.g.
 * `?Reshape_0`. The counter is global; `resetFreshDims` restarts it so a
 * compilation prints the same names every time.
 */
export function freshDim(op: string): string {
  return `?${op}_${freshCount++}`;
}

/** Restart the numbering of fresh dims (call once per compilation). */
export function resetFreshDims(): void {
  freshCount = 0;
}

/** Broadcast the shapes of several types, with the types in the error message. */
export function broadcastTypes(types: readonly TensorType[]): Dim[] {
  let shape: Dim[] = [...types[0].shape];
  let label = formatType(types[0]);
  for (const t of types.slice(1)) {
    shape = broadcastShapes(shape, t.shape, [label, formatType(t)]);
    label = formatType({ dtype: types[0].dtype, shape });
  }
  return shape;
}

/** The dtype named by an ONNX TensorProto.DataType code, for Cast's `to` etc. */
export { dtypeFromOnnx } from "../ir/tensor.ts";
