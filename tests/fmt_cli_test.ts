/** `dlm fmt`: in place, `--check`, `--width`, folders, standard input, and files that do not parse. */
import assert from "node:assert/strict";
import { dlm } from "./cli_testing.ts";

const CRAMPED = "model M{input x:f32[N,3]  output y=x|>linear(4,bias:false)|>relu}\n";
const FORMATTED =
  "model M {\n  input x: f32[N, 3]\n  output y = x |> linear(4, bias: false) |> relu\n}\n";

Deno.test("dlm fmt rewrites a file in place, prints its name, and leaves a formatted one alone", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = `${dir}/a.dlm`, b = `${dir}/b.dlm`;
    Deno.writeTextFileSync(a, CRAMPED);
    Deno.writeTextFileSync(b, FORMATTED);
    const before = Deno.statSync(b).mtime;
    const r = await dlm("fmt", a, b);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, a);
    assert.equal(Deno.readTextFileSync(a), FORMATTED);
    assert.deepEqual(Deno.statSync(b).mtime, before);
    // No temporary file is left beside them.
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a.dlm", "b.dlm"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dlm fmt --check lists the files that are not formatted (DLM0560), writes nothing and exits 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    Deno.mkdirSync(`${dir}/sub`);
    Deno.writeTextFileSync(`${dir}/sub/a.dlm`, CRAMPED);
    Deno.writeTextFileSync(`${dir}/b.dlm`, FORMATTED);
    Deno.writeTextFileSync(`${dir}/notes.txt`, CRAMPED);
    const r = await dlm("fmt", "--check", dir);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    assert.equal(
      r.err,
      `error DLM0560: '${dir}/sub/a.dlm' is not formatted: dlm fmt would change it`,
    );
    assert.equal(Deno.readTextFileSync(`${dir}/sub/a.dlm`), CRAMPED);
    // Once formatted (the folder: its .dlm files only), the check passes.
    assert.equal((await dlm("fmt", dir)).code, 0);
    assert.equal(Deno.readTextFileSync(`${dir}/notes.txt`), CRAMPED);
    assert.deepEqual(await dlm("fmt", "--check", dir), { code: 0, out: "", err: "" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dlm fmt leaves a file that does not parse untouched, prints its diagnostics and exits 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = `${dir}/bad.dlm`, good = `${dir}/good.dlm`;
    const text = "model M {\n  let y = conv2d(8 kernel: 3)\n}\n";
    Deno.writeTextFileSync(bad, text);
    Deno.writeTextFileSync(good, CRAMPED);
    const r = await dlm("fmt", bad, good);
    assert.equal(r.code, 1);
    assert.match(r.err, /bad\.dlm:2:20: error DLM0002: Expected '\)' but found 'kernel'/);
    assert.match(r.err, /2 \| {3}let y = conv2d\(8 kernel: 3\)/);
    assert.equal(Deno.readTextFileSync(bad), text);
    // The other files are still formatted.
    assert.equal(Deno.readTextFileSync(good), FORMATTED);
    assert.equal((await dlm("fmt", `${dir}/missing.dlm`)).code, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dlm fmt --width sets the line width, and refuses one too small to mean anything", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = `${dir}/a.dlm`;
    Deno.writeTextFileSync(a, CRAMPED);
    assert.equal((await dlm("fmt", "--width", "40", a)).code, 0);
    assert.equal(
      Deno.readTextFileSync(a),
      "model M {\n  input x: f32[N, 3]\n  output y = x\n    |> linear(4, bias: false)\n    |> relu\n}\n",
    );
    const r = await dlm("fmt", "--width", "5", a);
    assert.equal(r.code, 2);
    assert.match(r.err, /DLM0501: option '--width' needs an integer from 20 to 1000, got '5'/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dlm fmt with no file formats standard input to standard output", async () => {
  const main = new URL("../cli/main.ts", import.meta.url).pathname;
  const run = async (text: string, ...args: string[]) => {
    const p = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "fmt", ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(text));
    await w.close();
    const o = await p.output();
    const dec = new TextDecoder();
    return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
  };
  assert.deepEqual(await run(CRAMPED), { code: 0, out: FORMATTED, err: "" });
  const check = await run(CRAMPED, "--check");
  assert.equal(check.code, 1);
  assert.match(check.err, /DLM0560: '<stdin>' is not formatted/);
  assert.equal((await run("model {")).code, 1);
});
