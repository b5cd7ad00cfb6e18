import assert from "node:assert/strict";
import { VERSION } from "chevrotain";
import * as vendored from "./chevrotain.mjs";

const HEADER_END = "// ---- end of header\n";

Deno.test("the vendored chevrotain is byte for byte the single-file build of the npm package deno.json names", async () => {
  const text = await Deno.readTextFile(new URL("./chevrotain.mjs", import.meta.url));
  const at = text.indexOf(HEADER_END);
  assert.ok(at > 0, "the vendored file keeps its header");
  // The npm package is installed beside the repository (deno.json: nodeModulesDir auto).
  const upstream = await Deno.readTextFile(
    new URL("../../../node_modules/chevrotain/lib/chevrotain.mjs", import.meta.url),
  );
  assert.ok(
    text.slice(at + HEADER_END.length) === upstream,
    "differs from npm:chevrotain's lib/chevrotain.mjs",
  );
  assert.equal(vendored.VERSION, VERSION);
});
