/**
 * How a built-in's signature is written, shared by spec/builtins.md
 * (tools/gen_builtins_doc.ts) and the language server's hovers, completion
 * and signature help (compiler/service/), so both show one text.
 */
import type { ArgType, ParamSig } from "./signature.ts";
import { show, type Value } from "./values.ts";

/** The width spec/builtins.md wraps at. */
export const LINE_WIDTH = 100;

/** How each argument type is written in a signature; a new ArgType fails `deno check` here. */
export const TYPE_NAMES: Record<ArgType, string> = {
  tensor: "tensor",
  tensors: "tensor",
  int: "int",
  float: "float",
  number: "number",
  bool: "bool",
  str: "str",
  ints: "ints",
  ints_or_str: "ints_or_str",
  init: "initialiser",
  tensor_or_number: "tensor_or_number",
  any: "any",
};

/** One parameter as written in a signature: `stride: ints = 1`, `init?: initialiser`, `...xs: tensor`. */
export function formatParam(p: ParamSig): string {
  const type = TYPE_NAMES[p.type];
  if (p.variadic) return `...${p.name}: ${type}`;
  if (p.default !== undefined) return `${p.name}: ${type} = ${formatDefault(p.default)}`;
  return `${p.name}${p.optional ? "?" : ""}: ${type}`;
}

function formatDefault(v: Value): string {
  return v.k === "str" ? JSON.stringify(v.v) : show(v);
}

/**
 * A signature `name(p1, p2, ...)`, broken after a comma when it would pass
 * the line width, continuation lines indented under the first parameter.
 */
export function formatSignature(name: string, sig: ParamSig[]): string {
  const params = sig.map(formatParam);
  const indent = " ".repeat(name.length + 1);
  const lines: string[] = [];
  let line = `${name}(`;
  params.forEach((p, k) => {
    const piece = p + (k < params.length - 1 ? "," : ")");
    const sep = line.endsWith("(") ? "" : " ";
    if (line.length + sep.length + piece.length > LINE_WIDTH && !line.endsWith("(")) {
      lines.push(line);
      line = indent + piece;
    } else line += sep + piece;
  });
  if (params.length === 0) line += ")";
  lines.push(line);
  return lines.join("\n");
}
