/**
 * The parser's self-analysis read from a table instead of recomputed at
 * every start.
 *
 * chevrotain's `performSelfAnalysis` records the grammar by running every
 * rule in a recording mode (the grammar as productions, "GAST"), computes
 * from it the follow sets that error recovery resynchronises on, and builds
 * the lookahead functions. The recording and the follow sets depend on the
 * rules' code alone, and were most of the parser's construction (about 8 of
 * its 11 ms, paid by every `dlm check`); so they are kept in
 * `grammar_table.json`, with the rules' code they were computed from (the
 * source text of every rule, in order). `restoreAnalysis` rebuilds the
 * productions and follow sets from the table when that code is the parser's, and leaves the
 * parser to chevrotain's own analysis otherwise: a stale table costs time,
 * never a wrong parse. `grammar_table_test.ts` records the grammar with
 * chevrotain and fails when the table differs (`DLM_UPDATE_GOLDEN=1 deno test
 * -A compiler/syntax/grammar_table_test.ts` writes it).
 *
 * What `restoreAnalysis` does is chevrotain 11.0.3's `performSelfAnalysis`
 * (lib/src/parse/parser/parser.js) with its recording phase and follow-set
 * computation replaced by the table's, and without the grammar validations
 * (skipped at run time anyway; parser_test.ts runs them).
 */
// @ts-types="chevrotain"
import {
  Alternation,
  Alternative,
  type IProduction,
  NonTerminal,
  Option,
  Repetition,
  RepetitionMandatory,
  RepetitionMandatoryWithSeparator,
  RepetitionWithSeparator,
  Rule,
  Terminal,
  type TokenType,
} from "./vendor/chevrotain.mjs";

/** A production as the table holds it: its kind, its own scalar fields, its parts. */
export interface StoredProduction {
  kind: string;
  /** A Terminal's token (or a repetition's separator) by name. */
  token?: string;
  separator?: string;
  fields: Record<string, string | number | boolean>;
  definition?: StoredProduction[];
}

/** The table: the rules' code, their productions, and the follow sets by key. */
export interface GrammarTable {
  rulesText: string;
  rules: StoredProduction[];
  follows: Record<string, string[]>;
}

// deno-lint-ignore no-explicit-any
type Ctor = new (options: any) => IProduction;
const KINDS: Record<string, Ctor> = {
  Rule,
  NonTerminal,
  Alternative,
  Option,
  RepetitionMandatory,
  RepetitionMandatoryWithSeparator,
  RepetitionWithSeparator,
  Repetition,
  Alternation,
  Terminal,
};

function kindOf(p: IProduction): string {
  for (const [name, ctor] of Object.entries(KINDS)) if (p.constructor === ctor) return name;
  throw new Error(`grammar table: unknown production ${p.constructor.name}`);
}

/**
 * A production as stored. Every own field is kept: scalars as they are, token types by name,
 * parts recursively; a NonTerminal's rule by its name (`nonTerminalName`), resolved on reading.
 * A field of another type throws (the table would not hold the production whole).
 */
export function storeProduction(p: IProduction): StoredProduction {
  const kind = kindOf(p);
  const out: StoredProduction = { kind, fields: {} };
  for (const [key, value] of Object.entries(p)) {
    if (key === "_definition" || key === "referencedRule") continue;
    if (key === "terminalType") out.token = (value as TokenType).name;
    else if (key === "separator") out.separator = (value as TokenType).name;
    else if (["string", "number", "boolean"].includes(typeof value)) out.fields[key] = value;
    else throw new Error(`grammar table: ${kind}.${key} is a ${typeof value}`);
  }
  if (kind !== "NonTerminal" && kind !== "Terminal") {
    out.definition = (p as IProduction & { definition: IProduction[] }).definition.map(
      storeProduction,
    );
  }
  return out;
}

/** The productions of a table, with token types from `tokens` and rule references resolved. */
export function readRules(
  rules: StoredProduction[],
  tokens: ReadonlyMap<string, TokenType>,
): Rule[] {
  const refs: NonTerminal[] = [];
  const token = (name: string) => {
    const t = tokens.get(name);
    if (!t) throw new Error(`grammar table: no token ${name}`);
    return t;
  };
  // The productions are made as their constructors would make them (defaults, then the options
  // given: here every own field, as recorded), without the constructors' generic option copying.
  const read = (s: StoredProduction): IProduction => {
    const p = Object.create(KINDS[s.kind].prototype);
    if (s.kind !== "Terminal") p._definition = s.definition ? s.definition.map(read) : [];
    Object.assign(p, s.fields);
    if (s.token !== undefined) p.terminalType = token(s.token);
    if (s.separator !== undefined) p.separator = token(s.separator);
    if (p instanceof NonTerminal) refs.push(p);
    return p;
  };
  const out = rules.map((r) => read(r) as Rule);
  const byName = new Map(out.map((r) => [r.name, r]));
  for (const n of refs) {
    const r = byName.get(n.nonTerminalName);
    if (!r) throw new Error(`grammar table: no rule ${n.nonTerminalName}`);
    n.referencedRule = r;
  }
  return out;
}

/** The follow sets by token name. */
export function storeFollows(follows: Record<string, TokenType[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(follows).map(([k, ts]) => [k, ts.map((t) => t.name)]));
}

/**
 * The rules' code, which the table is valid for: each rule's name and its grammar function's
 * source text, in the order the rules were defined. Compared whole (a string comparison costs
 * next to nothing; a hash computed in JavaScript at start cost about 0.5 ms).
 */
export function rulesText(rules: { name: string; source: string }[]): string {
  return rules.map((r) => `${r.name}\u0000${r.source}`).join("\u0001");
}

/** chevrotain's parser internals that its self-analysis sets (not in its typings). */
interface Analysable {
  definedRulesNames: string[];
  gastProductionsCache: Record<string, Rule>;
  resyncFollows: Record<string, TokenType[]>;
  selfAnalysisDone: boolean;
  lookaheadStrategy: { initialize?(options: { rules: Rule[] }): void };
  preComputeLookaheadFunctions(rules: Rule[]): void;
}

/** The code of a parser's rules (after its rules are defined, before its analysis). */
export function parserRulesText(parser: object): string {
  const p = parser as unknown as Analysable & Record<string, { originalGrammarAction: object }>;
  return rulesText(p.definedRulesNames.map((name) => ({
    name,
    source: String(p[name].originalGrammarAction),
  })));
}

/**
 * The self-analysis of `parser` from `table`, in place of `performSelfAnalysis`; false (and
 * nothing done) when the table is not the parser's grammar.
 */
export function restoreAnalysis(
  parser: object,
  table: GrammarTable,
  tokens: readonly TokenType[],
): boolean {
  if (table.rulesText !== parserRulesText(parser)) return false;
  const p = parser as unknown as Analysable;
  const byName = new Map(tokens.map((t) => [t.name, t]));
  let rules: Rule[];
  try {
    rules = readRules(table.rules, byName);
  } catch {
    return false; // a token the table names is gone: chevrotain analyses the grammar
  }
  const follows: Record<string, TokenType[]> = {};
  for (const [key, names] of Object.entries(table.follows)) {
    const ts = names.map((n) => byName.get(n));
    if (ts.some((t) => t === undefined)) return false;
    follows[key] = ts as TokenType[];
  }
  p.selfAnalysisDone = true;
  toFastProperties(p);
  for (const r of rules) p.gastProductionsCache[r.name] = r;
  p.resyncFollows = follows;
  p.lookaheadStrategy.initialize?.({ rules });
  p.preComputeLookaheadFunctions(rules);
  return true;
}

/** chevrotain's `toFastProperties` (lib/src/utils.js): V8 keeps the object's properties fast. */
function toFastProperties(toBecomeFast: object): void {
  function FakeConstructor() {}
  FakeConstructor.prototype = toBecomeFast;
  // deno-lint-ignore no-explicit-any
  const fakeInstance = new (FakeConstructor as any)();
  function fakeAccess() {
    return typeof fakeInstance.bar;
  }
  fakeAccess();
  fakeAccess();
}
