/**
 * chevrotain's LL(k) lookahead with its paths read from a table instead of
 * computed at every start.
 *
 * Building the parser (`performSelfAnalysis`) computes, for each
 * alternation, option and repetition of the grammar, the token sequences
 * (up to `maxLookahead` long) that select each alternative: about half of
 * the parser's construction, paid by every `dlm check` and `dlm compile`.
 * The sequences depend on the grammar alone, so they are computed once and
 * kept in `lookahead_table.json` (token names); `lookahead_test.ts`
 * recomputes them with chevrotain and fails when the table is stale
 * (`DLM_UPDATE_GOLDEN=1 deno test -A compiler/syntax/lookahead_test.ts`
 * writes it). A production the table lacks is computed as chevrotain would,
 * so a stale table costs time, never a wrong parse.
 *
 * The functions built from the paths are chevrotain 11.0.3's own
 * (`buildAlternativesLookAheadFunc`, `buildSingleAlternativeLookaheadFunction`
 * in lib/src/parse/grammar/lookahead.js, not exported), transcribed.
 */
// @ts-types="chevrotain"
import {
  getLookaheadPaths,
  type IOrAlt,
  type IToken,
  LLkLookaheadStrategy,
  type LookaheadProductionType,
  type LookaheadSequence,
  type OptionalProductionType,
  type Rule,
  tokenMatcher,
  type TokenType,
} from "./vendor/chevrotain.mjs";

/** Production key (`rule/kind/occurrence`) -> alternatives -> paths -> token names. */
export type LookaheadTable = Record<string, string[][][]>;

/** The table's key of a production. */
export function lookaheadKey(
  rule: string,
  kind: LookaheadProductionType,
  occurrence: number,
): string {
  return `${rule}/${kind}/${occurrence}`;
}

/** The lookahead paths of each production, by token name (what the table holds). */
export function pathNames(paths: LookaheadSequence[]): string[][][] {
  return paths.map((alt) => alt.map((path) => path.map((t) => t.name)));
}

type Matcher = (token: IToken, type: TokenType) => boolean;
/** The parser, as the lookahead functions see it (`this`). */
type Parser = { LA(i: number): IToken };

/**
 * LLkLookaheadStrategy with paths from `table` (by token name, resolved in
 * `tokens`). `computed` collects what the table lacked, as the table would
 * hold it.
 */
export class TabledLookahead extends LLkLookaheadStrategy {
  readonly computed: LookaheadTable = {};
  readonly #byName: Map<string, TokenType>;

  constructor(
    readonly table: LookaheadTable,
    tokens: readonly TokenType[],
    options: { maxLookahead: number },
  ) {
    super(options);
    this.#byName = new Map(tokens.map((t) => [t.name, t]));
  }

  #paths(
    rule: Rule,
    kind: LookaheadProductionType,
    occurrence: number,
    maxLookahead: number,
  ): LookaheadSequence[] {
    const key = lookaheadKey(rule.name, kind, occurrence);
    const names = this.table[key];
    const resolved = names && this.#resolve(names);
    if (resolved) return resolved;
    const paths = getLookaheadPaths({ occurrence, rule, prodType: kind, maxLookahead });
    this.computed[key] = pathNames(paths);
    return paths;
  }

  /** The token types of `names`, or undefined when one is not a token (a stale table). */
  #resolve(names: string[][][]): LookaheadSequence[] | undefined {
    const out: LookaheadSequence[] = [];
    for (const alt of names) {
      const paths: TokenType[][] = [];
      for (const path of alt) {
        const types: TokenType[] = [];
        for (const name of path) {
          const t = this.#byName.get(name);
          if (!t) return undefined;
          types.push(t);
        }
        paths.push(types);
      }
      out.push(paths);
    }
    return out;
  }

  override buildLookaheadForAlternation(options: {
    prodOccurrence: number;
    rule: Rule;
    maxLookahead: number;
    hasPredicates: boolean;
    dynamicTokensEnabled: boolean;
  }): (orAlts?: IOrAlt<unknown>[]) => number | undefined {
    const paths = this.#paths(
      options.rule,
      "Alternation",
      options.prodOccurrence,
      options.maxLookahead,
    );
    return alternativesFunction(
      paths,
      options.hasPredicates,
      matcherFor(paths),
      options.dynamicTokensEnabled,
    );
  }

  override buildLookaheadForOptional(options: {
    prodOccurrence: number;
    prodType: OptionalProductionType;
    rule: Rule;
    maxLookahead: number;
    dynamicTokensEnabled: boolean;
  }): () => boolean {
    const paths = this.#paths(
      options.rule,
      options.prodType,
      options.prodOccurrence,
      options.maxLookahead,
    );
    return singleAlternativeFunction(paths[0], matcherFor(paths), options.dynamicTokensEnabled);
  }
}

/** chevrotain's choice: a token's type index alone when no path token has categories. */
function matcherFor(paths: LookaheadSequence[]): Matcher {
  const categories = paths.some((alt) =>
    alt.some((path) => path.some((t) => (t.categoryMatches?.length ?? 0) > 0))
  );
  return categories ? tokenMatcher : (token, type) => token.tokenTypeIdx === type.tokenTypeIdx;
}

/** Whether a token of `alt`'s paths, whose type matches any of `path`, follows. */
function matchesPath(p: Parser, path: TokenType[], matcher: Matcher): boolean {
  for (let i = 0; i < path.length; i++) {
    if (!matcher(p.LA(i + 1), path[i])) return false;
  }
  return true;
}

/** buildAlternativesLookAheadFunc: the index of the first alternative whose path follows. */
function alternativesFunction(
  alts: LookaheadSequence[],
  hasPredicates: boolean,
  matcher: Matcher,
  dynamicTokensEnabled: boolean,
): (orAlts?: IOrAlt<unknown>[]) => number | undefined {
  if (hasPredicates) {
    return function (this: Parser, orAlts?: IOrAlt<unknown>[]) {
      for (let t = 0; t < alts.length; t++) {
        const gate = (orAlts?.[t] as { GATE?: () => boolean } | undefined)?.GATE;
        if (gate !== undefined && gate.call(this) === false) continue;
        for (const path of alts[t]) if (matchesPath(this, path, matcher)) return t;
      }
      return undefined;
    };
  }
  if (alts.every((alt) => alt.every((path) => path.length === 1)) && !dynamicTokensEnabled) {
    // One token decides: a table from its type index (and the categories it belongs to).
    const choice: Record<number, number> = {};
    alts.forEach((alt, idx) => {
      for (const type of alt.flat()) {
        if (!Object.hasOwn(choice, type.tokenTypeIdx!)) choice[type.tokenTypeIdx!] = idx;
        for (const extending of type.categoryMatches ?? []) {
          if (!Object.hasOwn(choice, extending)) choice[extending] = idx;
        }
      }
    });
    return function (this: Parser) {
      return choice[this.LA(1).tokenTypeIdx];
    };
  }
  return function (this: Parser) {
    for (let t = 0; t < alts.length; t++) {
      for (const path of alts[t]) if (matchesPath(this, path, matcher)) return t;
    }
    return undefined;
  };
}

/** buildSingleAlternativeLookaheadFunction: whether one of `alt`'s paths follows. */
function singleAlternativeFunction(
  alt: TokenType[][],
  matcher: Matcher,
  dynamicTokensEnabled: boolean,
): () => boolean {
  if (alt.every((path) => path.length === 1) && !dynamicTokensEnabled) {
    const types = alt.flat();
    if (types.length === 1 && !(types[0].categoryMatches?.length)) {
      const expected = types[0].tokenTypeIdx;
      return function (this: Parser) {
        return this.LA(1).tokenTypeIdx === expected;
      };
    }
    const choice: boolean[] = [];
    for (const type of types) {
      choice[type.tokenTypeIdx!] = true;
      for (const extending of type.categoryMatches ?? []) choice[extending] = true;
    }
    return function (this: Parser) {
      return choice[this.LA(1).tokenTypeIdx] === true;
    };
  }
  return function (this: Parser) {
    for (const path of alt) if (matchesPath(this, path, matcher)) return true;
    return false;
  };
}
