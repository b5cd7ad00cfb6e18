/**
 * `deno task test [deno test arguments]`: the test suite with a cache directory of its own.
 *
 * `dlm run` and `dlm train` keep onnxruntime's optimised models in a cache
 * (runtime/ort/cache.ts), by default under the user's home (`~/.cache/dlm`).
 * The suite runs both many times, in-process and as child processes, so it
 * runs with `DLM_CACHE_DIR` set to a fresh temporary folder (which every
 * child inherits and which this script deletes afterwards): no test reads an
 * entry a user's run left, and none writes under `$HOME`. onnxruntime (1.30)
 * itself writes a telemetry device id and database under
 * `~/.cache/Microsoft/DeveloperTools/.onnxruntime/` when it starts, unless
 * `ORT_DISABLE_TELEMETRY` is set: the suite sets it.
 * `tests/test_cache_dir_test.ts` fails when the suite runs without it.
 *
 * Arguments go to `deno test -A --parallel` as they are: `deno task test
 * tests/cli_test.ts --filter cache` runs one file's tests the same way.
 */

/** The variable that tells `tests/test_cache_dir_test.ts` the suite's cache folder is a temporary one. */
export const TEST_CACHE_MARK = "DLM_TEST_CACHE_DIR";

async function main(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "dlm_test_cache_" });
  // An interrupt reaches the test process too (same process group); wait for it, then clean up.
  const ignore = () => {};
  Deno.addSignalListener("SIGINT", ignore);
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--parallel", ...Deno.args],
      env: { DLM_CACHE_DIR: dir, [TEST_CACHE_MARK]: dir, ORT_DISABLE_TELEMETRY: "1" },
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    return (await child.status).code;
  } finally {
    Deno.removeSignalListener("SIGINT", ignore);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await main());
