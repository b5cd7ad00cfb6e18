/**
 * Test support for the browser tests: the Chromium to drive, and whether to skip without one.
 * (tests/web_test.ts has its own copy of `findChromium`, written before this module.)
 */

/** The Chromium to drive: `$DLM_CHROMIUM`, else the first on PATH. */
export function findChromium(): string | undefined {
  const given = Deno.env.get("DLM_CHROMIUM");
  if (given) return given;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    for (const name of ["chromium", "chromium-browser"]) {
      try {
        if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
      } catch { /* not here */ }
    }
  }
  return undefined;
}
