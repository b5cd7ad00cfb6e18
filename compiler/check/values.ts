/**
 * Compile-time values of the elaborator. The compiler evaluates a .dlm file
 * like a program: ints, floats, bools, strings and tuples are known exactly;
 * tensors are IR values with a static type; layers are configured instances
 * that own parameters. `error` is a poison value: an expression that already
 * failed yields it, and everything built from it stays quiet, so that one
 * mistake gives one diagnostic and independent mistakes are all reported.
 */
import type { Dim, Span, TensorType } from "../ir/graph.ts";
import { formatType } from "../ir/graph.ts";
import type { BlockDecl, Expr, PipeGroup } from "../syntax/ast.ts";
import type { InitSpec } from "../ir/init.ts";

export type Value =
  | { k: "int"; v: number }
  | { k: "float"; v: number }
  | { k: "bool"; v: boolean }
  | { k: "str"; v: string }
  | { k: "tuple"; items: Value[] }
  | { k: "list"; items: Value[] }
  /** A symbolic dimension (e.g. the batch size N), known only at run time. */
  | { k: "dim"; v: string }
  | { k: "tensor"; v: string; t: TensorType }
  | { k: "fn"; name: string }
  | { k: "layerdef"; name: string }
  | { k: "blockdef"; decl: BlockDecl }
  | { k: "layer"; inst: Instance }
  | { k: "initfn"; name: string }
  | { k: "init"; spec: InitSpec; name: string }
  /**
   * A training setting built by an optimiser, schedule or clipping function: `adam(lr: 1e-3)`,
   * with the span of its call (where train/compile.ts reports what is wrong with it).
   */
  | {
    k: "spec";
    kind: string;
    args: Record<string, Value>;
    span?: Span;
    /** Where each argument was written, for errors found after the call (a stage's). */
    argSpans?: Record<string, Span>;
  }
  | { k: "none" }
  | { k: "error" };

export type TensorValue = Extract<Value, { k: "tensor" }>;

/** A configured layer: a built-in layer with its arguments, a block with its config, or a group. */
export interface Instance {
  kind: "builtin" | "block" | "seq";
  /** Kind name used for automatic names: "conv2d", "Basic", "seq". */
  name: string;
  /** Hierarchical name prefix ("layer1.0.conv1"); set by a label, a let, or on first use. */
  prefix?: string;
  /** Labelled `_`: the block's names join the caller's level instead of adding one. */
  inline?: boolean;
  span: Span;
  /** Built-in layer arguments by parameter name. */
  args?: Record<string, Value>;
  decl?: BlockDecl;
  /** Block config values, bound when the instance is applied. */
  config?: Map<string, Value>;
  /** Group stages and the scope they were written in. */
  group?: PipeGroup;
  scope?: Scope;
  /** Extra arguments captured from `Block(cfg)(extra)` partial applications in pipes. */
  extra?: Expr[];
  /** `X sharing S`: the instance's parameters are S's, below S's prefix (language.md 8.6). */
  shares?: Sharing;
}

/** One `X sharing S`: the layer X makes, applied with the parameters of the instance S. */
export interface Sharing {
  /** S's prefix, which X's parameter names are below. */
  prefix: string;
  /** S is labelled `_`: its names are its caller's level's own. */
  inline: boolean;
  /** The whole `X sharing S` expression, where its errors are reported. */
  span: Span;
  /** "GPT2Cached(...) sharing policy", for messages. */
  what: string;
  /** S's name for messages: its prefix, or "the model's top level". */
  source: string;
}

export const ERROR: Value = { k: "error" };
export const NONE: Value = { k: "none" };

export function int(v: number): Value {
  return { k: "int", v };
}

/** What a value is, in words, for messages: "int 3", "tensor f32[N, 10]", "layer conv2d". */
export function describe(v: Value): string {
  switch (v.k) {
    case "int":
    case "float":
      return `${v.k} ${v.v}`;
    case "bool":
      return `bool ${v.v}`;
    case "str":
      return `string "${v.v}"`;
    case "tuple":
      return `tuple (${v.items.map(short).join(", ")})`;
    case "list":
      return `list [${v.items.map(short).join(", ")}]`;
    case "dim":
      return `symbolic dim ${v.v}`;
    case "tensor":
      return `tensor ${formatType(v.t)}`;
    case "fn":
      return `function ${v.name}`;
    case "layerdef":
      return `layer ${v.name}`;
    case "blockdef":
      return `block ${v.decl.name}`;
    case "layer":
      return `layer ${v.inst.name}`;
    case "initfn":
    case "init":
      return `initialiser ${v.name}`;
    case "spec":
      return `${v.kind}(...)`;
    case "none":
      return "nothing";
    case "error":
      return "an invalid value";
  }
}

function short(v: Value): string {
  switch (v.k) {
    case "int":
    case "float":
      return String(v.v);
    case "bool":
      return String(v.v);
    case "str":
      return `"${v.v}"`;
    case "dim":
      return v.v;
    case "tensor":
      return formatType(v.t);
    default:
      return describe(v);
  }
}

/** The value printed as a user would write it (labels interpolate with this). */
export function show(v: Value): string {
  switch (v.k) {
    case "int":
    case "float":
    case "bool":
    case "str":
      return String(v.v);
    case "dim":
      return v.v;
    case "tuple":
      return `(${v.items.map(show).join(", ")})`;
    case "list":
      return `[${v.items.map(show).join(", ")}]`;
    default:
      return describe(v);
  }
}

export function isNumber(v: Value): v is { k: "int"; v: number } | { k: "float"; v: number } {
  return v.k === "int" || v.k === "float";
}

export function isCallable(v: Value): boolean {
  return v.k === "fn" || v.k === "layerdef" || v.k === "blockdef" || v.k === "layer" ||
    v.k === "initfn";
}

/** A dim value (int or symbolic) for a shape. */
export function dimValue(d: Dim): Value {
  return typeof d === "number" ? { k: "int", v: d } : { k: "dim", v: d };
}

/** Structural equality of compile-time values (tensors and layers by identity). */
export function equalValues(a: Value, b: Value): boolean {
  if (isNumber(a) && isNumber(b)) return a.v === b.v;
  if (a.k !== b.k) return false;
  switch (a.k) {
    case "bool":
    case "str":
    case "dim":
      return a.v === (b as typeof a).v;
    case "tuple":
    case "list": {
      const bi = (b as typeof a).items;
      return a.items.length === bi.length && a.items.every((x, i) => equalValues(x, bi[i]));
    }
    case "tensor":
      return a.v === (b as typeof a).v;
    case "none":
      return true;
    default:
      return a === b;
  }
}

/**
 * A lexical scope: names to values. A block body sees the globals, its
 * config and its inputs; if/for bodies nest. It lives beside Value because
 * a group instance keeps the scope it was written in.
 */
export class Scope {
  readonly vars = new Map<string, Value>();
  /** Names bound here that are settings (a train section's `clip`, `loss`), not values. */
  private readonly settings = new Set<string>();
  constructor(readonly parent?: Scope) {}

  lookup(name: string): Value | undefined {
    return this.vars.get(name) ?? this.parent?.lookup(name);
  }

  /**
   * What a call of `name` calls: as `lookup`, but passing over settings. A setting is
   * assigned (`clip = clip_norm(1.0)`), never called, so it does not hide the function of
   * its name (`clip(x, 0.0, 1.0)` in the same train section).
   */
  lookupCallee(name: string): Value | undefined {
    if (this.vars.has(name) && !this.settings.has(name)) return this.vars.get(name);
    return this.parent?.lookupCallee(name);
  }

  /** The scope that defines `name`, for assignments. */
  owner(name: string): Scope | undefined {
    return this.vars.has(name) ? this : this.parent?.owner(name);
  }

  /** Bind `name` here (a `let`, a parameter, a loop variable): a value, even if a setting had the name. */
  define(name: string, v: Value): void {
    this.vars.set(name, v);
    this.settings.delete(name);
  }

  /** Bind a setting: assignable, readable, but not what a call of its name calls. */
  defineSetting(name: string, v: Value): void {
    this.vars.set(name, v);
    this.settings.add(name);
  }

  /** Is `name` bound here as a setting? */
  isSetting(name: string): boolean {
    return this.settings.has(name);
  }

  /** Assign to `name` where it is bound (see `owner`), keeping whether it is a setting. */
  assign(name: string, v: Value): void {
    this.vars.set(name, v);
  }

  /** A nested scope (if/for bodies). */
  nested(): Scope {
    return new Scope(this);
  }
}
