/**
 * dlm turns off onnxruntime's telemetry files (runtime/ort/node.ts, quietOrtTelemetry):
 * a run in a fresh HOME with no ORT_DISABLE_TELEMETRY in its environment leaves nothing
 * under HOME, while a user's explicit `ORT_DISABLE_TELEMETRY=0` still gets onnxruntime's
 * default (which shows the check can fail).
 */
import assert from "node:assert/strict";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);

async function runIn(home: string, extra: Record<string, string>): Promise<string[]> {
  const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  const denoDir = JSON.parse(new TextDecoder().decode(info.stdout)).denoDir as string;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", "run", "lang-examples/mlp.dlm", "--no-cache"],
    cwd: ROOT,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      NO_COLOR: "1",
      HOME: home,
      DENO_DIR: denoDir,
      ...extra,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  const walk = (d: string): string[] =>
    [...Deno.readDirSync(d)].flatMap((e) =>
      e.isDirectory ? [`${d}/${e.name}/`, ...walk(`${d}/${e.name}`)] : [`${d}/${e.name}`]
    );
  return walk(home).map((p) => p.slice(home.length));
}

Deno.test("dlm run writes no onnxruntime telemetry under HOME unless the user asks for it", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "dlm_telemetry_" });
  try {
    const quiet = `${tmp}/quiet`, loud = `${tmp}/loud`;
    Deno.mkdirSync(quiet);
    Deno.mkdirSync(loud);
    assert.deepEqual(await runIn(quiet, {}), []);
    const written = await runIn(loud, { ORT_DISABLE_TELEMETRY: "0" });
    assert.ok(
      written.some((p) => p.includes("/.cache/Microsoft/")),
      `onnxruntime's default writes its telemetry files; got ${JSON.stringify(written)}`,
    );
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});
