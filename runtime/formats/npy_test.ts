import assert from "node:assert/strict";
import { DlmError } from "../../compiler/diagnostics.ts";
import { type DType, f32ToF16, type Tensor, tensor, toNumbers } from "../../compiler/ir/tensor.ts";
import { readNpy, writeNpy } from "./npy.ts";

const FIXTURES = new URL("../../tests/fixtures/formats/", import.meta.url);

function fixture(name: string): Uint8Array {
  return Deno.readFileSync(new URL(name, FIXTURES));
}

/** A .npy file built by hand from the spec: magic, version, length, header, data. */
function npy(header: string, data: ArrayLike<number> = [], major = 1): Uint8Array {
  const h = new TextEncoder().encode(header);
  const prefix = major === 1 ? 10 : 12;
  const out = new Uint8Array(prefix + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, h.length, true);
  else view.setUint32(8, h.length, true);
  out.set(h, prefix);
  out.set(data, prefix + h.length);
  return out;
}

function rejects(bytes: Uint8Array, problem: RegExp): void {
  assert.throws(() => readNpy(bytes, "bad.npy"), (e: unknown) => {
    assert.ok(e instanceof DlmError, `expected a DlmError, got ${e}`);
    assert.equal(e.diagnostics[0].code, "DLM0406");
    assert.match(e.message, /'bad\.npy'/);
    assert.match(e.message, problem);
    return true;
  });
}

const SAMPLES: Record<string, [DType, number[]]> = {
  f32: ["f32", [0, -1.5, 3.25, 1e30]],
  f64: ["f64", [0, -1.5, Math.PI, 1e300]],
  f16: ["f16", [0, -1.5, 65504, 0.25].map(f32ToF16)],
  i8: ["i8", [0, -128, 127, 5]],
  i16: ["i16", [0, -32768, 32767, 5]],
  i32: ["i32", [0, -(2 ** 31), 2 ** 31 - 1, 5]],
  i64: ["i64", [0, -(2 ** 53), 2 ** 53, 5]],
  u8: ["u8", [0, 255, 1, 5]],
  u16: ["u16", [0, 65535, 1, 5]],
  u32: ["u32", [0, 2 ** 32 - 1, 1, 5]],
  u64: ["u64", [0, 2 ** 53, 1, 5]],
  bool: ["bool", [0, 1, 1, 0]],
};

for (const [name, [dtype, values]] of Object.entries(SAMPLES)) {
  Deno.test(`writeNpy() and readNpy() round-trip a ${name} tensor`, () => {
    const t = tensor(dtype, [2, 2], values);
    const back = readNpy(writeNpy(t));
    assert.equal(back.dtype, dtype);
    assert.deepEqual(back.shape, [2, 2]);
    assert.deepEqual(back.data, t.data);
  });
}

Deno.test("writeNpy() writes numpy's header layout, padded to a multiple of 64 bytes", () => {
  const bytes = writeNpy(tensor("f32", [3], [1, 2, 3]));
  const header = new TextDecoder().decode(bytes.subarray(10, 128));
  assert.equal(bytes[6], 1);
  assert.match(header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3,\), \} *\n$/);
  assert.equal(bytes.length, 128 + 12);
});

Deno.test("writeNpy() and readNpy() keep a 0-d array's shape as []", () => {
  const back = readNpy(writeNpy(tensor("f64", [], [2.5])));
  assert.deepEqual(back.shape, []);
  assert.deepEqual([...(back.data as Float64Array)], [2.5]);
});

Deno.test("writeNpy() and readNpy() round-trip an empty tensor", () => {
  const back = readNpy(writeNpy(tensor("i32", [0, 3], [])));
  assert.deepEqual(back.shape, [0, 3]);
  assert.equal(back.data.length, 0);
});

Deno.test("writeNpy() switches to format 2.0 when the header outgrows 64 KiB", () => {
  const shape = new Array(25000).fill(1);
  const bytes = writeNpy(tensor("u8", shape, [7]));
  assert.equal(bytes[6], 2);
  const back = readNpy(bytes);
  assert.deepEqual(back.shape, shape);
  assert.deepEqual([...(back.data as Uint8Array)], [7]);
});

Deno.test("writeNpy() rejects dtypes numpy cannot hold", () => {
  const bf16: Tensor = { dtype: "bf16", shape: [1], data: new Uint16Array(1) };
  assert.throws(() => writeNpy(bf16), (e: unknown) => {
    assert.ok(e instanceof DlmError);
    assert.equal(e.diagnostics[0].code, "DLM0409");
    assert.match(e.message, /bf16/);
    return true;
  });
});

// Oracle: files written by numpy (tests/fixtures/formats/make.py).

Deno.test("readNpy() reads a numpy f32 matrix", () => {
  const t = readNpy(fixture("f32_2x3.npy"));
  assert.equal(t.dtype, "f32");
  assert.deepEqual(t.shape, [2, 3]);
  assert.deepEqual(toNumbers(t), [0, 0.25, 0.5, 0.75, 1, 1.25]);
});

Deno.test("readNpy() converts numpy's big-endian int64 to little-endian", () => {
  const t = readNpy(fixture("i64_big_endian.npy"));
  assert.equal(t.dtype, "i64");
  assert.deepEqual([...(t.data as BigInt64Array)], [1n, -2n, 3n ** 30n]);
});

Deno.test("readNpy() reads numpy's 0-d bool as shape []", () => {
  const t = readNpy(fixture("bool_scalar.npy"));
  assert.equal(t.dtype, "bool");
  assert.deepEqual(t.shape, []);
  assert.deepEqual([...(t.data as Uint8Array)], [1]);
});

Deno.test("readNpy() reads numpy's format 2.0 (f16)", () => {
  const t = readNpy(fixture("f16_v2.npy"));
  assert.equal(t.dtype, "f16");
  assert.deepEqual(toNumbers(t), [0.5, -1.5, 65504]);
});

Deno.test("readNpy() reads numpy's format 3.0 (u16)", () => {
  const t = readNpy(fixture("u16_v3.npy"));
  assert.deepEqual(t.shape, [2, 2]);
  assert.deepEqual(toNumbers(t), [1, 2, 65535, 0]);
});

Deno.test("readNpy() reads Python 2 long literals and a 1-d Fortran-order array", () => {
  const t = readNpy(npy("{'descr': '|u1', 'fortran_order': True, 'shape': (2L,), }\n", [4, 5]));
  assert.deepEqual(t.shape, [2]);
  assert.deepEqual([...(t.data as Uint8Array)], [4, 5]);
});

// One test per malformation: each raises DLM0406 naming the file and the problem.

const HEADER = "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }\n";

Deno.test("readNpy() rejects a file without the NUMPY magic", () => {
  rejects(new TextEncoder().encode("PK\x03\x04 not numpy at all"), /magic string/);
});

Deno.test("readNpy() rejects an unknown format version", () => {
  const b = npy(HEADER, [1, 0, 2, 0]);
  b[6] = 4;
  rejects(b, /format version 1\.0, 2\.0 or 3\.0, found 4\.0/);
});

Deno.test("readNpy() rejects a file that ends inside the header length", () => {
  rejects(npy(HEADER).subarray(0, 9), /ends inside the header length/);
});

Deno.test("readNpy() rejects a truncated header", () => {
  rejects(npy(HEADER).subarray(0, 30), /header is \d+ bytes long but only 20 remain/);
});

Deno.test("readNpy() rejects a header that is not a Python literal", () => {
  rejects(npy("{'descr': '<i2', 'shape': (2,) oops\n"), /not a Python literal/);
});

Deno.test("readNpy() rejects a header that is not a dict", () => {
  rejects(npy("['<i2', False, (2,)]\n"), /header to be a dict/);
});

Deno.test("readNpy() rejects a header without a shape", () => {
  rejects(npy("{'descr': '<i2', 'fortran_order': False}\n"), /no 'shape' key/);
});

Deno.test("readNpy() rejects an unknown dtype", () => {
  rejects(
    npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n"),
    /unsupported dtype '<c8'/,
  );
});

Deno.test("readNpy() rejects a structured dtype", () => {
  rejects(
    npy("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }\n"),
    /structured arrays are not supported/,
  );
});

Deno.test("readNpy() rejects a Fortran-order matrix", () => {
  rejects(
    npy("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2), }\n", [1, 2, 3, 4]),
    /fortran_order is True/,
  );
});

Deno.test("readNpy() rejects a negative dimension", () => {
  rejects(
    npy("{'descr': '|u1', 'fortran_order': False, 'shape': (-1,), }\n"),
    /non-negative integers/,
  );
});

Deno.test("readNpy() rejects data shorter than the shape needs", () => {
  rejects(npy(HEADER, [1, 0, 2]), /truncated: shape \(2\) of i16 needs 4 bytes, found 3/);
});

Deno.test("readNpy() rejects trailing bytes after the data", () => {
  rejects(npy(HEADER, [1, 0, 2, 0, 9, 9]), /2 bytes of trailing data/);
});

Deno.test("readNpy() names the data, not a file, when no path is given", () => {
  assert.throws(
    () => readNpy(new Uint8Array(3)),
    (e: unknown) =>
      e instanceof DlmError && e.diagnostics[0].message.startsWith("Invalid .npy data: "),
  );
});
