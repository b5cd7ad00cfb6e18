/**
 * Argument binding for built-in layers and functions: positional and named
 * arguments matched against a signature, with type checks and defaults, and
 * a diagnostic at the offending argument when something does not fit.
 */
import type { Span } from "../ir/graph.ts";
import type { Diagnostic } from "../diagnostics.ts";
import { diag, error, headSpan, renameFix, withFix } from "../diagnostics.ts";
import { describe, type Value } from "./values.ts";
import { closest } from "./suggest.ts";

export type ArgType =
  | "tensor"
  | "tensors"
  | "int"
  | "float"
  | "number"
  | "bool"
  | "str"
  /** An int or a tuple/list of ints. */
  | "ints"
  /** An int, a tuple of ints, or a string (e.g. pad: "same"). */
  | "ints_or_str"
  | "init"
  | "tensor_or_number"
  | "any";

export interface ParamSig {
  name: string;
  type: ArgType;
  /** Absent: the argument is required. */
  default?: Value;
  /** Accepts the remaining positional arguments (only for type "tensors"/"any"). */
  variadic?: boolean;
  optional?: boolean;
  /**
   * For a value of the wrong type here that a call written for another library would give (an
   * int where torch passes its `dim` first: `gather(x, 1, idx)`), what to write instead. The
   * argument is then reported with this hint (DLM0247) and the rest of the call is not checked:
   * its other arguments are shifted too, and their errors would only repeat the one mistake.
   */
  hint?: (v: Value) => string | undefined;
}

export interface ArgIn {
  name?: string;
  value: Value;
  span: Span;
}

export type Bound = Record<string, Value> & { __spans?: Record<string, Span> };

/** Does `v` fit `t`? Ints are accepted where floats are expected. */
export function fits(v: Value, t: ArgType): boolean {
  switch (t) {
    case "any":
      return true;
    case "tensor":
      return v.k === "tensor";
    case "tensors":
      return v.k === "tensor" ||
        ((v.k === "tuple" || v.k === "list") && v.items.every((x) => x.k === "tensor"));
    case "int":
      return v.k === "int";
    case "float":
    case "number":
      return v.k === "int" || v.k === "float";
    case "bool":
      return v.k === "bool";
    case "str":
      return v.k === "str";
    case "ints":
      return v.k === "int" ||
        ((v.k === "tuple" || v.k === "list") && v.items.every((x) => x.k === "int"));
    case "ints_or_str":
      return fits(v, "ints") || v.k === "str";
    case "init":
      return v.k === "init" || v.k === "initfn";
    case "tensor_or_number":
      return v.k === "tensor" || v.k === "int" || v.k === "float";
  }
}

/** A type in words ("an int", "a number"), as messages say it. */
export function describeType(t: ArgType): string {
  return TYPE_WORDS[t];
}

const TYPE_WORDS: Record<ArgType, string> = {
  tensor: "a tensor",
  tensors: "tensors",
  int: "an int",
  float: "a float",
  number: "a number",
  bool: "a bool",
  str: "a string",
  ints: "an int or a tuple of ints",
  ints_or_str: "an int, a tuple of ints or a string",
  init: "an initialiser",
  tensor_or_number: "a tensor or a number",
  any: "a value",
};

/**
 * Bind `args` to `sig`. Returns the bound values (defaults filled in) or
 * undefined after pushing diagnostics. `what` names the callee in messages.
 */
export function bindArgs(
  what: string,
  sig: ParamSig[],
  args: ArgIn[],
  callSpan: Span,
  diags: Diagnostic[],
  /** Leading arguments supplied by a pipe (`x |> f(a)`), for messages. */
  piped = 0,
  /**
   * Accept a number where a tensor is expected (a built-in function's argument: `maximum(x,
   * 0.8)`); the caller turns it into a constant tensor (`liftNumbers` in elaborate/calls.ts).
   */
  numbers = false,
): Bound | undefined {
  try {
    return bind(what, sig, args, callSpan, diags, piped, numbers);
  } catch (e) {
    if (e instanceof Hinted) return undefined;
    throw e;
  }
}

/** Thrown by `check` once it has reported an argument with its parameter's hint. */
class Hinted extends Error {}

function bind(
  what: string,
  sig: ParamSig[],
  args: ArgIn[],
  callSpan: Span,
  diags: Diagnostic[],
  piped: number,
  numbers: boolean,
): Bound | undefined {
  const out: Bound = {};
  const spans: Record<string, Span> = {};
  let ok = true;
  let pos = 0;
  const variadic = sig.find((p) => p.variadic);
  /** Add `a` to the items of the variadic parameter `p` (given by position or by name). */
  const addItem = (p: ParamSig, a: ArgIn) => {
    const list = (out[p.name] as Value | undefined) ?? { k: "tuple", items: [] };
    // A tuple or list of tensors stands for its items: concat(parts, axis: 1) == concat(a, b, axis: 1).
    const v = a.value;
    if (p.type === "tensors" && (v.k === "tuple" || v.k === "list") && fits(v, "tensors")) {
      (list as { items: Value[] }).items.push(...v.items);
    } else {
      if (
        !check(what, { ...p, type: p.type === "tensors" ? "tensor" : p.type }, a, diags, numbers)
      ) {
        ok = false;
      }
      (list as { items: Value[] }).items.push(a.value);
    }
    out[p.name] = list;
    spans[p.name] ??= a.span;
  };
  for (const a of args) {
    if (a.value.k === "error") {
      ok = false;
      continue;
    }
    if (a.name !== undefined) {
      const p = sig.find((s) => s.name === a.name);
      if (!p) {
        const names = sig.map((s) => s.name).join(", ");
        const near = closest(a.name, sig.map((s) => s.name));
        const hint = near ? `did you mean '${near}'? ` : "";
        diags.push(withFix(
          error(...diag("DLM0205", `${what}()`, a.name, hint, names), a.span),
          near ? renameFix(headSpan(a.span, a.name.length), near) : undefined,
        ));
        ok = false;
        continue;
      }
      if (p.name in out) {
        diags.push(error(...diag("DLM0218", what, a.name), a.span));
        ok = false;
        continue;
      }
      if (p.variadic) {
        // `sum(xs: (a, b))`: the items by name, as they would be by position.
        addItem(p, a);
        continue;
      }
      if (!check(what, p, a, diags, numbers)) ok = false;
      out[p.name] = a.value;
      spans[p.name] = a.span;
      continue;
    }
    // Positional.
    while (pos < sig.length && sig[pos].name in out && !sig[pos].variadic) pos++;
    const p = sig[pos];
    if (!p) {
      const max = sig.length;
      const given = args.filter((x) => x.name === undefined).length;
      const note = piped ? ` (counting the piped value, which comes first)` : "";
      diags.push(
        error(
          ...diag(
            "DLM0202",
            what,
            `${max} positional argument${max === 1 ? "" : "s"}`,
            given,
            note,
          ),
          a.span,
        ),
      );
      ok = false;
      break;
    }
    if (p.variadic) {
      addItem(p, a);
      continue;
    }
    if (!check(what, p, a, diags, numbers)) ok = false;
    out[p.name] = a.value;
    spans[p.name] = a.span;
    pos++;
  }
  for (const p of sig) {
    if (p.name in out) continue;
    if (p.variadic) {
      out[p.name] = { k: "tuple", items: [] };
      continue;
    }
    if (p.default !== undefined) out[p.name] = p.default;
    else if (p.optional) continue;
    else if (ok) {
      diags.push(
        error(...diag("DLM0206", what, p.name, TYPE_WORDS[p.type]), callSpan),
      );
      ok = false;
    }
  }
  if (variadic && variadic.type === "tensors") {
    // Flatten a single tuple argument: concat((a, b), axis: 1) == concat(a, b, axis: 1).
    const v = out[variadic.name] as { items: Value[] };
    if (v.items.length === 1 && (v.items[0].k === "tuple" || v.items[0].k === "list")) {
      out[variadic.name] = { k: "tuple", items: (v.items[0] as { items: Value[] }).items };
    }
  }
  out.__spans = spans;
  return ok ? out : undefined;
}

function check(
  what: string,
  p: ParamSig,
  a: ArgIn,
  diags: Diagnostic[],
  numbers = false,
): boolean {
  if (fits(a.value, p.type)) return true;
  const hint = p.hint?.(a.value);
  if (hint !== undefined) {
    diags.push(
      error(
        ...diag("DLM0247", what, TYPE_WORDS[p.type], p.name, describe(a.value), hint),
        a.span,
      ),
    );
    throw new Hinted();
  }
  // A number where a tensor goes becomes a constant beside it (after a misuse's hint).
  if (numbers && p.type === "tensor" && (a.value.k === "int" || a.value.k === "float")) return true;
  diags.push(
    error(
      ...diag("DLM0201", `${what}()`, `${TYPE_WORDS[p.type]} for '${p.name}'`, describe(a.value)),
      a.span,
    ),
  );
  return false;
}

/** An int or tuple argument as a list of `n` ints (an int is repeated). */
export function expandInts(v: Value, n: number): number[] {
  // n is a rank less 2 for window sizes: negative for a tensor of rank < 2 (the caller reports).
  n = Math.max(0, n);
  if (v.k === "int") return Array(n).fill(v.v);
  if (v.k === "tuple" || v.k === "list") return v.items.map((x) => (x as { v: number }).v);
  return Array(n).fill(0);
}

/**
 * An int or a pair of ints as [a, b] (an int is both), when both are positive integers: a size
 * or stride of two dims. Undefined for anything else, a tuple of another length included.
 */
export function positivePair(v: Value): [number, number] | undefined {
  const p = expandInts(v, 2);
  if (p.length !== 2 || p.some((x) => !Number.isInteger(x) || x < 1)) return undefined;
  return [p[0], p[1]];
}

export function num(v: Value | undefined, fallback = 0): number {
  return v && (v.k === "int" || v.k === "float") ? v.v : fallback;
}
