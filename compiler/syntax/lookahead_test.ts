/**
 * lookahead_table.json holds what chevrotain computes for the grammar: a
 * parser built from an empty table computes every production's paths, and
 * they must equal the table's (`DLM_UPDATE_GOLDEN=1` writes the table).
 */
import assert from "node:assert/strict";
import { EOF } from "./vendor/chevrotain.mjs";
import { PARSER_TOKENS } from "./lexer.ts";
import { DlmParser } from "./parser.ts";
import TABLE from "./lookahead_table.json" with { type: "json" };

const TABLE_URL = new URL("./lookahead_table.json", import.meta.url);

Deno.test("lookahead_table.json holds the lookahead paths chevrotain computes for the grammar", () => {
  const computed = new DlmParser({ table: {} }).lookahead.computed;
  assert.ok(Object.keys(computed).length > 50, `${Object.keys(computed).length} productions`);
  if (Deno.env.get("DLM_UPDATE_GOLDEN")) {
    const sorted = Object.fromEntries(
      Object.entries(computed).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    Deno.writeTextFileSync(TABLE_URL, JSON.stringify(sorted) + "\n");
    return;
  }
  assert.deepEqual(
    TABLE,
    computed,
    "the grammar changed: DLM_UPDATE_GOLDEN=1 deno test -A compiler/syntax/lookahead_test.ts",
  );
});

Deno.test("a parser built from the table computes no lookahead path", () => {
  assert.deepEqual(new DlmParser().lookahead.computed, {});
});

Deno.test("the table names tokens unambiguously", () => {
  const names = [...PARSER_TOKENS, EOF].map((t) => t.name);
  assert.equal(new Set(names).size, names.length, names.join(", "));
});
