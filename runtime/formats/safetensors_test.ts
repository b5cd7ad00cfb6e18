import assert from "node:assert/strict";
import { DlmError } from "../../compiler/diagnostics.ts";
import { type DType, f32ToBf16, f32ToF16, tensor, toNumbers } from "../../compiler/ir/tensor.ts";
import { lazyInitTensor, pendingJob } from "../../compiler/ir/init.ts";
import { readSafetensors, safetensorsChunks, writeSafetensors } from "./safetensors.ts";

const FIXTURES = new URL("../../tests/fixtures/formats/", import.meta.url);

/** A safetensors file built by hand from the spec: u64 LE size, JSON header, data. */
function st(header: unknown, data: ArrayLike<number> = [], sizeOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(
    typeof header === "string" ? header : JSON.stringify(header),
  );
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, sizeOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function rejects(bytes: Uint8Array, problem: RegExp): void {
  assert.throws(() => readSafetensors(bytes, "bad.safetensors"), (e: unknown) => {
    assert.ok(e instanceof DlmError, `expected a DlmError, got ${e}`);
    assert.equal(e.diagnostics[0].code, "DLM0402");
    assert.match(e.message, /'bad\.safetensors'/);
    assert.match(e.message, problem);
    return true;
  });
}

const SAMPLES: [DType, number[]][] = [
  ["f32", [0, -1.5, 3.25, 1e30]],
  ["f64", [0, -1.5, Math.PI, 1e300]],
  ["f16", [0, -1.5, 65504, 0.25].map(f32ToF16)],
  ["bf16", [0, -1.5, 3e38, 0.25].map(f32ToBf16)],
  ["i8", [0, -128, 127, 5]],
  ["i16", [0, -32768, 32767, 5]],
  ["i32", [0, -(2 ** 31), 2 ** 31 - 1, 5]],
  ["i64", [0, -(2 ** 53), 2 ** 53, 5]],
  ["u8", [0, 255, 1, 5]],
  ["u16", [0, 65535, 1, 5]],
  ["u32", [0, 2 ** 32 - 1, 1, 5]],
  ["u64", [0, 2 ** 53, 1, 5]],
  ["bool", [0, 1, 1, 0]],
];

Deno.test("writeSafetensors() and readSafetensors() round-trip every dtype in one file", () => {
  // An odd-sized tensor first so later ones sit at unaligned offsets.
  const entries: [string, ReturnType<typeof tensor>][] = [["odd", tensor("u8", [3], [1, 2, 3])]];
  for (const [d, values] of SAMPLES) entries.push([`t_${d}`, tensor(d, [2, 2], values)]);
  const bytes = writeSafetensors(entries, { format: "pt" });
  const { tensors, metadata } = readSafetensors(bytes);
  assert.deepEqual(metadata, { format: "pt" });
  assert.deepEqual([...tensors.keys()], entries.map(([n]) => n));
  for (const [name, t] of entries) {
    const back = tensors.get(name)!;
    assert.equal(back.dtype, t.dtype, name);
    assert.deepEqual(back.shape, t.shape, name);
    assert.deepEqual(back.data, t.data, name);
  }
});

Deno.test("writeSafetensors() keeps the given order, even for integer-like names", () => {
  const bytes = writeSafetensors(
    new Map([["b", tensor("f32", [1], [1])], ["1", tensor("f32", [1], [2])]]),
  );
  assert.deepEqual([...readSafetensors(bytes).tensors.keys()], ["b", "1"]);
});

Deno.test("writeSafetensors() pads the header with spaces to a multiple of 8 bytes", () => {
  const bytes = writeSafetensors([["w", tensor("f32", [], [1])]]);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.match(header, /^\{"w":\{"dtype":"F32","shape":\[\],"data_offsets":\[0,4\]\}\} *$/);
  assert.equal(bytes.length, 8 + n + 4);
});

Deno.test("writeSafetensors() and readSafetensors() handle empty tensors and empty files", () => {
  const back = readSafetensors(writeSafetensors([["e", tensor("i32", [0, 4], [])]]));
  assert.deepEqual(back.tensors.get("e")!.shape, [0, 4]);
  assert.equal(readSafetensors(writeSafetensors([])).tensors.size, 0);
});

Deno.test("writeSafetensors() rejects string tensors, duplicates and the reserved name", () => {
  const code = (f: () => unknown, re: RegExp) =>
    assert.throws(
      f,
      (e: unknown) =>
        e instanceof DlmError && e.diagnostics[0].code === "DLM0409" && re.test(e.message),
    );
  code(() => writeSafetensors([["s", { dtype: "str", shape: [1], data: ["x"] }]]), /dtype str/);
  code(
    () => writeSafetensors([["a", tensor("u8", [1], [1])], ["a", tensor("u8", [1], [1])]]),
    /'a' is given twice/,
  );
  code(() => writeSafetensors([["__metadata__", tensor("u8", [1], [1])]]), /reserved/);
});

// Oracle: a file laid out as the reference implementation does (tests/fixtures/formats/make.py).

Deno.test("readSafetensors() reads a file written in the reference layout", () => {
  const { tensors, metadata } = readSafetensors(
    Deno.readFileSync(new URL("small.safetensors", FIXTURES)),
  );
  assert.deepEqual(metadata, { format: "pt", source: "make.py" });
  assert.deepEqual([...tensors.keys()], ["steps", "conv.weight", "half", "mask"]);
  assert.deepEqual(tensors.get("conv.weight")!.shape, [2, 2]);
  assert.deepEqual(toNumbers(tensors.get("conv.weight")!), [-1.5, -0.5, 0.5, 1.5]);
  assert.deepEqual([...(tensors.get("steps")!.data as BigInt64Array)], [7n, -1n, 2n ** 40n]);
  assert.deepEqual(toNumbers(tensors.get("half")!), [1, -2]);
  assert.deepEqual(toNumbers(tensors.get("mask")!), [1, 0, 1]);
});

// One test per malformation: each raises DLM0402 naming the file, the tensor and the problem.

const W = { dtype: "F32", shape: [2], data_offsets: [0, 8] };
const EIGHT = [0, 0, 128, 63, 0, 0, 0, 64];

Deno.test("readSafetensors() rejects a file shorter than the header size field", () => {
  rejects(new Uint8Array(5), /at least 8 bytes/);
});

Deno.test("readSafetensors() rejects a header size larger than the file", () => {
  rejects(st({ w: W }, EIGHT, 1000n), /header size 1000 is larger than the \d+ bytes after it/);
});

Deno.test("readSafetensors() rejects a header size over 100 MB", () => {
  rejects(st({ w: W }, EIGHT, 2n ** 62n), /larger than the limit of 100000000 bytes/);
});

Deno.test("readSafetensors() rejects a header that is not JSON", () => {
  rejects(st('{"w": {"dtype": "F32",', EIGHT), /not valid JSON/);
});

Deno.test("readSafetensors() rejects a header that is not a JSON object", () => {
  rejects(st("[1, 2]"), /start with '\{'/);
  assert.equal(readSafetensors(st("{}")).tensors.size, 0); // while an empty object is fine
});

Deno.test("readSafetensors() rejects metadata values that are not strings", () => {
  rejects(st({ __metadata__: { epoch: 3 } }), /metadata 'epoch' to be a string/);
});

Deno.test("readSafetensors() rejects an unknown dtype, naming the tensor", () => {
  rejects(
    st({ w: { ...W, dtype: "F8_E4M3" } }, EIGHT),
    /tensor 'w' has unsupported dtype "F8_E4M3"/,
  );
});

Deno.test("readSafetensors() rejects an invalid shape", () => {
  rejects(st({ w: { ...W, shape: [2, -1] } }, EIGHT), /tensor 'w' has an invalid shape \[2,-1\]/);
});

Deno.test("readSafetensors() rejects malformed data_offsets", () => {
  rejects(
    st({ w: { ...W, data_offsets: [8, 0] } }, EIGHT),
    /tensor 'w' has invalid data_offsets \[8,0\]/,
  );
});

Deno.test("readSafetensors() rejects offsets that do not match shape times dtype size", () => {
  rejects(
    st({ w: { ...W, shape: [3] } }, EIGHT),
    /tensor 'w' of shape \[3\] and dtype F32 needs 12 bytes, but its data_offsets \[0, 8\] hold 8/,
  );
});

Deno.test("readSafetensors() rejects overlapping tensors", () => {
  const v = { dtype: "F32", shape: [1], data_offsets: [4, 8] };
  rejects(st({ w: W, v }, EIGHT), /tensor 'v' at bytes \[4, 8\] overlaps tensor 'w'/);
});

Deno.test("readSafetensors() rejects a gap between tensors", () => {
  const v = { dtype: "F32", shape: [1], data_offsets: [4, 8] };
  rejects(st({ v }, EIGHT), /4 bytes before tensor 'v' belong to no tensor/);
});

Deno.test("readSafetensors() rejects offsets past the end of a truncated file", () => {
  rejects(
    st({ w: W }, EIGHT.slice(0, 6)),
    /tensor 'w' at bytes \[0, 8\] is past the end of the data \(6 bytes/,
  );
});

Deno.test("readSafetensors() rejects bytes after the last tensor", () => {
  rejects(st({ w: W }, [...EIGHT, 1, 2]), /2 bytes after the last tensor/);
});

Deno.test("readSafetensors() names the data, not a file, when no path is given", () => {
  assert.throws(
    () => readSafetensors(new Uint8Array(3)),
    (e: unknown) =>
      e instanceof DlmError && e.diagnostics[0].message.startsWith("Invalid safetensors data: "),
  );
});

Deno.test("safetensorsChunks() gives writeSafetensors()' bytes, drawing lazy weights without keeping them", () => {
  const spec = { kind: "normal", mean: 0, std: 1 } as const;
  const entries = () =>
    [
      ["b", tensor("f16", [3], [1, 2, 3])],
      ["w", lazyInitTensor(spec, [300, 300], "w", 5)],
    ] as [string, ReturnType<typeof tensor>][];
  const lazy = entries();
  const streamed: number[] = [];
  for (const c of safetensorsChunks(lazy, { producer: "dlm" })) for (const b of c) streamed.push(b);
  assert.ok(pendingJob(lazy[1][1]), "the weight is still lazy");
  assert.deepEqual(new Uint8Array(streamed), writeSafetensors(entries(), { producer: "dlm" }));
});

Deno.test("safetensorsChunks() raises its errors before producing any byte", () => {
  assert.throws(
    () => safetensorsChunks([["a", tensor("u8", [1], [1])], ["a", tensor("u8", [1], [1])]]),
    (e: unknown) => e instanceof DlmError && e.diagnostics[0].code === "DLM0409",
  );
});
