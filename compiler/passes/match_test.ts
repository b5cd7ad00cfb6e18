import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import { tensor } from "../ir/tensor.ts";
import {
  constantTable,
  freshName,
  otherInput,
  plain,
  producerOnlyFor,
  scalar,
  sole,
  stableTopo,
  takenNames,
  Uses,
} from "./match.ts";

/** x -> Mul(x, 2) -> Add(., x) -> y, with the Mul's output also read by a Neg when asked. */
function chain(branch = false) {
  const b = new GraphBuilder("chain");
  const x = b.input("x", { dtype: "f32", shape: [2, 3] });
  const two = b.initializer("two", tensor("f32", [1, 1], [2]));
  b.initializer("pair", tensor("f32", [2], [1, 2]));
  b.initializer("flag", tensor("bool", [], [1]));
  const [m] = b.addNode("Mul", [x, two], {}, { name: "mul" });
  const [a] = b.addNode("Add", [m, x], {}, { name: "add" });
  if (branch) b.addNode("Neg", [m], {}, { name: "neg" });
  b.output(a, "y");
  return b.graph;
}

Deno.test("scalar() reads a one-element numeric constant of any shape, and nothing else", () => {
  const g = chain();
  const consts = constantTable(g, { mode: "eval" });
  assert.equal(scalar(consts, "two"), 2);
  assert.equal(scalar(consts, "pair"), undefined, "two elements");
  assert.equal(scalar(consts, "flag"), undefined, "a bool is not a number here");
  assert.equal(scalar(consts, "x"), undefined, "an input is not a constant");
});

Deno.test("sole() and producerOnlyFor() follow a chain only where nothing else reads the value", () => {
  const g = chain();
  const uses = new Uses(g);
  const [mul, add] = g.nodes;
  assert.equal(sole(uses, mul.outputs[0], "Add"), add);
  assert.equal(sole(uses, mul.outputs[0], "Sub"), undefined, "another op");
  assert.equal(sole(uses, "x", "Mul"), undefined, "x has two readers");
  assert.equal(producerOnlyFor(uses, mul.outputs[0], add), mul);
  assert.equal(producerOnlyFor(uses, mul.outputs[0], mul), undefined, "another reader");

  const shared = chain(true);
  const su = new Uses(shared);
  const [m2, a2] = shared.nodes;
  assert.equal(sole(su, m2.outputs[0], "Add"), undefined, "the Neg also reads it");
  assert.equal(producerOnlyFor(su, m2.outputs[0], a2), undefined);
});

Deno.test("plain() refuses nodes of another domain, and sole() with it", () => {
  const g = chain();
  const [mul, add] = g.nodes;
  assert.equal(plain(add), add);
  add.domain = "com.microsoft";
  assert.equal(plain(add), undefined);
  assert.equal(sole(new Uses(g), mul.outputs[0], "Add"), undefined);
});

Deno.test("otherInput() gives a binary node's other operand, not when it reads the value twice", () => {
  const n = { name: "n", op: "Add", inputs: ["a", "b"], outputs: ["c"], attrs: {} };
  assert.equal(otherInput(n, "a"), "b");
  assert.equal(otherInput(n, "b"), "a");
  assert.equal(otherInput(n, "z"), undefined);
  assert.equal(otherInput({ ...n, inputs: ["a", "a"] }, "a"), undefined);
  assert.equal(otherInput({ ...n, inputs: ["a", "b", "c"] }, "a"), undefined);
});

Deno.test("takenNames() holds values and nodes; freshName() avoids them and reserves what it gives", () => {
  const g = chain();
  const taken = takenNames(g);
  for (const name of ["x", "two", "pair", "mul", "add", "y"]) assert.ok(taken.has(name), name);
  assert.equal(freshName(g, "mul"), "mul_1");
  assert.equal(freshName(g, "fresh"), "fresh");
  assert.equal(freshName(g, "two", taken), "two_1");
  assert.equal(freshName(g, "two", taken), "two_2", "the first answer was reserved in `taken`");
});

Deno.test("stableTopo() moves a node after the producers it reads and keeps the rest in order", () => {
  const node = (name: string, inputs: string[]) => ({
    name,
    op: "Relu",
    inputs,
    outputs: [name],
    attrs: {},
  });
  const a = node("a", ["x"]), b = node("b", ["c"]), c = node("c", ["a"]), d = node("d", ["a"]);
  assert.deepEqual(stableTopo([a, b, c, d]).map((n) => n.name), ["a", "c", "b", "d"]);
  assert.deepEqual(stableTopo([a, c, b, d]).map((n) => n.name), ["a", "c", "b", "d"]);
  // A chain listed backwards, deeper than the call stack would allow with recursion.
  const chain = Array.from({ length: 100_000 }, (_, i) => node(`n${i}`, [i ? `n${i - 1}` : "x"]));
  const sorted = stableTopo([...chain].reverse());
  assert.equal(sorted[0].name, "n0");
  assert.equal(sorted.at(-1)!.name, "n99999");
});

Deno.test("Uses keeps the readers of a value read 100,000 times in time linear in them", () => {
  // x + x + ... + x: before, each reader was added, dropped and replaced through a list of
  // them all (a train compile of a 100,000-term sum took 15 s, 4 s for half as many terms).
  const b = new GraphBuilder("sum");
  const x = b.input("x", { dtype: "f32", shape: [2] });
  let acc = x;
  for (let i = 0; i < 100_000; i++) [acc] = b.addNode("Add", [acc, x], {}, { name: `add${i}` });
  b.output(acc, "y");
  const t0 = performance.now();
  const uses = new Uses(b.graph);
  assert.equal(uses.readerCount(x), 100_000);
  assert.equal(uses.soleReader(x), undefined);
  for (const n of b.graph.nodes.slice(0, 50_000)) uses.drop(n);
  assert.equal(uses.readerCount(x), 50_000);
  assert.equal(uses.readers(x)[0].name, "add50000");
  uses.replace(x, "z");
  assert.equal(uses.readerCount("z"), 50_000);
  assert.ok(performance.now() - t0 < 3_000, `${performance.now() - t0} ms`);
});
