/**
 * linear_sum_assignment against scipy.optimize.linear_sum_assignment: on every random matrix of
 * tests/fixtures/matching/matching_fixture.json (made by make_matching_fixture.py beside it from
 * the seeds of tests/matching_cases.ts: shapes 1x1 to 100x20 and 20x100, integer costs with many
 * ties and float costs, masks of padded rows), in the reference interpreter and in
 * onnxruntime-node, the result is a valid matching of the valid rows whose total cost is scipy's
 * optimum exactly (the matching itself may differ where there are ties).
 */
import assert from "node:assert/strict";
import { compileFile } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import type { Graph } from "../compiler/ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../compiler/ir/tensor.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { generate, type Group } from "./matching_cases.ts";

const FIX: { matrices: number; groups: (Group & { optimal: number[] })[] } = JSON.parse(
  Deno.readTextFileSync(new URL("fixtures/matching/matching_fixture.json", import.meta.url)),
);

function compile(src: string): Graph {
  const r = compileFile("main.dlm", { read: () => src });
  if (!r.graph || r.diagnostics.some((d) => d.severity === "error")) {
    assert.fail(r.diagnostics.map((d) => formatDiagnostic(d, r.sources)).join("\n"));
  }
  return r.graph;
}

/** The model of one shape: with a mask input or without. */
function model(R: number, C: number, masked: boolean): Graph {
  return compile(
    `model M {\n  input cost: f32[B, ${R}, ${C}]\n` +
      (masked ? `  input mask: bool[B, ${R}]\n` : "") +
      `  let (cols, rows) = linear_sum_assignment(cost${masked ? ", mask: mask" : ""})\n` +
      "  output cols\n  output rows\n}",
  );
}

/**
 * Checks one batch element: cols and rows are inverse partial maps between the valid rows and
 * the columns, min(valid, C) pairs, and the total cost is `optimal`.
 */
function check(
  g: Group,
  b: number,
  cost: Float32Array,
  mask: Uint8Array,
  cols: number[],
  rows: number[],
  optimal: number,
  what: string,
) {
  const { R, C } = g;
  let valid = 0, pairs = 0, total = 0;
  for (let r = 0; r < R; r++) {
    const c = cols[b * R + r];
    if (mask[b * R + r]) valid++;
    if (c === -1) continue;
    assert.ok(mask[b * R + r] === 1, `${what}: masked row ${r} got column ${c}`);
    assert.ok(c >= 0 && c < C, `${what}: row ${r} got column ${c}`);
    assert.equal(
      rows[b * C + c],
      r,
      `${what}: column ${c} of row ${r} names row ${rows[b * C + c]}`,
    );
    pairs++;
    total += cost[(b * R + r) * C + c];
  }
  for (let c = 0; c < C; c++) {
    const r = rows[b * C + c];
    if (r !== -1) assert.equal(cols[b * R + r], c, `${what}: row ${r} of column ${c}`);
  }
  assert.equal(pairs, Math.min(valid, C), `${what}: ${pairs} pairs for ${valid} valid rows`);
  // Exact: integers, or multiples of 2^-24 whose sums f64 holds exactly.
  assert.equal(total, optimal, `${what}: total cost ${total}, scipy's optimum ${optimal}`);
}

Deno.test("linear_sum_assignment finds scipy's optimum on every fixture matrix, in both runtimes", async () => {
  assert.ok(FIX.matrices >= 1000);
  const models = new Map<
    string,
    { g: Graph; session: Awaited<ReturnType<typeof createSession>> }
  >();
  let checked = 0;
  try {
    for (const grp of FIX.groups) {
      const masked = grp.mask !== "none";
      const key = `${grp.R}x${grp.C}${masked ? "m" : ""}`;
      let m = models.get(key);
      if (!m) {
        const g = model(grp.R, grp.C, masked);
        m = { g, session: await createSession(emitModel(g).model) };
        models.set(key, m);
      }
      const { cost, mask } = generate(grp);
      const feeds: Record<string, Tensor> = {
        cost: tensor("f32", [grp.B, grp.R, grp.C], cost),
      };
      if (masked) feeds.mask = tensor("bool", [grp.B, grp.R], mask);
      const ref = runGraph(m.g, feeds).outputs;
      const ort = await m.session.run(feeds);
      for (const [name, outs] of [["reference", ref], ["onnxruntime", ort]] as const) {
        const cols = toNumbers(outs.cols), rows = toNumbers(outs.rows);
        for (let b = 0; b < grp.B; b++) {
          const what =
            `${name}, ${grp.R}x${grp.C} ${grp.kind}${grp.levels ?? ""} mask ${grp.mask} ` +
            `seed ${grp.seed} #${b}`;
          check(grp, b, cost, mask, cols, rows, grp.optimal[b], what);
        }
      }
      checked += grp.B;
    }
  } finally {
    for (const m of models.values()) await m.session.release();
  }
  assert.equal(checked, FIX.matrices);
});
