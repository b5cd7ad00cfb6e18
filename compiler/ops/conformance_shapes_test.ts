/**
 * Conformance of the shape rules against the official ONNX backend node
 * tests in `../shared/onnx-node-tests/node/*`: for every single-node case
 * whose op is registered, decode model.onnx and the input .pb files, run the
 * op's `infer` with the inputs' types (and the input tensors as constants,
 * so data-dependent shapes resolve) and compare with the expected outputs'
 * shapes and dtypes.
 *
 * Cases that fail are listed in EXPECTED_FAILURES with a reason; a listed
 * case that starts passing fails the test, so the list stays honest.
 */
import assert from "node:assert/strict";
import { longToNumber, onnx } from "../onnx/proto.ts";
import { fromTensorProto } from "../onnx/tensor_proto.ts";
import type { AttrValue, TensorType } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { formatType } from "../ir/graph.ts";
import { getOp, withDefaults } from "./mod.ts";

const NODE_DIR = new URL("../../../shared/onnx-node-tests/node/", import.meta.url);
const SPEC = new URL("../../../shared/onnx-operators.md", import.meta.url);

const NMS_DATA_DEPENDENT =
  "NonMaxSuppression's output length depends on the boxes' values, which a shape rule does not compute: it gives a fresh dim (the reference interpreter runs the case)";

/** Cases our rules deliberately do not support, each with its reason. */
const EXPECTED_FAILURES: Record<string, string> = {
  test_cast_FLOAT_to_BFLOAT16:
    "the expected output is stored as uint16 (the test generator's encoding of bfloat16); Cast(to=BFLOAT16) gives bf16",
  test_castlike_FLOAT_to_BFLOAT16_expanded:
    "the expected output is stored as uint16 (the test generator's encoding of bfloat16); Cast(to=BFLOAT16) gives bf16",
  test_scan_sum:
    "Scan-8 (a batch axis and a sequence_lens input) predates the opset-16 Scan dlm registers; this test helper also does not decode GRAPH attributes",
  test_scan9_sum:
    "this test helper converts attributes simply and does not decode the GRAPH attribute Scan needs (the reference interpreter runs the case in tests/conformance_test.ts)",
  test_loop11:
    "this test helper converts attributes simply and does not decode the GRAPH attribute Loop needs (the reference interpreter runs the case in tests/conformance_test.ts)",
  test_loop13_seq:
    "a loop-carried tensor sequence (Loop-13 over SequenceInsert); dlm values are tensors only",
  test_loop16_seq_none: "a loop-carried optional sequence; dlm values are tensors only",
  test_identity_opt: "the input is an optional value; dlm values are tensors only",
  test_nonmaxsuppression_center_point_box_format: NMS_DATA_DEPENDENT,
  test_nonmaxsuppression_flipped_coordinates: NMS_DATA_DEPENDENT,
  test_nonmaxsuppression_identical_boxes: NMS_DATA_DEPENDENT,
  test_nonmaxsuppression_limit_output_size: NMS_DATA_DEPENDENT,
  test_nonmaxsuppression_single_box: NMS_DATA_DEPENDENT,
  test_nonmaxsuppression_suppress_by_IOU: NMS_DATA_DEPENDENT,
  test_nonmaxsuppression_suppress_by_IOU_and_scores: NMS_DATA_DEPENDENT,
  test_nonmaxsuppression_two_batches: NMS_DATA_DEPENDENT,
  test_nonmaxsuppression_two_classes: NMS_DATA_DEPENDENT,
  test_identity_sequence: "the input is a tensor sequence; dlm values are tensors only",
};

/** ONNX AttributeProto.AttributeType codes. */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 };

function attrValue(a: any): AttrValue | undefined {
  const dec = new TextDecoder();
  switch (a.type) {
    case ATTR.FLOAT:
      return a.f;
    case ATTR.INT:
      return longToNumber(a.i);
    case ATTR.STRING:
      return dec.decode(a.s);
    case ATTR.TENSOR:
      return fromTensorProto(a.t);
    case ATTR.FLOATS:
      return [...a.floats];
    case ATTR.INTS:
      return a.ints.map(longToNumber);
    case ATTR.STRINGS:
      return a.strings.map((s: Uint8Array) => dec.decode(s));
    default:
      return undefined;
  }
}

/** Versions of each op from the spec ("Version 13; versions: 1, 6, 13."). */
function specVersions(): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const text = Deno.readTextFileSync(SPEC);
  for (const m of text.matchAll(/^## (\w+)\n\nVersion \d+; versions: ([\d, ]+)\./gm)) {
    out.set(m[1], m[2].split(",").map((v) => Number(v.trim())));
  }
  return out;
}

function readTensor(url: URL): Tensor {
  return fromTensorProto(onnx.TensorProto.decode(Deno.readFileSync(url)));
}

interface Outcome {
  op: string;
  /** Undefined when the inferred types match; else what went wrong. */
  error?: string;
  /** The op version in force at the model's opset, when it is not the one we follow. */
  olderVersion?: number;
}

/** Run one case; undefined when it is not a single-node case of a registered op. */
function runCase(name: string, versions: Map<string, number[]>): Outcome | undefined {
  const dir = new URL(`${name}/`, NODE_DIR);
  const model = onnx.ModelProto.decode(Deno.readFileSync(new URL("model.onnx", dir)));
  const g = model.graph;
  if (g.node.length !== 1) return undefined;
  const node = g.node[0];
  if (node.domain && node.domain !== "ai.onnx") return undefined;
  const def = getOp(node.opType);
  if (!def) return undefined;
  const opset = longToNumber(
    model.opsetImport.find((o: any) => !o.domain || o.domain === "ai.onnx")?.version ?? 0,
  );
  const inForce = Math.max(...(versions.get(node.opType) ?? [def.since]).filter((v) => v <= opset));
  const outcome: Outcome = { op: node.opType };
  if (inForce !== def.since) outcome.olderVersion = inForce;

  const nonTensor = [...g.input, ...g.output].find((vi: any) => !vi.type?.tensorType);
  if (nonTensor) {
    outcome.error = `value '${nonTensor.name}' is not a tensor`;
    return outcome;
  }
  const dataSet = new URL("test_data_set_0/", dir);
  const values = new Map<string, Tensor>();
  g.input.forEach((vi: any, k: number) => {
    values.set(vi.name, readTensor(new URL(`input_${k}.pb`, dataSet)));
  });
  for (const init of g.initializer ?? []) values.set(init.name, fromTensorProto(init));
  const attrs: Record<string, AttrValue> = {};
  for (const a of node.attribute) {
    const v = attrValue(a);
    if (v !== undefined) attrs[a.name] = v;
  }
  const inputs: (Tensor | undefined)[] = node.input.map((
    n: string,
  ) => (n ? values.get(n) : undefined));
  const types: (TensorType | undefined)[] = inputs.map((t) =>
    t && { dtype: t.dtype, shape: [...t.shape] }
  );
  // Trailing omitted optional inputs are dropped, as the IR would.
  while (
    types.length && types[types.length - 1] === undefined && node.input[types.length - 1] === ""
  ) {
    types.pop();
  }
  let got: TensorType[];
  try {
    got = def.infer({
      inputs: types,
      attrs: withDefaults(def, attrs),
      constant: (i) => inputs[i],
      outputCount: node.output.length,
    });
  } catch (e) {
    outcome.error = `infer threw: ${(e as Error).message}`;
    return outcome;
  }
  const problems: string[] = [];
  g.output.forEach((vo: any, k: number) => {
    const i = node.output.indexOf(vo.name);
    const want = readTensor(new URL(`output_${k}.pb`, dataSet));
    const wantType = { dtype: want.dtype, shape: want.shape };
    const have = got[i];
    if (!have) problems.push(`output ${i}: expected ${formatType(wantType)}, got nothing`);
    else if (formatType(have) !== formatType(wantType)) {
      problems.push(`output ${i}: expected ${formatType(wantType)}, got ${formatType(have)}`);
    }
  });
  if (problems.length) outcome.error = problems.join("; ");
  return outcome;
}

Deno.test("shape rules agree with the ONNX backend node tests", () => {
  const versions = specVersions();
  const names = [...Deno.readDirSync(NODE_DIR)].filter((e) => e.isDirectory).map((e) => e.name)
    .sort();
  const perOp = new Map<string, number>();
  const unexpected: string[] = [];
  const stale: string[] = [];
  for (const name of names) {
    const r = runCase(name, versions);
    if (!r) continue;
    if (!r.error) {
      perOp.set(r.op, (perOp.get(r.op) ?? 0) + 1);
      if (name in EXPECTED_FAILURES) stale.push(name);
    } else if (name in EXPECTED_FAILURES) {
      continue;
    } else {
      const older = r.olderVersion !== undefined
        ? ` (the model uses ${r.op} version ${r.olderVersion})`
        : "";
      unexpected.push(`${name}${older}: ${r.error}`);
    }
  }
  const total = [...perOp.values()].reduce((a, b) => a + b, 0);
  console.log(`checked ${total} cases over ${perOp.size} ops:`);
  console.log([...perOp].sort().map(([op, n]) => `  ${op}: ${n}`).join("\n"));
  console.log(`expected failures: ${Object.keys(EXPECTED_FAILURES).length}`);
  assert.deepEqual(unexpected, [], "cases failing without a listed reason");
  assert.deepEqual(stale, [], "listed as expected failures but now pass");
});
