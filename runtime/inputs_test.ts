/**
 * Inputs given already read (`tensors`, the playground's uploaded .npy files) are checked and
 * bind symbolic dims exactly as `--input NAME=PATH.npy` files are.
 */
import assert from "node:assert/strict";
import { DlmError } from "../compiler/diagnostics.ts";
import { compileOk } from "../compiler/check/testing.ts";
import { tensor } from "../compiler/ir/tensor.ts";
import { prepareInputs } from "./inputs.ts";

const g = compileOk(`model M {
  input x: f32[N, 4]
  input t: i64[N]
  output y = x
  output u = t
}`);

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof DlmError) return `${e.diagnostics[0].code} ${e.diagnostics[0].message}`;
    throw e;
  }
  return "";
}

Deno.test("a given tensor is fed as it is and binds N for the random inputs", () => {
  const x = tensor("f32", [3, 4], Float32Array.from({ length: 12 }, (_, i) => i));
  const feeds = prepareInputs(g, { tensors: [{ name: "x", file: "x.npy", tensor: x }] });
  assert.equal(feeds.x, x);
  assert.deepEqual(feeds.t.shape, [3]);
});

Deno.test("a given tensor of the wrong shape, dtype or name is refused, naming its file", () => {
  const wrong = tensor("f32", [3, 5], new Float32Array(15));
  assert.match(
    code(() => prepareInputs(g, { tensors: [{ name: "x", file: "w.npy", tensor: wrong }] })),
    /^DLM0411 .*in 'w\.npy': dim 1 differs/,
  );
  const f64 = tensor("f64", [3, 4], new Float64Array(12));
  assert.match(
    code(() => prepareInputs(g, { tensors: [{ name: "x", file: "d.npy", tensor: f64 }] })),
    /^DLM0411 .*f64\[3, 4\] in 'd\.npy'/,
  );
  assert.match(
    code(() => prepareInputs(g, { tensors: [{ name: "z", file: "z.npy", tensor: f64 }] })),
    /^DLM0418 /,
  );
  const n2 = tensor("i64", [2], [0, 1]);
  const x3 = tensor("f32", [3, 4], new Float32Array(12));
  assert.match(
    code(() =>
      prepareInputs(g, {
        tensors: [{ name: "x", file: "x.npy", tensor: x3 }, {
          name: "t",
          file: "t.npy",
          tensor: n2,
        }],
      })
    ),
    /^DLM0411 .*N = 3 .*N = 2 in 't\.npy'/,
  );
});
