/**
 * Weights in and out: safetensors files, or the initializers of ONNX models,
 * whose tensor names are dlm parameter names, optionally renamed by a map of
 * regex rules (for state dicts and exports written by other frameworks).
 */
import type { Graph } from "../compiler/ir/graph.ts";
import { formatType } from "../compiler/ir/graph.ts";
import { diag, type Diagnostic, DlmError, error, fail, warning } from "../compiler/diagnostics.ts";
import { bf16ToF32, f16ToF32, type Tensor, zeros } from "../compiler/ir/tensor.ts";
import { decodeModel } from "../compiler/onnx/decode.ts";
import { setPackMember, unpackValues } from "../compiler/train/pack_values.ts";
import { readSafetensors } from "./formats/safetensors.ts";
import { readFileOrFail, readTextOrFail } from "./fs.ts";

export { saveWeights, weightsChunks } from "./save_weights.ts";

export interface RenameRule {
  from: RegExp;
  to: string;
}

/**
 * A weights map file: JSON, either an object `{"regex": "replacement"}`
 * (applied in order) or a list `[{"from": "regex", "to": "replacement"}]`.
 * Replacements use `$1`-style groups. The first rule that matches wins.
 */
export function readWeightsMap(path: string): RenameRule[] {
  const text = readTextOrFail(path, "weights map");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(...diag("DLM0408", `weights map '${path}'`, `not valid JSON: ${(e as Error).message}`));
  }
  const pairs: [string, string][] = [];
  if (Array.isArray(json)) {
    for (const [i, r] of json.entries()) {
      if (!r || typeof r !== "object" || typeof r.from !== "string" || typeof r.to !== "string") {
        fail(
          ...diag(
            "DLM0408",
            `weights map '${path}'`,
            `rule ${i} must be {"from": "regex", "to": "replacement"}`,
          ),
        );
      }
      pairs.push([r.from, r.to]);
    }
  } else if (json && typeof json === "object") {
    for (const [k, v] of Object.entries(json)) {
      if (typeof v !== "string") {
        fail(
          ...diag(
            "DLM0408",
            `weights map '${path}'`,
            `the replacement for '${k}' must be a string`,
          ),
        );
      }
      pairs.push([k, v]);
    }
  } else {
    fail(
      ...diag("DLM0408", `weights map '${path}'`, "it must be a JSON object or a list of rules"),
    );
  }
  return pairs.map(([from, to]) => {
    try {
      return { from: new RegExp(`^(?:${from})$`), to };
    } catch (e) {
      fail(
        ...diag(
          "DLM0408",
          `weights map '${path}'`,
          `'${from}' is not a valid regex: ${(e as Error).message}`,
        ),
      );
    }
  });
}

export function rename(name: string, rules: RenameRule[]): string {
  for (const r of rules) if (r.from.test(name)) return name.replace(r.from, r.to);
  return name;
}

function toF32(t: Tensor): Tensor {
  const out = zeros("f32", t.shape);
  const d = out.data as Float32Array;
  for (let i = 0; i < d.length; i++) {
    const v = t.data[i] as number;
    d[i] = t.dtype === "f16" ? f16ToF32(v) : t.dtype === "bf16" ? bf16ToF32(v) : v;
  }
  return out;
}

/**
 * Weights read already (the playground's, which has no files): `name` stands for the file in
 * messages ("the uploaded cgan.safetensors").
 */
export interface WeightsSource {
  name: string;
  tensors: ReadonlyMap<string, Tensor>;
}

export interface LoadReport {
  loaded: number;
  warnings: Diagnostic[];
}

/** Safetensors: an 8-byte little-endian header size (under 4 GB here), then a JSON object. */
function looksLikeSafetensors(bytes: Uint8Array): boolean {
  return bytes.length >= 9 && bytes[8] === 0x7b && bytes.subarray(4, 8).every((b) => b === 0);
}

/** An ONNX ModelProto almost always starts with field 1, ir_version (tag byte 0x08). */
function looksLikeOnnx(bytes: Uint8Array, path: string): boolean {
  return bytes[0] === 0x08 || path.toLowerCase().endsWith(".onnx");
}

/**
 * The tensors of a weights file by name: a safetensors file, or the graph
 * initializers of an ONNX model (external data resolved beside the file).
 * The format is told by content, not by the file's name.
 */
export function readWeightsFile(path: string): Map<string, Tensor> {
  const bytes = readFileOrFail(path, "weights file");
  const onnx = () => {
    const slash = path.lastIndexOf("/");
    const baseDir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
    return decodeModel(bytes, { baseDir, file: path }).graph.initializers;
  };
  if (looksLikeSafetensors(bytes)) return readSafetensors(bytes, path).tensors;
  if (looksLikeOnnx(bytes, path)) return onnx(); // its DLM0405 names what is wrong
  if (path.toLowerCase().endsWith(".safetensors")) return readSafetensors(bytes, path).tensors;
  try {
    return onnx();
  } catch (e) {
    if (!(e instanceof DlmError)) throw e;
    fail(
      ...diag(
        "DLM0402",
        `weights file '${path}'`,
        "it is neither safetensors (an 8-byte header size, then a JSON header) nor an ONNX model",
      ),
    );
  }
}

/**
 * Replace the graph's initializers by the tensors of weights files (safetensors,
 * or ONNX models whose initializers are the tensors), loaded in order: a later
 * file overrides an earlier one for the same parameter.
 * A tensor whose shape differs from the parameter's is an error naming both;
 * tensors of a file with no parameter are a warning per file, and parameters
 * that no file provides one warning (transfer learning loads a backbone and
 * keeps a new head's initial values).
 */
export function loadWeights(
  graph: Graph,
  paths: string | readonly (string | WeightsSource)[],
  rules: RenameRule[] = [],
): LoadReport {
  const sources = typeof paths === "string" ? [paths] : [...paths];
  const files = sources.map((s) => typeof s === "string" ? s : s.name);
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const seen = new Set<string>();
  let loaded = 0;
  const paramNames = new Set(graph.params.map((p) => p.name));
  // A training step's packed parameters load into their packs, through views of fresh copies.
  const packed = new Map<string, Tensor>();
  if (graph.packs?.length) {
    const packs = new Map<string, Tensor>();
    for (const p of graph.packs) {
      const t = graph.initializers.get(p.name);
      if (!t) continue;
      const copy = { ...t, data: t.data.slice() } as Tensor;
      graph.initializers.set(p.name, copy);
      packs.set(p.name, copy);
    }
    // A weight packed at some taps loads into its initializer (the taps its step does not
    // train), and its taps into the pack below: no view of the pack holds it.
    const views = graph.packs.map((p) => ({ ...p, members: p.members.filter((m) => !m.taps) }));
    for (const [k, t] of unpackValues(views, packs)) packed.set(k, t);
  }
  for (const src of sources) {
    const path = typeof src === "string" ? src : src.name;
    const unused: string[] = [];
    for (const [raw, t] of typeof src === "string" ? readWeightsFile(src) : src.tensors) {
      const name = rename(raw, rules);
      const cur = graph.initializers.get(name) ?? packed.get(name);
      // An imported ONNX graph has no parameter list: every initializer is loadable.
      const isParam = graph.params.length === 0 || paramNames.has(name);
      if (!cur || !isParam) {
        unused.push(raw === name ? raw : `${raw} (as ${name})`);
        continue;
      }
      let v = t;
      if (v.dtype !== cur.dtype) {
        if (
          cur.dtype === "f32" && (v.dtype === "f16" || v.dtype === "bf16" || v.dtype === "f64")
        ) {
          v = toF32(v);
        } else if (cur.dtype === "i64" && v.dtype === "i32") {
          const o = zeros("i64", v.shape);
          for (let i = 0; i < o.data.length; i++) {
            (o.data as BigInt64Array)[i] = BigInt(v.data[i] as number);
          }
          v = o;
        } else {
          errors.push(
            error(
              ...diag(
                "DLM0403",
                `Weight '${raw}' in ${path}`,
                formatType(t),
                `parameter '${name}'`,
                formatType(cur),
              ),
            ),
          );
          continue;
        }
      }
      if (v.shape.length !== cur.shape.length || v.shape.some((d, i) => d !== cur.shape[i])) {
        errors.push(
          error(
            ...diag(
              "DLM0403",
              `Weight '${raw}' in ${path}`,
              formatType(v),
              `parameter '${name}'`,
              formatType(cur),
            ),
          ),
        );
        continue;
      }
      if (packed.has(name)) (packed.get(name)!.data as Float32Array).set(v.data as Float32Array);
      else graph.initializers.set(name, v);
      if (!seen.has(name)) loaded++;
      seen.add(name);
    }
    if (unused.length) {
      const n = `${unused.length} tensor${unused.length === 1 ? "" : "s"}`;
      warnings.push(warning(...diag("DLM0407", n, path, list(unused))));
    }
  }
  if (errors.length) throw new DlmError(errors);
  const copied = copyUnloaded(graph, seen, packed);
  for (const p of graph.packs ?? []) {
    for (const m of p.members) {
      const pack = graph.initializers.get(p.name);
      if (m.taps && pack && (seen.has(m.param) || copied.has(m.param))) {
        setPackMember(pack, m, graph.initializers.get(m.param)!);
      }
    }
  }
  // Fine-tuning from a base checkpoint: the methods' parameters (LoRA, IA3, ...) start from
  // their own initialisation (B = 0), so they are missing on purpose unless some file has any.
  const anyAdapter = graph.params.some((p) => p.adapter && seen.has(p.name));
  const missing = graph.params
    .filter((p) => !seen.has(p.name) && !copied.has(p.name) && (!p.adapter || anyAdapter))
    .map((p) => p.name);
  if (missing.length) {
    const where = files.length === 1 ? files[0] : `any of ${files.join(", ")}`;
    const n = `${missing.length} parameter${missing.length === 1 ? "" : "s"}`;
    warnings.push(warning(...diag("DLM0404", n, where, list(missing))));
  }
  return { loaded, warnings };
}

/**
 * Copies (`init ref from policy`, compiler/check/copies.ts) that no file gave a value: each takes
 * its source's value as loaded, so fine-tuning from a pretrained policy gets its reference model
 * from the same weights, while a file that has the copy's own tensors (a saved run) keeps them.
 * A copy of a copy takes its source's value once that one is settled. Returns the names copied.
 */
function copyUnloaded(
  graph: Graph,
  seen: ReadonlySet<string>,
  packed: ReadonlyMap<string, Tensor>,
): Set<string> {
  const sourceOf = new Map<string, string>();
  for (const p of graph.params) {
    if (p.copyOf && !seen.has(p.name)) sourceOf.set(p.name, p.copyOf);
  }
  const copied = new Set<string>();
  const copy = (name: string) => {
    if (copied.has(name)) return;
    copied.add(name);
    const source = sourceOf.get(name)!;
    // The compiler rejects cycles, so this recursion ends.
    if (sourceOf.has(source)) copy(source);
    const from = packed.get(source) ?? graph.initializers.get(source);
    if (!from) return;
    const into = packed.get(name);
    // A packed value is a view of a pack that training replaces: the target gets its own data.
    if (into) (into.data as Float32Array).set(from.data as Float32Array);
    else if (packed.has(source)) graph.initializers.set(name, { ...from, data: from.data.slice() });
    else graph.initializers.set(name, from);
  };
  for (const name of sourceOf.keys()) copy(name);
  return copied;
}

function list(xs: string[]): string {
  return xs.length <= 6
    ? xs.join(", ")
    : `${xs.slice(0, 6).join(", ")}, ... (${xs.length - 6} more)`;
}
