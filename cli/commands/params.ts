/**
 * `dlm params`: every parameter and buffer of a model with its name, shape,
 * dtype, role and size, as a table or JSON.
 */
import { numel } from "../../compiler/ir/tensor.ts";
import { type Io, one, type Parsed } from "../command.ts";
import { buildGraph, buildOptionsOf } from "../pipeline.ts";
import { groupDigits, warn } from "../report.ts";

/** Run `dlm params`; returns the exit code. */
export function run(args: Parsed, io: Io): number {
  const file = one(args, "file");
  const b = buildGraph(file, { ...buildOptionsOf(args), passes: false });
  warn(b, io);
  const g = b.graph;
  const rows = g.params.map((p) => {
    const t = g.initializers.get(p.name)!;
    return {
      name: p.name,
      shape: t.shape,
      dtype: t.dtype,
      role: p.role,
      kind: p.trainable ? "parameter" : "buffer",
      frozen: !!p.frozen,
      ...(p.adapter ? { adapter: p.adapter } : {}),
      ...(p.copyOf ? { copy_of: p.copyOf } : {}),
      count: numel(t.shape),
    };
  });
  const total = (f: (r: typeof rows[number]) => boolean) =>
    rows.filter(f).reduce((s, r) => s + r.count, 0);
  const totals = {
    parameters: total((r) => r.kind === "parameter"),
    trainable: total((r) => r.kind === "parameter" && !r.frozen),
    frozen: total((r) => r.kind === "parameter" && r.frozen),
    buffers: total((r) => r.kind === "buffer"),
  };
  if (args.opts.json) {
    io.out(JSON.stringify({ model: g.name, params: rows, totals }, null, 2));
    return 0;
  }
  const cells = rows.map((
    r,
  ) => [
    r.name,
    r.adapter ? `${r.adapter} ${r.role}` : r.role + tags(r),
    `[${r.shape.join(", ")}]`,
    r.dtype,
    groupDigits(r.count),
  ]);
  const head = ["name", "role", "shape", "dtype", "count"];
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c.map((x, i) => (i === 4 ? x.padStart(w[i]) : x.padEnd(w[i]))).join("  ").trimEnd();
  io.out(line(head));
  for (const c of cells) io.out(line(c));
  const f = groupDigits;
  io.out(
    `total: ${f(totals.parameters)} parameters (${f(totals.trainable)} trainable, ${
      f(totals.frozen)
    } frozen), ${f(totals.buffers)} buffer elements`,
  );
  return 0;
}

/** " (frozen)", " (copy of policy.fc1.weight)", " (frozen, copy of ...)", or nothing. */
function tags(r: { frozen: boolean; copy_of?: string }): string {
  const t = [...(r.frozen ? ["frozen"] : []), ...(r.copy_of ? [`copy of ${r.copy_of}`] : [])];
  return t.length ? ` (${t.join(", ")})` : "";
}
