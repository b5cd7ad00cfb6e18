/**
 * `dlm generate`: autoregressive generation from a decoder language model,
 * with its KV-cache step model (`<Model>Cached` in the same file) or, with
 * --no-kv-cache, by re-running the plain model on the whole sequence per
 * token. `--optimize` and `--no-cache` are the session's, as in run and train.
 *
 * `--no-cache` meant "no KV cache" here until the session cache came, and now
 * means what it means in run and train. A script that passes it for the old
 * meaning is not silently switched: given without --no-kv-cache, it warns
 * (DLM0516) that the KV cache stays on; and a file without the step model
 * fails with DLM0128, which names --no-kv-cache. The tokens are the same
 * either way (the step model is the plain one, computed incrementally).
 */
import {
  diag,
  DlmError,
  error,
  fail,
  fileStart,
  formatDiagnostic,
  warning,
} from "../../compiler/diagnostics.ts";
import { selectModel } from "../../compiler/compile.ts";
import { isProgram, loadProgram, readFromDisk } from "../../compiler/check/program.ts";
import { type Target, TARGETS } from "../../compiler/passes/mod.ts";
import { generate, type GenerateBackend } from "../../runtime/generate.ts";
import type { BpeTokenizer } from "../../runtime/text/bpe.ts";
import { openTokenizer } from "../../runtime/text/tokenizer_json.ts";
import { overridesOf } from "../args.ts";
import { type Io, type Parsed, UsageError } from "../command.ts";
import { buildGraph, type BuildOptions, type Built, isOnnxPath } from "../pipeline.ts";
import { warn } from "../report.ts";
import { sessionArgsOf } from "../sessions.ts";

/** "1 2, 3" -> [1, 2, 3]. */
function parsePrompt(s: string | undefined): number[] {
  if (s === undefined) throw new UsageError(...diag("DLM0506", '--prompt, e.g. --prompt "1 2 3"'));
  const parts = s.split(/[\s,]+/).filter((p) => p !== "");
  if (parts.length === 0) {
    throw new UsageError(...diag("DLM0501", "--prompt", "at least one token id", "none"));
  }
  return parts.map((p) => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(n)) {
      throw new UsageError(...diag("DLM0501", "--prompt", "token ids (integers >= 0)", `'${p}'`));
    }
    return n;
  });
}

/** A text prompt's token ids. */
function textPrompt(s: string | undefined, tokenizer: BpeTokenizer): number[] {
  if (s === undefined) {
    throw new UsageError(...diag("DLM0506", '--prompt, e.g. --prompt "The economy of"'));
  }
  const ids = tokenizer.encode(s);
  if (ids.length === 0) {
    throw new UsageError(...diag("DLM0501", "--prompt", "some text", "an empty prompt"));
  }
  return ids;
}

/** Run `dlm generate FILE.dlm --prompt "1 2 3" ...`; returns the exit code. */
export async function run(args: Parsed, io: Io): Promise<number> {
  if (args.positional.length !== 1) {
    throw new UsageError(...diag("DLM0505", "file", args.positional.length));
  }
  const file = args.positional[0];
  if (isOnnxPath(file)) {
    throw new UsageError(
      ...diag(
        "DLM0501",
        "dlm generate",
        "a .dlm file (it builds the model and its step model)",
        `'${file}'`,
      ),
    );
  }
  // With a tokenizer the prompt is text, and the tokens are printed as text.
  const tokenizerPath = args.opts.tokenizer as string | undefined;
  const tokenizer = tokenizerPath ? openTokenizer(tokenizerPath) : undefined;
  const prompt = tokenizer
    ? textPrompt(args.opts.prompt as string | undefined, tokenizer)
    : parsePrompt(args.opts.prompt as string | undefined);
  // Ranges are the option table's (commands/mod.ts), checked as the command line is parsed.
  const maxNew = (args.opts["max-new"] as number | undefined) ?? 16;
  const topK = (args.opts["top-k"] as number | undefined) ?? 0;
  const topP = (args.opts["top-p"] as number | undefined) ?? 1;
  const seed = (args.opts.seed as number | undefined) ?? 0;
  const temperature = (args.opts.temperature as number | undefined) ?? 0;
  const backend = (args.opts.backend as string | undefined) ?? "node";
  if (!["node", "web", "reference"].includes(backend)) {
    throw new UsageError(...diag("DLM0515", "--backend", "node, web or reference", `'${backend}'`));
  }
  const target = (args.opts.target as string | undefined) ?? "onnx";
  if (!TARGETS.includes(target as Target)) {
    throw new UsageError(...diag("DLM0515", "--target", "onnx or ort", `'${target}'`));
  }
  if (target === "ort" && backend === "reference") {
    throw new UsageError(
      ...diag("DLM0507", "--target ort", "an onnxruntime backend (node or web)"),
    );
  }
  const useCache = !args.opts["no-kv-cache"];
  const session = sessionArgsOf(args);
  if (args.opts["no-cache"] && useCache) {
    io.err(formatDiagnostic(warning(...diag("DLM0516", "--no-cache", "--no-kv-cache"))));
  }
  const base: BuildOptions = {
    seed,
    target: target as Target,
    weights: (args.opts.weights as string[] | undefined) ?? [],
    weightsMap: args.opts["weights-map"] as string | undefined,
    overrides: overridesOf(args),
  };
  const model = args.opts.model as string | undefined;
  let built: Built;
  if (useCache) {
    // Find the names from the parsed file alone: only the step model is built (weights load once).
    const p = loadProgram(file, readFromDisk);
    const m = isProgram(p) ? selectModel(p, model) : undefined;
    if (!m || !isProgram(p) || !("kind" in m) || m.kind !== "model") {
      built = buildGraph(file, { ...base, model }); // reports why the file or model is unusable
      throw new DlmError(error(...diag("DLM0125", file), fileStart(file)));
    }
    const name = `${m.name}Cached`;
    if (!p.models.has(name)) {
      throw new DlmError(error(...diag("DLM0128", name, m.name, file), m.nameSpan));
    }
    built = buildGraph(file, { ...base, model: name });
  } else built = buildGraph(file, { ...base, model });
  warn(built, io);
  const r = await generate({
    model: built.graph,
    prompt: [prompt],
    maxNew,
    temperature,
    topK,
    topP,
    seed,
    backend: backend as GenerateBackend,
    cached: useCache,
    session: { ...session, report: { what: "the model", warn: io.err } },
  });
  if (tokenizer) {
    const bad = r.tokens[0].find((t) => t >= tokenizer.vocabSize);
    if (bad !== undefined) {
      fail(...diag("DLM0471", "the model's output", bad, tokenizer.vocabSize - 1));
    }
    io.out(tokenizer.decode([...prompt, ...r.tokens[0]]));
  } else io.out(r.tokens[0].join(" "));
  const per = maxNew ? r.totalMs / maxNew : 0;
  // After the first token (which includes the prompt) each step is one new position.
  const decode = r.stepMs.slice(1);
  const perDecode = decode.length ? decode.reduce((a, b) => a + b, 0) / decode.length : 0;
  io.out(
    `${maxNew} tokens in ${r.totalMs.toFixed(1)} ms (${per.toFixed(2)} ms/token; ` +
      `first ${(r.stepMs[0] ?? 0).toFixed(1)} ms with the ${prompt.length}-token prompt, ` +
      `then ${perDecode.toFixed(2)} ms/token) ${useCache ? "with" : "without"} the KV cache on ${
        backend === "reference" ? "the reference interpreter" : `onnxruntime-${backend}`
      }`,
  );
  return 0;
}
