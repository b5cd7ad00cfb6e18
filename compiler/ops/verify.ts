/**
 * The IR verifier: checks the invariants every stage of the compiler relies
 * on, so that a pass that breaks the graph is caught right after it runs
 * instead of as a confusing failure three stages later. The checks:
 *
 * - node names are unique;
 * - every value is defined exactly once (graph input, initializer or one
 *   node output);
 * - every node input is defined before the node (topological order), or is
 *   "" for an omitted optional input; values captured by subgraphs too;
 * - every graph output is defined;
 * - every value has a type in `g.types`, and graph inputs, outputs and
 *   initializers agree with it;
 * - every op is in the op table, its arity fits its port spec and its
 *   required attributes are present;
 * - re-running the op's shape rule on the input types reproduces the
 *   recorded output types;
 * - every `params` entry names an initializer or a graph input.
 *
 * An unused graph input is not a problem: interfaces may declare inputs a
 * variant of the model ignores.
 *
 * It lives with the op table rather than in `compiler/ir` because half of
 * its checks read each node's table entry.
 */
import { diag, fail } from "../diagnostics.ts";
import { dimEquals } from "./dims.ts";
import { type OpDef, withDefaults } from "./op_def.ts";
import { getOp } from "./table.ts";
import type { AttrValue, Dim, Graph, Node, TensorType } from "../ir/graph.ts";
import { formatType } from "../ir/graph.ts";
import { capturedNames } from "../ir/captures.ts";
import type { Tensor } from "../ir/tensor.ts";

/**
 * Every broken invariant of `g`, one message each; empty when the graph is valid.
 *
 * @example
 * ```ts
 * const problems = verifyGraph(graph);
 * if (problems.length) console.log(problems.join("\n"));
 * ```
 */
export function verifyGraph(g: Graph): string[] {
  const problems: string[] = [];
  const say = (m: string) => problems.push(m);

  checkNodeNames(g, say);
  const definers = checkDefinitions(g, say);
  checkOrderAndOutputs(g, definers, say);
  checkTypes(g, say);
  checkOps(g, say);
  checkParams(g, say);
  return problems;
}

/**
 * Throw an internal error (DLM0900) listing every problem `verifyGraph` finds.
 * `when` says where the compiler is (e.g. "after pass 'dce' (round 1)"), so the
 * message names the stage that broke the graph.
 */
export function assertValid(g: Graph, when?: string): void {
  const problems = verifyGraph(g);
  if (problems.length === 0) return;
  const where = when ? ` ${when}` : "";
  const shown = problems.slice(0, 20);
  const more = problems.length > shown.length
    ? [`... and ${problems.length - shown.length} more`]
    : [];
  fail(
    ...diag(
      "DLM0900",
      `graph '${g.name}' is invalid${where} (${problems.length} ` +
        `problem${problems.length === 1 ? "" : "s"})`,
    ),
    undefined,
    [...shown, ...more, "please report this with the .dlm file that caused it"],
  );
}

type Say = (message: string) => void;

function checkNodeNames(g: Graph, say: Say): void {
  const seen = new Set<string>();
  for (const n of g.nodes) {
    if (!n.name) say(`A ${n.op} node has an empty name`);
    else if (seen.has(n.name)) say(`Node name '${n.name}' is used by more than one node`);
    seen.add(n.name);
  }
}

/** Where each value is defined: "input", "initializer" or the producing node. */
type Definer = "input" | "initializer" | Node;

function describe(d: Definer): string {
  return typeof d === "string" ? `a graph ${d}` : `the output of node '${d.name}' (${d.op})`;
}

function checkDefinitions(g: Graph, say: Say): Map<string, Definer> {
  const definers = new Map<string, Definer>();
  const define = (name: string, by: Definer) => {
    const prev = definers.get(name);
    if (prev !== undefined) {
      say(`Value '${name}' is defined twice: as ${describe(prev)} and as ${describe(by)}`);
      return;
    }
    definers.set(name, by);
  };
  for (const v of g.inputs) define(v.name, "input");
  for (const k of g.initializers.keys()) define(k, "initializer");
  for (const n of g.nodes) for (const o of n.outputs) if (o) define(o, n);
  return definers;
}

function checkOrderAndOutputs(g: Graph, definers: Map<string, Definer>, say: Say): void {
  const ready = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.keys()]);
  for (const n of g.nodes) {
    n.inputs.forEach((i, k) => {
      if (!i || ready.has(i)) return;
      say(
        definers.has(i)
          ? `Node '${n.name}' (${n.op}) reads '${i}' (input ${k}) before it is defined`
          : `Node '${n.name}' (${n.op}) reads '${i}' (input ${k}), which is never defined`,
      );
    });
    for (const c of capturedNames(n)) {
      if (ready.has(c)) continue;
      say(
        definers.has(c)
          ? `A subgraph of node '${n.name}' (${n.op}) captures '${c}' before it is defined`
          : `A subgraph of node '${n.name}' (${n.op}) captures '${c}', which is never defined`,
      );
    }
    for (const o of n.outputs) if (o) ready.add(o);
  }
  for (const v of g.outputs) {
    if (!definers.has(v.name)) say(`Graph output '${v.name}' is never defined`);
  }
}

function sameType(a: TensorType, b: TensorType): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length &&
    a.shape.every((d, i) => d === b.shape[i]);
}

/**
 * Whether a recorded type agrees with the one a shape rule gives now. Dims
 * compare by value (`1 + N` is `N + 1`). A dim known only at run time (a
 * fresh `?Op_k` symbol) matches any dim: the rule renumbers fresh symbols on
 * every call, and a dim recorded as unknown may since have become known
 * (a folded constant shape): that is less precise, not wrong.
 */
function agrees(recorded: TensorType, inferred: TensorType): boolean {
  const unknown = (d: Dim) => typeof d === "string" && d.includes("?");
  return recorded.dtype === inferred.dtype && recorded.shape.length === inferred.shape.length &&
    recorded.shape.every((d, i) => {
      const want = inferred.shape[i];
      return unknown(want) || unknown(d) || dimEquals(d, want);
    });
}

function checkTypes(g: Graph, say: Say): void {
  const declared = (what: string, name: string, t: TensorType) => {
    const known = g.types.get(name);
    if (!known) say(`${what} '${name}' has no type`);
    else if (!sameType(known, t)) {
      say(`${what} '${name}' is declared as ${formatType(t)} but its type is ${formatType(known)}`);
    }
  };
  for (const v of g.inputs) declared("Graph input", v.name, v.type);
  for (const v of g.outputs) declared("Graph output", v.name, v.type);
  for (const [k, t] of g.initializers) {
    declared("Initializer", k, { dtype: t.dtype, shape: t.shape });
  }
  for (const n of g.nodes) {
    for (const o of n.outputs) {
      if (o && !g.types.has(o)) say(`Output '${o}' of node '${n.name}' (${n.op}) has no type`);
    }
  }
}

/** Values known at compile time: initializers and the values of Constant nodes. */
function constantValues(g: Graph): Map<string, Tensor> {
  const m = new Map(g.initializers);
  for (const n of g.nodes) {
    const v = n.attrs.value;
    if (n.op === "Constant" && !n.domain && n.outputs[0] && isTensor(v)) m.set(n.outputs[0], v);
  }
  return m;
}

function isTensor(v: AttrValue | undefined): v is Tensor {
  return typeof v === "object" && v !== null && !Array.isArray(v) && "data" in v && "dtype" in v;
}

function checkOps(g: Graph, say: Say): void {
  const constants = constantValues(g);
  for (const n of g.nodes) {
    const def = getOp(n.op, n.domain);
    const what = `Node '${n.name}' (${n.domain ? `${n.domain}::` : ""}${n.op})`;
    if (!def) {
      say(`${what} uses an op that is not registered`);
      continue;
    }
    const arityOk = checkArity(def, n, what, say);
    for (const [a, spec] of Object.entries(def.attrs)) {
      if (spec.required && !(a in n.attrs)) say(`${what} lacks its required attribute '${a}'`);
    }
    if (!arityOk) continue;
    const types = n.inputs.map((i) => (i ? g.types.get(i) : undefined));
    if (n.inputs.some((i, k) => i && !types[k])) continue; // reported by checkTypes/order
    let inferred: TensorType[];
    try {
      inferred = def.infer({
        inputs: types,
        attrs: withDefaults(def, n.attrs),
        constant: (k: number) => (n.inputs[k] ? constants.get(n.inputs[k]) : undefined),
        outputCount: n.outputs.length,
      });
    } catch (e) {
      say(`${what}: its shape rule rejects the recorded input types: ${(e as Error).message}`);
      continue;
    }
    n.outputs.forEach((o, k) => {
      if (!o) return;
      const recorded = g.types.get(o);
      const want = inferred[k];
      if (!recorded) return; // reported by checkTypes
      if (!want) {
        say(`${what}: its shape rule yields ${inferred.length} outputs but output ${k} is '${o}'`);
      } else if (!agrees(recorded, want)) {
        say(
          `${what}: output '${o}' is recorded as ${formatType(recorded)} but its shape rule ` +
            `gives ${formatType(want)}`,
        );
      }
    });
  }
}

/** Whether the node's inputs and outputs fit the op's port spec; reports when not. */
function checkArity(def: OpDef, n: Node, what: string, say: Say): boolean {
  let ok = true;
  const fit = (ports: OpDef["inputs"], values: string[], kind: "input" | "output") => {
    const variadic = ports.length > 0 && ports[ports.length - 1].variadic;
    const max = variadic ? Infinity : ports.length;
    // A port is required unless it is optional; a variadic port needs at least one value
    // unless it is marked optional too.
    let min = 0;
    ports.forEach((p, k) => {
      if (!p.optional) min = k + 1;
    });
    if (values.length < min || values.length > max) {
      const range = max === Infinity
        ? `at least ${min}`
        : min === max
        ? `${min}`
        : `${min} to ${max}`;
      say(`${what} has ${values.length} ${kind}s but the op takes ${range}`);
      ok = false;
      return;
    }
    values.forEach((v, k) => {
      const p = ports[Math.min(k, ports.length - 1)];
      if (!v && !p.optional && kind === "input") {
        say(`${what} omits its required input ${k} ('${p.name}')`);
        ok = false;
      }
    });
  };
  fit(def.inputs, n.inputs, "input");
  fit(def.outputs, n.outputs, "output");
  return ok;
}

function checkParams(g: Graph, say: Say): void {
  const inputs = new Set(g.inputs.map((v) => v.name));
  for (const p of g.params) {
    if (!g.initializers.has(p.name) && !inputs.has(p.name)) {
      say(`Parameter '${p.name}' (${p.role}) names neither an initializer nor a graph input`);
    }
  }
}
