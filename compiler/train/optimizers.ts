/**
 * Optimisers as plain ONNX graph ops (opset 17): `buildOptimizer` appends the
 * update of every parameter to a training-step graph. Optimiser state is
 * read from graph inputs named `opt:<slot>:<param>` (compiler/train/contract.ts)
 * and the new values are returned; the caller names them `next:<input>`.
 * State inputs start at zeros; `step` is the number of updates done before
 * this one (so PyTorch's step count is step + 1).
 *
 * The rules follow torch.optim (1.13) with L2 weight decay added to the
 * gradient (`g = g + wd p`), except AdamW whose decay is decoupled
 * (`p = p (1 - lr wd)` before the Adam step).
 */
import type { GraphBuilder } from "../ops/builder.ts";
import { globToRegExp } from "../check/glob.ts";
import { optSlotName } from "./contract.ts";
import { GraphMath } from "./graph_math.ts";

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
 * sum += g^2, p -= lr_t g / (sqrt(sum) + eps). eps defaults to 1e-10.
 */
export interface AdagradSpec {
  kind: "adagrad";
  lrDecay?: number;
  eps?: number;
  weightDecay?: number;
}

/** RMSprop (torch.optim.RMSprop): alpha 0.99, eps 1e-8, optional momentum and centring. */
export interface RmspropSpec {
  kind: "rmsprop";
  alpha?: number;
  eps?: number;
  momentum?: number;
  centered?: boolean;
  weightDecay?: number;
}

/**
 * Adam / AdamW (torch.optim.Adam, AdamW): betas (0.9, 0.999), eps 1e-8.
 * AdamW's weight decay defaults to 0.01 (PyTorch's), Adam's to 0.
 * `biasCorrection: false` drops the 1 - beta^t factors (the form of ONNX's
 * preview Adam op at T = 0).
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
 * A parameter group: hyper-parameter overrides for the parameters whose
 * `group` equals `name` or whose name matches the glob `params`
 * (compiler/check/glob.ts). The first matching group wins. `lrScale`
 * multiplies the learning rate.
 */
export interface ParamGroup {
  name?: string;
  params?: string;
  lrScale?: number;
  overrides?: Record<string, number | boolean>;
}

export type OptimizerSpec = OptimizerHyper & { groups?: ParamGroup[] };

export interface OptimizerParam {
  name: string;
  grad: string;
  group?: string;
  /** The name that selects its group when `name` is not a parameter's (a pack's first member). */
  groupOf?: string;
}

export interface StateUpdate {
  /** The graph input (a parameter or `opt:<slot>:<param>`). */
  input: string;
  /** Its new value. */
  output: string;
}

/** The state slots an optimiser keeps per parameter, in input order. */
export function optimizerSlots(spec: OptimizerHyper): string[] {
  switch (spec.kind) {
    case "sgd":
      return (spec.momentum ?? 0) !== 0 ? ["momentum"] : [];
    case "adagrad":
      return ["sum"];
    case "rmsprop":
      return [
        "square_avg",
        ...(spec.centered ? ["grad_avg"] : []),
        ...((spec.momentum ?? 0) !== 0 ? ["momentum"] : []),
      ];
    case "adam":
    case "adamw":
      return ["m", "v"];
  }
}

/** The spec that applies to one parameter (group overrides merged in) and its lr scale. */
export function resolveGroup(
  spec: OptimizerSpec,
  p: { name: string; group?: string },
): { hyper: OptimizerHyper; lrScale: number } {
  const { groups, ...base } = spec;
  const g = groups?.find((g) =>
    (g.name !== undefined && g.name === p.group) ||
    (g.params !== undefined && globToRegExp(g.params).test(p.name))
  );
  if (!g) return { hyper: base as OptimizerHyper, lrScale: 1 };
  return {
    hyper: { ...base, ...(g.overrides ?? {}) } as OptimizerHyper,
    lrScale: g.lrScale ?? 1,
  };
}

/**
 * Append the optimiser update of `params` to the graph. Declares one graph
 * input per state slot and parameter (`opt:<slot>:<param>`, the
 * parameter's type) and returns, for each parameter and state input, the
 * value to feed next time. `step` is an i64 scalar, `lr` an f32 scalar.
 *
 * @example
 * const { updates } = buildOptimizer(b, { kind: "adamw" }, [{ name: "w", grad: "grad:w" }], "step", lr);
 * for (const u of updates) b.output(u.output, nextName(u.input));
 */
export function buildOptimizer(
  b: GraphBuilder,
  spec: OptimizerSpec,
  params: OptimizerParam[],
  step: string,
  lr: string,
): { updates: StateUpdate[] } {
  const m = new GraphMath(b);
  const updates: StateUpdate[] = [];
  // Shared per-step values, built once.
  const stepF = m.toFloat(step);
  const t = m.add(stepF, m.c(1)); // PyTorch's step count
  const isFirst = m.op("Equal", [step, m.c(0, "i64")]);
  for (const p of params) {
    const { hyper, lrScale } = resolveGroup(spec, { name: p.groupOf ?? p.name, group: p.group });
    const type = b.typeOf(p.name);
    if (!type) throw new Error(`internal: parameter ${p.name} has no type`);
    const state = (slot: string) => {
      const name = optSlotName(slot, p.name);
      const v = b.input(name, { dtype: type.dtype, shape: [...type.shape] });
      if (v !== name) throw new Error(`internal: optimiser state name ${name} is taken`);
      return v;
    };
    const plr = lrScale === 1 ? lr : m.scale(lr, lrScale);
    const out = (input: string, output: string) => updates.push({ input, output });
    const x = p.name;
    switch (hyper.kind) {
      case "sgd": {
        const mu = hyper.momentum ?? 0, damp = hyper.dampening ?? 0;
        let g = m.axpy(p.grad, hyper.weightDecay ?? 0, x);
        if (mu !== 0) {
          // buf = mu buf + (1 - dampening) g, except the first step, where
          // torch copies g: with buf fed as zeros that is mu buf + g.
          const buf = state("momentum");
          const k = damp === 0 ? m.c(1) : m.where(isFirst, m.c(1), m.c(1 - damp));
          const nb = m.add(m.scale(buf, mu), m.mul(g, k));
          out(buf, nb);
          g = hyper.nesterov ? m.axpy(g, mu, nb) : nb;
        }
        out(x, m.sub(x, m.mul(plr, g)));
        break;
      }
      case "adagrad": {
        const g = m.axpy(p.grad, hyper.weightDecay ?? 0, x);
        const sum = state("sum");
        const ns = m.add(sum, m.mul(g, g));
        // lr_t = lr / (1 + step lrDecay)
        const decay = hyper.lrDecay ?? 0;
        const clr = decay === 0 ? plr : m.div(plr, m.add(m.c(1), m.scale(stepF, decay)));
        const den = m.add(m.sqrt(ns), m.c(hyper.eps ?? 1e-10));
        out(sum, ns);
        out(x, m.sub(x, m.mul(clr, m.div(g, den))));
        break;
      }
      case "rmsprop": {
        const alpha = hyper.alpha ?? 0.99, mu = hyper.momentum ?? 0;
        const g = m.axpy(p.grad, hyper.weightDecay ?? 0, x);
        const sq = state("square_avg");
        // sq = alpha sq + (1 - alpha) g^2
        const nsq = m.add(m.scale(sq, alpha), m.scale(m.mul(g, g), 1 - alpha));
        out(sq, nsq);
        let avg = nsq;
        if (hyper.centered) {
          const ga = state("grad_avg");
          const nga = m.add(m.scale(ga, alpha), m.scale(g, 1 - alpha));
          out(ga, nga);
          avg = m.sub(nsq, m.mul(nga, nga));
        }
        const den = m.add(m.sqrt(avg), m.c(hyper.eps ?? 1e-8));
        if (mu !== 0) {
          const buf = state("momentum");
          const nb = m.add(m.scale(buf, mu), m.div(g, den));
          out(buf, nb);
          out(x, m.sub(x, m.mul(plr, nb)));
        } else out(x, m.sub(x, m.mul(plr, m.div(g, den))));
        break;
      }
      case "adam":
      case "adamw": {
        const b1 = hyper.beta1 ?? 0.9, b2 = hyper.beta2 ?? 0.999;
        const wd = hyper.weightDecay ?? (hyper.kind === "adamw" ? 0.01 : 0);
        let px = x;
        let g = p.grad;
        if (hyper.kind === "adamw") {
          // Decoupled decay: p = p (1 - lr wd).
          if (wd !== 0) px = m.mul(x, m.sub(m.c(1), m.scale(plr, wd)));
        } else g = m.axpy(g, wd, x);
        const mm = state("m"), vv = state("v");
        const nm = m.add(m.scale(mm, b1), m.scale(g, 1 - b1));
        const nv = m.add(m.scale(vv, b2), m.scale(m.mul(g, g), 1 - b2));
        out(mm, nm);
        out(vv, nv);
        const eps = m.c(hyper.eps ?? 1e-8);
        let upd: string;
        if (hyper.biasCorrection === false) {
          upd = m.mul(plr, m.div(nm, m.add(m.sqrt(nv), eps)));
        } else {
          // p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
          const bc1 = m.sub(m.c(1), m.op("Pow", [m.c(b1), t]));
          const bc2 = m.sub(m.c(1), m.op("Pow", [m.c(b2), t]));
          const den = m.add(m.div(m.sqrt(nv), m.sqrt(bc2)), eps);
          upd = m.mul(m.div(plr, bc1), m.div(nm, den));
        }
        out(x, m.sub(px, upd));
        break;
      }
    }
  }
  // Parameters first, then state, so callers can list outputs in a stable order.
  const isParam = new Set(params.map((p) => p.name));
  updates.sort((a, b) => Number(!isParam.has(a.input)) - Number(!isParam.has(b.input)));
  return { updates };
}
