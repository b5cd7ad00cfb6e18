/**
 * `dlm check`: parse and check a .dlm file, its model and its train sections,
 * and print the diagnostics. Loads the front end and the checker; the
 * training compiler only when the file has a train section, and nothing that
 * emits or runs a model.
 */
import {
  dedupeDiagnostics,
  formatDiagnostic,
  isUsageCode,
  sortDiagnostics,
} from "../../compiler/diagnostics.ts";
import { compileFile, hasErrors } from "../../compiler/compile.ts";
import { resolveNames } from "../../compiler/check/resolve.ts";
import type { TrainDecl } from "../../compiler/syntax/ast.ts";
import { dimsOf, overridesOf } from "../args.ts";
import { EXIT, type Io, modeOf, one, type Parsed } from "../command.ts";

/** Run `dlm check`; returns the exit code. */
export async function run(args: Parsed, io: Io): Promise<number> {
  const file = one(args, "file");
  const model = args.opts.model as string | undefined;
  const mode = modeOf(args);
  const overrides = overridesOf(args);
  const r = compileFile(file, { model, mode, overrides });
  let all = r.diagnostics;
  const decls = r.program?.main.decls ?? [];
  if (r.program && !model && !decls.some((d) => d.kind === "model")) {
    // A library of blocks, or train sections for imported models: no model of its own to
    // elaborate, so its names are resolved statically (and its train sections checked below).
    all = [...all.filter((d) => d.code !== "DLM0125"), ...resolveNames(r.program)];
  }
  if (!hasErrors(all) && r.program) {
    // Train sections are checked too: their losses and metrics, and that the loss differentiates.
    const dims = dimsOf(args);
    const trains = r.program.main.decls.filter((t): t is TrainDecl => t.kind === "train");
    // The training compiler (autodiff, optimisers) is loaded only for a file that trains
    // (a computed specifier: see lazyCommand in cli/command.ts).
    const train = trains.length ? await loadTrainCompiler() : undefined;
    for (const t of trains) {
      const c = train!.compileTrain(file, { model: t.model, overrides, dims });
      all = dedupeDiagnostics([...all, ...c.diagnostics]);
    }
  }
  const ds = sortDiagnostics(all);
  for (const d of ds) io.err(formatDiagnostic(d, r.sources));
  const n = ds.filter((d) => d.severity === "error").length;
  if (n > 1) io.err(`${n} errors`);
  return hasErrors(all) ? (ds.some((d) => isUsageCode(d.code)) ? EXIT.usage : EXIT.input) : EXIT.ok;
}

/** compiler/train/mod.ts, imported on demand. */
function loadTrainCompiler(): Promise<typeof import("../../compiler/train/mod.ts")> {
  return import(import.meta.resolve("../../compiler/train/mod.ts"));
}
