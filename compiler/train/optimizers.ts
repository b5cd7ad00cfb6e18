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
import { trainMath } from "./graph_math.ts";
import type { Expr } from "../ir/expr.ts";

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
  const e = trainMath(b);
  const updates: StateUpdate[] = [];
  // Shared per-step values, built once.
  const stepF = e.v(step).cast("f32");
  const t = stepF.add(1); // PyTorch's step count
  const isFirst = e.v(step).equal(e.scalar(0, "i64"));
  for (const p of params) {
    const { hyper, lrScale } = resolveGroup(spec, { name: p.groupOf ?? p.name, group: p.group });
    const type = b.typeOf(p.name);
    if (!type) throw new Error(`internal: parameter ${p.name} has no type`);
    const state = (slot: string) => {
      const name = optSlotName(slot, p.name);
      const v = b.input(name, { dtype: type.dtype, shape: [...type.shape] });
      if (v !== name) throw new Error(`internal: optimiser state name ${name} is taken`);
      return e.v(v);
    };
    const plr = e.v(lr).scale(lrScale);
    const out = (input: Expr, output: Expr) =>
      updates.push({ input: input.name, output: output.name });
    const x = e.v(p.name);
    const grad = e.v(p.grad);
    switch (hyper.kind) {
      case "sgd": {
        const mu = hyper.momentum ?? 0, damp = hyper.dampening ?? 0;
        let g = grad.axpy(hyper.weightDecay ?? 0, x);
        if (mu !== 0) {
          // buf = mu buf + (1 - dampening) g, except the first step, where
          // torch copies g: with buf fed as zeros that is mu buf + g.
          const buf = state("momentum");
          const k = damp === 0 ? e.num(1) : isFirst.where(1, 1 - damp);
          const nb = buf.scale(mu).add(g.mul(k));
          out(buf, nb);
          g = hyper.nesterov ? g.axpy(mu, nb) : nb;
        }
        out(x, x.sub(plr.mul(g)));
        break;
      }
      case "adagrad": {
        const g = grad.axpy(hyper.weightDecay ?? 0, x);
        const sum = state("sum");
        const ns = sum.add(g.square());
        // lr_t = lr / (1 + step lrDecay)
        const decay = hyper.lrDecay ?? 0;
        const clr = decay === 0 ? plr : plr.div(e.num(1).add(stepF.scale(decay)));
        const den = ns.sqrt().add(hyper.eps ?? 1e-10);
        out(sum, ns);
        out(x, x.sub(clr.mul(g.div(den))));
        break;
      }
      case "rmsprop": {
        const alpha = hyper.alpha ?? 0.99, mu = hyper.momentum ?? 0;
        const g = grad.axpy(hyper.weightDecay ?? 0, x);
        const sq = state("square_avg");
        // sq = alpha sq + (1 - alpha) g^2
        const nsq = sq.scale(alpha).add(g.square().scale(1 - alpha));
        out(sq, nsq);
        let avg = nsq;
        if (hyper.centered) {
          const ga = state("grad_avg");
          const nga = ga.scale(alpha).add(g.scale(1 - alpha));
          out(ga, nga);
          avg = nsq.sub(nga.square());
        }
        const den = avg.sqrt().add(hyper.eps ?? 1e-8);
        if (mu !== 0) {
          const buf = state("momentum");
          const nb = buf.scale(mu).add(g.div(den));
          out(buf, nb);
          out(x, x.sub(plr.mul(nb)));
        } else out(x, x.sub(plr.mul(g.div(den))));
        break;
      }
      case "adam":
      case "adamw": {
        const b1 = hyper.beta1 ?? 0.9, b2 = hyper.beta2 ?? 0.999;
        const wd = hyper.weightDecay ?? (hyper.kind === "adamw" ? 0.01 : 0);
        let px = x;
        let g = grad;
        if (hyper.kind === "adamw") {
          // Decoupled decay: p = p (1 - lr wd).
          if (wd !== 0) px = x.mul(e.num(1).sub(plr.scale(wd)));
        } else g = g.axpy(wd, x);
        const mm = state("m"), vv = state("v");
        const nm = mm.scale(b1).add(g.scale(1 - b1));
        const nv = vv.scale(b2).add(g.square().scale(1 - b2));
        out(mm, nm);
        out(vv, nv);
        const eps = e.num(hyper.eps ?? 1e-8);
        let upd: Expr;
        if (hyper.biasCorrection === false) {
          upd = plr.mul(nm.div(nv.sqrt().add(eps)));
        } else {
          // p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
          const bc1 = e.num(1).sub(e.num(b1).pow(t));
          const bc2 = e.num(1).sub(e.num(b2).pow(t));
          const den = nv.sqrt().div(bc2.sqrt()).add(eps);
          upd = plr.div(bc1).mul(nm.div(den));
        }
        out(x, px.sub(upd));
        break;
      }
    }
  }
  // Parameters first, then state, so callers can list outputs in a stable order.
  const isParam = new Set(params.map((p) => p.name));
  updates.sort((a, b) => Number(!isParam.has(a.input)) - Number(!isParam.has(b.input)));
  return { updates };
}
