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
}

export function token(stream: StringStream, state: State): string | null {
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
    return token(stream, state) ?? "comment";
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
    if (KEYWORDS.has(w)) return "keyword";
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
