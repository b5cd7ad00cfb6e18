import assert from "node:assert/strict";
import { formatAttr, formatFloat, formatTensor, formatValue } from "./print.ts";
import { printGraph } from "../ops/print_graph.ts";
import { emptyGraph, type Graph, type Span } from "./graph.ts";
import { f32ToF16, tensor, zeros } from "./tensor.ts";

const span = (line: number, col: number): Span => ({
  file: "m.dlm",
  line,
  col,
  endLine: line,
  endCol: col + 4,
});

/** conv -> batch norm -> (Split into two) with a small shape constant, as the elaborator would build it. */
function sample(): Graph {
  const g = emptyGraph("Tiny");
  g.inputs.push({ name: "x", type: { dtype: "f32", shape: ["N", 3, 8, 8] } });
  g.outputs.push({ name: "a", type: { dtype: "f32", shape: ["N", 2, 8, 8] } });
  g.outputs.push({ name: "b", type: { dtype: "f32", shape: ["N", 2, 8, 8] } });
  g.spans!.set("x", span(2, 3));
  g.spans!.set("a", span(3, 3));
  g.initializers.set("conv.weight", zeros("f32", [4, 3, 3, 3]));
  g.initializers.set("bn.running_var", tensor("f32", [4], [1, 0.5, 0.25, 2]));
  g.initializers.set("split", tensor("i64", [2], [2, 2]));
  g.params.push({
    name: "conv.weight",
    role: "weight",
    trainable: true,
    layer: "conv2d",
    span: span(4, 7),
  });
  g.params.push({
    name: "bn.running_var",
    role: "running_var",
    trainable: false,
    frozen: true,
    layer: "batch_norm",
  });
  g.nodes.push({
    name: "conv",
    op: "Conv",
    inputs: ["x", "conv.weight", ""],
    outputs: ["conv"],
    // Deliberately not in alphabetical order: the printer sorts.
    attrs: { strides: [1, 1], kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 1 },
    spans: [span(4, 7)],
  });
  g.nodes.push({
    name: "bn",
    op: "BatchNormalization",
    inputs: ["conv", "bn.running_var", "bn.running_var", "bn.running_var", "bn.running_var"],
    outputs: ["bn"],
    attrs: { epsilon: 1e-5, momentum: 0.9 },
    spans: [span(5, 7), span(6, 9)],
  });
  g.nodes.push({
    name: "halves",
    op: "Split",
    inputs: ["bn", "split"],
    outputs: ["a", "b"],
    attrs: { axis: 1 },
  });
  for (const [name, shape] of [["conv", ["N", 4, 8, 8]], ["bn", ["N", 4, 8, 8]]] as const) {
    g.types.set(name, { dtype: "f32", shape: [...shape] });
  }
  g.types.set("a", { dtype: "f32", shape: ["N", 2, 8, 8] });
  g.types.set("b", { dtype: "f32", shape: ["N", 2, 8, 8] });
  return g;
}

Deno.test("printGraph() lists inputs, outputs, initializers with their roles, and one line per node", () => {
  assert.equal(
    printGraph(sample()),
    [
      "graph Tiny  # 3 nodes, 3 initializers (114 elements)",
      "  input %x: f32[N, 3, 8, 8]  # m.dlm:2:3",
      "  output %a: f32[N, 2, 8, 8]  # m.dlm:3:3",
      "  output %b: f32[N, 2, 8, 8]",
      "  const %conv.weight: f32[4, 3, 3, 3]  weight of conv2d  # m.dlm:4:7",
      "  const %bn.running_var: f32[4] = [1.0, 0.5, 0.25, 2.0]  running_var of batch_norm, not trainable, frozen",
      "  const %split: i64[2] = [2, 2]",
      "  %conv = Conv[group=1, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]](%x, %conv.weight, _)" +
      "  : f32[N, 4, 8, 8]  # m.dlm:4:7",
      "  %bn = BatchNormalization[epsilon=1e-05, momentum=0.9](%conv, %bn.running_var, %bn.running_var, " +
      "%bn.running_var, %bn.running_var)  : f32[N, 4, 8, 8]  # m.dlm:5:7; m.dlm:6:9",
      "  %a, %b = Split[axis=1](%bn, %split)  : f32[N, 2, 8, 8], f32[N, 2, 8, 8]  # node halves",
      "",
    ].join("\n"),
  );
});

Deno.test("printGraph() is deterministic: attribute insertion order does not change the text", () => {
  const a = sample(), b = sample();
  b.nodes[0].attrs = { group: 1, pads: [1, 1, 1, 1], strides: [1, 1], kernel_shape: [3, 3] };
  assert.equal(printGraph(a), printGraph(b));
});

Deno.test("printGraph() names a fused node when it no longer matches its output", () => {
  const g = sample();
  // What fold_batch_norm leaves: the conv node computes the batch norm's output.
  g.nodes.splice(0, 2, { ...g.nodes[0], outputs: ["bn"], spans: [span(4, 7), span(5, 7)] });
  assert.match(
    printGraph(g),
    /\n {2}%bn = Conv\[.*\]\(%x, %conv\.weight, _\) {2}: f32\[N, 4, 8, 8\] {2}# conv at m\.dlm:4:7; m\.dlm:5:7\n/,
  );
});

Deno.test("printGraph() marks a value with no recorded type with '?'", () => {
  const g = sample();
  g.types.delete("bn");
  assert.match(printGraph(g), /%bn = BatchNormalization\[.*\]\(.*\) {2}: \?/);
});

Deno.test("printGraph() prints a subgraph attribute indented under its node", () => {
  const g = emptyGraph("Outer");
  g.inputs.push({ name: "c", type: { dtype: "bool", shape: [] } });
  g.outputs.push({ name: "y", type: { dtype: "f32", shape: [2] } });
  const branch = (name: string, v: number): Graph => {
    const s = emptyGraph(name);
    s.outputs.push({ name: `${name}_out`, type: { dtype: "f32", shape: [2] } });
    s.nodes.push({
      name: `${name}_c`,
      op: "Constant",
      inputs: [],
      outputs: [`${name}_out`],
      attrs: { value: tensor("f32", [2], [v, v]) },
    });
    s.types.set(`${name}_out`, { dtype: "f32", shape: [2] });
    return s;
  };
  g.nodes.push({
    name: "y",
    op: "If",
    inputs: ["c"],
    outputs: ["y"],
    attrs: { then_branch: branch("yes", 1), else_branch: branch("no", 0) },
  });
  g.types.set("y", { dtype: "f32", shape: [2] });
  assert.equal(
    printGraph(g),
    [
      "graph Outer  # 1 node, 0 initializers (0 elements)",
      "  input %c: bool[]",
      "  output %y: f32[2]",
      "  %y = If[else_branch=graph no, then_branch=graph yes](%c)  : f32[2]",
      "    graph no  # 1 node, 0 initializers (0 elements)",
      "      output %no_out: f32[2]",
      "      %no_out = Constant[value=f32[2] [0.0, 0.0]]()  : f32[2]  # node no_c",
      "    graph yes  # 1 node, 0 initializers (0 elements)",
      "      output %yes_out: f32[2]",
      "      %yes_out = Constant[value=f32[2] [1.0, 1.0]]()  : f32[2]  # node yes_c",
      "",
    ].join("\n"),
  );
});

Deno.test("formatFloat() gives the shortest form that round-trips through f32, as Python's repr writes it", () => {
  assert.equal(formatFloat(0.9), "0.9");
  assert.equal(formatFloat(Math.fround(0.9)), "0.9");
  assert.equal(formatFloat(1e-5), "1e-05");
  assert.equal(formatFloat(Math.fround(1e-5)), "1e-05");
  assert.equal(formatFloat(0.0001), "0.0001");
  assert.equal(formatFloat(1), "1.0");
  assert.equal(formatFloat(-2.5), "-2.5");
  assert.equal(formatFloat(1e16), "1e+16");
  assert.equal(formatFloat(1.5e-7), "1.5e-07");
  assert.equal(formatFloat(-3.25e20), "-3.25e+20");
  assert.equal(formatFloat(123456789), "123456790.0");
  assert.equal(formatFloat(Math.fround(0.1)), "0.1");
  assert.equal(formatFloat(NaN), "nan");
  assert.equal(formatFloat(Infinity), "inf");
  assert.equal(formatFloat(-Infinity), "-inf");
  assert.equal(formatFloat(0), "0.0");
  assert.equal(formatFloat(-0), "-0.0");
});

Deno.test("formatFloat() at f64 precision keeps every digit an f64 needs", () => {
  assert.equal(formatFloat(0.1 + 0.2, "f64"), "0.30000000000000004");
  assert.equal(formatFloat(0.1 + 0.2), "0.3");
});

Deno.test("formatFloat() output reads back as the same f32 for many values", () => {
  let x = 0x12345678;
  for (let i = 0; i < 2000; i++) {
    // xorshift32: reproducible bit patterns over the whole f32 range.
    x ^= x << 13, x ^= x >>> 17, x ^= x << 5;
    const v = new Float32Array(new Uint32Array([x >>> 0]).buffer)[0];
    if (!Number.isFinite(v)) continue;
    const s = formatFloat(v);
    assert.equal(Math.fround(Number(s)), v, `${v} printed as ${s}`);
  }
});

Deno.test("formatAttr() tells float attributes from int ones by their type", () => {
  assert.equal(formatAttr(1, "float"), "1.0");
  assert.equal(formatAttr(1, "int"), "1");
  assert.equal(formatAttr(0.5), "0.5");
  assert.equal(formatAttr(3), "3");
  assert.equal(formatAttr([1, 2], "floats"), "[1.0, 2.0]");
  assert.equal(formatAttr([1, -2], "ints"), "[1, -2]");
  assert.equal(formatAttr("NOTSET", "string"), '"NOTSET"');
  assert.equal(formatAttr(["a", "b"], "strings"), '["a", "b"]');
  assert.equal(formatAttr(2 ** 63, "int"), "INT64_MAX");
  assert.equal(formatAttr([0, -(2 ** 63)], "ints"), "[0, INT64_MIN]");
  assert.equal(formatAttr(tensor("i64", [2], [0, -1]), "tensor"), "i64[2] [0, -1]");
  assert.equal(formatAttr(zeros("f32", [3, 3]), "tensor"), "f32[3, 3]");
});

Deno.test("formatTensor() shows values of tensors of at most 8 elements only", () => {
  assert.equal(formatTensor(tensor("f32", [], [0.5])), "f32[] = 0.5");
  assert.equal(
    formatTensor(tensor("f32", [8], [1, 2, 3, 4, 5, 6, 7, 8])),
    "f32[8] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]",
  );
  assert.equal(formatTensor(zeros("f32", [9])), "f32[9]");
  assert.equal(formatTensor(tensor("bool", [2], [1, 0])), "bool[2] = [true, false]");
  assert.equal(
    formatTensor({ dtype: "str", shape: [1], data: ['say "hi"'] }),
    'str[1] = ["say \\"hi\\""]',
  );
  assert.equal(formatTensor(tensor("f64", [1], [0.1])), "f64[1] = [0.1]");
  assert.equal(
    formatTensor({ dtype: "f16", shape: [1], data: new Uint16Array([f32ToF16(0.5)]) }),
    "f16[1] = [0.5]",
  );
  assert.equal(formatTensor(tensor("u64", [1], [7])), "u64[1] = [7]");
  assert.equal(formatTensor(zeros("f32", [0, 4])), "f32[0, 4] = []");
});

Deno.test("formatValue() quotes names that are not plain and writes an omitted value as _", () => {
  assert.equal(formatValue("layer1.0.conv1"), "%layer1.0.conv1");
  assert.equal(formatValue("a b"), '%"a b"');
  assert.equal(formatValue(""), "_");
});
