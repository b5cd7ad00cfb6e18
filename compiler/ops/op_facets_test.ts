/**
 * The op-facets test: every op of the table has every facet. Its entry is
 * complete (op, since, ports, typed attributes, a shape rule, a lowering
 * for each op whose ONNX signature changes between opsets 17 and 21) and
 * agrees with the operator spec in `../shared/onnx-operators.md` (version,
 * attribute names, port names); it has a reference kernel under the same
 * key; it declares exactly one gradient facet (a rule, `differentiable:
 * false`, or `noGradYet`), and a rule has a finite-difference case in
 * `compiler/grad/grad_cases.ts`. The ops the CNN family and training need
 * are all there.
 */
import assert from "node:assert/strict";
import type { AttrValue } from "../ir/graph.ts";
import { KERNELS } from "../../runtime/reference/kernels/mod.ts";
import { GRAD_CASES } from "../grad/grad_cases.ts";
import { allOps, type AttrType, getOp, type OpDef, opKey, OPS } from "./mod.ts";
import { DLM_DOMAIN } from "./stop_gradient.ts";

const SPEC = new URL("../../../shared/onnx-operators.md", import.meta.url);

const REQUIRED = (
  "Abs Add And ArgMax AveragePool BatchNormalization Cast Ceil Clip Concat Constant " +
  "ConstantOfShape Conv ConvTranspose Cos Div Dropout Elu Equal Erf Exp Expand Flatten Floor " +
  "Gather Gemm GlobalAveragePool GlobalMaxPool Greater GreaterOrEqual HardSigmoid HardSwish " +
  "Identity InstanceNormalization LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax " +
  "LRN MatMul Max MaxPool Mean Min Mod Mul Neg Not Or Pad PRelu Pow RandomNormalLike " +
  "RandomUniformLike Range Reciprocal ReduceMax ReduceMean ReduceMin ReduceSum ReduceSumSquare " +
  "ReduceL2 Relu Reshape Selu Shape Sigmoid Sign Sin Slice Softmax Softplus Split Sqrt Squeeze " +
  "Sub Sum Tanh Tile Transpose Trilu Unsqueeze Where Einsum CumSum TopK OneHot Resize " +
  "GatherElements"
).split(" ");

/**
 * Ops whose ONNX signature changes between opsets 18 and 21 in a way an
 * opset-17 node cannot be emitted as is: the Reduce ops other than
 * ReduceSum take `axes` as an input from 18, and Split without `split`
 * needs `num_outputs` from 18.
 */
const CHANGED_AFTER_17 = [
  "ReduceL2",
  "ReduceMax",
  "ReduceMean",
  "ReduceMin",
  "ReduceSumSquare",
  "Split",
];

/** Spec attributes dlm leaves out on purpose. */
const OMITTED_ATTRS: Record<string, string[]> = { Constant: ["sparse_value"] };
/** Attributes of a later opset declared so that lowered nodes can carry them. */
const LATER_ATTRS: Record<string, string[]> = { Split: ["num_outputs"] };

const ATTR_TYPES: AttrType[] = [
  "int",
  "float",
  "string",
  "ints",
  "floats",
  "strings",
  "tensor",
  "graph",
];

interface SpecOp {
  version: number;
  attrs: string[];
  inputs: string[];
  outputs: string[];
}

/** Port lists read as "name", "name?" (optional) or "name..." (variadic). */
function readSpec(): Map<string, SpecOp> {
  const out = new Map<string, SpecOp>();
  const text = Deno.readTextFileSync(SPEC);
  for (const section of text.split(/\n## /).slice(1)) {
    const name = section.slice(0, section.indexOf("\n"));
    const version = Number(/Version (\d+)/.exec(section)?.[1]);
    const part = (h: string) => (section.split(`**${h}**`)[1] ?? "").split("**")[0];
    const ports = (t: string) =>
      [...t.matchAll(/^- `(\w+)`( \((optional|variadic)[^)]*\))?/gm)].map((m) =>
        m[1] + (m[3] === "optional" ? "?" : m[3] === "variadic" ? "..." : "")
      );
    out.set(name, {
      version,
      attrs: [...part("Attributes").matchAll(/^- `(\w+)`/gm)].map((m) => m[1]).sort(),
      inputs: ports(part("Inputs")),
      outputs: ports(part("Outputs")),
    });
  }
  return out;
}

function portList(def: OpDef, which: "inputs" | "outputs"): string[] {
  return def[which].map((p) => p.name + (p.optional ? "?" : p.variadic ? "..." : ""));
}

function defaultFits(type: AttrType, v: AttrValue): boolean {
  switch (type) {
    case "int":
      return Number.isInteger(v);
    case "float":
      return typeof v === "number";
    case "string":
      return typeof v === "string";
    case "ints":
      return Array.isArray(v) && v.every((x) => Number.isInteger(x));
    case "floats":
      return Array.isArray(v) && v.every((x) => typeof x === "number");
    case "strings":
      return Array.isArray(v) && v.every((x) => typeof x === "string");
    case "tensor":
      return typeof v === "object" && v !== null && "dtype" in v && "data" in v;
    case "graph":
      return typeof v === "object" && v !== null && "nodes" in v;
  }
}

/** Ops that must have a gradient rule (issue 4). */
const REQUIRED_GRADS = (
  "Add Sub Mul Div Neg Pow Exp Log Sqrt Reciprocal Abs Relu LeakyRelu Elu Sigmoid Tanh Softplus " +
  "Erf Identity Dropout Clip Max Min MatMul Gemm Conv MaxPool GlobalAveragePool Flatten Reshape " +
  "Squeeze Unsqueeze Transpose Concat ReduceSum ReduceMean ReduceMax Softmax LogSoftmax Expand " +
  "Where Cast Sum Mean GatherElements LayerNormalization BatchNormalization Slice Split " +
  // Issue 4, second round: embeddings, pooling, padding and the remaining activations.
  "Gather AveragePool Tile Pad Sin Cos HardSigmoid HardSwish Selu PRelu InstanceNormalization " +
  "ConvTranspose ReduceSumSquare ReduceL2 ReduceMin GlobalMaxPool LRN CumSum Trilu"
).split(" ");

/**
 * What is missing from the ops `defs`: a kernel in `kernels` (keyed as the
 * op table is), exactly one gradient facet, and a gradient case (an op name
 * in `gradCases`) for each op with a rule. One message per problem.
 */
function facetProblems(
  defs: readonly OpDef[],
  kernels: Record<string, unknown>,
  gradCases: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  for (const def of defs) {
    const k = opKey(def.op, def.domain);
    if (!Object.hasOwn(kernels, k)) problems.push(`${k} has no reference kernel`);
    const facets = [
      def.grad !== undefined,
      def.differentiable === false,
      def.noGradYet !== undefined,
    ].filter(Boolean).length;
    if (facets === 0) {
      problems.push(`${k} has no gradient facet: give it grad, differentiable: false or noGradYet`);
    }
    if (facets > 1) problems.push(`${k} has more than one gradient facet`);
    if (def.noGradYet !== undefined && !def.noGradYet.trim()) {
      problems.push(`${k} has an empty noGradYet reason`);
    }
    if (def.grad && !gradCases.has(def.op)) {
      problems.push(`${k} has a gradient rule but no case in compiler/grad/grad_cases.ts`);
    }
  }
  return problems;
}

Deno.test("every op has a kernel, one gradient facet, and a gradient case for its rule", () => {
  const cases = new Set(GRAD_CASES.map((c) => c.op));
  assert.deepEqual(facetProblems(allOps(), KERNELS, cases), []);
});

Deno.test("the facets check reports an op without kernel, without gradient case or facet", () => {
  const base = getOp("Relu")!;
  const defs: OpDef[] = [
    { ...base, op: "NoKernel", differentiable: false, grad: undefined },
    { ...base, op: "NoCase" },
    { ...base, op: "NoFacet", grad: undefined },
    { ...base, op: "TwoFacets", differentiable: false },
  ];
  const kernels = { NoCase: 1, NoFacet: 1, TwoFacets: 1 };
  assert.deepEqual(facetProblems(defs, kernels, new Set(["TwoFacets"])), [
    "NoKernel has no reference kernel",
    "NoCase has a gradient rule but no case in compiler/grad/grad_cases.ts",
    "NoFacet has no gradient facet: give it grad, differentiable: false or noGradYet",
    "TwoFacets has more than one gradient facet",
  ]);
});

Deno.test("the op table is keyed by each entry's op and domain, as the kernel table is", () => {
  for (const [k, def] of OPS) assert.equal(k, opKey(def.op, def.domain));
  const contrib = allOps().filter((d) => d.domain).map((d) => opKey(d.op, d.domain));
  assert.ok(contrib.length > 0);
  for (const k of contrib) assert.match(k, /^(com\.microsoft|dlm)::/);
});

Deno.test("every op issue 4 needs has a gradient rule", () => {
  const missing = REQUIRED_GRADS.filter((op) => !getOp(op)?.grad);
  assert.deepEqual(missing, []);
});

Deno.test("every op of the CNN family is in the table", () => {
  const missing = REQUIRED.filter((op) => !getOp(op));
  assert.deepEqual(missing, []);
});

Deno.test("every table entry has op, since, ports, typed attributes and a shape rule", () => {
  for (const def of allOps()) {
    const where = `op ${def.op}`;
    assert.match(def.op, /^[A-Z][A-Za-z0-9]*$/, where);
    assert.ok(
      Number.isInteger(def.since) && def.since >= 1 && def.since <= 17,
      `${where}: since ${def.since}`,
    );
    assert.ok(Array.isArray(def.inputs) && Array.isArray(def.outputs), where);
    assert.ok(def.outputs.length >= 1, `${where} has no outputs`);
    for (const p of [...def.inputs, ...def.outputs]) assert.match(p.name, /^\w+$/, where);
    for (const ports of [def.inputs, def.outputs]) {
      const v = ports.findIndex((p) => p.variadic);
      assert.ok(v < 0 || v === ports.length - 1, `${where}: only the last port may be variadic`);
    }
    for (const [name, spec] of Object.entries(def.attrs)) {
      assert.ok(
        ATTR_TYPES.includes(spec.type),
        `${where}: attribute ${name} has type ${spec.type}`,
      );
      if (spec.default !== undefined) {
        assert.ok(
          defaultFits(spec.type, spec.default),
          `${where}: default of ${name} is not ${spec.type}`,
        );
      }
    }
    assert.equal(typeof def.infer, "function", where);
    if (def.lower) assert.equal(typeof def.lower, "function", where);
  }
});

Deno.test("table entries match the ONNX operator spec at opset 17", () => {
  const spec = readSpec();
  // Other domains (onnxruntime's com.microsoft contrib ops) are not in the ONNX spec.
  for (const def of allOps().filter((d) => !d.domain)) {
    const s = spec.get(def.op);
    assert.ok(s, `${def.op} is not in the spec`);
    assert.equal(def.since, s.version, `${def.op}: since`);
    const attrs = s.attrs.filter((a) => !(OMITTED_ATTRS[def.op] ?? []).includes(a));
    const ours = Object.keys(def.attrs).filter((a) => !(LATER_ATTRS[def.op] ?? []).includes(a));
    assert.deepEqual(ours.sort(), attrs, `${def.op}: attributes`);
    assert.deepEqual(portList(def, "inputs"), s.inputs, `${def.op}: inputs`);
    assert.deepEqual(portList(def, "outputs"), s.outputs, `${def.op}: outputs`);
  }
});

Deno.test("every op whose signature changes after opset 17 has a lowering", () => {
  for (const op of CHANGED_AFTER_17) assert.equal(typeof getOp(op)?.lower, "function", op);
  const others = allOps().filter((d) =>
    d.lower && d.domain !== DLM_DOMAIN && !CHANGED_AFTER_17.includes(d.op)
  ).map((d) => d.op);
  assert.deepEqual(others, [], "ops with a lowering that is not listed as changed");
});

Deno.test("every dlm-internal op lowers to standard ONNX ops at every opset", () => {
  const internal = allOps().filter((d) => d.domain === DLM_DOMAIN);
  assert.ok(internal.length > 0);
  for (const def of internal) {
    assert.equal(typeof def.lower, "function", `${def.op} has no lowering`);
    const node = {
      name: "n",
      op: def.op,
      domain: def.domain,
      inputs: def.inputs.map((p) => p.name),
      outputs: def.outputs.map((p) => p.name),
      attrs: {},
    };
    for (let opset = 17; opset <= 21; opset++) {
      for (const n of def.lower!(node, opset)) {
        assert.equal(
          n.domain ?? "",
          "",
          `${def.op} at opset ${opset} lowers to ${opKey(n.op, n.domain)}`,
        );
        assert.ok(getOp(n.op), `${def.op} at opset ${opset} lowers to ${n.op}, not in the table`);
      }
    }
  }
});
