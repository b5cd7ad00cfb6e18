import assert from "node:assert/strict";
import { DlmError } from "../../compiler/diagnostics.ts";
import { compileTrain } from "../../compiler/train/mod.ts";
import { multiStep } from "../../compiler/train/multistep.ts";
import { decodeModel } from "../../compiler/onnx/decode.ts";
import { emitModel } from "../../compiler/onnx/emit.ts";
import { GraphBuilder } from "../../compiler/ops/builder.ts";
import { tensor } from "../../compiler/ir/tensor.ts";
import { checkData, Dataset, inputNeeds, loadDataset, parseDataSpecs } from "./mod.ts";

const example = (name: string) =>
  new URL(`../../lang-examples/${name}.dlm`, import.meta.url).pathname;
const STEP = compileTrain(example("mlp_digits"), { seed: 0 }).step!;
const DIGITS = Deno.readTextFileSync(
  new URL("../../lang-examples/data/digits.csv", import.meta.url),
).split("\n").slice(0, 40);

/** A digits CSV of 40 rows with a header, row `row` (0-based) of the label column set to `label`. */
function csv(label: string, row = 16): string {
  const dir = Deno.makeTempDirSync();
  const header = [...Array(64).keys()].map((i) => `p${i}`).concat("label").join(",");
  const lines = DIGITS.map((l, i) => {
    const f = l.split(",");
    if (i === row) f[64] = label;
    return f.join(",");
  });
  Deno.writeTextFileSync(`${dir}/d.csv`, [header, ...lines].join("\n") + "\n");
  return `${dir}/d.csv`;
}

function failure(f: () => unknown): { code: string; message: string; notes: string[] } {
  try {
    f();
  } catch (e) {
    if (e instanceof DlmError) {
      const d = e.diagnostics[0];
      return { code: d.code, message: d.message, notes: d.notes ?? [] };
    }
    throw e;
  }
  return { code: "no error", message: "", notes: [] };
}

const check = (path: string, label = `label=${path}:label`, graph = STEP) => {
  const data = loadDataset(parseDataSpecs([`image=${path}:0-63`, label]));
  return failure(() =>
    checkData(graph, data, { what: "The step model", names: ["image", "label"], batchSize: 8 })
  );
};

Deno.test("cross_entropy declares that it reads its target input as class indices 0..C-1", () => {
  const [need] = inputNeeds(STEP).filter((n) => n.input === "label");
  assert.deepEqual([need.what, need.by, need.min, need.max, need.also], [
    "class index",
    "cross_entropy over 10 classes",
    0,
    9,
    [[-100, "its ignore_index"]],
  ]);
  assert.equal(need.span?.line, 13);
  // A multi-step model reads the same values from its stacked batches.
  assert.deepEqual(inputNeeds(multiStep(STEP)).map((n) => n.input), ["label"]);
});

Deno.test("a class label of -1 is refused at its line and column, not read as class 9", () => {
  const r = check(csv("-1"));
  assert.equal(r.code, "DLM0460");
  // Row 16 of the data is line 18 of the file (after the header).
  assert.match(
    r.message,
    /d\.csv:18: column 'label': class index -1 is outside 0\.\.9 that cross_entropy over 10 classes accepts$/,
  );
  assert.match(r.notes[0], /mlp_digits\.dlm:13:\d+ reads input 'label' as class indices/);
  assert.match(r.notes[1], /also accepts -100, its ignore_index/);
});

Deno.test("a class label of 10 is refused; the ignore_index -100 is accepted", () => {
  assert.equal(check(csv("10")).code, "DLM0460");
  assert.match(check(csv("10")).message, /class index 10 is outside 0\.\.9/);
  assert.equal(check(csv("-100")).code, "no error");
});

Deno.test("a class label of 3.5 is named as not an integer, at its line", () => {
  const r = check(csv("3.5"));
  assert.equal(r.code, "DLM0461");
  assert.match(r.message, /d\.csv:18: column 'label': class index 3\.5 is not an integer$/);
  // Read as i64, the CSV reader refuses it instead of truncating it to 3.
  const path = csv("3.5");
  const forced = failure(() => loadDataset(parseDataSpecs([`label=${path}:label@i64`])));
  assert.equal(forced.code, "DLM0412");
  assert.match(
    forced.message,
    /expected an integer for @i64 at line 18, column 'label', found 3\.5/,
  );
});

Deno.test("f32 labels and labels of shape [N, 1] get data-level diagnostics", () => {
  const path = csv("3");
  const f32 = check(path, `label=${path}:label@f32`);
  assert.equal(f32.code, "DLM0423");
  assert.match(
    f32.message,
    /^The step model's input 'label' \(from .*d\.csv, column 'label'\) needs i64 values \(class indices for cross_entropy over 10 classes\), got f32; read the column as i64: label=.*d\.csv:label@i64$/,
  );
  const col = check(path, `label=${path}:64-64`);
  assert.equal(col.code, "DLM0423");
  assert.match(
    col.message,
    /needs i64\[N\]: one value per sample, got values \[1\] per sample; select one column without a range .*\(label=.*d\.csv:64\)$/,
  );
  const narrow = failure(() =>
    checkData(
      STEP,
      loadDataset(parseDataSpecs([`image=${path}:0-62`, `label=${path}:label`])),
      { what: "The step model", names: ["image", "label"] },
    )
  );
  assert.match(narrow.message, /needs f32\[N, 64\].* got values \[63\] per sample: dim 1 is 63/);
});

Deno.test("a bad value is found at its line after the data is split and shuffled", () => {
  const path = csv("12", 33);
  const data = loadDataset(parseDataSpecs([`image=${path}:0-63`, `label=${path}:label`]));
  const { train, val } = data.split(0.25, { seed: 4 });
  const part = [train, val].find((d) =>
    failure(() => checkData(STEP, d, { what: "m", names: ["image", "label"] })).code !== "no error"
  )!;
  const r = failure(() => checkData(STEP, part, { what: "m", names: ["image", "label"] }));
  assert.match(r.message, /d\.csv:35: column 'label': class index 12/);
});

Deno.test("a graph without declarations (an ONNX file) is checked at the gathers that read an input", () => {
  const b = new GraphBuilder("lookup");
  const ids = b.input("ids", { dtype: "i64", shape: ["N", "T"] });
  const table = b.initializer("table", tensor("f32", [5, 2], [...Array(10).keys()]));
  const [flat] = b.addNode("Reshape", [ids, b.initializer("shape", tensor("i64", [1], [-1]))]);
  const [y] = b.addNode("Gather", [table, flat], { axis: 0 }, { name: "lookup" });
  b.output(y, "y");
  const { graph } = decodeModel(emitModel(b.graph).model);
  assert.equal(graph.needs, undefined);
  const [need] = inputNeeds(graph);
  assert.deepEqual([need.input, need.min, need.max], ["ids", -5, 4]);
  assert.equal(need.by, "Gather node 'lookup' (axis 0 of size 5)");
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/ids.csv`, "1,2,3\n4,-5,0\n0,5,1\n");
  const data = loadDataset(parseDataSpecs([`ids=${dir}/ids.csv:0-2@i64`]));
  const r = failure(() => checkData(graph, data, { what: "m", names: ["ids"] }));
  assert.equal(r.code, "DLM0460");
  assert.match(r.message, /ids\.csv:3: column 1: index 5 is outside -5\.\.4 that Gather node/);
});

Deno.test("a model of a fixed batch size gets every batch at that size, the last one included", () => {
  const b = new GraphBuilder("fixed");
  const x = b.input("x", { dtype: "f32", shape: [8, 4] });
  const [y] = b.addNode("Relu", [x]);
  b.output(y, "y");
  const data = (n: number) =>
    new Dataset({ x: { dtype: "f32", shape: [n, 4], data: new Float32Array(n * 4) } });
  const at = (n: number, batchSize: number, dropLast = false) =>
    failure(() => checkData(b.graph, data(n), { what: "m", names: ["x"], batchSize, dropLast }));
  assert.equal(at(24, 8).code, "no error");
  assert.match(
    at(20, 8).message,
    /in batches of 4 \(the last of 20 samples\), but the model takes batches of 8 alone; leave the last batch out with --drop-last \(drop_last = true\)$/,
  );
  assert.match(at(24, 6).message, /in batches of 6, but the model takes batches of 8 alone$/);
  // Without the last batch every batch has the model's size.
  assert.equal(at(20, 8, true).code, "no error");
  assert.match(at(20, 6, true).message, /in batches of 6, but the model takes batches of 8 alone$/);
});
