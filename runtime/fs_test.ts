import assert from "node:assert/strict";
import { DlmError } from "../compiler/diagnostics.ts";
import { writeFilesAtomic } from "./fs.ts";

function inTempDir(f: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_fs_" });
  try {
    f(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("writeFilesAtomic() writes text, bytes and chunks read one at a time from a reused buffer", () =>
  inTempDir((dir) => {
    const buf = new Uint8Array(3);
    function* chunks() {
      for (let k = 0; k < 3; k++) {
        buf.fill(k + 1);
        yield buf;
      }
    }
    writeFilesAtomic([
      { path: `${dir}/t`, bytes: "hi" },
      { path: `${dir}/b`, bytes: new Uint8Array([7]) },
      { path: `${dir}/c`, bytes: chunks() },
    ]);
    assert.equal(Deno.readTextFileSync(`${dir}/t`), "hi");
    assert.deepEqual(Deno.readFileSync(`${dir}/b`), new Uint8Array([7]));
    assert.deepEqual(Deno.readFileSync(`${dir}/c`), new Uint8Array([1, 1, 1, 2, 2, 2, 3, 3, 3]));
    assert.deepEqual(names(dir), ["b", "c", "t"]);
  }));

Deno.test("writeFilesAtomic() passes on a failure to produce the bytes and changes no file", () =>
  inTempDir((dir) => {
    Deno.writeTextFileSync(`${dir}/m.onnx`, "old");
    function* failing() {
      yield new Uint8Array(100);
      throw new Error("internal: drawing failed");
    }
    assert.throws(
      () =>
        writeFilesAtomic([
          { path: `${dir}/w.safetensors`, bytes: "new weights" },
          { path: `${dir}/m.onnx`, bytes: failing() },
        ]),
      (e: unknown) => !(e instanceof DlmError) && /drawing failed/.test(String(e)),
    );
    assert.equal(Deno.readTextFileSync(`${dir}/m.onnx`), "old", "the old file is untouched");
    assert.deepEqual(names(dir), ["m.onnx"], "no temporary and no other file left");
  }));

Deno.test("writeFilesAtomic() reports a file it cannot write with DLM0409 and renames nothing", () =>
  inTempDir((dir) => {
    assert.throws(
      () =>
        writeFilesAtomic([
          { path: `${dir}/a`, bytes: "a" },
          { path: `${dir}/missing/b`, bytes: [new Uint8Array(1)] },
        ]),
      (e: unknown) => e instanceof DlmError && e.diagnostics[0].code === "DLM0409",
    );
    assert.deepEqual(names(dir), []);
  }));
