import assert from "node:assert/strict";
import { DlmError } from "../../compiler/diagnostics.ts";
import { tensor, toNumbers } from "../../compiler/ir/tensor.ts";
import { writeNpy } from "../formats/mod.ts";
import { Dataset, loadData, loadDigits, parseDataSpecs, permutation } from "./mod.ts";

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof DlmError) return e.diagnostics[0].code;
    throw e;
  }
  return "no error";
}

Deno.test("the bundled digits load as 1797 samples of 64 pixels in 0..1 with labels 0..9", () => {
  const { image, label } = loadDigits();
  assert.deepEqual([image.dtype, image.shape, label.dtype, label.shape], [
    "f32",
    [1797, 64],
    "i64",
    [1797],
  ]);
  const px = toNumbers(image);
  assert.equal(Math.max(...px), 1);
  assert.equal(Math.min(...px), 0);
  assert.deepEqual([...new Set(toNumbers(label))].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("CSV column selectors give a matrix for ranges and a vector for one column", () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/t.csv`, "a,b,c\n1,2.5,3\n4,5,6\n");
  const d = loadData(
    parseDataSpecs([`x=${dir}/t.csv:0-1`, `y=${dir}/t.csv:c`, `z=${dir}/t.csv:0@f32`]),
  );
  assert.deepEqual([d.x.dtype, d.x.shape, toNumbers(d.x)], ["f32", [2, 2], [1, 2.5, 4, 5]]);
  assert.deepEqual([d.y.dtype, d.y.shape, toNumbers(d.y)], ["i64", [2], [3, 6]]);
  assert.deepEqual([d.z.dtype, d.z.shape], ["f32", [2]]);
});

Deno.test(".npy data files load whole", () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeFileSync(`${dir}/a.npy`, writeNpy(tensor("f32", [3, 2], [1, 2, 3, 4, 5, 6])));
  assert.deepEqual(loadData(parseDataSpecs([`a=${dir}/a.npy`])).a.shape, [3, 2]);
});

Deno.test("bad data files and selectors are diagnostics, not exceptions", () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/ragged.csv`, "1,2\n3\n");
  Deno.writeTextFileSync(`${dir}/text.csv`, "1,2\n3,x\n");
  assert.equal(code(() => loadData(parseDataSpecs([`a=${dir}/missing.csv`]))), "DLM0401");
  assert.equal(code(() => loadData(parseDataSpecs([`a=${dir}/ragged.csv`]))), "DLM0412");
  assert.equal(code(() => loadData(parseDataSpecs([`a=${dir}/text.csv`]))), "DLM0412");
  assert.equal(code(() => loadData(parseDataSpecs(["a=digits:65"]))), "DLM0412");
  assert.equal(code(() => loadData(parseDataSpecs(["a=digits:pixels"]))), "DLM0412");
  assert.equal(code(() => loadData(parseDataSpecs(["a=data.txt"]))), "DLM0412");
  assert.equal(code(() => parseDataSpecs(["nonsense"])), "DLM0501");
  assert.equal(code(() => parseDataSpecs(["a=x.csv@f99"])), "DLM0501");
});

Deno.test("arrays with different sample counts are DLM0423 naming their types", () => {
  assert.throws(
    () =>
      new Dataset({ a: tensor("f32", [3, 2], [1, 2, 3, 4, 5, 6]), b: tensor("i64", [2], [0, 1]) }),
    (e: DlmError) => e.diagnostics[0].code === "DLM0423" && /'b' is i64\[2\]/.test(e.message),
  );
});

Deno.test("batches cover every sample once, keep the last partial batch, and shuffle by seed", () => {
  const ds = new Dataset({ x: tensor("f32", [10, 1], [...Array(10).keys()]) });
  const seen = [...ds.batches(4, { seed: 3 })];
  assert.deepEqual(seen.map((b) => b.size), [4, 4, 2]);
  const order = seen.flatMap((b) => toNumbers(b.arrays.x));
  assert.deepEqual([...order].sort((a, b) => a - b), [...Array(10).keys()]);
  assert.notDeepEqual(order, [...Array(10).keys()]);
  assert.deepEqual([...ds.batches(4, { seed: 3 })].flatMap((b) => toNumbers(b.arrays.x)), order);
  const plain = [...ds.batches(4, { shuffle: false })].flatMap((b) => toNumbers(b.arrays.x));
  assert.deepEqual(plain, [...Array(10).keys()]);
  assert.deepEqual(permutation(5, 1), permutation(5, 1));
});

Deno.test("dropLast leaves out the last partial batch, as torch's drop_last=True, and no other", () => {
  const ds = new Dataset({ x: tensor("f32", [10, 1], [...Array(10).keys()]) });
  const kept = [...ds.batches(4, { seed: 3, dropLast: true })];
  assert.deepEqual(kept.map((b) => b.size), [4, 4]);
  // The same shuffled order as without dropLast, cut before the last batch.
  const all = [...ds.batches(4, { seed: 3 })].flatMap((b) => toNumbers(b.arrays.x));
  assert.deepEqual(kept.flatMap((b) => toNumbers(b.arrays.x)), all.slice(0, 8));
  assert.equal(ds.batchCount(4, true), 2);
  assert.equal(ds.batchCount(4), 3);
  // A size that divides the data drops nothing.
  assert.deepEqual([...ds.batches(5, { dropLast: true })].map((b) => b.size), [5, 5]);
});

Deno.test("a stratified validation split keeps every class's share and is seeded", () => {
  const ds = new Dataset(loadDigits());
  const { train, val } = ds.split(0.2, { seed: 0, stratify: "label" });
  assert.equal(train.size + val.size, 1797);
  const count = (d: Dataset, k: number) => toNumbers(d.arrays.label).filter((x) => x === k).length;
  for (let k = 0; k < 10; k++) {
    const share = count(val, k) / (count(val, k) + count(train, k));
    assert.ok(Math.abs(share - 0.2) < 0.01, `class ${k}: ${share}`);
  }
  const again = ds.split(0.2, { seed: 0, stratify: "label" });
  assert.deepEqual(toNumbers(again.val.arrays.label), toNumbers(val.arrays.label));
  assert.equal(code(() => ds.split(1.5)), "DLM0210");
});
