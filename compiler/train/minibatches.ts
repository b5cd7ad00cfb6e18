/**
 * `updates = minibatches(epochs: E, count: M, over: (a, b, ...))`: several updates in one training
 * step over one rollout, PPO's "epochs of minibatches" (Schulman et al., 2017, Algorithm 1).
 *
 * The step's forward computes everything once with the parameters as the step starts θ_0: the
 * rollout (responses sampled from the policy, their old log-probabilities, advantages, ...) and
 * the tensors of `over`, each [B, ...] with the rollout's B samples along axis 0. Then, for
 * k = 0 .. E·M - 1 with m = k mod M, update k is
 *
 *   L_k(θ) = loss(θ; over[rows_m])      rows_m = floor(m B / M) .. floor((m + 1) B / M) - 1
 *   θ_{k+1} = opt(θ_k, ∇_θ L_k(θ_k))   with the optimiser state chained from update k - 1
 *
 * The loss is recomputed (recompute.ts) from the slices and θ_k: the nodes that read a slice or
 * a parameter are copied, the rollout behind `over` is not (its values are the slices' source,
 * and no gradient flows into them: ∇ stops at the slices). The optimiser counts updates, not
 * steps: update k of step s is the optimiser's and the schedule's step s·E·M + k, so Adam's bias
 * correction and a warm-up see every update. Every other input of a recomputed node is shared by
 * all updates; one with the rollout's samples along axis 0 would not match a slice's rows, so it
 * is DLM0707 at the setting (it belongs in `over`).
 */
import { LIMITS } from "../check/limits.ts";
import type { Dim, Graph, Node, Span } from "../ir/graph.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { capturedNames, renameCaptured } from "../ir/captures.ts";
import { runPasses } from "../passes/manager.ts";
import { trainStepPipeline } from "../passes/pipelines.ts";
import { hasSubgraph } from "../passes/match.ts";
import { optSlotName } from "./contract.ts";
import { diag, DlmError, error } from "../diagnostics.ts";
import { buildGradients } from "../grad/mod.ts";
import type { Value } from "../check/values.ts";
import { argDefault, MINIBATCHES } from "../check/builtins/train_rules.ts";
import { formatType } from "../ir/graph.ts";
import { buildOptimizer, optimizerSlots, type OptimizerSpec, resolveGroup } from "./optimizers.ts";
import { buildSchedule, type ScheduleSpec } from "./schedules.ts";
import { buildClip, type ClipSpec } from "./clip.ts";
import { recompute } from "./recompute.ts";

export interface MinibatchesSpec {
  epochs: number;
  count: number;
  /** The values of `over` (named `rollout:<i>`). */
  over: string[];
  span?: Span;
}

/** The `updates` setting's spec, or undefined without one (or with no tensor to slice). */
export function minibatchesSpec(
  v: Value | undefined,
  over: string[],
): MinibatchesSpec | undefined {
  if (v?.k !== "spec" || v.kind !== MINIBATCHES.name || over.length === 0) return undefined;
  const int = (k: string) => {
    const a = v.args[k];
    return a?.k === "int" ? a.v : argDefault(MINIBATCHES, k);
  };
  return { epochs: int("epochs"), count: int("count"), over, span: v.span };
}

interface UpdateContext {
  step: string;
  optimizer: { spec: OptimizerSpec; lr: number };
  sched: ScheduleSpec;
  clip?: ClipSpec;
  span: Span;
}

/**
 * Append the E·M chained updates of `params` to the step and return, for every parameter and
 * optimiser state input, its value after the last one.
 *
 * The updates are one ONNX Loop of E·M iterations whose body is one update (issues 15 and 19):
 * the parameters and the optimiser state are loop-carried, iteration k reads slice k mod M of
 * every tensor of `over` (captured from the step, sliced by the iteration's index), and the
 * optimiser's step is base + k. The body is the same update the unrolled form makes at k (its
 * `minibatchUpdatesUnrolled`, kept as the reference the tests compare with), so the step's size
 * no longer grows with E·M: one copy of the loss's forward and backward, not E·M. Nodes of the
 * body that read nothing the iteration changes are left in the step, computed once.
 *
 * A loss with random draws (dropout, rand_like) stays unrolled: dlm train feeds every draw of
 * the step as an input (runtime/train/draws.ts), one per update, which a loop body cannot read.
 */
export function minibatchUpdates(
  b: GraphBuilder,
  forward: Node[],
  loss: string,
  params: string[],
  spec: MinibatchesSpec,
  ctx: UpdateContext,
): { input: string; output: string }[] {
  checkPerSample(b, forward, loss, spec, ctx.span);
  const total = spec.epochs * spec.count;
  if (total === 1 || drawsIn(forward, loss, new Set(spec.over))) {
    return unrolled(b, forward, loss, params, spec, ctx);
  }
  // One Loop runs them all, so the step's size does not grow with them; its time does, and a
  // step of more than MAX_UPDATES updates would run for hours (10^12 of them, forever).
  if (total > MAX_UPDATES) {
    throw tooManyUpdates(
      spec,
      ctx,
      `more than the ${MAX_UPDATES.toLocaleString("en-US")} a step may run`,
    );
  }
  const i64 = (g: GraphBuilder, name: string, v: number, shape: number[] = [1]) =>
    g.initializer(name, { dtype: "i64", shape, data: new BigInt64Array([BigInt(v)]) });
  // The optimiser's step of update 0 of this step, computed once outside the loop.
  const [base] = b.addNode("Mul", [ctx.step, i64(b, "minibatch.total", total, [])]);
  const body = new GraphBuilder(`${b.graph.name}_minibatch`, { outer: b, prefix: BODY });
  const iter = body.input("iter", { dtype: "i64", shape: [] });
  const cond = body.input("cond", { dtype: "bool", shape: [] });
  // The loop-carried values: the parameters, then every optimiser state slot of each, by the
  // names buildOptimizer gives its state inputs (which it reads from `current` in the body).
  const carried: string[] = [...params];
  const stateOf = new Map<string, string>(); // state input -> its parameter
  for (const p of params) {
    const { hyper } = resolveGroup(ctx.optimizer.spec, { name: p });
    for (const slot of optimizerSlots(hyper)) stateOf.set(optSlotName(slot, p), p);
  }
  carried.push(...stateOf.keys());
  // The outer state inputs the loop starts from, declared as buildOptimizer would declare them
  // (each of its parameter's type).
  for (const [v, p] of stateOf) {
    const type = b.typeOf(p);
    if (!type) throw new Error(`internal: parameter ${p} has no type`);
    if (b.input(v, { dtype: type.dtype, shape: [...type.shape] }) !== v) {
      throw new Error(`internal: optimiser state name ${v} is taken`);
    }
  }
  const current = new Map<string, string>();
  for (const v of carried) {
    const type = b.typeOf(v)!;
    current.set(v, body.input(v, { dtype: type.dtype, shape: [...type.shape] }));
  }
  // Slice m = k mod M of every tensor of `over`: rows floor(m B / M) .. floor((m + 1) B / M) - 1.
  const subst = new Map<string, string>();
  const slices = new Set<string>();
  const [m] = body.addNode("Mod", [iter, i64(body, "count", spec.count, [])]);
  const axis = i64(body, "axis", 0);
  const count = i64(body, "count1", spec.count);
  for (const v of spec.over) {
    if (spec.count === 1) {
      subst.set(v, v);
      slices.add(v);
      continue;
    }
    const [n] = body.addNode("Shape", [v], { start: 0, end: 1 });
    const bound = (k: string) => {
      const [t] = body.addNode("Mul", [n, k]);
      return body.addNode("Div", [t, count])[0];
    };
    const [m1] = body.addNode("Add", [m, i64(body, "one", 1, [])]);
    const [s] = body.addNode("Slice", [v, bound(m), bound(m1), axis]);
    subst.set(v, s);
    slices.add(s);
  }
  for (const p of params) subst.set(p, current.get(p)!);
  const lossK = recompute(body, forward, loss, subst, BODY);
  const wrt = params.map((p) => current.get(p)!);
  const grads = buildGradients(body, lossK, wrt, { stop: slices, prefix: "grad.update" });
  const [stepK] = body.addNode("Add", [base, iter]);
  const lr = buildSchedule(body, ctx.sched, stepK, ctx.optimizer.lr);
  let gradNames = wrt.map((p) => grads.get(p)!);
  if (ctx.clip) gradNames = buildClip(body, ctx.clip, gradNames).grads;
  const r = buildOptimizer(
    body,
    ctx.optimizer.spec,
    params.map((name, i) => ({ name, grad: gradNames[i] })),
    stepK,
    lr,
    current,
  );
  const after = new Map(r.updates.map((u) => [u.input, u.output]));
  // The body's outputs: the condition, then each carried value after the update, each a value
  // of the body's own under a name of its own (an Identity where the update passes one through).
  const made = new Set(body.graph.nodes.flatMap((n) => n.outputs));
  const seen = new Set<string>();
  const own = (v: string) => {
    const o = made.has(v) && !seen.has(v) ? v : body.addNode("Identity", [v])[0];
    seen.add(o);
    return o;
  };
  body.output(own(cond));
  for (const v of carried) body.output(own(after.get(v) ?? current.get(v)!));
  const outs = b.addNode("Loop", [i64(b, "minibatch.updates", total, []), "", ...carried], {
    body: optimized(b, hoist(b, body.graph)),
  }, { name: "minibatch.loop", nOutputs: carried.length });
  return carried.map((input, i) => ({ input, output: outs[i] }));
}

/** The values of the body's own names, so that names and prefixes stay unique across scopes. */
const BODY = "minibatch/";

/**
 * Move the body's nodes that read nothing of the iteration (no body input, directly or not)
 * out to the step, before the loop: they are computed once, and the body reads them by name.
 */
function hoist(b: GraphBuilder, body: Graph): Graph {
  const varying = new Set(body.inputs.map((i) => i.name));
  const keep: Node[] = [];
  for (const n of body.nodes) {
    const reads = [...n.inputs, ...capturedNames(n)];
    if (reads.some((x) => x && varying.has(x)) || n.op.startsWith("Random")) {
      for (const o of n.outputs) if (o) varying.add(o);
      keep.push(n);
      continue;
    }
    for (const x of n.inputs) {
      const c = x ? body.initializers.get(x) : undefined;
      if (x && c && !b.graph.initializers.has(x)) {
        b.graph.initializers.set(x, c);
        b.graph.types.set(x, body.types.get(x)!);
        b.setConstant(x, c);
      }
    }
    b.graph.nodes.push(n);
    for (const o of n.outputs) if (o) b.graph.types.set(o, body.types.get(o)!);
  }
  const outNames = new Set(body.outputs.map((o) => o.name));
  const hoisted = body.nodes.filter((n) => !keep.includes(n)).flatMap((n) => n.outputs);
  if (hoisted.some((o) => outNames.has(o))) throw new Error("internal: a loop output was hoisted");
  // Initializers only the hoisted nodes read move with them; the others stay in the body.
  const read = new Set(keep.flatMap((n) => [...n.inputs, ...capturedNames(n)]));
  const initializers = new Map(
    [...body.initializers].filter(([k]) => read.has(k) && !b.graph.initializers.has(k)),
  );
  const types = new Map([...body.types].filter(([k]) => !hoisted.includes(k)));
  return { ...body, nodes: keep, initializers, types };
}

/**
 * The body through the step's passes (fusions, CSE, folding), which run on the step only after
 * the loop is built and leave a node's subgraph alone: without them one update is 1.7 times the
 * nodes of an unrolled one. The passes see the values the body captures with their types; the
 * names they make are then prefixed, as the body's own are, so none can clash with a step value.
 */
function optimized(b: GraphBuilder, body: Graph): Graph {
  const captured = [
    ...capturedNames({ name: "", op: "Loop", inputs: [], outputs: [], attrs: { body } }),
  ];
  const added = captured.filter((c) => !body.types.has(c) && b.typeOf(c));
  for (const c of added) body.types.set(c, b.typeOf(c)!);
  runPasses(body, trainStepPipeline(), { mode: "train", keepParams: true });
  for (const c of added) body.types.delete(c);
  const own = new Set([
    ...body.inputs.map((i) => i.name),
    ...body.initializers.keys(),
    ...body.nodes.flatMap((n) => n.outputs),
  ]);
  const renamed = new Map<string, string>();
  for (const v of own) {
    if (!v || v.startsWith(BODY)) continue;
    let to = BODY + v;
    for (let i = 1; own.has(to) || renamed.has(to); i++) to = `${BODY}${v}_${i}`;
    renamed.set(v, to);
  }
  if (renamed.size === 0) return body;
  const r = (v: string) => renamed.get(v) ?? v;
  for (const n of body.nodes) {
    n.inputs = n.inputs.map(r);
    n.outputs = n.outputs.map(r);
    if (hasSubgraph(n)) { for (const [from, to] of renamed) renameCaptured(n, from, to); }
  }
  return {
    ...body,
    inputs: body.inputs.map((i) => ({ ...i, name: r(i.name) })),
    outputs: body.outputs.map((o) => ({ ...o, name: r(o.name) })),
    initializers: new Map([...body.initializers].map(([k, t]) => [r(k), t])),
    types: new Map([...body.types].map(([k, t]) => [r(k), t])),
  };
}

/** Whether the loss's cone (stopping at the rollout) draws random numbers. */
function drawsIn(forward: Node[], loss: string, over: Set<string>): boolean {
  const need = new Set([loss]);
  for (let i = forward.length - 1; i >= 0; i--) {
    const n = forward[i];
    if (!n.outputs.some((o) => need.has(o)) || n.outputs.some((o) => over.has(o))) continue;
    if (n.op.startsWith("Random") || n.op === "Dropout" || n.op === "Multinomial") return true;
    for (const x of n.inputs) if (x) need.add(x);
  }
  return false;
}

/**
 * The updates unrolled: E·M copies of the loss's forward and backward, update k reading the
 * values update k - 1 made. The reference the loop is tested against (`unroll` in
 * compileTrain's options), and the form of a loss with random draws.
 */
export function minibatchUpdatesUnrolled(
  b: GraphBuilder,
  forward: Node[],
  loss: string,
  params: string[],
  spec: MinibatchesSpec,
  ctx: UpdateContext,
): { input: string; output: string }[] {
  checkPerSample(b, forward, loss, spec, ctx.span);
  return unrolled(b, forward, loss, params, spec, ctx);
}

function unrolled(
  b: GraphBuilder,
  forward: Node[],
  loss: string,
  params: string[],
  spec: MinibatchesSpec,
  ctx: UpdateContext,
): { input: string; output: string }[] {
  const total = spec.epochs * spec.count;
  // Unrolled, each update adds a copy of the loss's cone, its gradient and the optimiser's update:
  // past the elaborator's node limit the step would take minutes to build and more memory than a
  // machine has (epochs: 1000000, count: 1000000 ran on).
  const start = b.graph.nodes.length;
  const limit = () => {
    if (b.graph.nodes.length - start <= LIMITS.nodes) return;
    throw tooManyUpdates(
      spec,
      ctx,
      `unrolled (its loss draws random numbers), which add more than ${
        LIMITS.nodes.toLocaleString("en-US")
      } nodes to it`,
    );
  };
  const i64 = (name: string, v: number) =>
    b.initializer(name, { dtype: "i64", shape: [1], data: new BigInt64Array([BigInt(v)]) });
  const axis = i64("minibatch.axis", 0);
  const count = i64("minibatch.count", spec.count);
  // Slice m of every tensor of `over`, made once and read by every epoch.
  const slices: Map<string, string>[] = [];
  for (let m = 0; m < spec.count; m++) {
    const rows = new Map<string, string>();
    for (const v of spec.over) {
      if (spec.count === 1) {
        rows.set(v, v);
        continue;
      }
      const [n] = b.addNode("Shape", [v], { start: 0, end: 1 });
      const bound = (k: number) => {
        const [t] = b.addNode("Mul", [n, i64(`minibatch.k${k}`, k)]);
        return b.addNode("Div", [t, count])[0];
      };
      const [s] = b.addNode("Slice", [v, bound(m), bound(m + 1), axis]);
      rows.set(v, s);
    }
    slices.push(rows);
    limit();
  }
  const [base] = b.addNode("Mul", [
    ctx.step,
    b.initializer("minibatch.total", {
      dtype: "i64",
      shape: [],
      data: new BigInt64Array([BigInt(total)]),
    }),
  ]);
  const now = new Map<string, string>(); // parameter or state input -> its latest value
  for (let k = 0; k < total; k++) {
    const m = k % spec.count;
    const subst = new Map<string, string>(slices[m]);
    for (const p of params) if (now.has(p)) subst.set(p, now.get(p)!);
    const lossK = recompute(b, forward, loss, subst, `update${k}@`);
    const wrt = params.map((p) => now.get(p) ?? p);
    const grads = buildGradients(b, lossK, wrt, {
      stop: new Set(slices[m].values()),
      prefix: `grad.update${k}`,
    });
    const [stepK] = b.addNode("Add", [
      base,
      b.initializer(`minibatch.update${k}`, {
        dtype: "i64",
        shape: [],
        data: new BigInt64Array([BigInt(k)]),
      }),
    ]);
    const lr = buildSchedule(b, ctx.sched, stepK, ctx.optimizer.lr);
    let gradNames = wrt.map((p) => grads.get(p)!);
    if (ctx.clip) gradNames = buildClip(b, ctx.clip, gradNames).grads;
    const r = buildOptimizer(
      b,
      ctx.optimizer.spec,
      params.map((name, i) => ({ name, grad: gradNames[i] })),
      stepK,
      lr,
      now,
    );
    for (const u of r.updates) now.set(u.input, u.output);
    limit();
  }
  return [...now].map(([input, output]) => ({ input, output }));
}

/**
 * DLM0707: a node the updates recompute reads a value with the rollout's samples along axis 0
 * (its dim 0 is the symbolic dim of a tensor of `over`) that is neither sliced nor computed from
 * a slice: every update would read all B rows of it against the slice's B / M.
 */
function checkPerSample(
  b: GraphBuilder,
  forward: Node[],
  loss: string,
  spec: MinibatchesSpec,
  span: Span,
): void {
  const over = new Set(spec.over);
  const batch = new Set<Dim>();
  for (const v of spec.over) {
    const d = b.typeOf(v)?.shape[0];
    if (typeof d === "string") batch.add(d);
  }
  if (batch.size === 0) return;
  // The loss's cone, stopping at the rollout.
  const need = new Set([loss]);
  const cone: Node[] = [];
  for (let i = forward.length - 1; i >= 0; i--) {
    const n = forward[i];
    if (!n.outputs.some((o) => need.has(o)) || n.outputs.some((o) => over.has(o))) continue;
    cone.push(n);
    for (const x of n.inputs) if (x) need.add(x);
  }
  cone.reverse();
  const fromRollout = new Set(over);
  for (const n of cone) {
    if (!n.inputs.some((x) => fromRollout.has(x))) continue;
    for (const o of n.outputs) if (o) fromRollout.add(o);
  }
  const producer = new Map(forward.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const at = (n: Node | undefined) => {
    const s = n?.spans?.[0];
    return s ? `${s.file}:${s.line}:${s.col}` : undefined;
  };
  for (const n of cone) {
    if (!n.outputs.some((o) => fromRollout.has(o))) continue;
    for (const x of n.inputs) {
      if (!x || fromRollout.has(x)) continue;
      const t = b.typeOf(x);
      if (t && t.shape.length > 0 && batch.has(t.shape[0])) {
        // The value's name may be an internal one (a node's output): say where it comes from.
        const made = at(producer.get(x)), read = at(n);
        const notes = [
          made && `it is computed at ${made}`,
          read && `the updates recompute ${read}, which reads it, from the slices`,
        ].filter((x): x is string => !!x);
        throw new DlmError(error(...diag("DLM0707", `'${x}'`, formatType(t)), span, notes));
      }
    }
  }
}

/** The most updates one step's Loop may run (PPO's are tens to hundreds). */
export const MAX_UPDATES = 1_000_000;

/** DLM0318 at the setting: `why` says which bound the updates pass. */
function tooManyUpdates(spec: MinibatchesSpec, ctx: UpdateContext, why: string): DlmError {
  return new DlmError(
    error(
      ...diag(
        "DLM0318",
        spec.epochs,
        spec.count,
        (spec.epochs * spec.count).toLocaleString("en-US"),
        why,
      ),
      spec.span ?? ctx.span,
    ),
  );
}
