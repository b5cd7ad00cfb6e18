/**
 * Tensors declared in .dlm rather than made by a layer: `param` (a learned
 * tensor), `params` (the parameters matching a pattern) and `tensor` (a
 * constant from compile-time numbers). Compile-time functions.
 */
import { diag } from "../../diagnostics.ts";
import { type DType, isFloat, table, TENSOR_DTYPES } from "../../ir/tensor.ts";
import type { CompileFn } from "../context.ts";
import { compileGlob, isDottedName } from "../glob.ts";
import type { InitSpec } from "../../ir/init.ts";
import { LIMITS } from "../limits.ts";
import { describe, ERROR, type Value } from "../values.ts";

const DTYPES = new Set<string>(TENSOR_DTYPES);

/**
 * `param(shape, name: "table", init: normal(std: 0.02))`: a learned tensor
 * declared in .dlm (a class token, a bias table), named `name` at the
 * current level (`features.1.0.attn.table`). Applying the enclosing block
 * twice shares it, as any parameter.
 */
export const param: CompileFn = (ctx, args) => {
  const span = ctx.span;
  const a = ctx.bind(
    "param",
    [
      { name: "shape", type: "ints" },
      { name: "name", type: "str" },
      { name: "init", type: "init", optional: true },
    ],
    args,
  );
  if (!a) return ERROR;
  const shape = a.shape.k === "int"
    ? [a.shape.v]
    : (a.shape as { items: { v: number }[] }).items.map((x) => x.v);
  const name = (a.name as { v: string }).v;
  if (!isDottedName(name, true)) {
    return ctx.error(
      ...diag("DLM0123", "param", " (dots for levels)", name),
      a.__spans?.name ?? span,
    );
  }
  if (shape.some((d) => d < 0)) {
    return ctx.error(
      ...diag("DLM0210", "param()", "non-negative dims", `(${shape.join(", ")})`),
      a.__spans?.shape ?? span,
    );
  }
  const init = a.init ? ctx.initSpec(a.init) : ({ kind: "normal", mean: 0, std: 1 } as InitSpec);
  const dot = name.lastIndexOf(".");
  const prefix = dot < 0 ? ctx.prefix : ctx.child(name.slice(0, dot));
  const role = dot < 0 ? name : name.slice(dot + 1);
  const v = ctx.param(prefix, role, shape, init, {
    layer: "param",
    explicit: a.init ? init : undefined,
  });
  return v ?? ERROR;
};

/**
 * `params("*.weight")`: the trainable parameters whose names match, as a
 * tuple of tensors (for regularisers: l2_penalty(params("*.weight"))). The
 * pattern is matched, as `freeze`'s, against the names below the call's
 * level: in a block, its own instance's parameters.
 */
export const params: CompileFn = (ctx, args) => {
  const a = ctx.bind(
    "params",
    [{ name: "pattern", type: "str", default: { k: "str", v: "*" } }],
    args,
  );
  if (!a) return ERROR;
  const re = compileGlob((a.pattern as { v: string }).v);
  const items: Value[] = ctx.trainableParams().filter((p) => re.test(p.rel)).map((p) => p.value);
  if (items.length === 0) {
    return ctx.error(
      ...diag(
        "DLM0215",
        `params("${(a.pattern as { v: string }).v}")`,
        "trainable parameter",
        "",
      ),
      a.__spans?.pattern ?? ctx.span,
    );
  }
  return { k: "tuple", items };
};

/**
 * `tensor([[1, 2], [3, 4]], dtype: "f32")`: a constant tensor from
 * compile-time numbers (nested lists or tuples of one shape).
 */
export const tensor: CompileFn = (ctx, args) => {
  const span = ctx.span;
  const a = ctx.bind(
    "tensor",
    [
      { name: "values", type: "any" },
      { name: "dtype", type: "str", default: { k: "str", v: "f32" } },
    ],
    args,
  );
  if (!a) return ERROR;
  const dtype = (a.dtype as { v: string }).v;
  if (!DTYPES.has(dtype)) {
    return ctx.error(
      ...diag("DLM0214", "tensor() dtype", 'a dtype such as "f32" or "i64"', dtype),
      a.__spans?.dtype ?? span,
    );
  }
  const flat: number[] = [];
  const shapeOf = (v: Value, depth: number, shape: number[]): boolean => {
    if (v.k === "int" || v.k === "float" || v.k === "bool") {
      if (depth !== shape.length) return false;
      flat.push(v.k === "bool" ? (v.v ? 1 : 0) : v.v);
      return true;
    }
    if (v.k !== "tuple" && v.k !== "list") return false;
    if (shape.length === depth) shape.push(v.items.length);
    else if (shape[depth] !== v.items.length) return false;
    return v.items.every((x) => shapeOf(x, depth + 1, shape));
  };
  const shape: number[] = [];
  if (!shapeOf(a.values, 0, shape)) {
    return ctx.error(
      ...diag(
        "DLM0201",
        "tensor()",
        "numbers, or nested lists of numbers of one shape",
        describe(a.values),
      ),
      a.__spans?.values ?? span,
    );
  }
  if (flat.length > LIMITS.rangeLength) {
    return ctx.error(
      ...diag(
        "DLM0312",
        "tensor()",
        flat.length.toLocaleString("en-US"),
        LIMITS.rangeLength.toLocaleString("en-US"),
      ),
    );
  }
  if (!isFloat(dtype as DType) && flat.some((x) => !Number.isInteger(x))) {
    return ctx.error(
      ...diag(
        "DLM0207",
        `tensor() of dtype ${dtype}`,
        "whole numbers",
        flat.find((x) => !Number.isInteger(x))!,
      ),
      a.__spans?.values ?? span,
    );
  }
  // table() encodes f16 and bf16 values as their bits.
  return ctx.constant(table(dtype as DType, shape, "tensor()", (i) => flat[i]));
};
