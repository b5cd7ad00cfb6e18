/**
 * A compact, one-line S-expression rendering of AST nodes, without spans:
 * `a + b * c |> relu` prints as `(|> (+ a (* b c)) relu)`. For tests and
 * debugging output, where the tree's shape is what matters.
 */
import type * as A from "./ast.ts";

type Printable =
  | A.Expr
  | A.PipeGroup
  | A.SliceExpr
  | A.EllipsisIndex
  | A.TypeExpr
  | A.DimExpr
  | A.Stmt
  | A.Decl;

/**
 * Render a node.
 *
 * @example
 * ```ts
 * const { file } = parse("let a = -x ** 2", "a.dlm");
 * sexpr(file.decls[0]); // "(const a = (- (** x 2)))"
 * ```
 */
export function sexpr(n: Printable): string {
  switch (n.kind) {
    case "num":
      return n.isInt ? String(n.value) : `${n.value}f`;
    case "str":
      return `(str${n.parts.map((p) => " " + part(p)).join("")})`;
    case "bool":
      return String(n.value);
    case "name":
      return n.name;
    case "tuple":
      return `(tuple${items(n.items)})`;
    case "list":
      return `[${n.items.map(sexpr).join(" ")}]`;
    case "unary":
      return `(${n.op} ${sexpr(n.operand)})`;
    case "binary":
      return `(${n.op} ${sexpr(n.left)} ${sexpr(n.right)})`;
    case "call":
      return `(call ${sexpr(n.callee)}${n.args.map((a) => " " + arg(a)).join("")})`;
    case "index":
      return `(index ${sexpr(n.target)}${items(n.indices)})`;
    case "ellipsis":
      return "...";
    case "slice":
      return `(slice ${opt(n.start)} ${opt(n.end)} ${opt(n.step)})`;
    case "member":
      return `(. ${sexpr(n.target)} ${n.name})`;
    case "pipe":
      return `(|> ${sexpr(n.head)}${n.stages.map((s) => " " + stage(s)).join("")})`;
    case "group":
      return `(group${n.stages.map((s) => " " + stage(s)).join("")})`;
    case "labeled":
      return `(label ${label(n.label)} ${sexpr(n.value)})`;
    case "ifexpr":
      return `(if ${sexpr(n.cond)} ${branch(n.thenBody, n.then)} ${branch(n.elseBody, n.else)})`;
    case "sharing":
      return `(sharing ${sexpr(n.layer)} ${sexpr(n.source)})`;
    case "range":
      return `(${n.inclusive ? "..=" : ".."} ${sexpr(n.start)} ${sexpr(n.end)})`;
    case "scalar_type":
      return n.name;
    case "tensor_type":
      return `${n.dtype}[${n.dims.map(sexpr).join(", ")}]`;
    case "tuple_type":
      return `(${n.items.map(sexpr).join(", ")}${n.items.length === 1 ? "," : ""})`;
    case "dim_any":
      return "_";
    case "dim_rest":
      return "...";
    case "input":
      return `(input ${n.name} ${sexpr(n.type)}${n.source ? " from " + sexpr(n.source) : ""})`;
    case "output":
      return `(output ${n.name}${n.type ? " : " + sexpr(n.type) : ""}${
        n.value ? " = " + sexpr(n.value) : ""
      })`;
    case "let":
      return `(let ${names(n.names, n.destructure)}${n.type ? " : " + sexpr(n.type) : ""} = ${
        sexpr(n.value)
      })`;
    case "assign":
      return `(= ${n.name} ${sexpr(n.value)})`;
    case "return":
      return `(return ${sexpr(n.value)})`;
    case "if":
      return `(if ${sexpr(n.cond)} ${block(n.then)}${n.else ? " else " + block(n.else) : ""})`;
    case "for":
      return `(for ${names(n.names, n.destructure)} in ${sexpr(n.iter)} ${block(n.body)})`;
    case "init":
      return `(init ${n.glob ? JSON.stringify(n.target) : n.target} = ${sexpr(n.value)})`;
    case "copy":
      return `(init ${JSON.stringify(n.target)} from ${JSON.stringify(n.source)})`;
    case "freeze":
      return `(freeze ${n.glob ? JSON.stringify(n.target) : n.target})`;
    case "expr":
      return sexpr(n.expr);
    case "import":
      return `(import ${JSON.stringify(n.path)})`;
    case "const":
      return `(const ${n.name}${n.type ? " : " + sexpr(n.type) : ""} = ${sexpr(n.value)})`;
    case "model":
      return n.base
        ? `(model ${n.name} = ${n.base.name} with [${(n.with ?? []).map(sexpr).join(" ")}])`
        : `(model ${n.name} ${params(n.params)} ${block(n.body)})`;
    case "block":
      return `(block ${n.name} ${params(n.config)} ${params(n.inputs)}${
        n.returnType ? " -> " + sexpr(n.returnType) : ""
      } ${block(n.body)})`;
    case "train":
      return `(train ${n.model} [${n.with.map(sexpr).join(" ")}] ${block(n.body)})`;
  }
}

function part(p: string | A.Expr): string {
  return typeof p === "string" ? JSON.stringify(p) : sexpr(p);
}

function items(xs: Printable[]): string {
  return xs.map((x) => " " + sexpr(x)).join("");
}

function opt(x: A.Expr | undefined): string {
  return x ? sexpr(x) : "_";
}

function arg(a: A.Arg): string {
  return a.name ? `${a.name}=${sexpr(a.value)}` : sexpr(a.value);
}

function label(l: A.Label): string {
  return l.parts.length === 1 && typeof l.parts[0] === "string"
    ? l.parts[0]
    : `<${l.parts.map(part).join(" ")}>`;
}

function stage(s: A.PipeStage): string {
  return (s.label ? label(s.label) + ":" : "") + sexpr(s.target);
}

function names(ns: string[], destructure: boolean): string {
  return destructure ? `(${ns.join(" ")})` : ns[0];
}

/** An `if` expression's branch: its value, after its statements if it has any. */
function branch(stmts: A.Stmt[], value: A.Expr): string {
  return stmts.length
    ? `{${stmts.map((s) => " " + sexpr(s)).join("")} ${sexpr(value)} }`
    : sexpr(value);
}

function block(stmts: A.Stmt[]): string {
  return `{${stmts.map((s) => " " + sexpr(s)).join("")} }`;
}

function params(ps: A.Param[]): string {
  return `(${
    ps.map((p) =>
      `${p.name}${p.type ? ": " + sexpr(p.type) : ""}${p.default ? " = " + sexpr(p.default) : ""}`
    ).join(", ")
  })`;
}
