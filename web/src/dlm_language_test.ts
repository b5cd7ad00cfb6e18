import assert from "node:assert/strict";
import { StringStream } from "@codemirror/language";
import { KEYWORDS as LEXER_KEYWORDS } from "../../compiler/syntax/lexer.ts";
import { KEYWORDS, token } from "./dlm_language.ts";

/** The tokens of `lines`, as [text, style] pairs, skipping whitespace. */
function tokens(lines: string[]): [string, string | null][] {
  const state = { inComment: false };
  const out: [string, string | null][] = [];
  for (const line of lines) {
    const s = new StringStream(line, 2, 2);
    while (!s.eol()) {
      const style = token(s, state);
      const text = s.current();
      if (text.trim()) out.push([text, style]);
      s.start = s.pos;
    }
  }
  return out;
}

Deno.test("the highlighter's keywords are the lexer's", () => {
  assert.deepEqual([...KEYWORDS].sort(), LEXER_KEYWORDS.map((t) => t.name.toLowerCase()).sort());
});

Deno.test("dlm tokens: keywords, dtypes, numbers, strings, calls, pipes and comments", () => {
  assert.deepEqual(tokens(['  output y: f32[N, 10] = x |> "fc${i}": linear(2.5e-1) // done']), [
    ["output", "keyword"],
    ["y", "variableName"],
    [":", "punctuation"],
    ["f32", "typeName"],
    ["[", "punctuation"],
    ["N", "className"],
    [",", "punctuation"],
    ["10", "number"],
    ["]", "punctuation"],
    ["=", "operator"],
    ["x", "variableName"],
    ["|>", "operator"],
    ['"fc${i}"', "string"],
    [":", "punctuation"],
    ["linear", "variableName.function"],
    ["(", "punctuation"],
    ["2.5e-1", "number"],
    [")", "punctuation"],
    ["// done", "comment"],
  ]);
});

Deno.test("a block comment spans lines", () => {
  assert.deepEqual(tokens(["let /* a", "b */ x"]), [
    ["let", "keyword"],
    ["/* a", "comment"],
    ["b */", "comment"],
    ["x", "variableName"],
  ]);
});

Deno.test("init T from S and B(...) sharing S: keywords there, names elsewhere", () => {
  const styleOf = (line: string, word: string, nth = 0) =>
    tokens([line]).filter(([t]) => t === word)[nth]?.[1];
  assert.equal(styleOf('  init "ref.h" from policy', "from"), "keyword");
  assert.equal(styleOf("  init ref.h from policy", "from"), "keyword");
  assert.equal(styleOf("  let fast = GPT2Cached(8) sharing policy", "sharing"), "keyword");
  assert.equal(styleOf("  let f = Features sharing net", "sharing"), "keyword");
  assert.equal(styleOf("  let sharing = 3", "sharing"), "variableName");
  assert.equal(styleOf("  let from = 2", "from"), "variableName");
  assert.equal(styleOf("  let y = x + from", "from"), "variableName");
});
