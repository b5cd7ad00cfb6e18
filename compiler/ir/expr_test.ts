import assert from "node:assert/strict";
import type { AttrValue, TensorType } from "./graph.ts";
import { type BuilderLike, builderSink, ConstantPool, exprGraph, type NodeSink } from "./expr.ts";
import { type Tensor, tensor } from "./tensor.ts";

/** A sink that records nodes and constants; every value is f32[2] unless it is a constant. */
function recorder() {
  const nodes: {
    op: string;
    inputs: string[];
    attrs: Record<string, AttrValue>;
    name?: string;
  }[] = [];
  const consts: Tensor[] = [];
  const types = new Map<string, TensorType>();
  const pool = new ConstantPool();
  const sink: NodeSink = {
    node(op, inputs, attrs, opts) {
      nodes.push({ op, inputs, attrs, name: opts.name });
      const out = `${op.toLowerCase()}_${nodes.length}`;
      types.set(out, { dtype: "f32", shape: [2] });
      return [out];
    },
    constant: (t) =>
      pool.get(t, (t) => {
        consts.push(t);
        const name = `c${consts.length}`;
        types.set(name, { dtype: t.dtype, shape: [...t.shape] });
        return name;
      }),
    typeOf: (name) => types.get(name) ?? { dtype: "f32", shape: [2] },
  };
  return { sink, nodes, consts, types };
}

Deno.test("an expression appends its nodes in evaluation order: receiver, then arguments", () => {
  const r = recorder();
  const e = exprGraph(r.sink);
  const g = e.v("g"), y = e.v("y");
  // sigmoid' = y (1 - y)
  const dx = g.mul(y.mul(y.rsub(1)));
  assert.deepEqual(r.nodes.map((n) => n.op), ["Sub", "Mul", "Mul"]);
  assert.deepEqual(r.nodes[0].inputs, ["c1", "y"]);
  assert.deepEqual(r.nodes[2].inputs, ["g", "mul_2"]);
  assert.deepEqual(dx.name, "mul_3");
});

Deno.test("a node is named through its options, from the graph or from its first operand", () => {
  const r = recorder();
  const e = exprGraph(r.sink);
  // LoRA's and prefix tuning's nodes keep names that merges and tests look for.
  const y = e.v("x").op("Mul", ["l"], {}, { name: "fc.ia3.a" });
  e.op1("Concat", [y, "k"], { axis: 0 }, { name: "attn.keys" });
  y.relu();
  assert.deepEqual(r.nodes.map((n) => n.name), ["fc.ia3.a", "attn.keys", undefined]);
  assert.deepEqual(r.nodes[1].inputs, ["mul_1", "k"]);
});

Deno.test("number operands become scalars of the other operand's dtype, shared by value", () => {
  const r = recorder();
  const e = exprGraph(r.sink);
  r.types.set("h", { dtype: "f16", shape: [2] });
  e.v("x").add(1).mul(1).sub(2);
  e.v("h").add(1);
  assert.deepEqual(r.consts.map((t) => [t.dtype, Number(t.data[0])]), [["f32", 1], ["f32", 2], [
    "f16",
    1,
  ]]);
});

Deno.test("a context with a scalar dtype makes every number operand of that dtype", () => {
  const r = recorder();
  const e = exprGraph(r.sink, "f32");
  r.types.set("i", { dtype: "i64", shape: [] });
  e.v("i").add(3);
  assert.deepEqual(r.consts[0].dtype, "f32");
  e.v("i").greater(0).where(1, 2);
  assert.deepEqual(r.nodes.at(-1)!.op, "Where");
});

Deno.test("where() of two numbers needs a context with a scalar dtype", () => {
  const e = exprGraph(recorder().sink);
  assert.throws(() => e.v("c").where(1, 2), /two numbers/);
});

Deno.test("reductions set keepdims only when asked, and ReduceSum takes its axes as an input", () => {
  const r = recorder();
  const e = exprGraph(r.sink);
  e.v("x").sum([1]);
  e.v("x").sum([1], false);
  e.v("x").mean([0, 1], true);
  e.v("x").sumAll();
  assert.deepEqual(r.nodes.map((n) => [n.op, n.inputs.length, n.attrs]), [
    ["ReduceSum", 2, {}],
    ["ReduceSum", 2, { keepdims: 0 }],
    ["ReduceMean", 1, { axes: [0, 1], keepdims: 1 }],
    ["ReduceSum", 1, { keepdims: 0 }],
  ]);
  assert.deepEqual(r.consts[0].dtype, "i64");
});

Deno.test("scale(1) and axpy(0, ...) add no node", () => {
  const r = recorder();
  const e = exprGraph(r.sink);
  const x = e.v("x");
  assert.equal(x.scale(1), x);
  assert.equal(x.axpy(0, e.v("y")), x);
  assert.deepEqual(r.nodes.length, 0);
});

Deno.test("the constant pool keeps 0 and -0 apart and never shares large tensors", () => {
  let n = 0;
  const pool = new ConstantPool();
  const make = () => `k${++n}`;
  const a = pool.get(tensor("f32", [], [0]), make);
  const b = pool.get(tensor("f32", [], [-0]), make);
  const a2 = pool.get(tensor("f32", [], [0]), make);
  assert.deepEqual([a, b, a2], ["k1", "k2", "k1"]);
  const big = tensor("f32", [17], new Array(17).fill(1));
  assert.deepEqual(pool.get(big, make) === pool.get(big, make), false);
});

Deno.test("the constant pool makes a constant again once its initializer is gone", () => {
  const alive = new Set<string>();
  let n = 0;
  const pool = new ConstantPool((name) => alive.has(name));
  const make = () => {
    const name = `k${++n}`;
    alive.add(name);
    return name;
  };
  const one = tensor("f32", [], [1]);
  assert.deepEqual(pool.get(one, make), "k1");
  alive.delete("k1");
  assert.deepEqual(pool.get(one, make), "k2");
});

/** A stand-in for GraphBuilder: fresh names `base`, `base_1`, ..., every node f32[3]. */
function fakeBuilder() {
  const used = new Set<string>();
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
  const types = new Map<string, TensorType>([["x", { dtype: "f32", shape: [3] }]]);
  const ops: string[] = [];
  const b: BuilderLike = {
    graph: { initializers: new Map<string, Tensor>() },
    addNode(op) {
      ops.push(op);
      const out = fresh(op.toLowerCase());
      types.set(out, { dtype: "f32", shape: [3] });
      return [out];
    },
    typeOf: (name) => types.get(name),
    initializer(base, t) {
      const name = fresh(base);
      b.graph.initializers.set(name, t);
      types.set(name, { dtype: t.dtype, shape: [...t.shape] });
      return name;
    },
  };
  return { b, ops };
}

Deno.test("builderSink names constants after its base and types values through the builder", () => {
  const { b, ops } = fakeBuilder();
  const e = exprGraph(builderSink(b, "train_const"));
  const y = e.v("x").mul(2).add(2).sqrt();
  assert.deepEqual([...b.graph.initializers.keys()], ["train_const"]);
  assert.deepEqual(y.type, { dtype: "f32", shape: [3] });
  assert.deepEqual(ops, ["Mul", "Add", "Sqrt"]);
  // A second context on the same builder has a pool of its own.
  exprGraph(builderSink(b, "train_const")).v("x").add(2);
  assert.deepEqual([...b.graph.initializers.keys()], ["train_const", "train_const_1"]);
});

Deno.test("a pool that merges signed zeros shares one constant for 0 and -0, by dtype", () => {
  let n = 0;
  const pool = new ConstantPool(() => true, { mergeSignedZeros: true });
  const make = () => `k${++n}`;
  const a = pool.get(tensor("f32", [], [0]), make);
  const b = pool.get(tensor("f32", [], [-0]), make);
  const c = pool.get(tensor("f64", [], [-0]), make);
  assert.deepEqual([a, b, c], ["k1", "k1", "k2"]);
});

Deno.test("a pool that shares uniform tensors shares large zeros and ones by shape, not other large tensors", () => {
  let n = 0;
  const pool = new ConstantPool(() => true, { shareUniform: true });
  const make = () => `k${++n}`;
  const fill = (shape: number[], v: number) =>
    tensor("f32", shape, new Array(shape.reduce((a, b) => a * b, 1)).fill(v));
  const z = pool.get(fill([64], 0), make), z2 = pool.get(fill([64], 0), make);
  const o = pool.get(fill([64], 1), make), o2 = pool.get(fill([64], 1), make);
  const other = pool.get(fill([32], 0), make), negZero = pool.get(fill([64], -0), make);
  assert.deepEqual([z, z2, o, o2, other, negZero], ["k1", "k1", "k2", "k2", "k3", "k4"]);
  const ramp = tensor("f32", [20], Array.from({ length: 20 }, (_, i) => i));
  assert.notEqual(pool.get(ramp, make), pool.get(ramp, make));
});
