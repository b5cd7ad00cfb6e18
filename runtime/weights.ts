/**
 * Weights in and out: safetensors files whose tensor names are dlm
 * parameter names, optionally renamed by a map of regex rules (for state
 * dicts written by other frameworks).
 */
import type { Graph } from "../compiler/ir/graph.ts";
import { formatType } from "../compiler/ir/graph.ts";
import { type Diagnostic, DlmError, error, fail } from "../compiler/diagnostics.ts";
import { bf16ToF32, f16ToF32, type Tensor, zeros } from "../compiler/ir/tensor.ts";
import { readSafetensors, writeSafetensors } from "./formats/mod.ts";
import { readFileOrFail, readTextOrFail, writeFileAtomic } from "./fs.ts";

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
    fail("DLM0408", `Weights map '${path}' is not valid JSON: ${(e as Error).message}`);
  }
  const pairs: [string, string][] = [];
  if (Array.isArray(json)) {
    for (const [i, r] of json.entries()) {
      if (!r || typeof r !== "object" || typeof r.from !== "string" || typeof r.to !== "string") {
        fail(
          "DLM0408",
          `Weights map '${path}': rule ${i} must be {"from": "regex", "to": "replacement"}`,
        );
      }
      pairs.push([r.from, r.to]);
    }
  } else if (json && typeof json === "object") {
    for (const [k, v] of Object.entries(json)) {
      if (typeof v !== "string") {
        fail("DLM0408", `Weights map '${path}': the replacement for '${k}' must be a string`);
      }
      pairs.push([k, v]);
    }
  } else fail("DLM0408", `Weights map '${path}' must be a JSON object or list of rules`);
  return pairs.map(([from, to]) => {
    try {
      return { from: new RegExp(`^(?:${from})$`), to };
    } catch (e) {
      fail(
        "DLM0408",
        `Weights map '${path}': '${from}' is not a valid regex: ${(e as Error).message}`,
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

export interface LoadReport {
  loaded: number;
  warnings: Diagnostic[];
}

/**
 * Replace the graph's initializers by the tensors of a safetensors file.
 * A tensor whose shape differs from the parameter's is an error naming both;
 * tensors with no parameter, and parameters with no tensor, are warnings
 * (transfer learning loads a backbone and keeps a new head's initial values).
 */
export function loadWeights(graph: Graph, path: string, rules: RenameRule[] = []): LoadReport {
  const { tensors } = readSafetensors(readFileOrFail(path, "weights file"), path);
  const errors: Diagnostic[] = [];
  const unused: string[] = [];
  const seen = new Set<string>();
  let loaded = 0;
  for (const [raw, t] of tensors) {
    const name = rename(raw, rules);
    const cur = graph.initializers.get(name);
    // An imported ONNX graph has no parameter list: every initializer is loadable.
    const isParam = graph.params.length === 0 || graph.params.some((p) => p.name === name);
    if (!cur || !isParam) {
      unused.push(raw === name ? raw : `${raw} (as ${name})`);
      continue;
    }
    seen.add(name);
    let v = t;
    if (v.dtype !== cur.dtype) {
      if (cur.dtype === "f32" && (v.dtype === "f16" || v.dtype === "bf16" || v.dtype === "f64")) {
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
            "DLM0403",
            `Weight '${raw}' in ${path} is ${formatType(t)} but parameter '${name}' is ${
              formatType(cur)
            }`,
          ),
        );
        continue;
      }
    }
    if (v.shape.length !== cur.shape.length || v.shape.some((d, i) => d !== cur.shape[i])) {
      errors.push(
        error(
          "DLM0403",
          `Weight '${raw}' in ${path} has shape [${
            v.shape.join(", ")
          }] but parameter '${name}' has shape [${cur.shape.join(", ")}]`,
        ),
      );
      continue;
    }
    graph.initializers.set(name, v);
    loaded++;
  }
  if (errors.length) throw new DlmError(errors);
  const warnings: Diagnostic[] = [];
  const missing = graph.params.filter((p) => !seen.has(p.name)).map((p) => p.name);
  if (unused.length) {
    warnings.push({
      code: "DLM0407",
      severity: "warning",
      message: `${unused.length} tensor${
        unused.length === 1 ? "" : "s"
      } in ${path} match no parameter: ${list(unused)}`,
    });
  }
  if (missing.length) {
    warnings.push({
      code: "DLM0404",
      severity: "warning",
      message: `${missing.length} parameter${
        missing.length === 1 ? "" : "s"
      } not in ${path} keep their initial values: ${list(missing)}`,
    });
  }
  return { loaded, warnings };
}

function list(xs: string[]): string {
  return xs.length <= 6
    ? xs.join(", ")
    : `${xs.slice(0, 6).join(", ")}, ... (${xs.length - 6} more)`;
}

/** The graph's parameters and buffers, in definition order, as safetensors bytes. */
export function weightsBytes(graph: Graph): Uint8Array {
  const entries: [string, Tensor][] = [];
  for (const p of graph.params) {
    const t = graph.initializers.get(p.name);
    if (t) entries.push([p.name, t]);
  }
  return writeSafetensors(entries, { producer: "dlm", format: "pt" });
}

/** Write the graph's parameters and buffers, in definition order, as safetensors. */
export function saveWeights(graph: Graph, path: string): void {
  writeFileAtomic(path, weightsBytes(graph));
}
