import assert from "node:assert/strict";
import {
  mayBeSlow,
  STATUS_MIN_BYTES,
  STATUS_MIN_NODES,
  STATUS_MIN_NODES_UNOPTIMISED,
} from "./status.ts";

const STATUS = new URL("./status.ts", import.meta.url).href;

/**
 * stderr of a process that shows a status line around `busyMs` of blocking
 * work (as onnxruntime's session creation blocks the main thread), then
 * writes "after" on stderr.
 */
async function statusRun(opts: { busyMs: number; tty: boolean; delay: number; note?: string }) {
  const code = `
    import { LoadStatus } from ${JSON.stringify(STATUS)};
    const s = LoadStatus.start("dlm: optimising the step", { tty: ${opts.tty}, delay: ${opts.delay} });
    const end = Date.now() + ${opts.busyMs};
    while (Date.now() < end) { /* blocked, as in onnxruntime */ }
    s.stop(${JSON.stringify(opts.note ?? "")});
    Deno.stderr.writeSync(new TextEncoder().encode("after\\n"));
  `;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, err);
  return err;
}

Deno.test("a load shorter than the delay prints nothing", async () => {
  assert.equal(await statusRun({ busyMs: 50, tty: true, delay: 1000 }), "after\n");
});

Deno.test("off a terminal, a slow load is one line: what, then the time taken", async () => {
  const err = await statusRun({ busyMs: 1500, tty: false, delay: 300, note: ", cached" });
  assert.match(err, /^dlm: optimising the step\.\.\. 1\.\d s, cached\nafter\n$/);
  assert.doesNotMatch(err, /\r/);
});

Deno.test("on a terminal, the line counts seconds in place while the main thread is blocked, and stays", async () => {
  const err = await statusRun({ busyMs: 2300, tty: true, delay: 0 });
  // Written by the worker during the blocked 2.3 s: 0, 1 and 2 s.
  for (const s of [0, 1, 2]) assert.ok(err.includes(`\rdlm: optimising the step... ${s} s`), err);
  // The final line replaces it with the time taken, and nothing follows from the worker.
  assert.match(err, /\rdlm: optimising the step\.\.\. 2\.\d s *\nafter\n$/);
  assert.equal(err.split("\n").length, 3);
});

Deno.test("mayBeSlow() starts a status worker only for big graphs or big files", () => {
  assert.equal(mayBeSlow(100, 1000), false);
  assert.equal(mayBeSlow(STATUS_MIN_NODES, 0), true);
  assert.equal(mayBeSlow(10, STATUS_MIN_BYTES), true);
  // A load that optimises nothing (a cache hit, level disabled) is quicker per node.
  assert.equal(mayBeSlow(STATUS_MIN_NODES, 0, false), false);
  assert.equal(mayBeSlow(STATUS_MIN_NODES_UNOPTIMISED, 0, false), true);
  assert.equal(mayBeSlow(10, STATUS_MIN_BYTES, false), true);
});
