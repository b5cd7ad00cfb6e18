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
import type { Dim, Node, Span } from "../ir/graph.ts";
import type { GraphBuilder } from "../ops/builder.ts";
import { diag, DlmError, error } from "../diagnostics.ts";
import { buildGradients } from "../grad/mod.ts";
import type { Value } from "../check/values.ts";
import { argDefault, MINIBATCHES } from "../check/builtins/train_rules.ts";
import { formatType } from "../ir/graph.ts";
import { buildOptimizer, type OptimizerSpec } from "./optimizers.ts";
import { buildSchedule, type ScheduleSpec } from "./schedules.ts";
import { buildClip, type ClipSpec } from "./clip.ts";
import { recompute } from "./recompute.ts";
import { LIMITS } from "../check/limits.ts";

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
  // The updates are unrolled in the step: each adds a copy of the loss's cone, its gradient and
  // the optimiser's update. Past the elaborator's node limit in all, the step would take minutes
  // to build and more memory than a machine has (epochs: 1000000, count: 1000000 ran on).
  const start = b.graph.nodes.length;
  const limit = () => {
    if (b.graph.nodes.length - start <= LIMITS.nodes) return;
    throw new DlmError(
      error(
        ...diag(
          "DLM0318",
          spec.epochs,
          spec.count,
          total.toLocaleString("en-US"),
          LIMITS.nodes.toLocaleString("en-US"),
        ),
        spec.span ?? ctx.span,
      ),
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
