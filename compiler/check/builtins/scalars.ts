/**
 * Compile-time functions of numbers and lists: `min`, `max`, `abs`, `sqrt`,
 * `exp`, `log`, `sin`, `cos`, `tan`, `floor`, `ceil`, `round` (the functions of
 * one number also map over a tuple or list of numbers), `len`, `range`,
 * `enumerate`, `zip`, `assert`, `training`. They run while the model is
 * elaborated; when an argument is a tensor, the names shared with tensor
 * functions (min, abs, exp, cos...) are the tensor functions instead.
 */
import { diag } from "../../diagnostics.ts";
import type { Span } from "../../ir/graph.ts";
import type { CompileFn, Ctx } from "../context.ts";
import { LIMITS } from "../limits.ts";
import type { ArgIn } from "../signature.ts";
import { describe, ERROR, isNumber, NONE, type Value } from "../values.ts";

function numArgs(ctx: Ctx, name: string, args: ArgIn[], n?: number): number[] | undefined {
  if (n !== undefined && args.length !== n) {
    ctx.error(...diag("DLM0221", name, `${n} argument${n === 1 ? "" : "s"}`, args.length));
    return undefined;
  }
  const out: number[] = [];
  for (const a of args) {
    if (a.value.k === "error") return undefined;
    if (!isNumber(a.value)) {
      ctx.error(...diag("DLM0201", `${name}()`, "numbers", describe(a.value)), a.span);
      return undefined;
    }
    out.push(a.value.v);
  }
  return out;
}

/** min/max of numbers given as arguments or as one tuple/list; int when every item is. */
function extremum(name: string, f: (...xs: number[]) => number): CompileFn {
  return (ctx, args) => {
    const span: Span = ctx.span;
    const items = args.length === 1 && (args[0].value.k === "tuple" || args[0].value.k === "list")
      ? args[0].value.items.map((value) => ({ value, span }))
      : args;
    const xs = numArgs(ctx, name, items);
    if (!xs || xs.length === 0) {
      return xs ? ctx.error(...diag("DLM0223", `${name}()`, "at least one number")) : ERROR;
    }
    const allInt = items.every((a) => a.value.k === "int");
    return { k: allInt ? "int" : "float", v: f(...xs) };
  };
}

/**
 * A function of one number, also mapped over a tuple or list of numbers item by item (the result
 * is of the same kind and length): `cos((0.0, pi / 2))` is `(1.0, 6.1e-17)`, so a schedule table
 * computed once is a constant of the file, not a loop in each model.
 */
function numFn(name: string, f: (x: number) => number, intResult = false): CompileFn {
  const one = (ctx: Ctx, x: Value, span?: Span): Value => {
    if (x.k === "error") return x;
    if (!isNumber(x)) {
      return ctx.error(
        ...diag("DLM0201", `${name}()`, "a number or a tuple of numbers", describe(x)),
        span,
      );
    }
    const v = f(x.v);
    if (Number.isNaN(v)) return ctx.error(...diag("DLM0308", name, x.v), span);
    return intResult || (x.k === "int" && Number.isInteger(v) && name === "abs")
      ? { k: "int", v }
      : { k: "float", v };
  };
  return (ctx, args) => {
    if (args.length !== 1) return ctx.error(...diag("DLM0221", name, "1 argument", args.length));
    const a = args[0].value;
    if (a.k !== "tuple" && a.k !== "list") return one(ctx, a, args[0].span);
    const items: Value[] = [];
    for (const x of a.items) {
      const v = one(ctx, x, args[0].span);
      if (v.k === "error") return v;
      items.push(v);
    }
    return { k: a.k, items };
  };
}

/** In the reference's order. */
export const SCALAR_FNS: Record<string, CompileFn> = {
  training: (ctx, args) =>
    args.length
      ? ctx.error(...diag("DLM0222", "training"))
      : { k: "bool", v: ctx.mode === "train" },
  min: extremum("min", Math.min),
  max: extremum("max", Math.max),
  abs: numFn("abs", Math.abs),
  sqrt: numFn("sqrt", Math.sqrt),
  exp: numFn("exp", Math.exp),
  sin: numFn("sin", Math.sin),
  cos: numFn("cos", Math.cos),
  tan: numFn("tan", Math.tan),
  log: numFn("log", Math.log),
  floor: numFn("floor", Math.floor, true),
  ceil: numFn("ceil", Math.ceil, true),
  round: numFn("round", Math.round, true),
  int: numFn("int", Math.trunc, true),
  float: numFn("float", (x) => x),
  len: (ctx, args) => {
    if (args.length !== 1) {
      return ctx.error(...diag("DLM0221", "len", "1 argument", args.length));
    }
    const v = args[0].value;
    if (v.k === "tuple" || v.k === "list") return { k: "int", v: v.items.length };
    if (v.k === "str") return { k: "int", v: v.v.length };
    if (v.k === "error") return v;
    return ctx.error(
      ...diag("DLM0201", "len()", "a tuple, list or string", describe(v)),
      args[0].span,
    );
  },
  range: (ctx, args) => {
    const xs = numArgs(ctx, "range", args);
    if (!xs) return ERROR;
    if (xs.length < 1 || xs.length > 3 || !args.every((a) => a.value.k === "int")) {
      return ctx.error(
        ...diag(
          "DLM0201",
          "range()",
          "1 to 3 ints: range(end), range(start, end), range(start, end, step)",
          args.map((a) => describe(a.value)).join(", ") || "nothing",
        ),
      );
    }
    const [start, end, step] = xs.length === 1 ? [0, xs[0], 1] : [xs[0], xs[1], xs[2] ?? 1];
    if (step === 0) return ctx.error(...diag("DLM0210", "range()", "a non-zero step", 0));
    const n = Math.max(0, Math.ceil((end - start) / step));
    if (n > LIMITS.rangeLength) {
      return ctx.error(
        ...diag(
          "DLM0312",
          `range(${xs.join(", ")})`,
          n.toLocaleString("en-US"),
          LIMITS.rangeLength.toLocaleString("en-US"),
        ),
      );
    }
    return {
      k: "list",
      items: Array.from({ length: n }, (_, i) => ({ k: "int", v: start + i * step })),
    };
  },
  enumerate: (ctx, args) => {
    const v = args[0]?.value;
    if (args.length !== 1 || !v || (v.k !== "tuple" && v.k !== "list")) {
      if (v?.k === "error") return v;
      const got = args.length === 1 && v ? describe(v) : `${args.length} arguments`;
      return ctx.error(...diag("DLM0201", "enumerate()", "one list or tuple", got));
    }
    return {
      k: "list",
      items: v.items.map((x, i) => ({ k: "tuple", items: [{ k: "int", v: i }, x] })),
    };
  },
  zip: (ctx, args) => {
    const lists: Value[][] = [];
    for (const a of args) {
      if (a.value.k === "error") return ERROR;
      if (a.value.k !== "tuple" && a.value.k !== "list") {
        return ctx.error(
          ...diag("DLM0201", "zip()", "lists or tuples", describe(a.value)),
          a.span,
        );
      }
      lists.push(a.value.items);
    }
    // zip() of nothing is empty, as Python's.
    const n = lists.length ? Math.min(...lists.map((l) => l.length)) : 0;
    return {
      k: "list",
      items: Array.from({ length: n }, (_, i) => ({ k: "tuple", items: lists.map((l) => l[i]) })),
    };
  },
  assert: (ctx, args) => {
    const c = args[0]?.value;
    if (!c || c.k === "error") return c ?? ctx.error(...diag("DLM0223", "assert()", "a condition"));
    if (c.k !== "bool") {
      return ctx.error(...diag("DLM0201", "assert()", "a bool", describe(c)), args[0].span);
    }
    if (!c.v) {
      const msg = args[1]?.value.k === "str" ? args[1].value.v : "assertion failed";
      return ctx.error(...diag("DLM0306", msg));
    }
    return NONE;
  },
};
