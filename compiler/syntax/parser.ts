/**
 * The .dlm grammar as a pure chevrotain `CstParser` (no embedded actions):
 * it builds a concrete syntax tree that `cst_to_ast.ts` turns into the AST.
 * Error recovery is on, so one run reports many syntax errors. The grammar is
 * specified in spec/grammar.md; rule names here match the nonterminals there.
 *
 * One parser instance is built (and analysed) on the first parse and reused.
 * Chevrotain's grammar validations (ambiguities, left recursion) are skipped
 * at run time: they cost start-up time on every run and can only fail when
 * this file changes. `parser_test.ts` builds the parser with them on and
 * fails on any finding.
 */
// chevrotain's own single-file build: one module to load instead of hundreds (vendor/chevrotain.mjs).
// @ts-types="chevrotain"
import {
  type CstNode,
  CstParser,
  EOF,
  type IParserErrorMessageProvider,
  type IRecognitionException,
  type IToken,
  tokenLabel,
  type TokenType,
} from "./vendor/chevrotain.mjs";
import type { Span } from "../ir/graph.ts";
import { diag, type Diagnostic } from "../diagnostics.ts";
import * as T from "./lexer.ts";
import { MAX_SYNTAX_ERRORS, syntaxError } from "./lexer.ts";
import { type LookaheadTable, TabledLookahead } from "./lookahead.ts";
import LOOKAHEAD_TABLE from "./lookahead_table.json" with { type: "json" };
import { type GrammarTable, restoreAnalysis } from "./grammar_table.ts";
import GRAMMAR_TABLE from "./grammar_table.json" with { type: "json" };

/** What the parser expected, for rules whose alternatives would make a long list. */
const RULE_DESCRIPTIONS: Record<string, string> = {
  file: "a declaration ('import', 'let', 'model', 'block' or 'train')",
  decl: "a declaration ('import', 'let', 'model', 'block' or 'train')",
  statement: "a statement",
  typeExpr: "a type",
  pattern: "a name or '('",
  initTarget: "a name or a string",
  label: "a label",
};

/** How a token reads in a message: its text in quotes, or "the end of the file". */
export function describeToken(t: IToken | undefined): string {
  // A part of a file ends where the next part begins.
  if ((!t || t.tokenType === EOF) && after) t = after;
  if (!t || t.tokenType === EOF) return "the end of the file";
  const image = t.image.length > 30 ? `${t.image.slice(0, 27)}...` : t.image;
  return `'${image}'`;
}

function describeType(tt: TokenType): string {
  return tt === EOF ? "the end of the file" : tokenLabel(tt);
}

function oneOf(names: string[]): string {
  const unique = [...new Set(names)];
  if (unique.length === 1) return unique[0];
  return `${unique.slice(0, -1).join(", ")} or ${unique[unique.length - 1]}`;
}

/**
 * The arguments of each message the provider below made, by its text: chevrotain keeps only the
 * text, and `syntaxDiagnostics` raises each error through `diag` with its arguments.
 */
const expectedFound = new Map<string, [string, string]>();

/** `Expected {what} but found {found}` (DLM0002's template), remembered for `syntaxDiagnostics`. */
function expectedMessage(what: string, found: string): string {
  const [, message] = diag("DLM0002", what, found);
  expectedFound.set(message, [what, found]);
  return message;
}

/** The entry rule of the parse in progress (see `begin`). */
let entry: "file" | "standaloneExpr" = "file";

/**
 * How deeply a program may nest: brackets, calls, indexes, member accesses, prefix operators,
 * `**` exponents, pipe groups, `if` expressions, blocks of statements, `else if` links, tuple types
 * and patterns each count one level (spec/grammar.md 6). The parser, the AST builder, the name
 * resolver and the elaborator recurse once (or a few frames) per level, so this bound keeps every
 * one of them well inside the call stack; chevrotain's rules are the deepest (about 30 frames a
 * level), and run out of stack between 200 and 300 levels of nested calls. A long chain of binary
 * operators (`x + x + ... + x`) is not nesting: the parser reads it flat and every later stage walks
 * its left spine in a loop.
 */
export const MAX_NESTING = 100;

/**
 * The parser stops after `MAX_SYNTAX_ERRORS` errors: error recovery costs work and stack per
 * error (chevrotain re-enters the rule it recovers in and scans ahead for a token to resume at),
 * so the bound keeps a file of garbage linear in time and shallow in stack.
 */
export { MAX_SYNTAX_ERRORS };

/** DLM0152 at `span`: a parse that nests deeper than `MAX_NESTING`. */
export function nestingError(span: Span): Diagnostic {
  return syntaxError(...diag("DLM0152", MAX_NESTING), span);
}

/** The nesting level of the parse in progress, counted as `MAX_NESTING` describes. */
let depth = 0;
/** Recognition errors left before the parse in progress stops. */
let budget = MAX_SYNTAX_ERRORS;
/** The token just after the input, when the input is a part of a file (see `begin`). */
let after: IToken | undefined;
/** The nesting level at which each string token was read: where its `${...}` parts start. */
const stringDepths = new WeakMap<IToken, number>();

/** Why and where a parse stopped before its end: too deep, or too many errors. */
export interface Stop {
  why: "nesting" | "errors";
  token: IToken;
}
/** The stop of the parse in progress, once it is stopping. */
let stop: Stop | undefined;

/** Thrown out of the parser's rules to stop it (chevrotain rethrows what it does not recognise). */
class StopParse extends Error {}

function stopAt(why: Stop["why"], token: IToken): never {
  stop ??= { why, token };
  throw new StopParse(why);
}

/** Count one recognition error, about `token`; the one past the budget stops the parse. */
function counted(message: string, token: IToken): string {
  // While the parse unwinds, chevrotain still reports the input left over: not counted.
  if (!stop && --budget < 0) stopAt("errors", token);
  return message;
}

/**
 * Messages in the house style: `Expected ')' but found '{'`. Chevrotain asks for the message of each
 * recognition error once, as it records the error, so this is also where errors are counted.
 */
const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    // Left-over input in an interpolation.
    if (expected === EOF && ruleName === "standaloneExpr") {
      return counted(
        expectedMessage("the end of the interpolation", describeToken(actual)),
        actual,
      );
    }
    return counted(expectedMessage(describeType(expected), describeToken(actual)), actual);
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    // A file is read one top-level piece at a time: what follows a piece is the next one.
    if (entry === "file") return "";
    // Chevrotain passes no rule name here (the rule stack is empty).
    return counted(
      expectedMessage("the end of the interpolation", describeToken(firstRedundant)),
      firstRedundant,
    );
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, customUserDescription, ruleName }) {
    const what = customUserDescription ?? RULE_DESCRIPTIONS[ruleName] ??
      oneOf(expectedPathsPerAlt.flat().map((path) => describeType(path[0])));
    return counted(expectedMessage(what, describeToken(actual[0])), actual[0]);
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, customUserDescription, ruleName }) {
    const what = customUserDescription ?? RULE_DESCRIPTIONS[ruleName] ??
      oneOf(expectedIterationPaths.map((path) => describeType(path[0])));
    return counted(expectedMessage(what, describeToken(actual[0])), actual[0]);
  },
};

const EXPRESSION = "an expression";

/** Tokens the parser may look ahead to choose an alternative. */
const MAX_LOOKAHEAD = 3;

/**
 * The grammar. Each rule's comment gives its EBNF as in spec/grammar.md.
 * Children are labelled (`LABEL`) so the CST reads by role, not by token.
 */
export class DlmParser extends CstParser {
  /** The lookahead paths, from `lookahead_table.json` (see lookahead.ts). */
  readonly lookahead: TabledLookahead;

  /**
   * `validate`: run chevrotain's grammar validations (tests; a finding throws).
   * `table`: the lookahead paths to start from (tests: `{}` computes them all).
   * `grammar`: the recorded grammar and follow sets to start from (grammar_table.ts; `false`:
   * chevrotain records and analyses the grammar, as it always does with `validate`).
   */
  constructor(
    options: { validate?: boolean; table?: LookaheadTable; grammar?: GrammarTable | false } = {},
  ) {
    const lookahead = new TabledLookahead(
      options.table ?? LOOKAHEAD_TABLE,
      [...T.PARSER_TOKENS, EOF],
      { maxLookahead: MAX_LOOKAHEAD },
    );
    super(T.PARSER_TOKENS, {
      recoveryEnabled: true,
      maxLookahead: MAX_LOOKAHEAD,
      lookaheadStrategy: lookahead,
      nodeLocationTracking: "full",
      errorMessageProvider: messages,
      skipValidations: !options.validate,
    });
    this.lookahead = lookahead;
    const grammar = options.validate
      ? false
      : options.grammar ?? (GRAMMAR_TABLE as unknown as GrammarTable);
    if (!grammar || !restoreAnalysis(this, grammar, [...T.PARSER_TOKENS, EOF])) {
      this.performSelfAnalysis();
    }
  }

  /** Parse `f` one nesting level deeper (see `MAX_NESTING`), starting at the next token. */
  private nested<T>(f: () => T): T {
    const base = depth;
    this.deeper(1);
    try {
      return f();
    } finally {
      depth = base;
    }
  }

  /**
   * One level deeper until the rule in progress returns (its `finally` restores `depth`): for a
   * prefix operator just consumed (`la` 0) or a postfix operator or `**` about to be (`la` 1).
   */
  private deeper(la: 0 | 1): void {
    if (this.RECORDING_PHASE) return;
    if (++depth > MAX_NESTING) stopAt("nesting", this.LA(la));
  }

  /** A string token, with the level its `${...}` parts start at. */
  private string(t: IToken): IToken {
    if (!this.RECORDING_PHASE) stringDepths.set(t, depth);
    return t;
  }

  // file = { decl | ";" } ;
  // The top level is read by `parseFile`, one piece at a time: a declaration, a ";" or a run of
  // stray tokens (reported once). Chevrotain's own recovery in a top-level repetition re-enters
  // the rule for each error and scans for the next resynchronising token up to the end of the
  // input, which makes a file of garbage quadratic in time and deep in stack.
  semicolon = this.RULE("semicolon", () => {
    this.CONSUME(T.Semicolon);
  });

  // A repetition directly in a top-level rule would try chevrotain's recovery at its end.
  stray = this.RULE("stray", () => {
    this.SUBRULE(this.strayRun);
  });

  strayRun = this.RULE("strayRun", () => {
    this.AT_LEAST_ONE(() => this.CONSUME(T.Stray));
  });

  /** The next token of the input. */
  next(): IToken {
    return this.LA(1);
  }

  // The body of a `${...}` interpolation: exactly one expression.
  standaloneExpr = this.RULE("standaloneExpr", () => {
    this.SUBRULE(this.expr);
  });

  // decl = importDecl | constDecl | modelDecl | blockDecl | trainDecl ;
  decl = this.RULE("decl", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.importDecl) },
      { ALT: () => this.SUBRULE(this.constDecl) },
      { ALT: () => this.SUBRULE(this.modelDecl) },
      { ALT: () => this.SUBRULE(this.blockDecl) },
      { ALT: () => this.SUBRULE(this.trainDecl) },
    ]);
  });

  // importDecl = "import" STRING ;
  importDecl = this.RULE("importDecl", () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.StringLit, { LABEL: "path" });
  });

  // constDecl = "let" IDENT [ ":" type ] "=" expr ;   (a keyword as IDENT: DLM0013)
  constDecl = this.RULE("constDecl", () => {
    this.CONSUME(T.Let);
    // A keyword here is read as the name and reported (DLM0013), not as a syntax error.
    this.OR({
      DEF: [
        { ALT: () => this.CONSUME(T.Identifier, { LABEL: "name" }) },
        { ALT: () => this.CONSUME(T.Keyword, { LABEL: "name" }) },
      ],
      ERR_MSG: "a name",
    });
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      this.SUBRULE(this.typeExpr, { LABEL: "type" });
    });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr, { LABEL: "value" });
  });

  // modelDecl = "model" IDENT ( [ paramList ] body | "=" IDENT "with" expr { "," expr } ) ;
  // The second form derives a model: the base's parameters and body with adapters applied.
  modelDecl = this.RULE("modelDecl", () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Equals);
          this.CONSUME2(T.Identifier, { LABEL: "base" });
          this.CONSUME(T.With);
          this.SUBRULE(this.expr, { LABEL: "with" });
          this.MANY(() => {
            this.CONSUME(T.Comma);
            this.SUBRULE2(this.expr, { LABEL: "with" });
          });
        },
      },
      {
        ALT: () => {
          this.OPTION(() => this.SUBRULE(this.paramList, { LABEL: "params" }));
          this.SUBRULE(this.body);
        },
      },
    ]);
  });

  // blockDecl = "block" IDENT paramList [ paramList ] [ "->" type ] body ;
  blockDecl = this.RULE("blockDecl", () => {
    this.CONSUME(T.Block);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.SUBRULE(this.paramList, { LABEL: "params" });
    this.OPTION(() => this.SUBRULE2(this.paramList, { LABEL: "params" }));
    this.OPTION2(() => {
      this.CONSUME(T.Arrow);
      this.SUBRULE(this.typeExpr, { LABEL: "returnType" });
    });
    this.SUBRULE(this.body);
  });

  // trainDecl = "train" IDENT [ "with" expr { "," expr } ] body ;
  trainDecl = this.RULE("trainDecl", () => {
    this.CONSUME(T.Train);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(T.With);
      this.SUBRULE(this.expr, { LABEL: "with" });
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expr, { LABEL: "with" });
      });
    });
    this.SUBRULE(this.body);
  });

  // paramList = "(" [ param { "," param } [ "," ] ] ")" ;
  paramList = this.RULE("paramList", () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.param);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.param);
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RParen);
  });

  // param = IDENT [ ":" type ] [ "=" expr ] ;
  param = this.RULE("param", () => {
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      this.SUBRULE(this.typeExpr, { LABEL: "type" });
    });
    this.OPTION2(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expr, { LABEL: "default" });
    });
  });

  // body = "{" { statement | ";" } "}" ;
  body = this.RULE("body", () =>
    this.nested(() => {
      this.CONSUME(T.LCurly);
      this.MANY(() => {
        this.OR([
          { ALT: () => this.SUBRULE(this.statement) },
          { ALT: () => this.CONSUME(T.Semicolon) },
        ]);
      });
      this.CONSUME(T.RCurly);
    }));

  // statement = inputStmt | outputStmt | letStmt | assignStmt | returnStmt
  //           | ifStmt | forStmt | initStmt | freezeStmt | exprStmt ;
  statement = this.RULE("statement", () => {
    this.OR({
      DEF: [
        { ALT: () => this.SUBRULE(this.inputStmt) },
        { ALT: () => this.SUBRULE(this.outputStmt) },
        { ALT: () => this.SUBRULE(this.letStmt) },
        { ALT: () => this.SUBRULE(this.assignStmt) },
        { ALT: () => this.SUBRULE(this.returnStmt) },
        { ALT: () => this.SUBRULE(this.ifStmt) },
        { ALT: () => this.SUBRULE(this.forStmt) },
        { ALT: () => this.SUBRULE(this.initStmt) },
        { ALT: () => this.SUBRULE(this.freezeStmt) },
        // In statement position `if` always begins an if-statement.
        { GATE: () => this.LA(1).tokenType !== T.If, ALT: () => this.SUBRULE(this.exprStmt) },
      ],
      ERR_MSG: "a statement",
    });
  });

  // inputStmt = "input" IDENT ":" type [ "from" expr ] ;
  // `from` is contextual (as in initStmt), and must follow the type on its line: a statement on
  // the next line may start with a name `from`.
  inputStmt = this.RULE("inputStmt", () => {
    this.CONSUME(T.Input);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.Colon);
    this.SUBRULE(this.typeExpr, { LABEL: "type" });
    this.OPTION({
      GATE: () => this.LA(1).image === "from" && this.LA(1).startLine === this.LA(0).endLine,
      DEF: () => {
        this.CONSUME2(T.Identifier, { LABEL: "from" });
        this.SUBRULE(this.expr, { LABEL: "source" });
      },
    });
  });

  // outputStmt = "output" IDENT [ ":" type ] [ "=" labeledOrExpr ] ;
  outputStmt = this.RULE("outputStmt", () => {
    this.CONSUME(T.Output);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      this.SUBRULE(this.typeExpr, { LABEL: "type" });
    });
    this.OPTION2(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.labeledOrExpr, { LABEL: "value" });
    });
  });

  // letStmt = "let" pattern [ ":" type ] "=" labeledOrExpr ;
  letStmt = this.RULE("letStmt", () => {
    this.CONSUME(T.Let);
    this.SUBRULE(this.pattern);
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      this.SUBRULE(this.typeExpr, { LABEL: "type" });
    });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.labeledOrExpr, { LABEL: "value" });
  });

  // assignStmt = IDENT "=" labeledOrExpr ;
  assignStmt = this.RULE("assignStmt", () => {
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.labeledOrExpr, { LABEL: "value" });
  });

  // returnStmt = "return" labeledOrExpr { "," labeledOrExpr } ;
  returnStmt = this.RULE("returnStmt", () => {
    this.CONSUME(T.Return);
    this.SUBRULE(this.labeledOrExpr, { LABEL: "values" });
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.labeledOrExpr, { LABEL: "values" });
    });
  });

  // ifStmt = "if" expr body [ "else" ( ifStmt | body ) ] ;
  // (An `else if` nests: the second `if` is the else branch of the first. A name followed by a
  // branch where `else` belongs is read as a misspelt `else`: see `misspeltElse`.)
  ifStmt = this.RULE("ifStmt", () => {
    this.CONSUME(T.If);
    this.SUBRULE(this.expr, { LABEL: "cond" });
    this.SUBRULE(this.body, { LABEL: "then" });
    this.OPTION({
      GATE: () => this.LA(1).tokenType === T.Else || this.misspeltElse(),
      DEF: () => {
        this.OR([
          { ALT: () => this.CONSUME(T.Else) },
          {
            GATE: () => this.misspeltElse(),
            ALT: () => this.CONSUME(T.Identifier, { LABEL: "badElse" }),
          },
        ]);
        this.OR2([
          { ALT: () => this.nested(() => this.SUBRULE(this.ifStmt, { LABEL: "elseIf" })) },
          { ALT: () => this.SUBRULE2(this.body, { LABEL: "else" }) },
        ]);
      },
    });
  });

  // forStmt = "for" pattern "in" expr body ;
  forStmt = this.RULE("forStmt", () => {
    this.CONSUME(T.For);
    this.SUBRULE(this.pattern);
    this.CONSUME(T.In);
    this.SUBRULE(this.expr, { LABEL: "iter" });
    this.SUBRULE(this.body);
  });

  // pattern = IDENT | "(" pattern { "," pattern } [ "," ] ")" ;   (a keyword as IDENT: DLM0013)
  pattern = this.RULE("pattern", () =>
    this.nested(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Identifier, { LABEL: "name" }) },
        // A keyword is read as the name and reported (DLM0013), not as a syntax error.
        { ALT: () => this.CONSUME(T.Keyword, { LABEL: "name" }) },
        {
          ALT: () => {
            this.CONSUME(T.LParen);
            this.SUBRULE(this.pattern, { LABEL: "items" });
            this.MANY(() => {
              this.CONSUME(T.Comma);
              this.SUBRULE2(this.pattern, { LABEL: "items" });
            });
            this.OPTION(() => this.CONSUME2(T.Comma));
            this.CONSUME(T.RParen);
          },
        },
      ])
    ));

  // initStmt = "init" initTarget ( "=" expr | "from" initTarget ) ;
  // `from` is a contextual word, not a keyword: it stays a name everywhere else.
  initStmt = this.RULE("initStmt", () => {
    this.CONSUME(T.Init);
    this.SUBRULE(this.initTarget, { LABEL: "target" });
    this.OR({
      DEF: [
        {
          ALT: () => {
            this.CONSUME(T.Equals);
            this.SUBRULE(this.expr, { LABEL: "value" });
          },
        },
        {
          GATE: () => this.LA(1).image === "from",
          ALT: () => {
            this.CONSUME(T.Identifier, { LABEL: "from" });
            this.SUBRULE2(this.initTarget, { LABEL: "source" });
          },
        },
      ],
      ERR_MSG: "'=' or 'from'",
    });
  });

  // freezeStmt = "freeze" initTarget ;
  freezeStmt = this.RULE("freezeStmt", () => {
    this.CONSUME(T.Freeze);
    this.SUBRULE(this.initTarget, { LABEL: "target" });
  });

  // initTarget = STRING | ( IDENT | KEYWORD ) { "." ( IDENT | KEYWORD ) } ;
  // (A keyword may be a level's name, as the label `block:` makes one: `freeze block.conv1`,
  // `freeze model`; mod.ts begins no part of the file at a keyword in a path.)
  initTarget = this.RULE("initTarget", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.StringLit, { LABEL: "glob" }) },
      {
        ALT: () => {
          this.OR3([
            { ALT: () => this.CONSUME(T.Identifier, { LABEL: "names" }) },
            { ALT: () => this.CONSUME3(T.Keyword, { LABEL: "names" }) },
          ]);
          this.MANY(() => {
            this.CONSUME(T.Dot);
            this.OR2([
              { ALT: () => this.CONSUME2(T.Identifier, { LABEL: "names" }) },
              { ALT: () => this.CONSUME(T.Keyword, { LABEL: "names" }) },
            ]);
          });
        },
      },
    ]);
  });

  // exprStmt = expr ;   (not starting with "if")
  exprStmt = this.RULE("exprStmt", () => {
    this.SUBRULE(this.expr);
  });

  // ---- types

  // type = IDENT [ "[" [ dim { "," dim } [ "," ] ] "]" ]
  //      | "(" type { "," type } [ "," ] ")" ;
  typeExpr = this.RULE("typeExpr", () =>
    this.nested(() =>
      this.OR([
        {
          ALT: () => {
            this.CONSUME(T.Identifier, { LABEL: "name" });
            this.OPTION(() => {
              this.CONSUME(T.LBracket);
              this.OPTION2(() => {
                this.SUBRULE(this.dim, { LABEL: "dims" });
                this.MANY(() => {
                  this.CONSUME(T.Comma);
                  this.SUBRULE2(this.dim, { LABEL: "dims" });
                });
                this.OPTION3(() => this.CONSUME2(T.Comma));
              });
              this.CONSUME(T.RBracket);
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.LParen);
            this.SUBRULE(this.typeExpr, { LABEL: "items" });
            this.MANY2(() => {
              this.CONSUME3(T.Comma, { LABEL: "commas" });
              this.SUBRULE2(this.typeExpr, { LABEL: "items" });
            });
            this.OPTION4(() => this.CONSUME4(T.Comma, { LABEL: "commas" }));
            this.CONSUME(T.RParen);
          },
        },
      ])
    ));

  // dim = "..." | expr ;   ("_" is the name of any one dim)
  dim = this.RULE("dim", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Ellipsis, { LABEL: "rest" }) },
      { ALT: () => this.SUBRULE(this.expr) },
    ]);
  });

  // ---- expressions, lowest precedence first

  // labeledOrExpr = labeledExpr | expr ;
  labeledOrExpr = this.RULE("labeledOrExpr", () => {
    this.OR({
      DEF: [
        { ALT: () => this.SUBRULE(this.labeledExpr) },
        { ALT: () => this.SUBRULE(this.expr) },
      ],
      ERR_MSG: EXPRESSION,
    });
  });

  // labeledExpr = label ( group | expr ) ;   (after a label, "(" always opens a group)
  labeledExpr = this.RULE("labeledExpr", () => {
    this.SUBRULE(this.label);
    // One token of lookahead, so that an error inside a group is reported
    // where it is, not as "no alternative" at the "(".
    this.OR({
      MAX_LOOKAHEAD: 1,
      DEF: [
        { ALT: () => this.SUBRULE(this.group) },
        { GATE: () => this.LA(1).tokenType !== T.LParen, ALT: () => this.SUBRULE(this.expr) },
      ],
      ERR_MSG: EXPRESSION,
    });
  });

  // label = ( IDENT | KEYWORD | STRING ) ":" ;
  // A keyword may be a label (`block: Bottleneck(64)`, as torchvision names a submodule): before
  // a ":" no keyword means anything else, and a file's parts never begin at one (mod.ts).
  label = this.RULE("label", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Identifier, { LABEL: "name" }) },
      { ALT: () => this.CONSUME(T.Keyword, { LABEL: "name" }) },
      { ALT: () => this.string(this.CONSUME(T.StringLit, { LABEL: "name" })) },
    ]);
    this.CONSUME(T.Colon);
  });

  // expr = unaryExpr { binaryOp unaryExpr } { "|>" stage } ;
  // The operators' precedence and associativity (spec/grammar.md) shape the
  // tree in cst_to_ast.ts; a flat rule keeps the CST shallow and the parse fast.
  expr = this.RULE("expr", () => {
    this.SUBRULE(this.unaryExpr, { LABEL: "operands" });
    this.MANY(() => {
      this.CONSUME(T.BinaryOperator, { LABEL: "ops" });
      this.SUBRULE2(this.unaryExpr, { LABEL: "operands" });
    });
    this.MANY2(() => {
      this.CONSUME(T.Pipe);
      this.SUBRULE(this.stage, { LABEL: "stages" });
    });
  });

  // stage = [ label ] ( group | postfixExpr ) ;
  stage = this.RULE("stage", () => {
    this.OPTION(() => this.SUBRULE(this.label));
    // After "|>", "(" always opens a group; one token decides, so that an
    // error inside the group is reported where it is.
    this.OR({
      MAX_LOOKAHEAD: 1,
      DEF: [
        { ALT: () => this.SUBRULE(this.group) },
        {
          GATE: () => this.LA(1).tokenType !== T.LParen,
          ALT: () => this.SUBRULE(this.postfixExpr, { LABEL: "target" }),
        },
      ],
      ERR_MSG: "a pipe stage",
    });
  });

  // group = "(" stage { "|>" stage } ")" ;
  group = this.RULE("group", () =>
    this.nested(() => {
      this.CONSUME(T.LParen);
      this.SUBRULE(this.stage, { LABEL: "stages" });
      this.MANY(() => {
        this.CONSUME(T.Pipe);
        this.SUBRULE2(this.stage, { LABEL: "stages" });
      });
      this.CONSUME(T.RParen);
    }));

  // unaryExpr = { "-" | "+" | "!" } postfixExpr [ "sharing" postfixExpr ] [ "**" unaryExpr ] ;
  // (postfixExpr is written out in place: one CST node less per operand.)
  // Each prefix operator, postfix operator and `**` nests what follows it one level deeper.
  unaryExpr = this.RULE("unaryExpr", () => {
    const base = depth;
    try {
      this.MANY(() => {
        this.CONSUME(T.PrefixOperator, { LABEL: "prefix" });
        this.deeper(0);
      });
      this.primary();
      this.MANY2(() => {
        this.deeper(1);
        this.SUBRULE(this.postfixOp, { LABEL: "ops" });
      });
      // [ "sharing" postfixExpr ]: a layer whose parameters are another instance's (language.md
      // 8.6). `sharing` is contextual, as `from` is: after an expression it is this word when it
      // is on the expression's line or a name follows it (line ends are spaces, so the layout may
      // break the line before it); a statement on the next line may still begin with a name
      // `sharing` (`sharing = 3`, `sharing(x)`).
      this.OPTION2({
        GATE: () =>
          this.LA(1).image === "sharing" && this.LA(1).tokenType === T.Identifier &&
          (this.LA(1).startLine === this.LA(0).endLine || this.LA(2).tokenType === T.Identifier),
        DEF: () => {
          this.CONSUME(T.Identifier, { LABEL: "sharing" });
          this.SUBRULE(this.postfixExpr, { LABEL: "source" });
        },
      });
      this.OPTION(() => {
        this.deeper(1);
        this.CONSUME(T.StarStar);
        this.SUBRULE(this.unaryExpr, { LABEL: "exponent" });
      });
    } finally {
      depth = base;
    }
  });

  // postfixExpr = primary { postfixOp } ;
  postfixExpr = this.RULE("postfixExpr", () => {
    const base = depth;
    try {
      this.primary();
      this.MANY(() => {
        this.deeper(1);
        this.SUBRULE(this.postfixOp, { LABEL: "ops" });
      });
    } finally {
      depth = base;
    }
  });

  // postfixOp = callSuffix | indexSuffix | "." IDENT ;
  postfixOp = this.RULE("postfixOp", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.callSuffix, { LABEL: "call" }) },
      { ALT: () => this.SUBRULE(this.indexSuffix, { LABEL: "index" }) },
      {
        ALT: () => {
          this.CONSUME(T.Dot);
          this.CONSUME(T.Identifier, { LABEL: "member" });
        },
      },
    ]);
  });

  // callSuffix = "(" [ arg { "," arg } [ "," ] ] ")" ;
  callSuffix = this.RULE("callSuffix", () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.arg, { LABEL: "args" });
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.arg, { LABEL: "args" });
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RParen);
  });

  // arg = [ ( IDENT | KEYWORD ) ":" ] expr ;   (a keyword may name an argument: init: zeros)
  arg = this.RULE("arg", () => {
    this.OPTION({
      GATE: () => this.LA(2).tokenType === T.Colon,
      DEF: () => {
        this.OR([
          { ALT: () => this.CONSUME(T.Identifier, { LABEL: "name" }) },
          { ALT: () => this.CONSUME(T.Keyword, { LABEL: "name" }) },
        ]);
        this.CONSUME(T.Colon);
      },
    });
    this.SUBRULE(this.expr, { LABEL: "value" });
  });

  // indexSuffix = "[" indexItem { "," indexItem } [ "," ] "]" ;
  indexSuffix = this.RULE("indexSuffix", () => {
    this.CONSUME(T.LBracket);
    this.SUBRULE(this.indexItem, { LABEL: "items" });
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.indexItem, { LABEL: "items" });
    });
    this.OPTION(() => this.CONSUME2(T.Comma));
    this.CONSUME(T.RBracket);
  });

  // indexItem = expr [ slice ] | slice | "..." ;
  // slice     = ":" [ expr ] [ ":" [ expr ] ] ;
  indexItem = this.RULE("indexItem", () => {
    this.OR({
      DEF: [
        { ALT: () => this.CONSUME(T.Ellipsis, { LABEL: "ellipsis" }) },
        {
          ALT: () => {
            this.SUBRULE(this.expr, { LABEL: "start" });
            this.OPTION(() => this.SUBRULE(this.slice));
          },
        },
        { ALT: () => this.SUBRULE2(this.slice) },
      ],
      ERR_MSG: "an index, a slice or ...",
    });
  });

  slice = this.RULE("slice", () => {
    this.CONSUME(T.Colon, { LABEL: "colons" });
    this.OPTION(() => this.SUBRULE(this.expr, { LABEL: "end" }));
    this.OPTION2(() => {
      this.CONSUME2(T.Colon, { LABEL: "colons" });
      this.OPTION3(() => this.SUBRULE2(this.expr, { LABEL: "step" }));
    });
  });

  // primary = parenExpr | NUMBER | STRING | "true" | "false" | IDENT | listExpr | ifExpr ;
  // Not a rule of its own but written into the rules that use it (each uses
  // it once), so that its children sit in the caller's CST node.
  private primary(): void {
    this.OR9({
      DEF: [
        { ALT: () => this.SUBRULE9(this.parenExpr) },
        { ALT: () => this.CONSUME9(T.NumberLit, { LABEL: "number" }) },
        { ALT: () => this.string(this.CONSUME9(T.StringLit, { LABEL: "string" })) },
        { ALT: () => this.CONSUME9(T.True, { LABEL: "bool" }) },
        { ALT: () => this.CONSUME9(T.False, { LABEL: "bool" }) },
        { ALT: () => this.CONSUME9(T.Identifier, { LABEL: "name" }) },
        { ALT: () => this.SUBRULE9(this.listExpr) },
        { ALT: () => this.SUBRULE9(this.ifExpr) },
      ],
      ERR_MSG: EXPRESSION,
    });
  }

  // parenExpr = "(" [ labeledOrExpr { "," labeledOrExpr } [ "," ] ] ")" ;   ("()": the empty tuple)
  parenExpr = this.RULE("parenExpr", () =>
    this.nested(() => {
      this.CONSUME(T.LParen);
      this.OPTION2(() => {
        this.SUBRULE(this.labeledOrExpr, { LABEL: "items" });
        this.MANY(() => {
          this.CONSUME(T.Comma, { LABEL: "commas" });
          this.SUBRULE2(this.labeledOrExpr, { LABEL: "items" });
        });
        this.OPTION(() => this.CONSUME2(T.Comma, { LABEL: "commas" }));
      });
      this.CONSUME(T.RParen);
    }));

  // listExpr = "[" [ expr { "," expr } [ "," ] ] "]" ;
  listExpr = this.RULE("listExpr", () =>
    this.nested(() => {
      this.CONSUME(T.LBracket);
      this.OPTION(() => {
        this.SUBRULE(this.expr, { LABEL: "items" });
        this.MANY(() => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.expr, { LABEL: "items" });
        });
        this.OPTION2(() => this.CONSUME2(T.Comma));
      });
      this.CONSUME(T.RBracket);
    }));

  // ifExpr = "if" expr body "else" ( ifExpr | body ) ;
  // Each branch is a body of statements whose last one gives the branch's value: an expression,
  // or an `if` statement with both branches that end in one (cst_to_ast.ts checks this). A
  // branch is a body, so an error inside it is recovered from as in any body: at its `}`.
  ifExpr = this.RULE("ifExpr", () =>
    this.nested(() => {
      this.CONSUME(T.If);
      this.SUBRULE(this.expr, { LABEL: "cond" });
      this.SUBRULE(this.body, { LABEL: "then" });
      this.OR2([
        { ALT: () => this.CONSUME(T.Else) },
        {
          GATE: () => this.misspeltElse(),
          ALT: () => this.CONSUME(T.Identifier, { LABEL: "badElse" }),
        },
      ]);
      this.OR([
        { ALT: () => this.SUBRULE(this.ifExpr, { LABEL: "elseIf" }) },
        { ALT: () => this.SUBRULE2(this.body, { LABEL: "else" }) },
      ]);
    }));

  /**
   * A name where `else` belongs, followed by a branch (`} els {`, `} els if c {`): read as the
   * `else` it stands for and reported there alone (cst_to_ast.ts), where chevrotain's recovery
   * would take the name for a statement and the branch for stray tokens, and report the lines
   * after it too. No valid program has a name followed by `{` after a branch.
   */
  private misspeltElse(): boolean {
    const t = this.LA(1).tokenType;
    return t === T.Identifier &&
      (this.LA(2).tokenType === T.LCurly || this.LA(2).tokenType === T.If);
  }
}

/** The one parser instance, built on first use (grammar analysis is done once). */
let parser: DlmParser | undefined;

/** Where a parse starts and what it may spend. */
export interface ParseOptions {
  /** The nesting level of the first token (an interpolation's, inside its string). */
  depth?: number;
  /** Recognition errors allowed before the parse stops (default `MAX_SYNTAX_ERRORS`). */
  budget?: number;
  /** The token after `tokens` when they are a part of a file: what "the end" is described as. */
  after?: IToken;
}

/** What a parse read, and why and where it stopped if it stopped before the end. */
export interface Parsed<T> {
  result?: T;
  errors: IRecognitionException[];
  stop?: Stop;
}

function begin(tokens: IToken[], rule: typeof entry, opts: ParseOptions): DlmParser {
  entry = rule;
  depth = opts.depth ?? 0;
  budget = opts.budget ?? MAX_SYNTAX_ERRORS;
  after = opts.after;
  stop = undefined;
  const p = parser ??= new DlmParser();
  p.input = tokens;
  return p;
}

/** Run `read` on a parser set up by `begin`, turning a stop into `stop`. */
function run<T>(p: DlmParser, read: () => T): Parsed<T> {
  try {
    const result = read();
    return { result, errors: p.errors };
  } catch (e) {
    if (!(e instanceof StopParse) || !stop) throw e;
    return { errors: p.errors, stop };
  } finally {
    after = undefined;
  }
}

/**
 * Parse the body of a `${...}` (the rule `standaloneExpr`), returning its CST and the
 * recognition errors. A parse that nests deeper than `MAX_NESTING` or makes more errors than
 * its budget stops there, with `stop` saying why and where, and no CST.
 * Not re-entrant: read `errors` before the next call.
 */
export function parseExpr(tokens: IToken[], opts: ParseOptions = {}): Parsed<CstNode> {
  const p = begin(tokens, "standaloneExpr", opts);
  const r = run(p, () => p.standaloneExpr());
  release(p);
  return r;
}

/**
 * Let go of the tokens the parser holds (its input and CST stacks): the one parser outlives
 * each parse, and a file's tokens are most of the memory of parsing it (200 bytes each).
 */
function release(p: DlmParser): void {
  p.input = [];
}

/**
 * Parse the declarations of a file (or of a part of one), returning the CST of each, the
 * recognition errors, and the first token of each run of stray tokens at the top level (tokens
 * that cannot begin a declaration: each run is one error for the caller to report). A parse that
 * nests deeper than `MAX_NESTING` or makes more errors than its budget stops there (see
 * `parseExpr`), keeping what it read before. Not re-entrant.
 */
export function parseFile(
  tokens: IToken[],
  opts: ParseOptions = {},
): Parsed<CstNode[]> & { stray: IToken[] } {
  const p = begin(tokens, "file", opts);
  const decls: CstNode[] = [];
  const stray: IToken[] = [];
  const errors: IRecognitionException[] = [];
  // Each top-level call records the input left after it as an error: not one.
  const take = () => {
    for (const e of p.errors) if (e.name !== "NotAllInputParsedException") errors.push(e);
    p.errors = [];
  };
  const r = run(p, () => {
    for (let t = p.next(); t.tokenType !== EOF; t = p.next()) {
      const tt = t.tokenType;
      if (tt === T.Semicolon) p.semicolon();
      else if (
        tt === T.Model || tt === T.Block || tt === T.Train || tt === T.Import || tt === T.Let
      ) {
        decls.push(p.decl());
      } else {
        counted("", t);
        stray.push(t);
        p.stray();
      }
      take();
    }
  });
  take();
  release(p);
  return { result: decls, errors, stray, stop: r.stop };
}

/** The nesting level a string token was read at (0 for one the parser did not read). */
export function stringDepth(t: IToken): number {
  return stringDepths.get(t) ?? 0;
}

/** DLM0002 for each run of stray tokens at the top level of a file, at its first token. */
export function strayDiagnostics(stray: IToken[], file: string): Diagnostic[] {
  return stray.map((t) =>
    syntaxError(
      ...diag("DLM0002", RULE_DESCRIPTIONS.file, describeToken(t)),
      T.tokenSpan(t, file),
    )
  );
}

/**
 * Chevrotain's recognition errors as DLM0002 diagnostics. An error at the end
 * of the input (which has no position) is placed at `eofSpan`.
 */
export function syntaxDiagnostics(
  errors: IRecognitionException[],
  file: string,
  eofSpan: Span,
): Diagnostic[] {
  return errors.map((e) => {
    const t = e.token;
    const usable = t && t.tokenType !== EOF && !t.isInsertedInRecovery &&
      Number.isFinite(t.startLine);
    const args = expectedFound.get(e.message);
    // Every message comes from the provider above; another would be a bug of ours.
    if (!args) throw new Error(`chevrotain error without a message of ours: ${e.message}`);
    return syntaxError(...diag("DLM0002", ...args), usable ? T.tokenSpan(t, file) : eofSpan);
  });
}
