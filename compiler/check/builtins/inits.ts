/**
 * The initialisers callable in .dlm (`kaiming_normal(mode: "fan_out")`,
 * `zeros`, `normal(std: 0.02)`): their signatures, and the InitSpec each
 * call makes (init.ts turns a spec into numbers). `kaiming` and `xavier`
 * are short for kaiming_normal and xavier_uniform.
 */
import type { Ctx } from "../context.ts";
import { INIT_NAMES } from "../init.ts";
import type { InitSpec, Nonlinearity } from "../../ir/init.ts";
import { type ArgIn, num, type ParamSig } from "../signature.ts";
import { ERROR, type Value } from "../values.ts";
import { fl } from "./util.ts";
import { diag } from "../../diagnostics.ts";

/** The initialisers callable in .dlm (a set of init.ts's INIT_NAMES). */
export const INIT_FNS = new Set<string>(INIT_NAMES);

/**
 * Call initialiser `name` with `args` at `ctx.span`: an `init` value, or
 * the poison value after reporting a bad argument. A bare name used as an
 * initialiser (`init: zeros`) is the call with no arguments.
 */
export function makeInit(ctx: Ctx, name: string, args: ArgIn[]): Value {
  const bound = ctx.bind(name, INIT_SIGS[canonicalInit(name)], args);
  if (!bound) return ERROR;
  const choices: Record<string, string[]> = {
    mode: ["fan_in", "fan_out"],
    nonlinearity: ["relu", "leaky_relu", "linear", "tanh", "sigmoid", "selu"],
  };
  for (const [k, allowed] of Object.entries(choices)) {
    const v = bound[k];
    if (v?.k === "str" && !allowed.includes(v.v)) {
      return ctx.error(
        ...diag(
          "DLM0214",
          `${name}() ${k}`,
          `one of ${allowed.map((a) => `"${a}"`).join(", ")}`,
          v.v,
        ),
        bound.__spans?.[k] ?? ctx.span,
      );
    }
  }
  return { k: "init", name, spec: buildInit(canonicalInit(name), bound) };
}

function canonicalInit(name: string): string {
  return name === "kaiming" ? "kaiming_normal" : name === "xavier" ? "xavier_uniform" : name;
}

const KAIMING_SIG: ParamSig[] = [
  { name: "mode", type: "str", default: { k: "str", v: "fan_in" } },
  { name: "nonlinearity", type: "str", default: { k: "str", v: "relu" } },
  { name: "a", type: "float", default: fl(0) },
];
const INIT_SIGS: Record<string, ParamSig[]> = {
  zeros: [],
  ones: [],
  constant: [{ name: "value", type: "float" }],
  normal: [
    { name: "mean", type: "float", default: fl(0) },
    { name: "std", type: "float", default: fl(1) },
  ],
  uniform: [
    { name: "low", type: "float", default: fl(0) },
    { name: "high", type: "float", default: fl(1) },
  ],
  kaiming_normal: KAIMING_SIG,
  kaiming_uniform: KAIMING_SIG,
  xavier_normal: [{ name: "gain", type: "float", default: fl(1) }],
  xavier_uniform: [{ name: "gain", type: "float", default: fl(1) }],
  trunc_normal: [
    { name: "mean", type: "float", default: fl(0) },
    { name: "std", type: "float", default: fl(1) },
    { name: "a", type: "float", default: fl(-2) },
    { name: "b", type: "float", default: fl(2) },
  ],
};

function buildInit(name: string, a: Record<string, Value>): InitSpec {
  const s = (k: string) => (a[k] as { v: string }).v;
  switch (name) {
    case "zeros":
      return { kind: "zeros" };
    case "ones":
      return { kind: "ones" };
    case "constant":
      return { kind: "constant", value: num(a.value) };
    case "normal":
      return { kind: "normal", mean: num(a.mean), std: num(a.std) };
    case "uniform":
      return { kind: "uniform", low: num(a.low), high: num(a.high) };
    case "kaiming_normal":
    case "kaiming_uniform":
      return {
        kind: name,
        a: num(a.a),
        mode: s("mode") === "fan_out" ? "fan_out" : "fan_in",
        nonlinearity: s("nonlinearity") as Nonlinearity,
      };
    case "xavier_normal":
    case "xavier_uniform":
      return { kind: name, gain: num(a.gain, 1) };
    default:
      return {
        kind: "trunc_normal",
        mean: num(a.mean),
        std: num(a.std, 1),
        a: num(a.a, -2),
        b: num(a.b, 2),
      };
  }
}
