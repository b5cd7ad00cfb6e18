/**
 * What an ONNX model is made of: node count, operator histogram and
 * initializer count, read straight from the protobuf (no decoding of the
 * tensors into dlm's IR), so any exporter's model can be described.
 */
import { onnx } from "../compiler/onnx/proto.ts";
import { type Column, count, formatTable } from "./table.ts";

/** Counts of one ONNX model's main graph. */
export interface OnnxStats {
  /** Nodes of the main graph (subgraphs of If/Loop not included). */
  nodes: number;
  /** Nodes per operator, `domain::Op` outside the default domain; sorted by count, then name. */
  ops: Record<string, number>;
  initializers: number;
  /** Elements of all initializers. */
  initializerElements: number;
  opset?: number;
}

/**
 * Describe serialized ModelProto bytes.
 *
 * @example
 * ```ts
 * const s = onnxStats(Deno.readFileSync("model.onnx"));
 * console.log(s.nodes, s.ops.Conv);
 * ```
 */
export function onnxStats(bytes: Uint8Array): OnnxStats {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph ?? {};
  const counts = new Map<string, number>();
  for (const n of graph.node ?? []) {
    const op = n.domain && n.domain !== "ai.onnx" ? `${n.domain}::${n.opType}` : n.opType;
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  const ops: Record<string, number> = {};
  for (const [op, c] of [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) {
    ops[op] = c;
  }
  let initializerElements = 0;
  for (const t of graph.initializer ?? []) {
    initializerElements += (t.dims ?? []).reduce((p: number, d: unknown) => p * Number(d), 1);
  }
  const imp = (model.opsetImport ?? []).find((o: { domain?: string }) => !o.domain);
  return {
    nodes: (graph.node ?? []).length,
    ops,
    initializers: (graph.initializer ?? []).length,
    initializerElements,
    opset: imp ? Number(imp.version) : undefined,
  };
}

/**
 * Histograms of several models side by side: one row per operator any of
 * them uses (most used first), one column per model, a total row last.
 */
export function formatOpComparison(models: Record<string, OnnxStats>): string {
  const names = Object.keys(models);
  const ops = new Map<string, number>();
  for (const s of Object.values(models)) {
    for (const [op, c] of Object.entries(s.ops)) ops.set(op, (ops.get(op) ?? 0) + c);
  }
  const order = [...ops].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([op]) => op);
  const columns: Column[] = [{ header: "op" }, ...names.map((n) => ({ header: n, right: true }))];
  const rows = order.map((op) => [op, ...names.map((n) => count(models[n].ops[op] ?? 0))]);
  rows.push(["(nodes)", ...names.map((n) => count(models[n].nodes))]);
  rows.push(["(initializers)", ...names.map((n) => count(models[n].initializers))]);
  return formatTable(columns, rows);
}
