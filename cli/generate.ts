/**
 * `dlm generate`: autoregressive generation from a decoder language model,
 * with its KV-cache step model (`<Model>Cached` in the same file) or, with
 * --no-cache, by re-running the plain model on the whole sequence per token.
 */
import { DlmError, formatDiagnostic, sortDiagnostics } from "../compiler/diagnostics.ts";
import { selectModel } from "../compiler/compile.ts";
import { isProgram, loadProgram, readFromDisk } from "../compiler/check/program.ts";
import { type Target, TARGETS } from "../compiler/passes/mod.ts";
import { generate, type GenerateBackend } from "../runtime/generate.ts";
import { type OptSpec, type Parsed, UsageError } from "./args.ts";
import type { Command } from "./commands.ts";
import type { Io } from "./main.ts";
import { buildGraph, type BuildOptions, type Built, isOnnxPath } from "./pipeline.ts";

const OPTIONS: Record<string, OptSpec> = {
  prompt: {
    kind: "string",
    arg: "TOKENS",
    help: 'the prompt\'s token ids, e.g. "1 2 3" (required)',
  },
  model: {
    kind: "string",
    arg: "NAME",
    help: "the plain model (default: the first in the file); its step model is NAMECached",
  },
  "max-new": { kind: "number", arg: "N", help: "how many tokens to generate (default 16)" },
  temperature: {
    kind: "number",
    arg: "T",
    help: "sample from softmax(logits / T); 0 (default) is greedy",
  },
  "top-k": {
    kind: "number",
    arg: "K",
    help: "sample among the K most likely tokens (default all)",
  },
  seed: {
    kind: "number",
    arg: "S",
    help: "seed for sampling and for initial weights (default 0)",
  },
  "no-cache": {
    kind: "bool",
    help: "re-run the plain model on the whole sequence for each token (no step model needed)",
  },
  weights: {
    kind: "multi",
    arg: "W.safetensors|W.onnx",
    help:
      "load weights by dlm parameter name from safetensors or an ONNX model's initializers (repeatable: later files override earlier ones)",
  },
  "weights-map": {
    kind: "string",
    arg: "MAP.json",
    help: "regex renames from another framework's names",
  },
  set: {
    kind: "multi",
    arg: "KEY=VALUE",
    help: "override a model parameter of both models, e.g. --set layers=2 (repeatable)",
  },
  target: {
    kind: "string",
    arg: "onnx|ort",
    help: "standard ONNX ops only (default), or onnxruntime's fused contrib ops",
  },
  backend: {
    kind: "string",
    arg: "node|web|reference",
    help: "onnxruntime-node (default), onnxruntime-web or the reference interpreter",
  },
};

/** "1 2, 3" -> [1, 2, 3]. */
function parsePrompt(s: string | undefined): number[] {
  if (s === undefined) throw new UsageError('--prompt is required, e.g. --prompt "1 2 3"');
  const parts = s.split(/[\s,]+/).filter((p) => p !== "");
  if (parts.length === 0) throw new UsageError("--prompt needs at least one token id");
  return parts.map((p) => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(n)) {
      throw new UsageError(`--prompt needs token ids (integers >= 0), got '${p}'`);
    }
    return n;
  });
}

function overridesOf(list: unknown): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const s of (list as string[] | undefined) ?? []) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set needs KEY=VALUE, got '${s}'`);
    const v = s.slice(eq + 1);
    out[s.slice(0, eq)] = v === "true"
      ? true
      : v === "false"
      ? false
      : v.trim() !== "" && Number.isFinite(Number(v))
      ? Number(v)
      : v;
  }
  return out;
}

function warn(b: Built, io: Io): void {
  for (const d of sortDiagnostics(b.warnings)) io.err(formatDiagnostic(d, b.sources));
}

function intOpt(args: Parsed, name: string, fallback: number): number {
  const v = (args.opts[name] as number | undefined) ?? fallback;
  if (!Number.isInteger(v) || v < 0) {
    throw new UsageError(`--${name} needs an integer >= 0, got ${v}`);
  }
  return v;
}

/** `dlm generate FILE.dlm --prompt "1 2 3" ...` */
export const generateCommand: Command = {
  summary: "generate tokens from a decoder language model, with its KV-cache step model\n\n" +
    "A model is a KV-cache step model when its inputs named past* (past_key, past_value)\n" +
    "are matched by outputs named present* (present_key, present_value): the keys and\n" +
    "values of the earlier positions, [..., P, head_dim] with P the cached length (0 at\n" +
    "first). The step model of model M is MCached in the same file, with M's parameter\n" +
    "names, so one weights file serves both. The prompt is run once with an empty cache,\n" +
    "then each new token alone; --no-cache re-runs M on the whole sequence per token.",
  usage: 'FILE.dlm --prompt "1 2 3" [--model NAME] [--max-new N] [--temperature T] ' +
    "[--top-k K] [--seed S] [--no-cache] [--weights W.safetensors] [--backend node|web|reference]",
  options: OPTIONS,
  async run(args, io) {
    if (args.positional.length !== 1) {
      throw new UsageError(`expected one file, got ${args.positional.length}`);
    }
    const file = args.positional[0];
    if (isOnnxPath(file)) {
      throw new UsageError("generate needs a .dlm file: it builds the model and its step model");
    }
    const prompt = parsePrompt(args.opts.prompt as string | undefined);
    const maxNew = intOpt(args, "max-new", 16);
    const topK = intOpt(args, "top-k", 0);
    const seed = intOpt(args, "seed", 0);
    const temperature = (args.opts.temperature as number | undefined) ?? 0;
    if (temperature < 0) throw new UsageError(`--temperature must be >= 0, got ${temperature}`);
    const backend = (args.opts.backend as string | undefined) ?? "node";
    if (!["node", "web", "reference"].includes(backend)) {
      throw new UsageError(`--backend must be node, web or reference, got '${backend}'`);
    }
    const target = (args.opts.target as string | undefined) ?? "onnx";
    if (!TARGETS.includes(target as Target)) {
      throw new UsageError(`--target must be onnx or ort, got '${target}'`);
    }
    if (target === "ort" && backend === "reference") {
      throw new UsageError("--target ort needs an onnxruntime backend (node or web)");
    }
    const useCache = !args.opts["no-cache"];
    const base: BuildOptions = {
      seed,
      target: target as Target,
      weights: (args.opts.weights as string[] | undefined) ?? [],
      weightsMap: args.opts["weights-map"] as string | undefined,
      overrides: overridesOf(args.opts.set),
    };
    const model = args.opts.model as string | undefined;
    let built: Built;
    if (useCache) {
      // Find the names from the parsed file alone: only the step model is built (weights load once).
      const p = loadProgram(file, readFromDisk);
      const m = isProgram(p) ? selectModel(p, model) : undefined;
      if (!m || !isProgram(p) || !("kind" in m) || m.kind !== "model") {
        built = buildGraph(file, { ...base, model }); // reports why the file or model is unusable
        throw new DlmError({ code: "DLM0103", severity: "error", message: `No model in ${file}` });
      }
      const name = `${m.name}Cached`;
      if (!p.models.has(name)) {
        throw new DlmError({
          code: "DLM0103",
          severity: "error",
          message: `No KV-cache step model '${name}' for '${m.name}' in ${file}; ` +
            "declare it (inputs past_key/past_value, outputs present_key/present_value) or pass --no-cache",
        });
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
      seed,
      backend: backend as GenerateBackend,
      cached: useCache,
    });
    io.out(r.tokens[0].join(" "));
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
  },
};
