/**
 * The pass manager: runs a pipeline of passes to a fixpoint, verifies the
 * graph after each pass when asked, and records what every pass did so that
 * `--explain-passes` can tell a user which of their lines were rewritten.
 */
import type { Graph } from "../ir/graph.ts";
import { formatSpan } from "../ir/graph.ts";
import { assertValid } from "../ops/verify.ts";
import type { Pass, PassContext, PassFn, PassReport, PassRun, Rewrite } from "./context.ts";

export type { Pass, PassContext, PassFn, PassReport, PassRun, Rewrite } from "./context.ts";

/** Rounds of the fixpoint loop when `ctx.maxRounds` is not set. */
export const DEFAULT_MAX_ROUNDS = 8;

/** An empty report, to pass as `ctx.report`. */
export function newPassReport(): PassReport {
  return { runs: [], rounds: 0, converged: true };
}

/**
 * The name a pass is reported under: the name it was declared with
 * (`definePass({ id: "fold_batch_norm" }, ...)`). An undeclared function,
 * such as a test writes inline, goes by its function name in snake_case
 * (`breakIt` -> `break_it`).
 */
export function passName(p: Pass | PassFn): string {
  if ("id" in p) return p.id;
  const name = p.name || "anonymous_pass";
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

/**
 * Run `passes` in order, round after round, until a round changes nothing or
 * `ctx.maxRounds` rounds have run. Rewrites `g` in place; returns whether
 * anything changed. With `ctx.verify`, the IR verifier runs before the first
 * pass and after every pass, and a broken graph raises an internal error
 * naming the pass. With `ctx.report`, every pass run is recorded there.
 *
 * @example
 * ```ts
 * const report = newPassReport();
 * runPasses(graph, inferencePipeline("eval"), { mode: "eval", report });
 * console.log(formatPassReport(report));
 * ```
 */
export function runPasses(
  g: Graph,
  passes: readonly (Pass | PassFn)[],
  ctx: PassContext,
): boolean {
  const maxRounds = ctx.maxRounds ?? DEFAULT_MAX_ROUNDS;
  if (ctx.verify) assertValid(g, "before the passes");
  let changedAny = false;
  let converged = false;
  let round = 0;
  while (round < maxRounds) {
    round++;
    let changed = false;
    for (const p of passes) {
      const name = passName(p);
      const rewrites: Rewrite[] = [];
      const nodesBefore = g.nodes.length;
      const initializersBefore = g.initializers.size;
      const outer = ctx.onRewrite;
      ctx.onRewrite = (r) => rewrites.push(r);
      let did: boolean;
      try {
        did = p(g, ctx);
      } finally {
        ctx.onRewrite = outer;
      }
      if (ctx.verify) assertValid(g, `after pass '${name}' (round ${round})`);
      const run: PassRun = {
        pass: name,
        round,
        changed: did,
        fired: rewrites.length,
        rewrites,
        nodesBefore,
        nodesAfter: g.nodes.length,
        initializersBefore,
        initializersAfter: g.initializers.size,
      };
      ctx.report?.runs.push(run);
      for (const r of rewrites) outer?.(r);
      changed ||= did;
    }
    changedAny ||= changed;
    if (!changed) {
      converged = true;
      break;
    }
  }
  if (ctx.report) {
    ctx.report.rounds += round;
    ctx.report.converged &&= converged;
  }
  return changedAny;
}

/**
 * The report as text, one line per pass run that changed the graph, then
 * one line per rewrite with the source locations of the nodes it replaced:
 *
 * ```text
 * round 1  fold_batch_norm  fired 2  nodes 14 -> 12  initializers 20 -> 12
 *   Conv 'conv1' + BatchNormalization 'bn1'  at model.dlm:4:7, model.dlm:5:7
 * converged after 2 rounds
 * ```
 */
export function formatPassReport(report: PassReport): string {
  const lines: string[] = [];
  for (const r of report.runs) {
    if (!r.changed && r.fired === 0) continue;
    lines.push(
      `round ${r.round}  ${r.pass}  fired ${r.fired}  nodes ${r.nodesBefore} -> ${r.nodesAfter}` +
        `  initializers ${r.initializersBefore} -> ${r.initializersAfter}`,
    );
    for (const w of r.rewrites) {
      const what = w.nodes.map((n, i) => `${w.ops[i]} '${n}'`).join(" + ");
      const where = w.spans.length ? `  at ${w.spans.map(formatSpan).join(", ")}` : "";
      lines.push(`  ${what}${where}`);
    }
  }
  if (lines.length === 0) lines.push("no pass changed the graph");
  const rounds = `${report.rounds} round${report.rounds === 1 ? "" : "s"}`;
  lines.push(report.converged ? `converged after ${rounds}` : `stopped after ${rounds} (limit)`);
  return lines.join("\n");
}
