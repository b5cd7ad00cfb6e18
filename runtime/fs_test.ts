import assert from "node:assert/strict";
import { DlmError } from "../compiler/diagnostics.ts";
import {
  checkOutputDir,
  checkOutputFile,
  fsOps,
  processGone,
  writeFaults,
  writeFileAtomic,
  writeFilesAtomic,
  writeFilesAtomicAsync,
} from "./fs.ts";
import { canMount, deadPid, isRoot, livePid, makeSpecialFiles, withTmpfs } from "./fs_testing.ts";

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

// ---------------------------------------------------------------- output paths (issue 12, defect 1)

const dlmCode = (e: unknown) => e instanceof DlmError ? e.diagnostics[0].code : String(e);
const messageOf = (e: unknown) => e instanceof DlmError ? e.diagnostics[0].message : String(e);

/** The error `f` throws (it must throw). */
function thrown(f: () => void): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a failure");
}

Deno.test("writeFileAtomic() writes through a symbolic link: the target is replaced in its own folder, the link kept", () =>
  inTempDir((dir) => {
    Deno.mkdirSync(`${dir}/real`);
    Deno.mkdirSync(`${dir}/links`);
    Deno.writeTextFileSync(`${dir}/real/m.onnx`, "old");
    Deno.chmodSync(`${dir}/real/m.onnx`, 0o640);
    // A relative link, and a link to that link (a chain).
    Deno.symlinkSync("../real/m.onnx", `${dir}/links/a.onnx`);
    Deno.symlinkSync("a.onnx", `${dir}/links/b.onnx`);
    writeFileAtomic(`${dir}/links/b.onnx`, "new");
    assert.equal(Deno.readTextFileSync(`${dir}/real/m.onnx`), "new");
    assert.ok(Deno.lstatSync(`${dir}/links/a.onnx`).isSymlink, "the link is kept");
    assert.ok(Deno.lstatSync(`${dir}/links/b.onnx`).isSymlink, "the link to the link is kept");
    assert.equal(Deno.readLinkSync(`${dir}/links/b.onnx`), "a.onnx");
    assert.equal(Deno.statSync(`${dir}/real/m.onnx`).mode! & 0o777, 0o640, "mode kept");
    assert.deepEqual(names(`${dir}/real`), ["m.onnx"], "no temporary beside the target");
    assert.deepEqual(names(`${dir}/links`), ["a.onnx", "b.onnx"], "none beside the links");
    // An absolute link, through writeFilesAtomic's streamed path.
    Deno.symlinkSync(`${dir}/real/m.onnx`, `${dir}/abs.onnx`);
    writeFilesAtomic([{ path: `${dir}/abs.onnx`, bytes: [new Uint8Array([65, 66])] }]);
    assert.equal(Deno.readTextFileSync(`${dir}/real/m.onnx`), "AB");
    assert.ok(Deno.lstatSync(`${dir}/abs.onnx`).isSymlink);
  }));

Deno.test("writeFileAtomic() creates the file a dangling symbolic link names, and keeps the link", () =>
  inTempDir((dir) => {
    Deno.symlinkSync("new.onnx", `${dir}/link.onnx`);
    writeFileAtomic(`${dir}/link.onnx`, "x");
    assert.equal(Deno.readTextFileSync(`${dir}/new.onnx`), "x");
    assert.ok(Deno.lstatSync(`${dir}/link.onnx`).isSymlink);
    // A link into a folder that is not there is refused, naming where it leads.
    Deno.symlinkSync("nothere/x.onnx", `${dir}/far.onnx`);
    const e = thrown(() => writeFileAtomic(`${dir}/far.onnx`, "x"));
    assert.equal(dlmCode(e), "DLM0409");
    assert.match(messageOf(e), /it links to '.*nothere\/x\.onnx': no such file or directory/);
  }));

Deno.test("writeFilesAtomic() refuses a directory, a named pipe, a socket, a device and links to them, before writing anything", () =>
  inTempDir((dir) => {
    const special = makeSpecialFiles(dir);
    Deno.mkdirSync(`${dir}/folder`);
    const cases: [string, RegExp][] = [
      [`${dir}/folder`, /[:,] (which )?is a directory$/],
      ...Object.entries(special).map(([kind, p]): [string, RegExp] => [
        p,
        new RegExp(`: a ${escapeRe(kind)}, not a regular file$`),
      ]),
    ];
    assert.ok(cases.length >= 3, `special files made: ${Object.keys(special)}`);
    for (const [i, [p, says]] of cases.entries()) {
      const link = `${dir}/link${i}`;
      Deno.symlinkSync(p, link);
      for (const target of [p, link]) {
        const before = names(dir);
        const e = thrown(() =>
          writeFilesAtomic([{ path: `${dir}/first.onnx`, bytes: "x" }, {
            path: target,
            bytes: "y",
          }])
        );
        assert.equal(dlmCode(e), "DLM0409", target);
        assert.match(messageOf(e), says, target);
        if (target === link) assert.match(messageOf(e), /it links to '/);
        assert.deepEqual(names(dir), before, "nothing written, no temporary left");
        assert.ok(!Deno.lstatSync(p).isFile, `${p} is still what it was`);
      }
    }
  }));

Deno.test("writeFileAtomic() refuses a link loop and a path through a file", () =>
  inTempDir((dir) => {
    Deno.symlinkSync("b", `${dir}/a`);
    Deno.symlinkSync("a", `${dir}/b`);
    assert.match(messageOf(thrown(() => writeFileAtomic(`${dir}/a`, "x"))), /too many levels/);
    Deno.writeTextFileSync(`${dir}/f`, "");
    assert.match(
      messageOf(thrown(() => writeFileAtomic(`${dir}/f/x.onnx`, "x"))),
      /not a folder/,
    );
  }));

// ---------------------------------------------------------------- temporaries (issue 12, defect 2)

Deno.test("a write error in any chunk of a multi-file streamed write leaves no temporary and changes no file", () =>
  inTempDir((dir) => {
    Deno.writeTextFileSync(`${dir}/m.onnx`, "old model");
    function* chunks(n: number) {
      for (let k = 0; k < n; k++) yield new Uint8Array(1000).fill(k);
    }
    // Each chunk of each of the three files in turn fails as a full disk would.
    for (let file = 0; file < 3; file++) {
      for (let chunk = 0; chunk < 3; chunk++) {
        let n = 0;
        writeFaults.beforeChunk = (tmp, k) => {
          assert.match(tmp, /\.\d+\.[0-9a-z]+\.tmp$/);
          if (n++ === file * 3 + chunk) {
            assert.equal(k, chunk);
            throw new Deno.errors.WriteZero("No space left on device (os error 28)");
          }
        };
        try {
          const e = thrown(() =>
            writeFilesAtomic([
              { path: `${dir}/w.safetensors`, bytes: chunks(3) },
              { path: `${dir}/m.onnx.data`, bytes: chunks(3) },
              { path: `${dir}/m.onnx`, bytes: chunks(3) },
            ])
          );
          assert.equal(dlmCode(e), "DLM0409");
          assert.match(messageOf(e), /no space left on device/);
        } finally {
          writeFaults.beforeChunk = undefined;
        }
        assert.deepEqual(names(dir), ["m.onnx"], `file ${file}, chunk ${chunk}`);
        assert.equal(Deno.readTextFileSync(`${dir}/m.onnx`), "old model");
      }
    }
  }));

Deno.test({
  name: "a full disk (a 64 KiB tmpfs) mid-write leaves no temporary, for one file and for several",
  ignore: !canMount,
  fn: () =>
    withTmpfs(64, (dir) => {
      Deno.writeTextFileSync(`${dir}/m.onnx`, "old model");
      const big = () =>
        (function* () {
          for (let k = 0; k < 40; k++) yield new Uint8Array(4096).fill(k);
        })();
      for (
        const write of [
          () => writeFileAtomic(`${dir}/m.onnx`, new Uint8Array(200_000)),
          () => writeFileAtomic(`${dir}/m.onnx`, big()),
          () =>
            writeFilesAtomic([
              { path: `${dir}/w.safetensors`, bytes: new Uint8Array(20_000) },
              { path: `${dir}/m.onnx`, bytes: big() },
            ]),
        ]
      ) {
        const e = thrown(write);
        assert.equal(dlmCode(e), "DLM0409");
        assert.match(messageOf(e), /no space left on device/);
        assert.deepEqual(names(dir), ["m.onnx"]);
        assert.equal(Deno.readTextFileSync(`${dir}/m.onnx`), "old model");
      }
    }),
});

Deno.test("the next write to a path removes its temporaries left by a dead process (kill -9), and keeps a live one's and others'", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_fs_" });
  const live = livePid();
  try {
    const dead = await deadPid();
    const stale = [`m.onnx.${dead}.abc123.tmp`, `m.onnx.${dead}.zz.tmp`];
    const kept = [
      `m.onnx.${live.pid}.abc123.tmp`, // its writer is still running
      `other.onnx.${dead}.abc123.tmp`, // another path's
      `m.onnx.${dead}.tmp`, // not dlm's naming
      `m.onnx.x${dead}.abc.tmp`,
    ];
    for (const n of [...stale, ...kept]) Deno.writeTextFileSync(`${dir}/${n}`, "partial");
    writeFileAtomic(`${dir}/m.onnx`, "model");
    assert.deepEqual(names(dir), [...kept, "m.onnx"].sort());
    // Through a link, the temporaries beside the target are the ones cleared.
    Deno.mkdirSync(`${dir}/t`);
    Deno.writeTextFileSync(`${dir}/t/w.safetensors.${dead}.k1.tmp`, "partial");
    Deno.symlinkSync("t/w.safetensors", `${dir}/w.safetensors`);
    writeFileAtomic(`${dir}/w.safetensors`, "w");
    assert.deepEqual(names(`${dir}/t`), ["w.safetensors"]);
  } finally {
    await live.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("processGone() is false for this process and a running child, true for an exited one", async () => {
  const live = livePid();
  try {
    assert.equal(processGone(Deno.pid), false);
    assert.equal(processGone(live.pid), false);
    assert.equal(processGone(await deadPid()), Deno.build.os === "linux");
  } finally {
    await live.stop();
  }
});

// ---------------------------------------------------------------- checks before any work (defect 9)

Deno.test("checkOutputFile() and checkOutputDir() accept writable paths and leave nothing behind", () =>
  inTempDir((dir) => {
    Deno.writeTextFileSync(`${dir}/old.onnx`, "x");
    Deno.symlinkSync("old.onnx", `${dir}/link.onnx`);
    checkOutputFile(`${dir}/new.onnx`, "-o");
    checkOutputFile(`${dir}/old.onnx`, "-o");
    checkOutputFile(`${dir}/link.onnx`, "-o");
    checkOutputDir(dir, "--out");
    checkOutputDir(`${dir}/a/b/c`, "--out"); // made later, under a writable folder
    assert.deepEqual(names(dir), ["link.onnx", "old.onnx"]);
    assert.equal(Deno.readTextFileSync(`${dir}/old.onnx`), "x");
  }));

Deno.test("checkOutputFile() and checkOutputDir() refuse a missing folder, a folder for a file and a file for a folder, naming the option", () =>
  inTempDir((dir) => {
    Deno.writeTextFileSync(`${dir}/file`, "x");
    const cases: [() => void, RegExp][] = [
      [() => checkOutputFile(`${dir}/no/m.onnx`, "-o"), /\(-o\): no such file or directory$/],
      [() => checkOutputFile(dir, "--save"), /\(--save\): is a directory$/],
      [() => checkOutputDir(`${dir}/file`, "--out"), /\(--out\): a regular file, not a folder$/],
      [() => checkOutputDir(`${dir}/file/sub`, "--out"), /a part of the path is not a folder$/],
    ];
    for (const [f, says] of cases) {
      const e = thrown(f);
      assert.equal(dlmCode(e), "DLM0409");
      assert.match(messageOf(e), says);
    }
    assert.deepEqual(names(dir), ["file"]);
  }));

Deno.test({
  name:
    "checkOutputFile() and checkOutputDir() refuse a read-only file system (a tmpfs remounted ro), as root too",
  ignore: !canMount,
  fn: () =>
    withTmpfs(16, (dir) => {
      for (
        const f of [
          () => checkOutputFile(`${dir}/x.safetensors`, "--save"),
          () => checkOutputDir(dir, "--out"),
          () => checkOutputDir(`${dir}/run`, "--out"),
        ]
      ) {
        const e = thrown(f);
        assert.equal(dlmCode(e), "DLM0409");
        assert.match(messageOf(e), /read-only file system$/);
      }
    }, { readOnly: true }),
});

Deno.test({
  name:
    "checkOutputFile() refuses a folder without write permission (not as root, whom modes do not stop)",
  ignore: Deno.build.os === "windows" || isRoot,
  fn: () =>
    inTempDir((dir) => {
      Deno.mkdirSync(`${dir}/ro`);
      Deno.chmodSync(`${dir}/ro`, 0o555);
      try {
        const e = thrown(() => checkOutputFile(`${dir}/ro/x.safetensors`, "--save"));
        assert.match(messageOf(e), /permission denied$/);
      } finally {
        Deno.chmodSync(`${dir}/ro`, 0o755);
      }
    }),
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test("writeFilesAtomic() refuses two outputs that lead to one file through a link", () =>
  inTempDir((dir) => {
    Deno.symlinkSync("m.onnx", `${dir}/link.onnx`);
    const e = thrown(() =>
      writeFilesAtomic([{ path: `${dir}/m.onnx`, bytes: "a" }, {
        path: `${dir}/link.onnx`,
        bytes: "b",
      }])
    );
    assert.equal(dlmCode(e), "DLM0409");
    assert.match(messageOf(e), /leads to the same file/);
    assert.deepEqual(names(dir), ["link.onnx"]);
  }));

Deno.test("every file is flushed to the disk before its rename, and each folder after the renames", () =>
  inTempDir((dir) => {
    Deno.mkdirSync(`${dir}/sub`);
    const calls: string[] = [];
    const saved = { ...fsOps };
    const rel = (p: string) => p.slice(dir.length + 1).replace(/\.\d+\.[0-9a-z]+\.tmp$/, ".TMP");
    fsOps.syncFile = (f, path) => {
      // What is synced is the temporary's whole content: its size is final by now.
      calls.push(`sync ${rel(path)} ${f.statSync().size}`);
      saved.syncFile(f, path);
    };
    fsOps.rename = (from, to) => {
      calls.push(`rename ${rel(from)} -> ${rel(to)}`);
      saved.rename(from, to);
    };
    fsOps.syncDir = (d) => {
      calls.push(`syncdir ${d === dir ? "." : rel(d)}`);
      saved.syncDir(d);
    };
    try {
      writeFilesAtomic([
        { path: `${dir}/a`, bytes: "abc" },
        { path: `${dir}/sub/b`, bytes: [new Uint8Array(5), new Uint8Array(2)] },
      ]);
      assert.deepEqual(calls, [
        "sync a.TMP 3",
        "sync sub/b.TMP 7",
        "rename a.TMP -> a",
        "rename sub/b.TMP -> sub/b",
        "syncdir .",
        "syncdir sub",
      ]);
      // A failed write syncs and renames nothing more.
      calls.length = 0;
      writeFaults.beforeChunk = () => {
        throw new Error("No space left on device (os error 28)");
      };
      assert.throws(() => writeFileAtomic(`${dir}/a`, "xyz"), DlmError);
      assert.deepEqual(calls, []);
      assert.equal(Deno.readTextFileSync(`${dir}/a`), "abc");
    } finally {
      Object.assign(fsOps, saved);
      writeFaults.beforeChunk = undefined;
    }
  }));

Deno.test("syncing a folder that cannot be opened is skipped, not an error", () => {
  fsOps.syncDir("/no/such/folder/for/dlm");
});

// ---------------------------------------------------------------- the overlapped writer

async function inTempDirAsync(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_fs_" });
  try {
    await f(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Chunks of the given sizes from one reused buffer, chunk k filled with k + 1. */
function* reused(sizes: number[]): Generator<Uint8Array> {
  const buf = new Uint8Array(Math.max(...sizes, 1));
  for (const [k, n] of sizes.entries()) {
    buf.fill((k + 1) % 251);
    yield buf.subarray(0, n);
  }
}

Deno.test("writeFilesAtomicAsync() writes the bytes writeFilesAtomic() writes, from a reused buffer and across its 1 MiB buffers", () =>
  inTempDirAsync(async (dir) => {
    const MiB = 1 << 20;
    const sizes = [0, 5, MiB - 5, 1, 3 * MiB + 7, 0, 262_144, 262_144, 100, MiB, 2];
    writeFilesAtomic([{ path: `${dir}/sync`, bytes: reused(sizes) }]);
    await writeFilesAtomicAsync([
      { path: `${dir}/async`, bytes: reused(sizes) },
      { path: `${dir}/t`, bytes: "text" },
      { path: `${dir}/empty`, bytes: reused([0]) },
    ]);
    const want = Deno.readFileSync(`${dir}/sync`);
    assert.equal(want.length, sizes.reduce((a, b) => a + b, 0));
    // Compared without deepEqual, whose diff of 5 MB arrays would not fit in memory.
    const got = Deno.readFileSync(`${dir}/async`);
    assert.equal(got.length, want.length);
    assert.equal(got.findIndex((b, i) => b !== want[i]), -1, "the first byte that differs");
    assert.equal(Deno.readTextFileSync(`${dir}/t`), "text");
    assert.equal(Deno.readFileSync(`${dir}/empty`).length, 0);
    assert.deepEqual(names(dir), ["async", "empty", "sync", "t"]);
  }));

Deno.test("writeFilesAtomicAsync() passes on a failure to produce the bytes, and a write error in any chunk is DLM0409; neither leaves a temporary", () =>
  inTempDirAsync(async (dir) => {
    Deno.writeTextFileSync(`${dir}/m.onnx`, "old model");
    function* failing() {
      yield new Uint8Array(3 << 20);
      throw new Error("internal: drawing failed");
    }
    await assert.rejects(
      writeFilesAtomicAsync([
        { path: `${dir}/w.safetensors`, bytes: "new weights" },
        { path: `${dir}/m.onnx`, bytes: failing() },
      ]),
      (e: unknown) => !(e instanceof DlmError) && /drawing failed/.test(String(e)),
    );
    assert.deepEqual(names(dir), ["m.onnx"]);
    // Chunks of 700 KB: a fault lands while an earlier megabyte is being written.
    const chunks = () => reused([700_000, 700_000, 700_000]);
    for (let file = 0; file < 2; file++) {
      for (let chunk = 0; chunk < 3; chunk++) {
        let n = 0;
        writeFaults.beforeChunk = (_tmp, k) => {
          if (n++ === file * 3 + chunk) {
            assert.equal(k, chunk);
            throw new Deno.errors.WriteZero("No space left on device (os error 28)");
          }
        };
        try {
          await assert.rejects(
            writeFilesAtomicAsync([
              { path: `${dir}/m.onnx.data`, bytes: chunks() },
              { path: `${dir}/m.onnx`, bytes: chunks() },
            ]),
            (e: unknown) =>
              dlmCode(e) === "DLM0409" && /no space left on device/.test(messageOf(e)),
          );
        } finally {
          writeFaults.beforeChunk = undefined;
        }
        assert.deepEqual(names(dir), ["m.onnx"], `file ${file}, chunk ${chunk}`);
        assert.equal(Deno.readTextFileSync(`${dir}/m.onnx`), "old model");
      }
    }
  }));
