/**
 * `scan`: a recurrent cell run over time, unrolled over a known length or
 * one ONNX Scan over a symbolic one. A compile-time function: it applies a
 * layer instance (the cell) through `ctx.apply` and builds the Scan body
 * through `ctx.subgraph`.
 */
import { diag } from "../../diagnostics.ts";
import { formatType, type Span } from "../../ir/graph.ts";
import { tensor as mkTensor } from "../../ir/tensor.ts";
import type { CompileFn, Ctx } from "../context.ts";
import { describe, ERROR, type Instance, type TensorValue, type Value } from "../values.ts";

/**
 * `scan(cell, init, xs, axis: 1, reverse: false)`: run a recurrent cell
 * over time. The cell is a layer applied as cell(state..., x_t...) that
 * returns (new_state, y_t); the state may be a tensor or a tuple (h, c),
 * xs a tensor or a tuple of tensors scanned along `axis`. The result is
 * (final_state, ys) with the y_t stacked along `axis`. Over a known
 * length the loop is unrolled; over a symbolic one (T) it becomes one
 * ONNX Scan whose body is the cell, reading the cell's weights from the
 * outer graph, so one file serves every sequence length.
 */
export const scan: CompileFn = (ctx, args) => {
  const span = ctx.span;
  const sig = [
    { name: "cell", type: "any" as const },
    { name: "init", type: "any" as const },
    { name: "xs", type: "any" as const, optional: true },
    { name: "axis", type: "int" as const, default: { k: "int", v: 1 } as Value },
    { name: "steps", type: "int" as const, optional: true },
    { name: "reverse", type: "bool" as const, default: { k: "bool", v: false } as Value },
  ];
  const a = ctx.bind("scan", sig, args);
  if (!a) return ERROR;
  const sp = (k: string) => a.__spans?.[k] ?? span;
  let cell = a.cell;
  if (cell.k === "blockdef" && cell.decl.config.length === 0) {
    cell = {
      k: "layer",
      inst: { kind: "block", name: cell.decl.name, span, decl: cell.decl, config: new Map() },
    };
  }
  if (cell.k !== "layer") {
    return ctx.error(
      ...diag(
        "DLM0201",
        "scan()",
        "a layer to run at each step (such as Cell(64))",
        describe(a.cell),
      ),
      sp("cell"),
    );
  }
  const tensors = (v: Value, what: string, where: Span): TensorValue[] | undefined => {
    const items = v.k === "tuple" || v.k === "list" ? v.items : [v];
    if (items.length === 0 || items.some((x) => x.k !== "tensor")) {
      ctx.error(
        ...diag("DLM0201", "scan()", `a tensor or a tuple of tensors as ${what}`, describe(v)),
        where,
      );
      return undefined;
    }
    return items as TensorValue[];
  };
  const state0 = tensors(a.init, "the initial state", sp("init"));
  if (!state0) return ERROR;
  if (!a.xs) return scanSteps(ctx, cell.inst, a, state0);
  const xs = tensors(a.xs, "the sequence", sp("xs"));
  if (!xs) return ERROR;
  const stateIsTuple = a.init.k === "tuple" || a.init.k === "list";
  const axisIn = (a.axis as { v: number }).v;
  const reverse = (a.reverse as { v: boolean }).v;
  const rank = xs[0].t.shape.length;
  const axis = axisIn < 0 ? axisIn + rank : axisIn;
  if (axis < 0 || axis >= rank || xs.some((x) => x.t.shape.length !== rank)) {
    return ctx.error(
      ...diag("DLM0213", "scan()", axisIn, `the sequence ${formatType(xs[0].t)}`),
      sp("axis"),
    );
  }
  const steps = xs[0].t.shape[axis];
  if (xs.some((x) => x.t.shape[axis] !== steps)) {
    return ctx.error(
      ...diag(
        "DLM0203",
        "scan()",
        `sequences of one length along axis ${axis}`,
        xs.map((x) => formatType(x.t)).join(" and "),
      ),
      sp("xs"),
    );
  }
  const inst = cell.inst;
  // Split the cell's result into (new state tensors, per-step output tensors).
  const unpack = (
    out: Value,
  ): { ns: TensorValue[]; ys: TensorValue[]; ysTuple: boolean } | undefined => {
    if (out.k === "error") return undefined;
    if (out.k !== "tuple" || out.items.length !== 2) {
      ctx.error(
        ...diag("DLM0236", "scan()'s cell result", "(new_state, output)", describe(out)),
        span,
      );
      return undefined;
    }
    const ns = tensors(out.items[0], "the cell's new state", span);
    const ys = tensors(out.items[1], "the cell's output", span);
    if (!ns || !ys) return undefined;
    if (ns.length !== state0.length) {
      ctx.error(
        ...diag(
          "DLM0203",
          "scan()'s cell",
          `to return ${state0.length} state tensor(s), as many as the state has`,
          ns.length,
        ),
        span,
      );
      return undefined;
    }
    for (let i = 0; i < ns.length; i++) {
      const want = state0[i].t, got = ns[i].t;
      if (
        want.dtype !== got.dtype || want.shape.length !== got.shape.length ||
        want.shape.some((d, j) => d !== got.shape[j])
      ) {
        ctx.error(
          ...diag(
            "DLM0203",
            "scan()'s cell",
            `a new state of type ${formatType(want)} (the state must keep its type)`,
            formatType(got),
          ),
          span,
        );
        return undefined;
      }
    }
    return { ns, ys, ysTuple: out.items[1].k === "tuple" || out.items[1].k === "list" };
  };
  if (typeof steps === "number") {
    // Unrolled: one application of the cell per step, sharing its weights.
    if (steps === 0) {
      return ctx.error(
        ...diag("DLM0210", "scan()", "a sequence of at least one step", "0 steps"),
        sp("xs"),
      );
    }
    let state = state0;
    const per: TensorValue[][] = new Array(steps);
    let ysTuple = false;
    for (let q = 0; q < steps; q++) {
      const t = reverse ? steps - 1 - q : q;
      const index = ctx.constant(mkTensor("i64", [], [t]));
      const elems: TensorValue[] = [];
      for (const x of xs) {
        const g = ctx.op("Gather", [x.v, index.v], { axis });
        if (!g) return ERROR;
        elems.push(g[0]);
      }
      const r = unpack(ctx.apply(inst, [...state, ...elems]));
      if (!r) return ERROR;
      state = r.ns;
      per[t] = r.ys;
      ysTuple = r.ysTuple;
    }
    const axesC = ctx.constant(mkTensor("i64", [1], [axis]));
    const stacked: TensorValue[] = [];
    for (let j = 0; j < per[0].length; j++) {
      const parts: TensorValue[] = [];
      for (let t = 0; t < steps; t++) {
        const u = ctx.op("Unsqueeze", [per[t][j].v, axesC.v]);
        if (!u) return ERROR;
        parts.push(u[0]);
      }
      const c = parts.length === 1 ? undefined : ctx.op("Concat", parts.map((p) => p.v), { axis });
      if (parts.length > 1 && !c) return ERROR;
      stacked.push(c ? c[0] : parts[0]);
    }
    return { k: "tuple", items: [pack(state, stateIsTuple), pack(stacked, ysTuple)] };
  }
  // Symbolic length: an ONNX Scan whose body is the cell.
  const k = ctx.ordinal("scan");
  const prefix = `${ctx.child(`scan_${k}`)}/`;
  const { body: sub, result: r } = ctx.subgraph(prefix.slice(0, -1), prefix, (sub) => {
    const bodyState = state0.map((st, i): TensorValue => {
      const n = sub.input(`state${i}`, st.t);
      return { k: "tensor", v: n, t: st.t };
    });
    const bodyX = xs.map((x, j): TensorValue => {
      const t = { dtype: x.t.dtype, shape: x.t.shape.filter((_, d) => d !== axis) };
      return { k: "tensor", v: sub.input(`x${j}`, t), t };
    });
    return unpack(ctx.apply(inst, [...bodyState, ...bodyX]));
  });
  if (!r) return ERROR;
  // Body outputs, renaming as they go (one value may be both state and output).
  const renamed = new Map<string, string>();
  [...r.ns, ...r.ys].forEach((v, i) => {
    const from = renamed.get(v.v) ?? v.v;
    const before = sub.graph.outputs.length;
    sub.output(from, `${prefix}out${i}`, span);
    const added = sub.graph.outputs[before].name;
    if (!sub.graph.nodes.some((n) => n.op === "Identity" && n.outputs[0] === added)) {
      renamed.set(v.v, added);
    }
  });
  const m = xs.length, nOut = r.ns.length + r.ys.length;
  const attrs: Record<string, number[] | number | typeof sub.graph> = {
    body: sub.graph,
    num_scan_inputs: m,
    scan_input_axes: Array(m).fill(axis),
    scan_output_axes: Array(r.ys.length).fill(axis),
  };
  if (reverse) {
    attrs.scan_input_directions = Array(m).fill(1);
    attrs.scan_output_directions = Array(r.ys.length).fill(1);
  }
  const outs = ctx.op(
    "Scan",
    [...state0.map((x) => x.v), ...xs.map((x) => x.v)],
    attrs,
    { name: ctx.child(`scan_${k}`), nOutputs: nOut },
  );
  if (!outs) return ERROR;
  return {
    k: "tuple",
    items: [
      pack(outs.slice(0, r.ns.length), stateIsTuple),
      pack(outs.slice(r.ns.length), r.ysTuple),
    ],
  };
};

/**
 * `scan(cell, init, steps: L)` with no sequence: the cell runs L times on
 * its state alone (greedy decoding feeds each step's prediction back
 * through the state). Unrolled; L must be known.
 */
function scanSteps(
  ctx: Ctx,
  inst: Instance,
  a: Record<string, Value>,
  state0: TensorValue[],
): Value {
  const steps = a.steps;
  if (!steps || steps.k !== "int" || steps.v <= 0) {
    return ctx.error(
      ...diag(
        "DLM0223",
        "scan() without a sequence",
        "steps: a positive int (how many times to run the cell)",
      ),
    );
  }
  const stateIsTuple = a.init.k === "tuple" || a.init.k === "list";
  let state = state0;
  const per: Value[] = [];
  for (let t = 0; t < steps.v; t++) {
    const out = ctx.apply(inst, [...state]);
    if (out.k === "error") return ERROR;
    if (out.k !== "tuple" || out.items.length !== 2) {
      return ctx.error(
        ...diag("DLM0236", "scan()'s cell result", "(new_state, output)", describe(out)),
      );
    }
    const ns = out.items[0];
    const nsList = ns.k === "tuple" || ns.k === "list" ? ns.items : [ns];
    if (
      nsList.length !== state0.length ||
      nsList.some((x, i) => x.k !== "tensor" || formatType(x.t) !== formatType(state0[i].t))
    ) {
      return ctx.error(
        ...diag(
          "DLM0203",
          "scan()'s cell",
          `a new state of type ${
            state0.map((x) => formatType(x.t)).join(", ")
          } (the state must keep its type)`,
          describe(ns),
        ),
      );
    }
    state = nsList as TensorValue[];
    per.push(out.items[1]);
  }
  const axis = (a.axis as { v: number }).v;
  const ysTuple = per[0].k === "tuple";
  const cols = ysTuple ? (per[0] as { items: Value[] }).items.length : 1;
  const stacked: TensorValue[] = [];
  for (let j = 0; j < cols; j++) {
    const parts: TensorValue[] = [];
    for (const y of per) {
      const v = ysTuple ? (y as { items: Value[] }).items[j] : y;
      if (v.k !== "tensor") {
        return ctx.error(
          ...diag("DLM0236", "scan()'s cell output", "tensors", describe(v)),
        );
      }
      const r = v.t.shape.length + 1;
      const ax = axis < 0 ? axis + r : axis;
      const u = ctx.op("Unsqueeze", [v.v, ctx.constant(mkTensor("i64", [1], [ax])).v]);
      if (!u) return ERROR;
      parts.push(u[0]);
    }
    const r0 = parts.length === 1 ? undefined : ctx.op("Concat", parts.map((p) => p.v), { axis });
    if (parts.length > 1 && !r0) return ERROR;
    stacked.push(r0 ? r0[0] : parts[0]);
  }
  return { k: "tuple", items: [pack(state, stateIsTuple), pack(stacked, ysTuple)] };
}

/** The tensors of a state or an output: a tuple when the cell used one, else the one tensor. */
function pack(ts: TensorValue[], tuple: boolean): Value {
  return tuple ? { k: "tuple", items: ts } : ts[0];
}
