/**
 * The suite never touches the user's onnxruntime cache (runtime/ort/cache.ts, by default
 * `~/.cache/dlm`): `deno task test` (tools/test.ts) runs it with `DLM_CACHE_DIR` set to a
 * temporary folder, which in-process CLI runs read and spawned ones inherit, and with
 * `ORT_DISABLE_TELEMETRY` (onnxruntime would write its telemetry files under `~/.cache`). These
 * tests fail when the suite runs without it (a bare `deno test`).
 */
import assert from "node:assert/strict";
import { cacheConfigFromEnv, ORT_SUBDIR } from "../runtime/ort/cache.ts";
import { CACHE_MIN_NODES } from "../runtime/ort/node.ts";
import { TEST_CACHE_MARK } from "../tools/test.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const HOW = "run the tests with `deno task test` (tools/test.ts), which gives them a temporary " +
  "DLM_CACHE_DIR; a bare `deno test` lets CLI tests write onnxruntime sessions into ~/.cache/dlm";

/** The suite's temporary cache folder, which tools/test.ts names in DLM_TEST_CACHE_DIR. */
function suiteCache(): string {
  const dir = Deno.env.get(TEST_CACHE_MARK);
  assert.ok(dir, `${TEST_CACHE_MARK} is not set: ${HOW}`);
  return dir;
}

Deno.test("the suite's onnxruntime cache is a temporary folder of its own, not the user's", () => {
  const dir = suiteCache();
  assert.equal(Deno.env.get("DLM_CACHE_DIR"), dir, `DLM_CACHE_DIR is not the suite's: ${HOW}`);
  assert.equal(cacheConfigFromEnv()?.dir, `${dir}/${ORT_SUBDIR}`, HOW);
  const home = Deno.env.get("HOME");
  if (home) assert.ok(!dir.startsWith(`${home}/.cache/`), `${dir} is the user's cache`);
});

Deno.test("a dlm run spawned by a test caches into the suite's folder and writes nothing under HOME", async () => {
  const dir = suiteCache();
  const tmp = Deno.makeTempDirSync({ prefix: "dlm_cache_guard_" });
  try {
    // A model big enough to be cached (CACHE_MIN_NODES): a deep stack of small linear layers.
    const file = `${tmp}/deep.dlm`;
    Deno.writeTextFileSync(
      file,
      `model Deep(layers: int = ${Math.ceil(CACHE_MIN_NODES / 2) + 5}) {
  input image: f32[N, 8]
  let h = image
  for i in 0..layers {
    h = h |> "fc\${i}": linear(8) |> relu
  }
  output y: f32[N, 8] = h
}
`,
    );
    // A home of its own for the child, which would hold ~/.cache/dlm; Deno's own cache stays
    // where it is (its default follows HOME too).
    const home = `${tmp}/home`;
    Deno.mkdirSync(home);
    const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
    const denoDir = JSON.parse(new TextDecoder().decode(info.stdout)).denoDir as string;
    const entries = () => {
      try {
        return [...Deno.readDirSync(`${dir}/${ORT_SUBDIR}`)].map((e) => e.name);
      } catch {
        return [];
      }
    };
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "cli/main.ts", "run", file, "--dim", "N=2"],
      cwd: ROOT,
      env: { NO_COLOR: "1", HOME: home, XDG_CACHE_HOME: "", DENO_DIR: denoDir },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, err);
    assert.match(err, /the optimised model (was cached|came from the cache)/);
    // The only cache the child could read or write is the suite's.
    assert.ok(entries().length > 0, "an entry in the suite's cache");
    const walk = (d: string): string[] =>
      [...Deno.readDirSync(d)].flatMap((e) =>
        e.isDirectory ? [`${d}/${e.name}/`, ...walk(`${d}/${e.name}`)] : [`${d}/${e.name}`]
      );
    assert.deepEqual(walk(home), [], "nothing under HOME");
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});
