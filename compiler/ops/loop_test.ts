import assert from "node:assert/strict";
import { formatType } from "../ir/graph.ts";
import { tensor, toNumbers } from "../ir/tensor.ts";
import { emitModel } from "../onnx/emit.ts";
import { runGraph } from "../../runtime/reference/interpreter.ts";
import { createSession } from "../../runtime/ort/mod.ts";
import { GraphBuilder } from "./builder.ts";
import { ShapeError } from "./op_def.ts";

/**
 * A loop that adds the iteration number to an accumulator [2] and stacks each iteration's
 * accumulator: with M = 4, acc = x + 0 + 1 + 2 + 3 and the stack is [4, 2].
 */
function sumLoop(stateType = { dtype: "f32" as const, shape: [2] }) {
  const b = new GraphBuilder("main");
  const x = b.input("x", { dtype: "f32", shape: [2] });
  const m = b.initializer("m", tensor("i64", [], [4]));
  const body = new GraphBuilder("body", { outer: b, prefix: "body/" });
  const it = body.input("iter", { dtype: "i64", shape: [] });
  const cond = body.input("cond", { dtype: "bool", shape: [] });
  const acc = body.input("acc", stateType);
  const [f] = body.addNode("Cast", [it], { to: 1 });
  const [next] = body.addNode("Add", [acc, f]);
  const [c2] = body.addNode("Identity", [cond]);
  const [snap] = body.addNode("Identity", [next]);
  body.output(c2);
  body.output(next);
  body.output(snap);
  return { b, x, m, body };
}

Deno.test("Loop's outputs are its loop-carried values and the stacked scan outputs", async () => {
  const { b, x, m, body } = sumLoop();
  const [acc, stack] = b.addNode("Loop", [m, "", x], { body: body.graph });
  assert.equal(formatType(b.typeOf(acc)!), "f32[2]");
  // A constant trip count and no cond: the stacked dim is known.
  assert.equal(formatType(b.typeOf(stack)!), "f32[4, 2]");
  b.output(acc);
  b.output(stack);
  const feeds = { x: tensor("f32", [2], [10, 20]) };
  const ref = runGraph(b.graph, feeds).outputs;
  const s = await createSession(emitModel(b.graph).model);
  try {
    const ort = await s.run(feeds);
    for (const out of [ref, ort]) {
      assert.deepEqual(toNumbers(out[acc]), [16, 26]);
      assert.deepEqual(toNumbers(out[stack]), [10, 20, 11, 21, 13, 23, 16, 26]);
    }
  } finally {
    await s.release();
  }
});

Deno.test("Loop with a cond has a stacked dim known only at run time", () => {
  const { b, x, body } = sumLoop();
  const t = b.initializer("t", tensor("bool", [], [1]));
  const [, stack] = b.addNode("Loop", ["", t, x], { body: body.graph });
  assert.match(formatType(b.typeOf(stack)!), /^f32\[\?Loop_\d+, 2\]$/);
});

Deno.test("Loop rejects a body that changes a loop-carried value's type or takes other inputs", () => {
  const { b, m, body } = sumLoop({ dtype: "f32", shape: [2] });
  const wrong = b.input("w", { dtype: "f64", shape: [2] });
  assert.throws(
    () => b.addNode("Loop", [m, "", wrong], { body: body.graph }),
    (e) => e instanceof ShapeError && e.code === "DLM0228",
  );
  assert.throws(
    () => b.addNode("Loop", [m, "", wrong, wrong], { body: body.graph }),
    (e) => e instanceof ShapeError && e.code === "DLM0227",
  );
  assert.throws(
    () => b.addNode("Loop", [wrong, "", wrong], { body: body.graph }),
    (e) => e instanceof ShapeError && /i64 scalar trip count/.test(e.message),
  );
});
