/**
 * `dlm graph`: a model's graph as Graphviz DOT or a standalone SVG.
 */
import { graphToDot, graphToSvg } from "../../compiler/viz/mod.ts";
import { writeFileAtomic } from "../../runtime/fs.ts";
import { type Io, one, type Parsed, UsageError } from "../command.ts";
import { buildGraph, buildOptionsOf } from "../pipeline.ts";
import { warn } from "../report.ts";
import { diag } from "../../compiler/diagnostics.ts";

/** Run `dlm graph`; returns the exit code. */
export function run(args: Parsed, io: Io): number {
  const file = one(args, "file");
  const fmt = (args.opts.format as string | undefined) ?? "dot";
  if (fmt !== "dot" && fmt !== "svg") {
    throw new UsageError(...diag("DLM0515", "--format", "dot or svg", `'${fmt}'`));
  }
  const b = buildGraph(file, { ...buildOptionsOf(args), passes: !args.opts["no-passes"] });
  warn(b, io);
  const text = fmt === "dot"
    ? graphToDot(b.graph, { title: b.graph.name })
    : graphToSvg(b.graph, { title: b.graph.name });
  const out = args.opts.out as string | undefined;
  if (out) writeFileAtomic(out, text);
  else io.out(text);
  return 0;
}
