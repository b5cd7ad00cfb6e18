/**
 * ONNX conformance: every case of the official ONNX backend test suite
 * (`../shared/onnx-node-tests/node/<case>/`) whose operators all have a
 * reference kernel is decoded, run, and compared with its expected outputs:
 * same dtype and shape; floats within rtol 1e-3 / atol 1e-7 (the backend
 * tests' defaults, NaN equal to NaN); integers, bools and strings exact.
 * One test per operator, one step per case; a summary table at the end.
 */
import assert from "node:assert/strict";
import { decodeModel, decodeTensorFile } from "../compiler/onnx/decode.ts";
import { onnx } from "../compiler/onnx/proto.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { toNumbers } from "../compiler/ir/tensor.ts";
import { kernelFor, runGraph } from "../runtime/reference/mod.ts";
import { EXCLUSIONS } from "./conformance_exclusions.ts";

const ROOT = new URL("../../shared/onnx-node-tests/node/", import.meta.url);

/** Cases that need a looser tolerance than the default, as the ONNX backend runner allows. */
const TOLERANCE: Record<string, { rtol: number; atol: number }> = {};
const DEFAULT_TOL = { rtol: 1e-3, atol: 1e-7 };

/** Case-name prefixes (underscores removed) that name an op differently. */
const ALIASES: Record<string, string> = {
  batchnorm: "BatchNormalization",
  instancenorm: "InstanceNormalization",
  nllloss: "NegativeLogLikelihoodLoss",
  sce: "SoftmaxCrossEntropyLoss",
  softmaxcrossentropy: "SoftmaxCrossEntropyLoss",
  mvn: "MeanVarianceNormalization",
  greaterequal: "GreaterOrEqual",
  lessequal: "LessOrEqual",
  simplernn: "RNN",
};

interface Case {
  name: string;
  dir: URL;
  /** Every op type in the model, subgraphs included ("domain::Op" outside the default domain). */
  ops: string[];
  /** The op the case is about, for grouping. */
  group: string;
}

type Outcome = "pass" | "fail" | "excluded" | "not implemented";

function listCases(): Case[] {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(ROOT)];
  } catch {
    return [];
  }
  const cases: Case[] = [];
  for (const e of entries.filter((x) => x.isDirectory).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const dir = new URL(`${e.name}/`, ROOT);
    const model = onnx.ModelProto.decode(Deno.readFileSync(new URL("model.onnx", dir)));
    const ops: string[] = [];
    const walk = (g: any) => {
      for (const n of g.node ?? []) {
        const d = n.domain && n.domain !== "ai.onnx" ? `${n.domain}::` : "";
        ops.push(d + n.opType);
        for (const a of n.attribute ?? []) {
          if (a.g) walk(a.g);
          for (const sub of a.graphs ?? []) walk(sub);
        }
      }
    };
    walk(model.graph);
    cases.push({ name: e.name, dir, ops, group: "" });
  }
  const known = new Set(cases.flatMap((c) => c.ops.map((o) => o.split("::").pop()!)));
  for (const c of cases) c.group = groupOf(c, known);
  return cases;
}

/** The single non-Constant op; else the op the case name starts with; else the last node's. */
function groupOf(c: Case, known: Set<string>): string {
  const plain = c.ops.map((o) => o.split("::").pop()!);
  const distinct = [...new Set(plain.filter((o) => o !== "Constant"))];
  if (distinct.length === 1) return distinct[0];
  if (distinct.length === 0) return "Constant";
  const key = c.name.replace(/^test_/, "").replaceAll("_", "").toLowerCase();
  let best = "";
  const candidates: [string, string][] = [
    ...[...known].map((o) => [o.toLowerCase(), o] as [string, string]),
    ...Object.entries(ALIASES),
  ];
  for (const [prefix, op] of candidates) {
    if (key.startsWith(prefix) && prefix.length > best.length) best = op;
  }
  return best || plain[plain.length - 1];
}

function implemented(op: string): boolean {
  const i = op.lastIndexOf("::");
  return i < 0 ? !!kernelFor(op) : !!kernelFor(op.slice(i + 2), op.slice(0, i));
}

/** Run one case; throws an AssertionError (or a DlmError) describing the first difference. */
function runCase(c: Case): void {
  const { graph, opset } = decodeModel(Deno.readFileSync(new URL("model.onnx", c.dir)), {
    file: `${c.name}/model.onnx`,
  });
  const sets = [...Deno.readDirSync(c.dir)]
    .filter((e) => e.isDirectory && e.name.startsWith("test_data_set_"))
    .map((e) => e.name)
    .sort();
  assert.ok(sets.length > 0, "the case has no test data set");
  const tol = TOLERANCE[c.name] ?? DEFAULT_TOL;
  for (const set of sets) {
    const dir = new URL(`${set}/`, c.dir);
    const read = (f: string) => decodeTensorFile(Deno.readFileSync(new URL(f, dir)), { file: f });
    const files = [...Deno.readDirSync(dir)].map((e) => e.name);
    const feeds: Record<string, Tensor> = {};
    graph.inputs.forEach((v, i) => {
      if (files.includes(`input_${i}.pb`)) {
        feeds[v.name] = asDeclared(read(`input_${i}.pb`), v.type.dtype);
      }
    });
    const { outputs } = runGraph(graph, feeds, { opset });
    graph.outputs.forEach((v, i) => {
      if (!files.includes(`output_${i}.pb`)) return;
      const expected = asDeclared(read(`output_${i}.pb`), v.type.dtype);
      compare(`${set}/${v.name}`, outputs[v.name], expected, tol);
    });
  }
}

/**
 * numpy has no bfloat16, so the generator stored bf16 data as uint16 tensors
 * of the same bits: read them as the dtype the model declares.
 */
function asDeclared(t: Tensor, declared: Tensor["dtype"]): Tensor {
  return t.dtype === "u16" && declared === "bf16" ? { ...t, dtype: "bf16" } : t;
}

function compare(
  what: string,
  actual: Tensor,
  expected: Tensor,
  tol: { rtol: number; atol: number },
): void {
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  if (expected.dtype === "str") {
    assert.deepEqual(actual.data, expected.data, `${what}: strings`);
    return;
  }
  if (expected.dtype === "i64" || expected.dtype === "u64") {
    for (let i = 0; i < expected.data.length; i++) {
      if (actual.data[i] !== expected.data[i]) {
        assert.fail(`${what}[${i}]: expected ${expected.data[i]}, found ${actual.data[i]}`);
      }
    }
    return;
  }
  const a = toNumbers(actual), e = toNumbers(expected);
  const float = ["f16", "bf16", "f32", "f64"].includes(expected.dtype);
  for (let i = 0; i < e.length; i++) {
    const x = a[i], y = e[i];
    if (Number.isNaN(y) && Number.isNaN(x)) continue;
    const ok = float ? x === y || Math.abs(x - y) <= tol.atol + tol.rtol * Math.abs(y) : x === y;
    if (!ok) assert.fail(`${what}[${i}]: expected ${y}, found ${x}`);
  }
}

const cases = listCases();
const outcomes = new Map<string, Outcome>();
const groups = new Map<string, Case[]>();
for (const c of cases) {
  if (!groups.has(c.group)) groups.set(c.group, []);
  groups.get(c.group)!.push(c);
}

for (const [group, list] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
  const runnable = list.filter((c) => c.ops.every(implemented));
  for (const c of list) if (!runnable.includes(c)) outcomes.set(c.name, "not implemented");
  if (runnable.length === 0) continue;
  Deno.test(`conformance: ${group} passes every backend case`, async (t) => {
    for (const c of runnable) {
      const reason = EXCLUSIONS[c.name];
      const name = reason ? `${c.name} (expected to fail: ${reason})` : c.name;
      await t.step(name, () => {
        if (!reason) {
          try {
            runCase(c);
            outcomes.set(c.name, "pass");
          } catch (e) {
            outcomes.set(c.name, "fail");
            throw e;
          }
          return;
        }
        outcomes.set(c.name, "excluded");
        let passed = false;
        try {
          runCase(c);
          passed = true;
        } catch { /* the expected failure */ }
        assert.ok(!passed, `${c.name} now passes: remove it from EXCLUSIONS`);
      });
    }
  });
}

Deno.test("conformance: the summary lists every case of the suite", () => {
  const rows: string[] = [];
  let pass = 0, run = 0, excluded = 0, missing = 0;
  for (const [group, list] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const o = list.map((c) => outcomes.get(c.name));
    const p = o.filter((x) => x === "pass").length;
    const f = o.filter((x) => x === "fail").length;
    const x = o.filter((x) => x === "excluded").length;
    const ni = o.filter((x) => x === "not implemented").length;
    pass += p;
    run += p + f;
    excluded += x;
    missing += ni;
    const notes = [x ? `${x} excluded` : "", ni ? `${ni} not implemented` : ""].filter((s) => s);
    rows.push(`${group} ${p}/${p + f}${notes.length ? ` (${notes.join(", ")})` : ""}`);
  }
  console.log(
    [
      "ONNX backend conformance (reference interpreter):",
      ...rows.map((r) => `  ${r}`),
      `TOTAL ${pass}/${run} passed; ${excluded} excluded; ${missing} not implemented; ` +
      `${cases.length} cases`,
    ].join("\n"),
  );
  assert.ok(cases.length > 0, "no conformance cases found beside the repository");
});
