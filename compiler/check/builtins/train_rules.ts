/**
 * Every optimiser, learning-rate schedule and clipping rule, declared once:
 * its constructor's arguments (names, types, defaults, what each means), the
 * optimiser state it keeps per parameter, and its update written with the
 * expression API of `ir/expr.ts`. Three readers, no copies:
 * - the checker's constructors (`adam(lr: 1e-3)`, train_specs.ts) bind the
 *   arguments by these names and types;
 * - the training compiler (compiler/train) turns a `spec` value into a
 *   builder spec by these names and defaults, and builds the update;
 * - tools/gen_builtins_doc.ts writes them into spec/builtins.md.
 *
 * Why here, in the checker's layer: compiler/check (layer 3 of
 * ARCHITECTURE.md) may not import compiler/train (layer 4), but train may
 * import check, and the updates need only the IR's expression API (layer
 * 0). So the declarations sit at the lowest layer that has a reader, and
 * compiler/train keeps the graph plumbing (state inputs, parameter groups,
 * the order of outputs).
 *
 * The rules follow torch.optim (1.13) with L2 weight decay added to the
 * gradient (`g = g + wd p`), except AdamW whose decay is decoupled
 * (`p = p (1 - lr wd)` before the Adam step).
 */
import type { Expr, ExprGraph } from "../../ir/expr.ts";
import { type ArgType, describeType, fits } from "../signature.ts";
import { describe, type Value } from "../values.ts";

/**
 * One argument of a setting's constructor. `field` is the builder spec's
 * key it sets (camelCase, as compiler/train's specs spell it); an entry
 * without `name` is a builder-only field (not an argument of the language),
 * an entry without `field` is read by the training compiler itself (`lr`,
 * `no_decay`, `warmup`).
 */
export interface SettingArg {
  name?: string;
  field?: string;
  type: ArgType;
  /** The value when the argument is left out; absent: the doc says what happens. */
  default?: number | boolean;
  /** The values a number may take (checked by `dlm check`, at the call or the assignment). */
  range?: Range;
  /**
   * For a setting whose value is a setting's constructor call (a train section's `optimizer`,
   * `schedule`, `clip`, `ema`): the constructors it accepts.
   */
  specs?: readonly string[];
  doc: string;
}

/** What the check of a setting reads of its declaration. */
type Checked = Pick<SettingArg, "type" | "range" | "specs"> & { doc?: string };

/** The numbers a setting may take: each bound inclusive unless marked open. */
export interface Range {
  min?: number;
  max?: number;
  minOpen?: boolean;
  maxOpen?: boolean;
}

const AT_LEAST_0: Range = { min: 0 };
const POSITIVE: Range = { min: 0, minOpen: true };
const UNIT: Range = { min: 0, max: 1 };
const UNIT_OPEN: Range = { min: 0, max: 1, maxOpen: true };

/** "an int ≥ 1", "a number in [0, 1)": the values `a` accepts, for messages and docs. */
export function describeSetting(a: Checked): string {
  if (a.specs) return `${a.doc}: ${a.specs.map((s) => `${s}(...)`).join(", ")}`;
  const what = describeType(a.type);
  const r = a.range;
  if (!r) return what;
  if (r.min !== undefined && r.max !== undefined) {
    return `${what} in ${r.minOpen ? "(" : "["}${r.min}, ${r.max}${r.maxOpen ? ")" : "]"}`;
  }
  if (r.min !== undefined) return `${what} ${r.minOpen ? ">" : "≥"} ${r.min}`;
  if (r.max !== undefined) return `${what} ${r.maxOpen ? "<" : "≤"} ${r.max}`;
  return what;
}

/**
 * What is wrong with `v` as the value of setting `a`: "type" (not of its type, or not a call of
 * one of its constructors), "range" (a number outside its range), or undefined when it fits.
 * The one check of every setting and every setting argument (train_specs.ts at the call, the
 * elaborator at a section's assignment).
 */
export function settingProblem(a: Checked, v: Value): "type" | "range" | undefined {
  if (v.k === "error") return undefined;
  if (a.specs) return v.k === "spec" && a.specs.includes(v.kind) ? undefined : "type";
  if (!fits(v, a.type)) return "type";
  const r = a.range;
  if (r && (v.k === "int" || v.k === "float")) {
    const x = v.v;
    if (Number.isNaN(x)) return "range";
    if (r.min !== undefined && (r.minOpen ? x <= r.min : x < r.min)) return "range";
    if (r.max !== undefined && (r.maxOpen ? x >= r.max : x > r.max)) return "range";
  }
  return undefined;
}

/** `v` as a message shows it. */
export function describeSettingValue(v: Value): string {
  return v.k === "int" || v.k === "float" ? String(v.v) : describe(v);
}

/** The arguments of `rule` that the language accepts, in order. */
export function languageArgs(rule: { args: readonly SettingArg[] }): (SettingArg & {
  name: string;
})[] {
  return rule.args.filter((a): a is SettingArg & { name: string } => a.name !== undefined);
}

/** The default of argument `name` of `rule` (internal error when it has none). */
export function argDefault(rule: { args: readonly SettingArg[] }, name: string): number {
  const a = rule.args.find((x) => x.name === name);
  if (typeof a?.default !== "number") throw new Error(`internal: ${name} has no numeric default`);
  return a.default;
}

/** `spec` with every declared field that it leaves out set to the field's default. */
export function withDefaults<H extends object>(
  rule: { args: readonly SettingArg[] },
  spec: H,
): Required<H> {
  const out = { ...spec } as Record<string, unknown>;
  for (const a of rule.args) {
    if (a.field && a.default !== undefined && out[a.field] === undefined) out[a.field] = a.default;
  }
  return out as Required<H>;
}

// ---------------------------------------------------------------------------
// Optimisers

/** SGD with optional momentum / Nesterov (torch.optim.SGD). */
export interface SgdSpec {
  kind: "sgd";
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

/**
 * AdaGrad (torch.optim.Adagrad): lr_t = lr / (1 + step lrDecay),
 * sum += g^2, p -= lr_t g / (sqrt(sum) + eps).
 */
export interface AdagradSpec {
  kind: "adagrad";
  lrDecay?: number;
  eps?: number;
  weightDecay?: number;
}

/** RMSprop (torch.optim.RMSprop), with optional momentum and centring. */
export interface RmspropSpec {
  kind: "rmsprop";
  alpha?: number;
  eps?: number;
  momentum?: number;
  centered?: boolean;
  weightDecay?: number;
}

/**
 * Adam / AdamW (torch.optim.Adam, AdamW). `biasCorrection: false` drops the
 * 1 - beta^t factors (the form of ONNX's preview Adam op at T = 0).
 */
export interface AdamSpec {
  kind: "adam" | "adamw";
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  biasCorrection?: boolean;
}

export type OptimizerHyper = SgdSpec | AdagradSpec | RmspropSpec | AdamSpec;

/**
 * What an update rule is given for one parameter: its value `x`, its
 * gradient, the learning rate (scaled for its group), the step as f32
 * (`stepF`, 0 for the first update), PyTorch's step count `t` = stepF + 1,
 * `isFirst` (step = 0), its state slots and where to record new values.
 */
export interface UpdateCtx {
  e: ExprGraph;
  x: Expr;
  grad: Expr;
  lr: Expr;
  stepF: Expr;
  t: Expr;
  isFirst: Expr;
  /** The state slot's current value (a graph input `opt:<slot>:<param>`, zeros at first). */
  state(slot: string): Expr;
  /** `input` (the parameter or a state slot) becomes `output` after this step. */
  out(input: Expr, output: Expr): void;
}

/** A state slot an optimiser keeps per parameter, present when `when` holds. */
export interface SlotDecl<H> {
  name: string;
  when?: { doc: string; holds(h: Required<H>): boolean };
}

/** One optimiser: constructor arguments, state slots and update. */
export interface OptimizerRule<H extends OptimizerHyper = OptimizerHyper> {
  /** The constructor's name, also the builder spec's `kind`. */
  name: H["kind"];
  doc: string;
  args: readonly SettingArg[];
  /** In the order of the optimiser's state inputs. */
  slots: readonly SlotDecl<H>[];
  /** Record the new value of the parameter and of each slot it reads (`u.out`). */
  update(u: UpdateCtx, h: Required<H>): void;
}

const LR_DOC = "the learning rate (the schedule's base rate)";
const WD_DOC = "L2 weight decay added to the gradient";
const NO_DECAY_DOC = 'a parameter name glob (`"*.bias"`) whose parameters get no weight decay';

function lrArg(lr: number): SettingArg {
  return { name: "lr", type: "number", default: lr, range: AT_LEAST_0, doc: LR_DOC };
}
const NO_DECAY: SettingArg = { name: "no_decay", type: "str", doc: NO_DECAY_DOC };

function adamRule(kind: "adam" | "adamw"): OptimizerRule<AdamSpec> {
  const decoupled = kind === "adamw";
  return {
    name: kind,
    doc: decoupled
      ? "AdamW (torch.optim.AdamW): Adam with weight decay decoupled from the gradient, p = p (1 - lr weight_decay) before the Adam step."
      : "Adam (torch.optim.Adam), with bias correction; weight decay is L2, added to the gradient.",
    args: [
      lrArg(0.001),
      {
        name: "beta1",
        field: "beta1",
        type: "number",
        default: 0.9,
        range: UNIT_OPEN,
        doc: "decay of the mean",
      },
      {
        name: "beta2",
        field: "beta2",
        type: "number",
        default: 0.999,
        range: UNIT_OPEN,
        doc: "decay of the mean square",
      },
      {
        name: "eps",
        field: "eps",
        type: "number",
        default: 1e-8,
        range: AT_LEAST_0,
        doc: "added to the root",
      },
      {
        name: "weight_decay",
        field: "weightDecay",
        type: "number",
        default: decoupled ? 0.01 : 0,
        range: AT_LEAST_0,
        doc: decoupled ? "decoupled weight decay (PyTorch's default)" : WD_DOC,
      },
      NO_DECAY,
      { field: "biasCorrection", type: "bool", default: true, doc: "divide by 1 - beta^t" },
    ],
    slots: [{ name: "m" }, { name: "v" }],
    update({ e, x, grad, lr, t, state, out }, h) {
      const b1 = h.beta1, b2 = h.beta2, wd = h.weightDecay;
      let px = x;
      let g = grad;
      if (decoupled) {
        // Decoupled decay: p = p (1 - lr wd).
        if (wd !== 0) px = x.mul(e.num(1).sub(lr.scale(wd)));
      } else g = g.axpy(wd, x);
      const mm = state("m"), vv = state("v");
      const nm = mm.scale(b1).add(g.scale(1 - b1));
      const nv = vv.scale(b2).add(g.square().scale(1 - b2));
      out(mm, nm);
      out(vv, nv);
      const eps = e.num(h.eps);
      let upd: Expr;
      if (h.biasCorrection === false) {
        upd = lr.mul(nm.div(nv.sqrt().add(eps)));
      } else {
        // p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
        const bc1 = e.num(1).sub(e.num(b1).pow(t));
        const bc2 = e.num(1).sub(e.num(b2).pow(t));
        const den = nv.sqrt().div(bc2.sqrt()).add(eps);
        upd = lr.div(bc1).mul(nm.div(den));
      }
      out(x, px.sub(upd));
    },
  };
}

const SGD: OptimizerRule<SgdSpec> = {
  name: "sgd",
  doc:
    "Stochastic gradient descent (torch.optim.SGD), with optional momentum and Nesterov momentum.",
  args: [
    lrArg(0.01),
    {
      name: "momentum",
      field: "momentum",
      type: "number",
      default: 0,
      range: AT_LEAST_0,
      doc: "momentum factor",
    },
    {
      name: "dampening",
      field: "dampening",
      type: "number",
      default: 0,
      range: UNIT,
      doc: "dampening of the momentum",
    },
    { name: "nesterov", field: "nesterov", type: "bool", default: false, doc: "Nesterov momentum" },
    {
      name: "weight_decay",
      field: "weightDecay",
      type: "number",
      default: 0,
      range: AT_LEAST_0,
      doc: WD_DOC,
    },
    NO_DECAY,
  ],
  slots: [{ name: "momentum", when: { doc: "momentum ≠ 0", holds: (h) => h.momentum !== 0 } }],
  update({ e, x, grad, lr, isFirst, state, out }, h) {
    const mu = h.momentum, damp = h.dampening;
    let g = grad.axpy(h.weightDecay, x);
    if (mu !== 0) {
      // buf = mu buf + (1 - dampening) g, except the first step, where
      // torch copies g: with buf fed as zeros that is mu buf + g.
      const buf = state("momentum");
      const k = damp === 0 ? e.num(1) : isFirst.where(1, 1 - damp);
      const nb = buf.scale(mu).add(g.mul(k));
      out(buf, nb);
      g = h.nesterov ? g.axpy(mu, nb) : nb;
    }
    out(x, x.sub(lr.mul(g)));
  },
};

const ADAGRAD: OptimizerRule<AdagradSpec> = {
  name: "adagrad",
  doc:
    "AdaGrad (torch.optim.Adagrad): sum += g^2, p -= lr_t g / (sqrt(sum) + eps) with lr_t = lr / (1 + step lr_decay).",
  args: [
    lrArg(0.01),
    {
      name: "lr_decay",
      field: "lrDecay",
      type: "number",
      default: 0,
      range: AT_LEAST_0,
      doc: "decay of the learning rate per step",
    },
    {
      name: "eps",
      field: "eps",
      type: "number",
      default: 1e-10,
      range: AT_LEAST_0,
      doc: "added to the root",
    },
    {
      name: "weight_decay",
      field: "weightDecay",
      type: "number",
      default: 0,
      range: AT_LEAST_0,
      doc: WD_DOC,
    },
    NO_DECAY,
  ],
  slots: [{ name: "sum" }],
  update({ e, x, grad, lr, stepF, state, out }, h) {
    const g = grad.axpy(h.weightDecay, x);
    const sum = state("sum");
    const ns = sum.add(g.square());
    // lr_t = lr / (1 + step lrDecay)
    const decay = h.lrDecay;
    const clr = decay === 0 ? lr : lr.div(e.num(1).add(stepF.scale(decay)));
    const den = ns.sqrt().add(h.eps);
    out(sum, ns);
    out(x, x.sub(clr.mul(g.div(den))));
  },
};

const RMSPROP: OptimizerRule<RmspropSpec> = {
  name: "rmsprop",
  doc:
    "RMSprop (torch.optim.RMSprop): square_avg = alpha square_avg + (1 - alpha) g^2, p -= lr g / (sqrt(square_avg) + eps), optionally centred and with momentum.",
  args: [
    lrArg(0.001),
    {
      name: "alpha",
      field: "alpha",
      type: "number",
      default: 0.99,
      range: UNIT,
      doc: "decay of the mean square",
    },
    {
      name: "eps",
      field: "eps",
      type: "number",
      default: 1e-8,
      range: AT_LEAST_0,
      doc: "added to the root",
    },
    {
      name: "momentum",
      field: "momentum",
      type: "number",
      default: 0,
      range: AT_LEAST_0,
      doc: "momentum factor",
    },
    {
      name: "centered",
      field: "centered",
      type: "bool",
      default: false,
      doc: "subtract the squared mean gradient",
    },
    {
      name: "weight_decay",
      field: "weightDecay",
      type: "number",
      default: 0,
      range: AT_LEAST_0,
      doc: WD_DOC,
    },
    NO_DECAY,
  ],
  slots: [
    { name: "square_avg" },
    { name: "grad_avg", when: { doc: "centered", holds: (h) => h.centered } },
    { name: "momentum", when: { doc: "momentum ≠ 0", holds: (h) => h.momentum !== 0 } },
  ],
  update({ x, grad, lr, state, out }, h) {
    const alpha = h.alpha, mu = h.momentum;
    const g = grad.axpy(h.weightDecay, x);
    const sq = state("square_avg");
    // sq = alpha sq + (1 - alpha) g^2
    const nsq = sq.scale(alpha).add(g.square().scale(1 - alpha));
    out(sq, nsq);
    let avg = nsq;
    if (h.centered) {
      const ga = state("grad_avg");
      const nga = ga.scale(alpha).add(g.scale(1 - alpha));
      out(ga, nga);
      avg = nsq.sub(nga.square());
    }
    const den = avg.sqrt().add(h.eps);
    if (mu !== 0) {
      const buf = state("momentum");
      const nb = buf.scale(mu).add(g.div(den));
      out(buf, nb);
      out(x, x.sub(lr.mul(nb)));
    } else out(x, x.sub(lr.mul(g.div(den))));
  },
};

/** The optimisers, in the reference's order (the first is the one error messages suggest). */
export const OPTIMIZERS: readonly OptimizerRule[] = [
  SGD,
  adamRule("adam"),
  adamRule("adamw"),
  ADAGRAD,
  RMSPROP,
] as OptimizerRule[];

/** The optimiser named `name` (a constructor name or a builder spec's kind). */
export function optimizerRule(name: string): OptimizerRule | undefined {
  return OPTIMIZERS.find((r) => r.name === name);
}

// ---------------------------------------------------------------------------
// Learning-rate schedules

/**
 * A schedule's builder spec. `warmup` runs first: torch LinearLR(startFactor,
 * 1, steps) followed by the schedule through SequentialLR, so for step <
 * steps lr (startFactor + (1 - startFactor) step / steps), startFactor
 * defaulting to 1 / steps; afterwards the schedule runs from its own step 0.
 */
export type ScheduleSpec =
  & (
    | { kind: "constant" }
    | { kind: "step"; stepSize?: number; gamma?: number }
    | { kind: "exponential"; gamma?: number }
    | { kind: "cosine"; tMax?: number; etaMin?: number }
  )
  & { warmup?: { steps: number; startFactor?: number } };

/**
 * One schedule: constructor arguments and the rate of update `s` (f32, the
 * schedule's own step, 0 first) from the base rate, in closed form as torch's
 * lr_scheduler gives it when `scheduler.step()` follows every
 * `optimizer.step()`.
 */
export interface ScheduleRule<S extends ScheduleSpec = ScheduleSpec> {
  name: string;
  kind: S["kind"];
  doc: string;
  args: readonly SettingArg[];
  rate(s: Expr, base: Expr, h: Required<S>): Expr;
}

const WARMUP: SettingArg = {
  name: "warmup",
  type: "int",
  range: AT_LEAST_0,
  doc: "steps of linear warm-up from lr / warmup before the schedule starts (0: none)",
};

const STEP_LR: ScheduleRule<Extract<ScheduleSpec, { kind: "step" }>> = {
  name: "step_lr",
  kind: "step",
  doc: "StepLR: lr gamma^floor(step / step_size).",
  args: [
    {
      name: "step_size",
      field: "stepSize",
      type: "int",
      default: 1,
      range: { min: 1 },
      doc: "steps per decay",
    },
    {
      name: "gamma",
      field: "gamma",
      type: "number",
      default: 0.1,
      range: AT_LEAST_0,
      doc: "factor per decay",
    },
    WARMUP,
  ],
  rate(s, base, h) {
    const k = s.scale(1 / h.stepSize).op("Floor");
    return base.mul(s.graph.num(h.gamma).pow(k));
  },
};

const EXPONENTIAL_LR: ScheduleRule<Extract<ScheduleSpec, { kind: "exponential" }>> = {
  name: "exponential_lr",
  kind: "exponential",
  doc: "ExponentialLR: lr gamma^step.",
  args: [
    {
      name: "gamma",
      field: "gamma",
      type: "number",
      default: 0.99,
      range: AT_LEAST_0,
      doc: "factor per step",
    },
    WARMUP,
  ],
  rate: (s, base, h) => base.mul(s.graph.num(h.gamma).pow(s)),
};

const COSINE_LR: ScheduleRule<Extract<ScheduleSpec, { kind: "cosine" }>> = {
  name: "cosine_lr",
  kind: "cosine",
  doc: "CosineAnnealingLR: eta_min + (lr - eta_min) (1 + cos(pi step / t_max)) / 2.",
  args: [
    {
      name: "t_max",
      field: "tMax",
      type: "int",
      default: 1000,
      range: { min: 1 },
      doc: "steps of a half period",
    },
    {
      name: "eta_min",
      field: "etaMin",
      type: "number",
      default: 0,
      range: AT_LEAST_0,
      doc: "the lowest rate",
    },
    WARMUP,
  ],
  rate(s, base, h) {
    const e = s.graph;
    const eta = e.num(h.etaMin);
    const cos = s.scale(Math.PI / h.tMax).cos();
    // (base - eta) (1 + cos) / 2 + eta
    return eta.add(base.sub(eta).mul(e.num(1).add(cos).scale(0.5)));
  },
};

/** The schedules with a constructor; without a schedule the rate is constant. */
export const SCHEDULES: readonly ScheduleRule[] = [
  STEP_LR,
  EXPONENTIAL_LR,
  COSINE_LR,
] as ScheduleRule[];

/** The schedule whose constructor is `name`, or whose builder kind is `name`. */
export function scheduleRule(name: string): ScheduleRule | undefined {
  return SCHEDULES.find((r) => r.name === name || r.kind === name);
}

// ---------------------------------------------------------------------------
// Gradient clipping

/** Clipping's builder spec. */
export type ClipSpec = { kind: "norm"; maxNorm: number } | { kind: "value"; clipValue: number };

/**
 * One clipping rule: clip the gradients (all of a step's, before the
 * optimiser) and return them in the same order, with the global L2 norm
 * before clipping when the rule computes it.
 */
export interface ClipRule<C extends ClipSpec = ClipSpec> {
  name: string;
  kind: C["kind"];
  doc: string;
  args: readonly SettingArg[];
  apply(e: ExprGraph, grads: Expr[], h: C): { grads: Expr[]; norm?: Expr };
}

const CLIP_NORM: ClipRule<Extract<ClipSpec, { kind: "norm" }>> = {
  name: "clip_norm",
  kind: "norm",
  doc:
    "Clip by global norm (torch.nn.utils.clip_grad_norm_): g min(1, max_norm / (norm + 1e-6)), the norm taken over all gradients.",
  args: [{
    name: "max_norm",
    field: "maxNorm",
    type: "number",
    default: 1,
    range: POSITIVE,
    doc: "the largest norm",
  }],
  apply(e, grads, h) {
    const sq = grads.map((g) => g.sumSquare(undefined, false));
    const total = sq.length === 1 ? sq[0] : e.op1("Sum", sq);
    const norm = total.sqrt();
    // coef = min(1, maxNorm / (||g|| + 1e-6))
    const coef = e.num(h.maxNorm).div(norm.add(1e-6)).min(1);
    return { grads: grads.map((g) => g.mul(coef)), norm };
  },
};

const CLIP_VALUE: ClipRule<Extract<ClipSpec, { kind: "value" }>> = {
  name: "clip_value",
  kind: "value",
  doc:
    "Clip by value (torch.nn.utils.clip_grad_value_): every gradient element into [-value, value].",
  args: [{
    name: "value",
    field: "clipValue",
    type: "number",
    default: 1,
    range: POSITIVE,
    doc: "the bound",
  }],
  apply(e, grads, h) {
    const lo = e.num(-h.clipValue), hi = e.num(h.clipValue);
    return { grads: grads.map((g) => e.op1("Clip", [g, lo, hi])) };
  },
};

/** The clipping rules. */
export const CLIPS: readonly ClipRule[] = [CLIP_NORM, CLIP_VALUE] as ClipRule[];

/** The clipping rule whose constructor is `name`, or whose builder kind is `name`. */
export function clipRule(name: string): ClipRule | undefined {
  return CLIPS.find((r) => r.name === name || r.kind === name);
}

// ---------------------------------------------------------------------------
// Weight averaging

/** `moving_average(target:, source:, decay:)`: a frozen copy that tracks a trained one. */
export const MOVING_AVERAGE = {
  name: "moving_average",
  doc:
    "Every parameter under `target` tracks its twin under `source` (MoCo's momentum encoder): next = decay target + (1 - decay) source, with the source's value after this step's update. The target parameters must be frozen.",
  args: [
    { name: "target", type: "str", doc: "label prefix of the tracking parameters" },
    { name: "source", type: "str", doc: "label prefix of the trained parameters" },
    { name: "decay", type: "number", default: 0.999, range: UNIT, doc: "weight of the old value" },
  ] as readonly SettingArg[],
};

// ---------------------------------------------------------------------------
// Several updates per rollout

/**
 * `minibatches(epochs:, count:, over:)`: the `updates` setting. The step computes its rollout once
 * (what the loss reads through `over`, with the parameters as they are when the step starts), then
 * makes epochs x count updates, each over one of `count` equal slices along axis 0 of every tensor
 * in `over` (PPO's epochs of minibatches per rollout).
 */
export const MINIBATCHES = {
  name: "minibatches",
  doc:
    "Several updates per step (PPO's epochs of minibatches over one rollout): the step computes the tensors of `over` once, with the parameters as the step starts, then makes epochs x count updates, update k recomputing the loss over slice k mod count (along axis 0, in order) of each of them with the parameters the updates before it made; no gradient flows into `over`.",
  args: [
    {
      name: "epochs",
      type: "int",
      default: 1,
      range: { min: 1 },
      doc: "passes over the rollout",
    },
    {
      name: "count",
      type: "int",
      default: 1,
      range: { min: 1 },
      doc: "minibatches a pass",
    },
    {
      name: "over",
      type: "tensors",
      doc: "the rollout's per-sample tensors the loss reads, each sliced along axis 0",
    },
  ] as readonly SettingArg[],
};

// ---------------------------------------------------------------------------
// A train section's settings

/**
 * What a train section may assign besides `loss` (which the elaborator checks as the loss), each
 * with its type and range, checked by `dlm check` at the assignment; the command line's options of
 * the same names take the same ranges (cli/commands/mod.ts).
 */
export const SECTION_SETTINGS: readonly (SettingArg & { name: string })[] = [
  {
    name: "optimizer",
    type: "any",
    specs: OPTIMIZERS.map((r) => r.name),
    doc: "an optimizer",
  },
  { name: "schedule", type: "any", specs: SCHEDULES.map((r) => r.name), doc: "a schedule" },
  { name: "clip", type: "any", specs: CLIPS.map((r) => r.name), doc: "a clipping rule" },
  { name: "epochs", type: "int", range: AT_LEAST_0, doc: "passes over the training data" },
  { name: "batch_size", type: "int", range: { min: 1 }, doc: "examples per step" },
  {
    name: "drop_last",
    type: "bool",
    default: false,
    doc: "leave out each epoch's last batch when it is smaller (--drop-last)",
  },
  {
    name: "val_split",
    type: "number",
    range: UNIT_OPEN,
    doc: "the fraction of the data held out for validation",
  },
  {
    name: "train_samples",
    type: "int",
    range: { min: 1 },
    doc: "train on the first this many samples left after the validation split (--train-samples)",
  },
  { name: "early_stop", type: "str", doc: "the metric whose stalling stops training" },
  {
    name: "patience",
    type: "int",
    range: { min: 1 },
    doc: "epochs without improvement before early stopping",
  },
  { name: "ema", type: "any", specs: [MOVING_AVERAGE.name], doc: "a moving average" },
  {
    name: "updates",
    type: "any",
    specs: [MINIBATCHES.name],
    doc: "several updates a step over its rollout",
  },
];

/**
 * How many steps a schedule takes to play out, when it says so explicitly: its warm-up, the
 * period of a step decay, the half period of a cosine given as `t_max`. A training of fewer
 * steps never sees the rest (`dlm train` warns, DLM0352).
 */
export function scheduleLength(
  kind: string,
  args: Record<string, Value>,
): { steps: number; what: string } | undefined {
  const n = (k: string) => {
    const v = args[k];
    return v?.k === "int" ? v.v : undefined;
  };
  const warm = n("warmup");
  if (warm !== undefined && warm > 0) return { steps: warm, what: `a warm-up of ${warm} steps` };
  if (kind === "step_lr" && n("step_size") !== undefined) {
    return { steps: n("step_size")!, what: `a decay every ${n("step_size")} steps` };
  }
  if (kind === "cosine_lr" && n("t_max") !== undefined) {
    return { steps: n("t_max")!, what: `a half period of ${n("t_max")} steps` };
  }
  return undefined;
}
