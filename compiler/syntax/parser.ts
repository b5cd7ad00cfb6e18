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
import { syntaxError } from "./lexer.ts";

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

/** The entry rule of the parse in progress (see `parseTokens`). */
let entry: "file" | "standaloneExpr" = "file";

/** Messages in the house style: `Expected ')' but found '{'`. */
const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    // Left-over input after the last declaration, or in an interpolation.
    if (expected === EOF && ruleName === "file") {
      return expectedMessage(RULE_DESCRIPTIONS.file, describeToken(actual));
    }
    if (expected === EOF && ruleName === "standaloneExpr") {
      return expectedMessage("the end of the interpolation", describeToken(actual));
    }
    return expectedMessage(describeType(expected), describeToken(actual));
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    // Chevrotain passes no rule name here (the rule stack is empty).
    const what = entry === "standaloneExpr"
      ? "the end of the interpolation"
      : RULE_DESCRIPTIONS.file;
    return expectedMessage(what, describeToken(firstRedundant));
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, customUserDescription, ruleName }) {
    const what = customUserDescription ?? RULE_DESCRIPTIONS[ruleName] ??
      oneOf(expectedPathsPerAlt.flat().map((path) => describeType(path[0])));
    return expectedMessage(what, describeToken(actual[0]));
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, customUserDescription, ruleName }) {
    const what = customUserDescription ?? RULE_DESCRIPTIONS[ruleName] ??
      oneOf(expectedIterationPaths.map((path) => describeType(path[0])));
    return expectedMessage(what, describeToken(actual[0]));
  },
};

const EXPRESSION = "an expression";

/**
 * The grammar. Each rule's comment gives its EBNF as in spec/grammar.md.
 * Children are labelled (`LABEL`) so the CST reads by role, not by token.
 */
export class DlmParser extends CstParser {
  /** `validate`: run chevrotain's grammar validations (tests; a finding throws). */
  constructor(options: { validate?: boolean } = {}) {
    super(T.PARSER_TOKENS, {
      recoveryEnabled: true,
      maxLookahead: 3,
      nodeLocationTracking: "full",
      errorMessageProvider: messages,
      skipValidations: !options.validate,
    });
    this.performSelfAnalysis();
  }

  // file = { decl | ";" } ;
  file = this.RULE("file", () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.decl) },
        { ALT: () => this.CONSUME(T.Semicolon) },
      ]);
    });
  });

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

  // constDecl = "let" IDENT [ ":" type ] "=" expr ;
  constDecl = this.RULE("constDecl", () => {
    this.CONSUME(T.Let);
    this.CONSUME(T.Identifier, { LABEL: "name" });
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
  body = this.RULE("body", () => {
    this.CONSUME(T.LCurly);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.statement) },
        { ALT: () => this.CONSUME(T.Semicolon) },
      ]);
    });
    this.CONSUME(T.RCurly);
  });

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

  // inputStmt = "input" IDENT ":" type ;
  inputStmt = this.RULE("inputStmt", () => {
    this.CONSUME(T.Input);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.Colon);
    this.SUBRULE(this.typeExpr, { LABEL: "type" });
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
  ifStmt = this.RULE("ifStmt", () => {
    this.CONSUME(T.If);
    this.SUBRULE(this.expr, { LABEL: "cond" });
    this.SUBRULE(this.body, { LABEL: "then" });
    this.OPTION(() => {
      this.CONSUME(T.Else);
      this.OR([
        { ALT: () => this.SUBRULE(this.ifStmt, { LABEL: "elseIf" }) },
        { ALT: () => this.SUBRULE2(this.body, { LABEL: "else" }) },
      ]);
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

  // pattern = IDENT | "(" pattern { "," pattern } [ "," ] ")" ;
  pattern = this.RULE("pattern", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Identifier, { LABEL: "name" }) },
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
    ]);
  });

  // initStmt = "init" initTarget "=" expr ;
  initStmt = this.RULE("initStmt", () => {
    this.CONSUME(T.Init);
    this.SUBRULE(this.initTarget, { LABEL: "target" });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr, { LABEL: "value" });
  });

  // freezeStmt = "freeze" initTarget ;
  freezeStmt = this.RULE("freezeStmt", () => {
    this.CONSUME(T.Freeze);
    this.SUBRULE(this.initTarget, { LABEL: "target" });
  });

  // initTarget = STRING | IDENT { "." IDENT } ;
  initTarget = this.RULE("initTarget", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.StringLit, { LABEL: "glob" }) },
      {
        ALT: () => {
          this.CONSUME(T.Identifier, { LABEL: "names" });
          this.MANY(() => {
            this.CONSUME(T.Dot);
            this.CONSUME2(T.Identifier, { LABEL: "names" });
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
  typeExpr = this.RULE("typeExpr", () => {
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
    ]);
  });

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

  // label = ( IDENT | STRING ) ":" ;
  label = this.RULE("label", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Identifier, { LABEL: "name" }) },
      { ALT: () => this.CONSUME(T.StringLit, { LABEL: "name" }) },
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
  group = this.RULE("group", () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.stage, { LABEL: "stages" });
    this.MANY(() => {
      this.CONSUME(T.Pipe);
      this.SUBRULE2(this.stage, { LABEL: "stages" });
    });
    this.CONSUME(T.RParen);
  });

  // unaryExpr = { "-" | "+" | "!" } postfixExpr [ "**" unaryExpr ] ;
  // (postfixExpr is written out in place: one CST node less per operand.)
  unaryExpr = this.RULE("unaryExpr", () => {
    this.MANY(() => this.CONSUME(T.PrefixOperator, { LABEL: "prefix" }));
    this.primary();
    this.MANY2(() => this.SUBRULE(this.postfixOp, { LABEL: "ops" }));
    this.OPTION(() => {
      this.CONSUME(T.StarStar);
      this.SUBRULE(this.unaryExpr, { LABEL: "exponent" });
    });
  });

  // postfixExpr = primary { postfixOp } ;
  postfixExpr = this.RULE("postfixExpr", () => {
    this.primary();
    this.MANY(() => this.SUBRULE(this.postfixOp, { LABEL: "ops" }));
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

  // indexItem = expr [ slice ] | slice ;
  // slice     = ":" [ expr ] [ ":" [ expr ] ] ;
  indexItem = this.RULE("indexItem", () => {
    this.OR({
      DEF: [
        {
          ALT: () => {
            this.SUBRULE(this.expr, { LABEL: "start" });
            this.OPTION(() => this.SUBRULE(this.slice));
          },
        },
        { ALT: () => this.SUBRULE2(this.slice) },
      ],
      ERR_MSG: "an index or a slice",
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
        { ALT: () => this.CONSUME9(T.StringLit, { LABEL: "string" }) },
        { ALT: () => this.CONSUME9(T.True, { LABEL: "bool" }) },
        { ALT: () => this.CONSUME9(T.False, { LABEL: "bool" }) },
        { ALT: () => this.CONSUME9(T.Identifier, { LABEL: "name" }) },
        { ALT: () => this.SUBRULE9(this.listExpr) },
        { ALT: () => this.SUBRULE9(this.ifExpr) },
      ],
      ERR_MSG: EXPRESSION,
    });
  }

  // parenExpr = "(" labeledOrExpr { "," labeledOrExpr } [ "," ] ")" ;
  parenExpr = this.RULE("parenExpr", () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.labeledOrExpr, { LABEL: "items" });
    this.MANY(() => {
      this.CONSUME(T.Comma, { LABEL: "commas" });
      this.SUBRULE2(this.labeledOrExpr, { LABEL: "items" });
    });
    this.OPTION(() => this.CONSUME2(T.Comma, { LABEL: "commas" }));
    this.CONSUME(T.RParen);
  });

  // listExpr = "[" [ expr { "," expr } [ "," ] ] "]" ;
  listExpr = this.RULE("listExpr", () => {
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
  });

  // ifExpr = "if" expr "{" expr "}" "else" ( ifExpr | "{" expr "}" ) ;
  ifExpr = this.RULE("ifExpr", () => {
    this.CONSUME(T.If);
    this.SUBRULE(this.expr, { LABEL: "cond" });
    this.CONSUME(T.LCurly);
    this.SUBRULE2(this.expr, { LABEL: "then" });
    this.CONSUME(T.RCurly);
    this.CONSUME(T.Else);
    this.OR([
      { ALT: () => this.SUBRULE(this.ifExpr, { LABEL: "elseIf" }) },
      {
        ALT: () => {
          this.CONSUME2(T.LCurly);
          this.SUBRULE3(this.expr, { LABEL: "else" });
          this.CONSUME2(T.RCurly);
        },
      },
    ]);
  });
}

/** The one parser instance, built on first use (grammar analysis is done once). */
let parser: DlmParser | undefined;

/**
 * Parse `tokens` from the entry rule `file` (a whole file) or
 * `standaloneExpr` (the body of a `${...}`), returning the CST and the
 * recognition errors. Not re-entrant: read `errors` before the next call.
 */
export function parseTokens(
  tokens: IToken[],
  rule: "file" | "standaloneExpr",
): { cst: CstNode; errors: IRecognitionException[] } {
  entry = rule;
  const p = parser ??= new DlmParser();
  p.input = tokens;
  const cst = rule === "file" ? p.file() : p.standaloneExpr();
  return { cst, errors: p.errors };
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
