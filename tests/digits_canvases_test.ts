/**
 * The several-digit canvases of tools/digits_detection_data.ts: padded
 * ground truth consistent with its mask and count, boxes inside the canvas
 * and apart, ink only inside boxes, held-out digits disjoint, seeded.
 */
import assert from "node:assert/strict";
import { digitsCanvases, parseArgs } from "../tools/digits_detection_data.ts";

const TOOL = new URL("../tools/digits_detection_data.ts", import.meta.url).pathname;

Deno.test("canvases: padded truth agrees with mask and count; boxes fit, never touch, hold all the ink", () => {
  const side = 48, k = 3;
  const d = digitsCanvases({ count: 60, canvas: side, objects: k, sizes: [10, 16], seed: 5 });
  assert.deepEqual(d.image.shape, [60, 1, side, side]);
  assert.deepEqual(d.boxes.shape, [60, k, 4]);
  assert.deepEqual(d.labels.shape, [60, k]);
  const box = d.boxes.data as Float32Array, img = d.image.data as Float32Array;
  const counts = new Set<number>();
  for (let c = 0; c < 60; c++) {
    const n = Number(d.count.data[c]);
    counts.add(n);
    const rows: number[][] = [];
    for (let r = 0; r < k; r++) {
      const lab = Number(d.labels.data[c * k + r]), m = d.mask.data[c * k + r];
      const b = Array.from(box.subarray((c * k + r) * 4, (c * k + r) * 4 + 4));
      if (r < n) {
        assert.ok(lab >= 0 && lab <= 9 && m === 1);
        assert.ok(b[0] >= 0 && b[1] >= 0 && b[2] <= side && b[3] <= side);
        assert.ok([10, 16].includes(b[2] - b[0]) && b[2] - b[0] === b[3] - b[1]);
        rows.push(b);
      } else assert.ok(lab === -1 && m === 0 && b.every((v) => v === 0));
    }
    for (let i = 0; i < rows.length; i++) {
      for (let j = i + 1; j < rows.length; j++) {
        const [a, b] = [rows[i], rows[j]];
        assert.ok(a[0] > b[2] || b[0] > a[2] || a[1] > b[3] || b[1] > a[3], "boxes overlap");
      }
    }
    let inkIn = 0;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const v = img[c * side * side + y * side + x];
        const inside = rows.some((b) => x >= b[0] && x < b[2] && y >= b[1] && y < b[3]);
        if (!inside) assert.equal(v, 0, `ink outside every box at (${x}, ${y})`);
        else inkIn += v;
      }
    }
    assert.ok(inkIn > 0);
  }
  assert.deepEqual([...counts].sort(), [1, 2, 3], "every count of digits occurs");
});

Deno.test("canvases: seeded, and a held-out range uses other digits", () => {
  const a = digitsCanvases({ count: 10, seed: 2 }), b = digitsCanvases({ count: 10, seed: 2 });
  assert.deepEqual(a.image.data, b.image.data);
  assert.notDeepEqual(digitsCanvases({ count: 10, seed: 3 }).image.data, a.image.data);
  // One digit a canvas filling it: digits 0..9 and digits 10..19 give different patches.
  const one = (digits: [number, number]) =>
    digitsCanvases({ count: 10, objects: 1, canvas: 16, sizes: [16], digits, seed: 1 });
  const lo = one([0, 10]), hi = one([10, 20]);
  const patch = (t: Float32Array, c: number) => t.subarray(c * 256, c * 256 + 256).join();
  const loSet = new Set(
    Array.from({ length: 10 }, (_, c) => patch(lo.image.data as Float32Array, c)),
  );
  for (let c = 0; c < 10; c++) assert.ok(!loSet.has(patch(hi.image.data as Float32Array, c)));
  assert.equal(loSet.size, 10, "each digit of the range once before any repeats");
});

Deno.test("canvases: the command line's bad options are messages, not throws", () => {
  assert.deepEqual(parseArgs(["out"]), { dir: "out" });
  assert.deepEqual(parseArgs(["out", "--objects", "4", "--digits", "0:1500"]), {
    dir: "out",
    canvases: { objects: 4, digits: [0, 1500] },
  });
  for (
    const [args, msg] of [
      [["--objects", "4"], /output directory/],
      [["o", "--objects", "0"], /--objects must be a whole number >= 1/],
      [["o", "--objects", "2", "--digits", "5:5"], /--digits must be FROM:TO/],
      [["o", "--objects", "2", "--sizes", "80"], /fit the canvas/],
      [["o", "--count", "5"], /go with --objects/],
      [["o", "--bogus", "1"], /unknown option/],
      [["o", "--seed"], /needs a value/],
      // Each was a stack trace from a typed array too large to allocate, or a silent last-wins.
      [["o", "--objects", "100000000", "--count", "100"], /more than 2147483647 numbers/],
      [["o", "--objects", "2", "--count", "100000", "--canvas", "100000"], /more than 2147483647/],
      [["o", "--objects", "2", "--objects", "3"], /--objects is given twice/],
    ] as const
  ) {
    const r = parseArgs([...args]);
    assert.equal(typeof r, "string");
    assert.match(r as string, msg);
  }
});

Deno.test("canvases: an output path that cannot be written is a message and exit 1, not a stack trace", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_canvases_" });
  try {
    Deno.writeTextFileSync(`${dir}/file`, "");
    for (
      const [out, says] of [[`${dir}/file`, "already exists"], [`${dir}/file/sub`, "not a folder"]]
    ) {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", TOOL, out, "--objects", "2", "--count", "3"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 1, err);
      assert.match(err, new RegExp(`^error: cannot write to '${out}': .*${says}`));
      assert.doesNotMatch(err, /\bat /);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
