import assert from "node:assert/strict";
import { VERSION } from "chevrotain";
import * as vendored from "./chevrotain.mjs";

const HEADER_END = "// ---- end of header\n";

/**
 * The changes made to the npm package's file, each a text that occurs once in it and its
 * replacement, with why. Each must keep chevrotain's behaviour: a test below checks each one.
 */
export const PATCHES: { why: string; from: string; to: string }[] = [
  {
    why: "the lexer's start-up filled a 65536-entry table of char code -> optimised index, " +
      "one interpreted loop of about 2.5 ms at every start; the index is computed instead " +
      "(the same value for every char code, undefined past 0xffff as the table gave)",
    from: `function charCodeToOptimizedIndex(charCode) {
  return charCode < minOptimizationVal ? charCode : charCodeToOptimizedIdxMap[charCode];
}
function initCharCodeToOptimizedIndexMap() {
  if (isEmpty_default(charCodeToOptimizedIdxMap)) {
    charCodeToOptimizedIdxMap = new Array(65536);
    for (let i = 0; i < 65536; i++) {
      charCodeToOptimizedIdxMap[i] = i > 255 ? 255 + ~~(i / 255) : i;
    }
  }
}`,
    to: `function charCodeToOptimizedIndex(charCode) {
  return charCode < minOptimizationVal ? charCode : charCode < 65536 ? 255 + ~~(charCode / 255) : void 0;
}
function initCharCodeToOptimizedIndexMap() {
}`,
  },
];

async function upstream(): Promise<string> {
  // The npm package is installed beside the repository (deno.json: nodeModulesDir auto).
  return await Deno.readTextFile(
    new URL("../../../node_modules/chevrotain/lib/chevrotain.mjs", import.meta.url),
  );
}

Deno.test("the vendored chevrotain is the single-file build of the npm package deno.json names, with PATCHES applied", async () => {
  const text = await Deno.readTextFile(new URL("./chevrotain.mjs", import.meta.url));
  const at = text.indexOf(HEADER_END);
  assert.ok(at > 0, "the vendored file keeps its header");
  let expected = await upstream();
  for (const p of PATCHES) {
    assert.equal(expected.split(p.from).length, 2, `patch no longer applies once: ${p.why}`);
    expected = expected.replace(p.from, () => p.to);
  }
  assert.ok(
    text.slice(at + HEADER_END.length) === expected,
    "differs from npm:chevrotain's lib/chevrotain.mjs with PATCHES applied",
  );
  assert.equal(vendored.VERSION, VERSION);
});

Deno.test("the char code index patch gives the table's value for every char code", () => {
  // Each side's two functions, run as the module runs them.
  const build = (src: string) =>
    new Function(
      `var minOptimizationVal = 256; var charCodeToOptimizedIdxMap = [];
       const isEmpty_default = (a) => a.length === 0;
       ${src}
       initCharCodeToOptimizedIndexMap();
       return charCodeToOptimizedIndex;`,
    )() as (c: number) => number | undefined;
  const before = build(PATCHES[0].from);
  const after = build(PATCHES[0].to);
  for (let c = 0; c < 65536 + 300; c++) assert.equal(after(c), before(c), `char code ${c}`);
});
