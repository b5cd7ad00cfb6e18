import assert from "node:assert/strict";
import { formatType, type Graph } from "../../ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../../ir/tensor.ts";
import { runGraph } from "../../../runtime/reference/interpreter.ts";
import { relativePositionIndex, shiftedWindowMask } from "./window_ops.ts";
import { compileOk as ok, compileSource as compile } from "../testing.ts";

function errors(src: string): string[] {
  return compile(src).diagnostics.map((d) => `${d.code} ${d.message}`);
}

function outType(g: Graph, name = "y"): string {
  return formatType(g.types.get(g.outputs.find((o) => o.name === name)!.name)!);
}

function run(g: Graph, feeds: Record<string, Tensor> = {}, name = "y"): number[] {
  return toNumbers(runGraph(g, feeds).outputs[name]);
}

Deno.test("relativePositionIndex gives torchvision's index for a 2 x 2 window", () => {
  // torchvision: relative_coords (dh + 1) * 3 + (dw + 1) for tokens (0,0), (0,1), (1,0), (1,1).
  assert.deepEqual(
    toNumbers(relativePositionIndex(2, 2)),
    [
      [4, 3, 1, 0],
      [5, 4, 2, 1],
      [7, 6, 4, 3],
      [8, 7, 5, 4],
    ].flat(),
  );
  // Every token sees itself at the centre row of the (2M - 1)^2 table.
  const idx = toNumbers(relativePositionIndex(7, 7));
  for (let i = 0; i < 49; i++) assert.equal(idx[i * 49 + i], 84);
  assert.equal(Math.max(...idx), 168);
});

Deno.test("shiftedWindowMask separates the wrapped-around regions of a shifted 4 x 4 map", () => {
  // Map 4 x 4, window 2, shift 1: regions along each axis are rows [0, 2), [2, 3), [3, 4).
  const m = toNumbers(shiftedWindowMask(4, 4, 2, 2, 1, 1, -100));
  const win = (w: number) => m.slice(w * 16, w * 16 + 16);
  // Window 0 (rows 0-1, cols 0-1) lies in one region: nothing masked.
  assert.deepEqual(win(0), new Array(16).fill(0));
  // Window 3 (rows 2-3, cols 2-3): its four tokens are in four regions.
  assert.deepEqual(
    win(3),
    [0, 1, 2, 3].flatMap((i) => [0, 1, 2, 3].map((j) => (i === j ? 0 : -100))),
  );
  // Window 1 (rows 0-1, cols 2-3): tokens (0,2), (0,3), (1,2), (1,3) split by column.
  assert.deepEqual(win(1), [
    0,
    -100,
    0,
    -100,
    -100,
    0,
    -100,
    0,
    0,
    -100,
    0,
    -100,
    -100,
    0,
    -100,
    0,
  ]);
  assert.deepEqual(toNumbers(shiftedWindowMask(4, 4, 2, 2, 0, 0, -100)), new Array(64).fill(0));
});

Deno.test("shifted_window_mask and relative_position_index are constants of the documented shapes", () => {
  const g = ok(`model M {
    input x: f32[N, 1]
    output y = shifted_window_mask((4, 6), 2, 1)
    output i = relative_position_index((2, 3))
    output z = x
  }`);
  assert.equal(outType(g), "f32[6, 4, 4]");
  assert.equal(outType(g, "i"), "i64[6, 6]");
  assert.deepEqual(
    run(g, { x: tensor("f32", [1, 1], [0]) }),
    toNumbers(shiftedWindowMask(4, 6, 2, 2, 1, 1, -100)),
  );
  assert.deepEqual(
    run(g, { x: tensor("f32", [1, 1], [0]) }, "i"),
    toNumbers(relativePositionIndex(2, 3)),
  );
});

Deno.test("relative_position_bias adds the gathered table to the logits and names it by its label", () => {
  const g = ok(`block Attn(x: f32[N, 2, 4, 4]) {
    return x |> relative_position_bias_table: relative_position_bias(2, 2, init: normal)
  }
  model M {
    input x: f32[N, 2, 4, 4]
    output y = x |> attn: Attn
  }`);
  assert.equal(outType(g), "f32[N, 2, 4, 4]");
  assert.deepEqual(g.params.map((p) => p.name), ["attn.relative_position_bias_table"]);
  const table = g.initializers.get("attn.relative_position_bias_table")!;
  assert.deepEqual(table.shape, [9, 2]);
  const w = toNumbers(table), idx = toNumbers(relativePositionIndex(2, 2));
  const y = run(g, { x: tensor("f32", [1, 2, 4, 4], new Array(32).fill(1)) });
  // y[h, i, j] = 1 + table[idx[i, j], h]
  const want = [0, 1].flatMap((h) => idx.map((r) => 1 + w[r * 2 + h]));
  y.forEach((v, k) => assert.ok(Math.abs(v - want[k]) < 1e-6, `at ${k}: ${v} vs ${want[k]}`));
});

Deno.test("window helpers report bad windows, shifts and logits in house style", () => {
  assert.deepEqual(
    errors(`model M {
      input x: f32[N, 2, 4, 4]
      let a = shifted_window_mask((5, 4), 2, 1)
      let b = shifted_window_mask((4, 4), 2, 2)
      let c = relative_position_index(0)
      output y = x |> relative_position_bias(2, 3)
    }`),
    [
      "DLM0210 shifted_window_mask() needs a size that is a multiple of the window, got (5, 4) and window (2, 2)",
      "DLM0210 shifted_window_mask() needs 0 <= shift < window, got shift (2, 2) and window (2, 2)",
      "DLM0210 relative_position_index() needs a window of 1 or 2 positive ints, got 0",
      "DLM0203 relative_position_bias() needs logits [..., 3, 4, 4] (heads, window tokens), got f32[N, 2, 4, 4]",
    ],
  );
});
