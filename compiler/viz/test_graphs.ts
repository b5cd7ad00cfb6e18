/**
 * Hand-built IR graphs for the drawing tests. They are written out literally,
 * with their types worked out here, because the drawing code must not depend
 * on the op table and neither should its tests.
 */
import type { AttrValue, Dim, Graph, Span, TensorType } from "../ir/graph.ts";
import { emptyGraph } from "../ir/graph.ts";
import { type DType, tensor, zeros } from "../ir/tensor.ts";

/** Appends nodes to a graph with explicitly given output types. */
class LiteralBuilder {
  readonly g: Graph;
  #count = 0;
  constructor(name: string, readonly file: string) {
    this.g = emptyGraph(name);
  }
  span(line: number, col = 3): Span {
    return { file: this.file, line, col, endLine: line, endCol: col + 10 };
  }
  input(name: string, type: TensorType, line: number): string {
    this.g.inputs.push({ name, type });
    this.g.types.set(name, type);
    this.g.spans!.set(name, this.span(line));
    return name;
  }
  param(name: string, dtype: DType, shape: number[]): string {
    this.g.initializers.set(name, zeros(dtype, shape));
    this.g.types.set(name, { dtype, shape });
    this.g.params.push({ name, role: name.split(".").pop()!, trainable: true });
    return name;
  }
  constant(name: string, dtype: DType, shape: number[], values: number[]): string {
    this.g.initializers.set(name, tensor(dtype, shape, values));
    this.g.types.set(name, { dtype, shape });
    return name;
  }
  node(
    op: string,
    name: string,
    inputs: string[],
    attrs: Record<string, AttrValue>,
    out: TensorType,
    lines: number[],
  ): string {
    const o = `${name}:${this.#count++}`;
    this.g.nodes.push({
      name,
      op,
      inputs,
      outputs: [o],
      attrs,
      spans: lines.map((l) => this.span(l)),
    });
    this.g.types.set(o, out);
    return o;
  }
  output(value: string, name: string, line: number): void {
    // Rename the producer's output so the graph output carries the user's name.
    const n = this.g.nodes.find((n) => n.outputs.includes(value))!;
    n.outputs = n.outputs.map((o) => (o === value ? name : o));
    for (const m of this.g.nodes) m.inputs = m.inputs.map((i) => (i === value ? name : i));
    const type = this.g.types.get(value)!;
    this.g.types.delete(value);
    this.g.types.set(name, type);
    this.g.outputs.push({ name, type });
    this.g.spans!.set(name, this.span(line));
  }
}

const f32 = (...shape: Dim[]): TensorType => ({ dtype: "f32", shape });

/**
 * A small residual net touching every feature of the drawing: a Conv with
 * weights, a batch norm, a skip connection, a tiny constant shown by value, a
 * Constant node with a tensor attribute, a fused node with two spans, a name
 * that needs escaping, and two outputs.
 */
export function smallGraph(): Graph {
  const b = new LiteralBuilder("Tiny", "examples/tiny.dlm");
  const x = b.input("image", f32("N", 3, 32, 32), 2);
  const w = b.param("stem.conv.weight", "f32", [16, 3, 3, 3]);
  const bias = b.param("stem.conv.bias", "f32", [16]);
  const c = b.node(
    "Conv",
    "stem.conv",
    [x, w, bias],
    {
      kernel_shape: [3, 3],
      strides: [1, 1],
      pads: [1, 1, 1, 1],
      group: 1,
    },
    f32("N", 16, 32, 32),
    [4],
  );
  const bn = b.node(
    "BatchNormalization",
    "stem.bn",
    [
      c,
      b.param("stem.bn.weight", "f32", [16]),
      b.param("stem.bn.bias", "f32", [16]),
      b.param("stem.bn.running_mean", "f32", [16]),
      b.param("stem.bn.running_var", "f32", [16]),
    ],
    { epsilon: 1e-5, momentum: 0.9 },
    f32("N", 16, 32, 32),
    [5],
  );
  const r = b.node("Relu", "stem.relu", [bn], {}, f32("N", 16, 32, 32), [5]);
  const p = b.node(
    "MaxPool",
    "pool",
    [r],
    {
      kernel_shape: [2, 2],
      strides: [2, 2],
    },
    f32("N", 16, 16, 16),
    [6],
  );
  const half = b.constant("half", "f32", [], [0.5]);
  const scaled = b.node("Mul", "block.scale", [p, half], {}, f32("N", 16, 16, 16), [8]);
  const y = b.node(
    "Conv",
    "block.conv",
    [
      scaled,
      b.param("block.conv.weight", "f32", [16, 16, 3, 3]),
    ],
    { kernel_shape: [3, 3], pads: [1, 1, 1, 1] },
    f32("N", 16, 16, 16),
    [9],
  );
  // A fused Add+Relu keeps both source lines.
  const s = b.node("Add", "block.add_relu", [y, p], {}, f32("N", 16, 16, 16), [10, 11]);
  const shape = b.node(
    "Constant",
    "head.shape",
    [],
    {
      value: tensor("i64", [2], [-1, 4096]),
    },
    { dtype: "i64", shape: [2] },
    [13],
  );
  const flat = b.node("Reshape", "head.flatten", [s, shape], {}, f32("N", 4096), [13]);
  const logits = b.node(
    "Gemm",
    'head."fc"\\out',
    [flat, b.param("head.fc.weight", "f32", [10, 4096]), b.param("head.fc.bias", "f32", [10])],
    { transB: 1 },
    f32("N", 10),
    [14],
  );
  const probs = b.node("Softmax", "head.softmax", [logits], { axis: -1 }, f32("N", 10), [15]);
  b.output(logits, "logits", 14);
  b.output(probs, "probs", 15);
  return b.g;
}

/**
 * torchvision's ResNet-50 (bottleneck blocks [3, 4, 6, 3], 1000 classes),
 * batch norms unfused: 175 nodes, long and thin, 16 skip connections.
 */
export function resnet50Graph(): Graph {
  const b = new LiteralBuilder("ResNet50", "lang-examples/resnet50.dlm");
  const x = b.input("image", f32("N", 3, 224, 224), 30);
  const conv = (
    name: string,
    v: string,
    cin: number,
    cout: number,
    k: number,
    stride: number,
    hw: number,
    line: number,
  ): [string, number] => {
    const pad = Math.floor(k / 2);
    const out = Math.floor((hw + 2 * pad - k) / stride) + 1;
    const w = b.param(`${name}.weight`, "f32", [cout, cin, k, k]);
    const o = b.node(
      "Conv",
      name,
      [v, w],
      {
        kernel_shape: [k, k],
        strides: [stride, stride],
        pads: [pad, pad, pad, pad],
      },
      f32("N", cout, out, out),
      [line],
    );
    return [o, out];
  };
  const bn = (name: string, v: string, c: number, hw: number, line: number): string =>
    b.node(
      "BatchNormalization",
      name,
      [
        v,
        b.param(`${name}.weight`, "f32", [c]),
        b.param(`${name}.bias`, "f32", [c]),
        b.param(`${name}.running_mean`, "f32", [c]),
        b.param(`${name}.running_var`, "f32", [c]),
      ],
      { epsilon: 1e-5 },
      f32("N", c, hw, hw),
      [line],
    );
  const relu = (name: string, v: string, c: number, hw: number, line: number) =>
    b.node("Relu", name, [v], {}, f32("N", c, hw, hw), [line]);

  let [v, hw] = conv("conv1", x, 3, 64, 7, 2, 224, 31);
  v = relu("relu", bn("bn1", v, 64, hw, 31), 64, hw, 31);
  v = b.node(
    "MaxPool",
    "maxpool",
    [v],
    {
      kernel_shape: [3, 3],
      strides: [2, 2],
      pads: [1, 1, 1, 1],
    },
    f32("N", 64, 56, 56),
    [32],
  );
  hw = 56;
  let cin = 64;
  const stages: [number, number][] = [[3, 64], [4, 128], [6, 256], [3, 512]];
  stages.forEach(([blocks, width], s) => {
    for (let i = 0; i < blocks; i++) {
      const p = `layer${s + 1}.${i}`;
      const stride = i === 0 && s > 0 ? 2 : 1;
      const skipIn = v;
      let [y, h1] = conv(`${p}.conv1`, v, cin, width, 1, 1, hw, 12);
      y = relu(`${p}.relu1`, bn(`${p}.bn1`, y, width, h1, 12), width, h1, 12);
      let h2: number;
      [y, h2] = conv(`${p}.conv2`, y, width, width, 3, stride, h1, 13);
      y = relu(`${p}.relu2`, bn(`${p}.bn2`, y, width, h2, 13), width, h2, 13);
      [y] = conv(`${p}.conv3`, y, width, width * 4, 1, 1, h2, 14);
      y = bn(`${p}.bn3`, y, width * 4, h2, 14);
      let skip = skipIn;
      if (i === 0) {
        const [d] = conv(`${p}.downsample.0`, skipIn, cin, width * 4, 1, stride, hw, 16);
        skip = bn(`${p}.downsample.1`, d, width * 4, h2, 16);
      }
      const sum = b.node("Add", `${p}.add`, [y, skip], {}, f32("N", width * 4, h2, h2), [18]);
      v = relu(`${p}.relu3`, sum, width * 4, h2, 18);
      cin = width * 4;
      hw = h2;
    }
  });
  v = b.node("GlobalAveragePool", "avgpool", [v], {}, f32("N", 2048, 1, 1), [38]);
  v = b.node("Flatten", "flatten", [v], { axis: 1 }, f32("N", 2048), [38]);
  const logits = b.node(
    "Gemm",
    "fc",
    [
      v,
      b.param("fc.weight", "f32", [1000, 2048]),
      b.param("fc.bias", "f32", [1000]),
    ],
    { transB: 1 },
    f32("N", 1000),
    [39],
  );
  b.output(logits, "logits", 39);
  return b.g;
}

/**
 * Two Inception modules (four branches merged by a Concat) and a Split with
 * two outputs feeding two heads: wide layers, fan-in of four, multi-output nodes.
 */
export function inceptionGraph(): Graph {
  const b = new LiteralBuilder("InceptionLike", "lang-examples/inception.dlm");
  let v = b.input("image", f32("N", 3, 64, 64), 1);
  const conv = (name: string, x: string, cin: number, cout: number, k: number, line: number) =>
    b.node(
      "Conv",
      name,
      [x, b.param(`${name}.weight`, "f32", [cout, cin, k, k])],
      {
        kernel_shape: [k, k],
        pads: Array(4).fill(Math.floor(k / 2)),
      },
      f32("N", cout, 32, 32),
      [line],
    );
  const relu = (name: string, x: string, c: number, line: number) =>
    b.node("Relu", name, [x], {}, f32("N", c, 32, 32), [line]);
  v = b.node(
    "Conv",
    "stem",
    [v, b.param("stem.weight", "f32", [64, 3, 7, 7])],
    {
      kernel_shape: [7, 7],
      strides: [2, 2],
      pads: [3, 3, 3, 3],
    },
    f32("N", 64, 32, 32),
    [3],
  );
  let cin = 64;
  for (const m of ["mixed_a", "mixed_b"]) {
    const b1 = relu(`${m}.b1.relu`, conv(`${m}.b1.conv`, v, cin, 32, 1, 10), 32, 10);
    const b2a = relu(`${m}.b2.relu1`, conv(`${m}.b2.reduce`, v, cin, 48, 1, 11), 48, 11);
    const b2 = relu(`${m}.b2.relu2`, conv(`${m}.b2.conv`, b2a, 48, 64, 3, 11), 64, 11);
    const b3a = relu(`${m}.b3.relu1`, conv(`${m}.b3.reduce`, v, cin, 16, 1, 12), 16, 12);
    const b3 = relu(`${m}.b3.relu2`, conv(`${m}.b3.conv`, b3a, 16, 32, 5, 12), 32, 12);
    const p = b.node(
      "MaxPool",
      `${m}.b4.pool`,
      [v],
      {
        kernel_shape: [3, 3],
        pads: [1, 1, 1, 1],
      },
      f32("N", cin, 32, 32),
      [13],
    );
    const b4 = relu(`${m}.b4.relu`, conv(`${m}.b4.conv`, p, cin, 32, 1, 13), 32, 13);
    v = b.node("Concat", `${m}.concat`, [b1, b2, b3, b4], { axis: 1 }, f32("N", 160, 32, 32), [
      14,
    ]);
    cin = 160;
  }
  const pooled = b.node("GlobalAveragePool", "pool", [v], {}, f32("N", 160, 1, 1), [20]);
  // Split has two outputs: rename the builder's single output and add a second.
  const split = b.node("Split", "heads.split", [pooled], { axis: 1 }, f32("N", 80, 1, 1), [21]);
  const splitNode = b.g.nodes[b.g.nodes.length - 1];
  splitNode.outputs.push("heads.split:1");
  b.g.types.set("heads.split:1", f32("N", 80, 1, 1));
  const left = b.node("Flatten", "heads.a", [split], { axis: 1 }, f32("N", 80), [22]);
  const right = b.node("Flatten", "heads.b", ["heads.split:1"], { axis: 1 }, f32("N", 80), [23]);
  b.output(left, "a", 22);
  b.output(right, "b", 23);
  return b.g;
}
