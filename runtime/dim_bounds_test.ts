/**
 * What an index assumed of a symbolic dim (`x[0:10]` of `f32[N, 4]` typed `f32[10, 4]`, so
 * N >= 10) is checked against the sizes a run binds: DLM0256 at the index, before onnxruntime
 * clamps the slice or fails without a location; a random input's unbound dim takes the least
 * size the indices allow.
 */
import assert from "node:assert/strict";
import { DlmError } from "../compiler/diagnostics.ts";
import { compileOk } from "../compiler/check/testing.ts";
import { checkDimBounds, prepareInputs } from "./inputs.ts";

const g = compileOk(`model M {
  input x: f32[N, 4]
  output b = x[3]
  output c = x[2:-3]
  output d = x[-6:]
  output a = x[0:10]
  output e = x[:, 1:]
  output f = x[1:2]
}`);

function thrown(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof DlmError) {
      const d = e.diagnostics[0];
      return `${d.span?.line}:${d.span?.col} ${d.code} ${d.message}`;
    }
    throw e;
  }
  return "";
}

Deno.test("each index records the least size it assumes of the symbolic dim", () => {
  // [3] needs 4, 2:-3 five (2 + 3), -6: six, 0:10 ten; axis 1 is known and records nothing,
  // and 1:2 (two) adds nothing to a larger bound already there.
  assert.deepEqual(g.dimBounds?.map((b) => [b.dim, b.min, b.what, b.span?.line]), [
    ["N", 4, "the index 3 of axis 0", 3],
    ["N", 5, "the slice 2:-3 of axis 0", 4],
    ["N", 6, "the slice -6: of axis 0", 5],
    ["N", 10, "the slice 0:10 of axis 0", 6],
  ]);
});

Deno.test("a run binding a smaller dim is DLM0256 at the index that assumed more", () => {
  assert.equal(
    thrown(() => prepareInputs(g, { dims: { N: 7 } })),
    "6:16 DLM0256 The slice 0:10 of axis 0 assumes N >= 10, as its type does, but N is 7 here " +
      "(--dim N=7); onnxruntime would clamp or fail",
  );
  assert.equal(thrown(() => checkDimBounds(g, { N: 10 })), "");
  // The last, smaller batch of a training run names itself.
  assert.match(
    thrown(() => checkDimBounds(g, { N: 3 }, { N: "N = 3, the last batch of 35 samples" })),
    /^3:16 DLM0256 The index 3 of axis 0 assumes N >= 4, .* but N is 3 here \(N = 3, the last batch of 35 samples\)/,
  );
});

Deno.test("a random input's unbound dim takes the least size the indices assume", () => {
  const feeds = prepareInputs(g, { seed: 1 });
  assert.deepEqual(feeds.x.shape, [10, 4]);
  const plain = compileOk(`model M {\n  input x: f32[N, 4]\n  output y = x[:, 0]\n}`);
  assert.deepEqual(prepareInputs(plain, { seed: 1 }).x.shape, [1, 4]);
  assert.equal(plain.dimBounds, undefined);
});
