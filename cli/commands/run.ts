/**
 * `dlm run`: a model (.dlm or .onnx) on given or random inputs, on
 * onnxruntime (loaded when used) or the reference interpreter.
 */
import type { Tensor } from "../../compiler/ir/tensor.ts";
import { emitModel } from "../../compiler/onnx/emit.ts";
import { createSession } from "../../runtime/ort/mod.ts";
import { writeNpy } from "../../runtime/formats/mod.ts";
import { makeOutputDir, writeFileAtomic } from "../../runtime/fs.ts";
import { summarize } from "../../runtime/inputs.ts";
import { backendOf, type Io, one, type Parsed } from "../command.ts";
import { buildOptionsOf, buildWithInputs, isOnnxPath } from "../build.ts";
import { sessionArgsOf } from "../sessions.ts";

/** Run `dlm run`; returns the exit code. */
export async function run(args: Parsed, io: Io): Promise<number> {
  const file = one(args, "file");
  const backend = backendOf(args, true);
  const sessionArgs = sessionArgsOf(args);
  const o = buildOptionsOf(args);
  const { built: b, feeds } = await buildWithInputs(file, o, args, io);
  let outputs: Record<string, Tensor>;
  let cached = "";
  // The interpreter's kernels are loaded only when it runs (and before it is timed).
  const reference = backend === "reference"
    ? await import("../../runtime/reference/mod.ts")
    : undefined;
  const t0 = performance.now();
  if (backend === "reference") outputs = reference!.runGraph(b.graph, feeds).outputs;
  else {
    const opts = {
      backend,
      kind: "forward" as const,
      ...sessionArgs,
      report: { what: "the model", warn: io.err },
    };
    // From the file when it is used as is (external data resolves beside it), else from the graph.
    const session = isOnnxPath(file) && !(o.weights as string[]).length
      ? await createSession(file, opts)
      : await createSession(emitModel(b.graph).model, opts);
    const how = session.load?.cache;
    if (how === "hit") cached = "; the optimised model came from the cache";
    else if (how === "stored") cached = "; the optimised model was cached";
    try {
      outputs = await session.run(feeds);
    } finally {
      if (!io.exitsAfter) await session.release();
    }
  }
  const ms = performance.now() - t0;
  const dir = args.opts.out as string | undefined;
  if (dir) makeOutputDir(dir, "--out");
  const w = Math.max(...Object.keys(outputs).map((k) => k.length));
  for (const [name, t] of Object.entries(outputs)) {
    io.out(`${name.padEnd(w)}  ${summarize(t)}`);
    if (dir) writeFileAtomic(`${dir}/${safeName(name)}.npy`, writeNpy(t));
  }
  io.err(
    `ran on ${
      backend === "reference" ? "the reference interpreter" : `onnxruntime-${backend}`
    } in ${ms.toFixed(1)} ms${cached}`,
  );
  return 0;
}

function safeName(n: string): string {
  return n.replace(/[^A-Za-z0-9_.-]/g, "_");
}
