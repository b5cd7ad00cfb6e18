/**
 * The page <-> worker protocol: small on purpose, so that the language service (issue 16's
 * `compiler/service/`) can answer `check` later without the page changing. Every request
 * carries the workspace's open file (path and text); the worker overlays it on the bundled
 * examples, so `import` between files resolves in the page's workspace.
 */

import type { GraphLink } from "./graph_links.ts";

/** A diagnostic for the editor: 1-based line and column, as the compiler's spans are. */
export interface WebDiagnostic {
  code: string;
  severity: "error" | "warning" | "info";
  message: string;
  file?: string;
  line?: number;
  col?: number;
  endLine?: number;
  endCol?: number;
}

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: (number | string)[];
}

export interface OutputSummary {
  name: string;
  dtype: string;
  shape: number[];
  min: number;
  max: number;
  mean: number;
  std: number;
}

export interface DiffSummary {
  ok: boolean;
  /** Where the diff's onnxruntime side ran (the run's backend, unless WebGPU failed it alone). */
  backend: "webgpu" | "wasm";
  outputs: { name: string; ok: boolean; maxAbs: number; maxRel: number; problem?: string }[];
  /** The first value out of tolerance, with its node and source line (runtime/diff's report). */
  divergence?: string;
  /** runtime/diff's own text report. */
  text: string;
}

export type Request =
  & { id: number; path: string; text: string; model?: string }
  & (
    | { kind: "check" }
    | { kind: "graph" }
    | { kind: "compile" }
    | {
      kind: "run";
      dims: Record<string, number>;
      seed: number;
      /** .npy files uploaded for inputs (the rest are drawn at random). */
      uploads?: { input: string; file: string; bytes: Uint8Array }[];
    }
  );

export type Response =
  & { id: number; diagnostics: WebDiagnostic[]; ms: number }
  & (
    | { kind: "check" }
    | { kind: "graph"; svg?: string; links?: GraphLink[] }
    | { kind: "compile"; onnx?: Uint8Array; name?: string; inputs?: TensorInfo[] }
    | {
      kind: "run";
      inputs?: TensorInfo[];
      outputs?: OutputSummary[];
      /** Where onnxruntime-web ran the model (the diff's runtime side ran there too). */
      backend?: "webgpu" | "wasm";
      /** Why the run is not on WebGPU, when the worker asked for it (ort_web.ts). */
      note?: string;
      diff?: DiffSummary;
    }
    | { kind: "failed"; error: string }
  );
