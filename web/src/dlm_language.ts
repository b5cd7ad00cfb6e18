/**
 * dlm highlighting for CodeMirror 6: a StreamLanguage tokenizer over the lexer's classes
 * (compiler/syntax/lexer.ts): keywords, dtypes, numbers, strings with `${...}` holes, line and
 * block comments, the pipe `|>` and layer names before `:`. A stand-in until the language service
 * gives semantic tokens.
 */
import { StreamLanguage, type StringStream } from "@codemirror/language";

/** The keywords of spec/grammar.md (lexer.ts's KEYWORDS). */
export const KEYWORDS = new Set([
  "model",
  "block",
  "train",
  "import",
  "input",
  "output",
  "let",
  "return",
  "if",
  "else",
  "for",
  "in",
  "init",
  "freeze",
  "true",
  "false",
  "with",
]);

const DTYPES = /^(f16|bf16|f32|f64|i8|i16|i32|i64|u8|u16|u32|u64|bool|str|int|float)\b/;

interface State {
  inComment: boolean;
  /** Inside `init T` before a possible `from` (T a name, a dotted path or a string). */
  initTarget?: boolean;
  /** The last token ended a value (a name or `)`): a `sharing` after it is the keyword. */
  afterValue?: boolean;
}

/**
 * The contextual words of `init T from S` (spec 8.5) and `B(...) sharing S` (8.6) are keywords
 * there and names elsewhere (`let sharing = 3`), as the parser reads them.
 */
function contextual(w: string, stream: StringStream, state: State): boolean {
  if (w === "from") return !!state.initTarget;
  if (w === "sharing") {
    return !!state.afterValue && stream.match(/^\s+[A-Za-z_"]/, false) !== null;
  }
  return false;
}

export function token(stream: StringStream, state: State): string | null {
  if (!state.inComment && stream.eatSpace()) return null;
  const wasInit = state.initTarget, start = stream.pos;
  const style = tokenOf(stream, state);
  const text = stream.string.slice(start, stream.pos);
  // `init` opens a target; names, dots and a string continue it; anything else ends it.
  state.initTarget = text === "init" ||
    (!!wasInit && (style === "variableName" || style === "string" || text === "."));
  state.afterValue = text === ")" || style === "variableName" || style === "className" ||
    style === "variableName.function";
  return style;
}

function tokenOf(stream: StringStream, state: State): string | null {
  if (state.inComment) {
    if (stream.skipTo("*/")) {
      stream.pos += 2;
      state.inComment = false;
    } else stream.skipToEnd();
    return "comment";
  }
  if (stream.eatSpace()) return null;
  if (stream.match("//")) {
    stream.skipToEnd();
    return "comment";
  }
  if (stream.match("/*")) {
    state.inComment = true;
    return tokenOf(stream, state) ?? "comment";
  }
  if (stream.peek() === '"') {
    stream.next();
    let escaped = false;
    for (let c = stream.next(); c !== undefined; c = stream.next()) {
      if (c === '"' && !escaped) break;
      escaped = c === "\\" && !escaped;
    }
    return "string";
  }
  if (stream.match(/^(0x[0-9a-fA-F_]+|[0-9][0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9]+)?)/)) {
    return "number";
  }
  if (stream.match(DTYPES)) return "typeName";
  if (stream.match("|>")) return "operator";
  const word = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/) as RegExpMatchArray | null;
  if (word) {
    const w = word[0];
    if (KEYWORDS.has(w) || contextual(w, stream, state)) return "keyword";
    if (/^[A-Z]/.test(w)) return "className";
    if (stream.peek() === "(") return "variableName.function";
    return "variableName";
  }
  if (stream.match(/^[-+*/%=<>!&|^@?]+/)) return "operator";
  stream.next();
  return "punctuation";
}

export const dlmLanguage = StreamLanguage.define<State>({
  name: "dlm",
  startState: () => ({ inComment: false }),
  token,
  languageData: { commentTokens: { line: "//", block: { open: "/*", close: "*/" } } },
});
