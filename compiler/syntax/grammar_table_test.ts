/**
 * grammar_table.json holds what chevrotain's self-analysis records for the grammar: the rules'
 * productions and the follow sets of error recovery, under the rules' code they were computed from
 * (`DLM_UPDATE_GOLDEN=1` writes the table). A parser built from the table must be the parser
 * chevrotain builds, production for production.
 */
import assert from "node:assert/strict";
import { EOF } from "./vendor/chevrotain.mjs";
import { PARSER_TOKENS } from "./lexer.ts";
import { DlmParser } from "./parser.ts";
import {
  type GrammarTable,
  parserRulesText,
  readRules,
  restoreAnalysis,
  rulesText,
  storeFollows,
  storeProduction,
} from "./grammar_table.ts";
import STORED from "./grammar_table.json" with { type: "json" };

const TABLE_URL = new URL("./grammar_table.json", import.meta.url);
const TOKENS = [...PARSER_TOKENS, EOF];
const TABLE = STORED as unknown as GrammarTable;

// deno-lint-ignore no-explicit-any
type Internals = any;

/** The table of a parser that chevrotain analysed itself. */
function recorded(): GrammarTable {
  const p: Internals = new DlmParser({ grammar: false });
  return {
    rulesText: parserRulesText(p),
    rules: Object.values(p.gastProductionsCache).map((r) => storeProduction(r as never)),
    follows: storeFollows(p.resyncFollows),
  };
}

Deno.test("grammar_table.json holds the grammar and follow sets chevrotain records", () => {
  const table = recorded();
  assert.ok(table.rules.length > 40, `${table.rules.length} rules`);
  assert.ok(Object.keys(table.follows).length > 50);
  if (Deno.env.get("DLM_UPDATE_GOLDEN")) {
    Deno.writeTextFileSync(TABLE_URL, JSON.stringify(table) + "\n");
    return;
  }
  assert.deepEqual(
    TABLE,
    table,
    "the grammar changed: DLM_UPDATE_GOLDEN=1 deno test -A compiler/syntax/grammar_table_test.ts",
  );
});

Deno.test("a parser built from the table is the parser chevrotain analyses", () => {
  const fast: Internals = new DlmParser();
  const slow: Internals = new DlmParser({ grammar: false });
  // Built from the table: no recording happened (chevrotain's recording leaves this set).
  assert.equal(fast.RECORDING_PHASE, false);
  assert.ok(fast.selfAnalysisDone);
  const rules = (p: Internals) =>
    Object.entries(p.gastProductionsCache).map(([k, r]) => [k, storeProduction(r as never)]);
  assert.deepEqual(rules(fast), rules(slow));
  assert.deepEqual(storeFollows(fast.resyncFollows), storeFollows(slow.resyncFollows));
  // Rule references point at the parser's own productions.
  for (const r of Object.values(fast.gastProductionsCache) as Internals[]) {
    const walk = (x: Internals): void => {
      if (x.nonTerminalName) {
        assert.equal(x.referencedRule, fast.gastProductionsCache[x.nonTerminalName]);
      } else x.definition?.forEach(walk);
    };
    walk(r);
  }
  assert.deepEqual([...fast.lookAheadFuncsCache.keys()], [...slow.lookAheadFuncsCache.keys()]);
});

Deno.test("a table of another grammar is not used: chevrotain analyses the grammar", () => {
  const stale: GrammarTable = { ...TABLE, rulesText: "model" };
  const p: Internals = new DlmParser({ grammar: stale });
  assert.equal(p.selfAnalysisDone, true);
  assert.deepEqual(storeFollows(p.resyncFollows), TABLE.follows);
  // restoreAnalysis itself declines it, and a table naming a token that is gone.
  assert.equal(restoreAnalysis({ definedRulesNames: [] }, stale, TOKENS), false);
  const gone = structuredClone(TABLE);
  gone.rulesText = rulesText([]);
  gone.rules = [{
    kind: "Rule",
    fields: { name: "r" },
    definition: [{ kind: "Terminal", token: "NoSuchToken", fields: { idx: 0 } }],
  }];
  assert.equal(restoreAnalysis({ definedRulesNames: [] }, gone, TOKENS), false);
  assert.throws(() => readRules(gone.rules, new Map()), /no token NoSuchToken/);
});

Deno.test("the rules' text changes with any rule's code, name or order", () => {
  const a = { name: "a", source: "() => { this.CONSUME(T.X); }" };
  const b = { name: "b", source: "() => { this.SUBRULE(this.a); }" };
  const base = rulesText([a, b]);
  assert.equal(rulesText([a, b]), base);
  assert.notEqual(rulesText([b, a]), base);
  assert.notEqual(rulesText([{ ...a, name: "c" }, b]), base);
  assert.notEqual(rulesText([{ ...a, source: a.source.replace("X", "Y") }, b]), base);
  assert.notEqual(rulesText([a]), base);
  // The parser's own text holds every rule's code.
  const p = new DlmParser() as Internals;
  const text = parserRulesText(p);
  for (const name of p.definedRulesNames) {
    assert.ok(text.includes(String(p[name].originalGrammarAction)), name);
  }
});
