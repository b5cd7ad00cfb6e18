/**
 * Warnings about what a train section's losses can train. A parameter that
 * a loss does not reach through differentiable ops gets a gradient of zeros
 * (compiler/grad's policy), so it never moves: a loss computed through
 * floor(), a comparison or an integer cast trains nothing, silently, unless
 * `check` says so. Frozen parameters, and those a phase leaves to another
 * (`params: "disc.*"`), are not the loss's to reach and are never named.
 */
import { formatSpan, type Graph, type Node, type Span } from "../ir/graph.ts";
import { diag, type Diagnostic, warning } from "../diagnostics.ts";
import { compileGlob } from "../check/glob.ts";
import { isFloat } from "../ir/tensor.ts";
import { gradientReach } from "../grad/mod.ts";
import type { TrainElabResult } from "../check/elaborate/mod.ts";
import type * as A from "../syntax/ast.ts";

/** How many unreached parameters, and places where a gradient stops, a warning names. */
const LIST = 4;

/**
 * DLM0250 for each loss (the section's, or each phase's) that reaches none of the
 * parameters it trains, with notes on where the paths from them stop; DLM0251 for one that
 * reaches only some, naming the others.
 */
export function gradientWarnings(tr: TrainElabResult, section: A.TrainDecl): Diagnostic[] {
  const g = tr.graph;
  const trainable = g.params.filter((p) => p.trainable && !p.frozen).map((p) => p.name);
  const losses = tr.phases.length
    ? tr.phases.map((ph) => ({
      what: `The loss of phase '${ph.name}'`,
      value: ph.loss,
      own: ph.params ? trainable.filter((p) => compileGlob(ph.params!).test(p)) : trainable,
      span: ph.span,
    }))
    : [{ what: "The loss", value: tr.loss, own: trainable, span: lossSpan(section) }];
  const out: Diagnostic[] = [];
  for (const l of losses) {
    // No loss or nothing to train is an error reported elsewhere (DLM0223, DLM0701, DLM0703).
    if (!l.value || l.own.length === 0 || !g.outputs.some((o) => o.name === l.value)) continue;
    const { reached, blocked } = gradientReach(g, l.value, l.own);
    if (reached.size === l.own.length) continue;
    if (reached.size === 0) {
      const notes = blocked.length
        ? blocked.slice(0, LIST).map((n) => `the gradient stops at ${describeNode(g, n)}`)
        : ["it does not depend on them"];
      if (blocked.length > LIST) notes.push(`and at ${blocked.length - LIST} more nodes`);
      out.push(
        warning(
          ...diag("DLM0250", l.what, countOf(l.own.length, "parameter")),
          l.span,
          notes,
        ),
      );
      continue;
    }
    const missed = l.own.filter((p) => !reached.has(p));
    out.push(
      warning(
        ...diag(
          "DLM0251",
          l.what,
          `${missed.length} of the ${l.own.length}`,
          missed.slice(0, LIST).join(", ") +
            (missed.length > LIST ? ` and ${missed.length - LIST} more` : ""),
        ),
        l.span,
      ),
    );
  }
  return out;
}

/** Where the section assigns its loss (its last `loss = ...`), else its name. */
function lossSpan(section: A.TrainDecl): Span {
  const assigns = section.body.filter((s): s is A.AssignStmt =>
    s.kind === "assign" && s.name === "loss"
  );
  return assigns.length ? assigns[assigns.length - 1].value.span : section.nameSpan;
}

function describeNode(g: Graph, n: Node): string {
  const ints = n.outputs.some((o) => {
    const t = o ? g.types.get(o) : undefined;
    return t !== undefined && !isFloat(t.dtype);
  });
  const span = n.spans?.[0];
  return `${n.op}${ints ? " (an integer or boolean result)" : ""}${
    span ? ` at ${formatSpan(span)}` : ""
  }`;
}

function countOf(n: number, what: string): string {
  return n === 1 ? `the ${what}` : `any of the ${n} ${what}s`;
}
