/**
 * Autoregressive token generation for decoder language models, with or
 * without a KV cache.
 *
 * Without the cache, every new token re-runs the plain model (`ids [N, L]`
 * -> `logits [N, L, vocab]`) on the whole sequence so far: step t costs a
 * forward pass over t positions. With it, a cached step model (see
 * `cacheInputs`) is called once on the prompt with an empty past (the
 * prefill), then once per new token on that token alone, each call feeding
 * the previous call's `present*` outputs back as its `past*` inputs: the
 * keys and values of earlier positions are computed once.
 *
 * Both paths pick the next token from the logits of the last position in the
 * same way (`pickToken`), so greedy decoding gives the same tokens either way.
 */
import type { Graph, ValueInfo } from "../compiler/ir/graph.ts";
import { formatType } from "../compiler/ir/graph.ts";
import { type Tensor, tensor } from "../compiler/ir/tensor.ts";
import { diag, DlmError, fail } from "../compiler/diagnostics.ts";
import { decodeModel } from "../compiler/onnx/decode.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { Rng } from "../compiler/ir/rng.ts";
import { DEFAULT_OPSET, runGraph } from "./reference/mod.ts";
import { createSession, type SessionOptions } from "./ort/mod.ts";
import { checkValues, inputNeeds } from "./data/validate.ts";

/** Where the model runs. */
export type GenerateBackend = "node" | "web" | "reference";

/** Options of `generate`. */
export interface GenerateOptions {
  /**
   * The model as an IR graph or ONNX bytes: the cached step model when
   * `cached`, else the plain model.
   */
  model: Graph | Uint8Array;
  /** The prompts, one token list per batch row, all of one length >= 1. */
  prompt: number[][];
  /** How many tokens to generate (default 16). */
  maxNew?: number;
  /** Softmax temperature; 0 (the default) is greedy decoding (argmax). */
  temperature?: number;
  /** Sample among the k most likely tokens only; 0 (the default) means all. */
  topK?: number;
  /** Nucleus sampling: among the most likely tokens whose probabilities first sum to p (default 1: all). */
  topP?: number;
  /** Seed of the sampling RNG (default 0). */
  seed?: number;
  /** Default "node" (onnxruntime-node). */
  backend?: GenerateBackend;
  /** Use the KV cache: `model` is a cached step model (default: whether it has `past*` inputs). */
  cached?: boolean;
  /** onnxruntime intra-op threads (node only). */
  threads?: number;
  /** How the onnxruntime session is created: level, optimised-model cache, load report. */
  session?: Pick<SessionOptions, "optimize" | "cache" | "report">;
}

/** What `generate` returns. */
export interface GenerateResult {
  /** The generated tokens, one list of `maxNew` per batch row. */
  tokens: number[][];
  /** Wall time of the model call that produced each new token, ms (the first includes the prompt). */
  stepMs: number[];
  /** Total wall time of the model calls, ms. */
  totalMs: number;
  /** Whether the KV cache was used. */
  cached: boolean;
}

/** One cache slot: the input fed from the past and the output that gives its next value. */
export interface CacheSlot {
  input: ValueInfo;
  output: string;
}

/**
 * The KV-cache convention: every input whose name starts with `past`
 * (`past_key`, `past.0.key`, ...) is a cache input, fed on each call with
 * the output of the previous call named by replacing `past` with `present`
 * (`present_key`, `present.0.key`). The cache's sequence axis is its
 * second-to-last dim (`[..., P, head_dim]`), 0 long on the first call.
 * Throws DLM0422 when a cache input has no matching output.
 */
export function cacheInputs(inputs: ValueInfo[], outputs: string[]): CacheSlot[] {
  const slots: CacheSlot[] = [];
  for (const v of inputs) {
    if (!v.name.startsWith("past")) continue;
    const output = "present" + v.name.slice("past".length);
    if (!outputs.includes(output)) {
      fail(
        ...diag(
          "DLM0422",
          `The cache input '${v.name}'`,
          `a matching output '${output}'`,
          `outputs ${outputs.map((o) => `'${o}'`).join(", ")}`,
        ),
      );
    }
    if (v.type.shape.length < 2) {
      fail(
        ...diag(
          "DLM0422",
          `The cache input '${v.name}'`,
          "a sequence axis [..., P, d]",
          formatType(v.type),
        ),
      );
    }
    slots.push({ input: v, output });
  }
  return slots;
}

/**
 * The empty cache for `slot` and a batch of `batch` rows: its sequence axis
 * (second-to-last) is 0, other symbolic dims are the batch size.
 */
export function emptyCache(slot: CacheSlot, batch: number): Tensor {
  const { shape, dtype } = slot.input.type;
  const dims = shape.map((d, i) => i === shape.length - 2 ? 0 : typeof d === "number" ? d : batch);
  return tensor(dtype, dims, []);
}

/**
 * The next token from one row of logits: argmax when `temperature` is 0
 * (the first maximum on ties), else a draw from softmax(logits / T)
 * restricted to the `topK` largest logits (all when 0) and then to the
 * nucleus (Holtzman et al. 2019): the most likely tokens, in order, up to
 * the first whose cumulative probability reaches `topP` (all when 1; the
 * most likely token always stays).
 */
export function pickToken(
  logits: ArrayLike<number>,
  temperature: number,
  topK: number,
  rng: Rng,
  topP = 1,
): number {
  const n = logits.length;
  if (temperature === 0) {
    let best = 0;
    for (let j = 1; j < n; j++) if (logits[j] > logits[best]) best = j;
    return best;
  }
  let order = [...Array(n).keys()];
  if ((topK > 0 && topK < n) || topP < 1) {
    // A stable sort keeps the lower index first among equal logits.
    order = order.sort((a, b) => logits[b] - logits[a]);
    if (topK > 0 && topK < n) order = order.slice(0, topK);
  }
  // softmax(l / T) with the maximum subtracted: exp(l_j - l_max) / T cannot overflow.
  let max = -Infinity;
  for (const j of order) max = Math.max(max, logits[j]);
  let w = order.map((j) => Math.exp((logits[j] - max) / temperature));
  let total = w.reduce((s, x) => s + x, 0);
  if (topP < 1) {
    // The nucleus: the shortest prefix of the sorted tokens holding probability topP.
    let mass = 0, keep = 0;
    while (keep < w.length && (keep === 0 || mass < topP * total)) mass += w[keep++];
    order = order.slice(0, keep);
    w = w.slice(0, keep);
    total = mass;
  }
  let u = rng.uniform() * total;
  for (let j = 0; j < order.length; j++) {
    u -= w[j];
    if (u < 0) return order[j];
  }
  return order[order.length - 1];
}

interface Runner {
  graph: Graph;
  inputs: ValueInfo[];
  outputs: string[];
  run(feeds: Record<string, Tensor>, fetch: string[]): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

async function makeRunner(
  model: Graph | Uint8Array,
  backend: GenerateBackend,
  threads?: number,
  session: GenerateOptions["session"] = {},
): Promise<Runner> {
  const decoded = model instanceof Uint8Array ? decodeModel(model) : undefined;
  const graph = decoded ? decoded.graph : model as Graph;
  const inputs = graph.inputs;
  const outputs = graph.outputs.map((o) => o.name);
  if (backend === "reference") {
    const opset = decoded?.opset ?? DEFAULT_OPSET;
    return {
      graph,
      inputs,
      outputs,
      run: (feeds, fetch) => {
        const all = runGraph(graph, feeds, { opset }).outputs;
        return Promise.resolve(Object.fromEntries(fetch.map((n) => [n, all[n]])));
      },
      release: () => Promise.resolve(),
    };
  }
  const bytes = model instanceof Uint8Array ? model : emitModel(graph).model;
  const s = await createSession(bytes, { backend, threads, ...session });
  return {
    graph,
    inputs,
    outputs,
    run: (f, fetch) => s.run(f, fetch),
    release: () => s.release(),
  };
}

function checkOptions(o: GenerateOptions): Required<
  Pick<GenerateOptions, "maxNew" | "temperature" | "topK" | "topP" | "seed">
> {
  const maxNew = o.maxNew ?? 16, temperature = o.temperature ?? 0, topK = o.topK ?? 0;
  const topP = o.topP ?? 1;
  if (!(topP > 0 && topP <= 1)) {
    fail(...diag("DLM0501", "Generation", "a top-p in (0, 1]", topP));
  }
  const seed = o.seed ?? 0;
  if (!Number.isInteger(maxNew) || maxNew < 0) {
    fail(
      ...diag("DLM0501", "Generation", "a number of new tokens that is an integer >= 0", maxNew),
    );
  }
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    fail(...diag("DLM0501", "Generation", "a temperature >= 0", temperature));
  }
  if (!Number.isInteger(topK) || topK < 0) {
    fail(...diag("DLM0501", "Generation", "a top-k that is an integer >= 0", topK));
  }
  const p = o.prompt;
  if (p.length === 0 || p[0].length === 0) {
    fail(...diag("DLM0501", "Generation", "a prompt of one or more tokens", "none"));
  }
  for (const row of p) {
    if (row.length !== p[0].length) {
      fail(
        ...diag(
          "DLM0501",
          "Generation",
          "prompts of the same length",
          p.map((r) => r.length).join(" and "),
        ),
      );
    }
    const bad = row.find((x) => !Number.isInteger(x) || x < 0);
    if (bad !== undefined) {
      fail(...diag("DLM0501", "Generation", "token ids that are integers >= 0", bad));
    }
  }
  return { maxNew, temperature, topK, topP, seed };
}

/** The logits of the last position of every row: `logits [N, T, V]` -> N rows of V. */
function lastLogits(t: Tensor, name: string): Float32Array[] | Float64Array[] {
  if (t.shape.length !== 3 || (t.dtype !== "f32" && t.dtype !== "f64")) {
    fail(
      ...diag(
        "DLM0422",
        "Generation",
        `float logits [N, T, vocab] as output '${name}'`,
        formatType(t),
      ),
    );
  }
  const [n, len, v] = t.shape;
  const data = t.data as Float32Array;
  return [...Array(n).keys()].map((i) =>
    data.subarray((i * len + len - 1) * v, (i * len + len) * v)
  );
}

function ids(rows: number[][]): Tensor {
  return tensor("i64", [rows.length, rows[0].length], rows.flat());
}

/**
 * Generate `maxNew` tokens after each prompt. With `cached`, `model` is a
 * cached step model (`cacheInputs`): one call on the prompt, then one per
 * new token; else the plain model re-runs on the whole sequence each step.
 * The model's input is `ids` (or its first input) and its logits the output
 * `logits` (or its first output).
 *
 * @example
 * const { tokens } = await generate({ model: cachedGraph, prompt: [[1, 2, 3]], maxNew: 8 });
 */
export async function generate(o: GenerateOptions): Promise<GenerateResult> {
  const { maxNew, temperature, topK, topP, seed } = checkOptions(o);
  const runner = await makeRunner(o.model, o.backend ?? "node", o.threads, o.session);
  try {
    const slots = cacheInputs(runner.inputs, runner.outputs);
    const cached = o.cached ?? slots.length > 0;
    if (cached && slots.length === 0) {
      fail(
        ...diag(
          "DLM0422",
          "Generation with the KV cache",
          "a cached step model (inputs past* with outputs present*)",
          "a model with no inputs named past*",
        ),
      );
    }
    const idsName = runner.inputs.find((v) => v.name === "ids")?.name ??
      runner.inputs.find((v) => !v.name.startsWith("past"))?.name;
    if (!idsName) fail(...diag("DLM0422", "Generation", "a token input 'ids' [N, T]", "none"));
    const others = runner.inputs.filter((v) => v.name !== idsName && !v.name.startsWith("past"));
    if (others.length || (!cached && slots.length)) {
      const extra = [...others, ...(cached ? [] : slots.map((s) => s.input))];
      fail(
        ...diag(
          "DLM0422",
          "Generation",
          `a model that takes only 'ids'${cached ? " and the KV cache" : ""}`,
          `one that also needs ${extra.map((v) => `'${v.name}'`).join(", ")}${
            cached ? "" : " (a KV-cache step model: leave the KV cache on)"
          }`,
        ),
      );
    }
    // Prompt tokens the model reads as ids (an embedding's) must be in its table.
    for (const need of inputNeeds(runner.graph)) {
      if (need.input === idsName) checkValues(idsName, ids(o.prompt), need, { file: "the prompt" });
    }
    const logitsName = runner.outputs.includes("logits") ? "logits" : runner.outputs[0];
    const batch = o.prompt.length;
    const seqs = o.prompt.map((r) => [...r]);
    const tokens: number[][] = o.prompt.map(() => []);
    const rng = new Rng(seed);
    const stepMs: number[] = [];
    let past: Record<string, Tensor> = {};
    if (cached) { for (const s of slots) past[s.input.name] = emptyCache(s, batch); }
    const fetch = cached ? [logitsName, ...slots.map((s) => s.output)] : [logitsName];
    for (let step = 0; step < maxNew; step++) {
      // The cached model sees the whole prompt on its first call, then only the last token.
      const fed = !cached || step === 0 ? seqs : seqs.map((r) => r.slice(-1));
      const t0 = performance.now();
      let out: Record<string, Tensor>;
      try {
        out = await runner.run({ [idsName]: ids(fed), ...past }, fetch);
      } catch (e) {
        // A model that reads positions from a table fails once the sequence outgrows it.
        if (!(e instanceof DlmError) || e.diagnostics.length !== 1) throw e;
        const [d] = e.diagnostics;
        const note = `the run read a sequence of ${seqs[0].length} tokens ` +
          `(${o.prompt[0].length} of the prompt, ${step} generated)`;
        throw new DlmError({ ...d, notes: [...(d.notes ?? []), note] }, e.sources);
      }
      stepMs.push(performance.now() - t0);
      if (cached) {
        past = Object.fromEntries(slots.map((s) => [s.input.name, out[s.output]]));
      }
      lastLogits(out[logitsName], logitsName).forEach((row, i) => {
        const tok = pickToken(row, temperature, topK, rng, topP);
        tokens[i].push(tok);
        seqs[i].push(tok);
      });
    }
    return { tokens, stepMs, totalMs: stepMs.reduce((a, b) => a + b, 0), cached };
  } finally {
    await runner.release();
  }
}
