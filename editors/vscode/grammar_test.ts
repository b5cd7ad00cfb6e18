/**
 * The TextMate grammar (syntaxes/dlm.tmLanguage.json) run by VS Code's own tokenizer,
 * vscode-textmate with the oniguruma regular expressions compiled to WebAssembly, on the examples:
 *
 * - every class of token (comments, strings and their escapes and interpolations, keywords,
 *   declarations, types, shapes and their dims, labels, named arguments, numbers, operators with
 *   `|>`) is found where it must be, on a small file covering them all, recorded as a snapshot
 *   (`deno test -A -u editors/vscode/grammar_test.ts` after an intended change);
 * - on every file of lang-examples/, each token the dlm lexer reads gets the grammar's scope for
 *   its class: comments as comments, strings as strings, numbers as numbers, keywords as
 *   keywords, `|>` as the pipe operator; and no line leaves the grammar inside a string.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import oniguruma from "vscode-oniguruma";
import textmate from "vscode-textmate";
import { lex } from "../../compiler/syntax/lexer.ts";
import { commentsOf } from "../../compiler/syntax/format.ts";

const HERE = new URL("./", import.meta.url).pathname;
const EXAMPLES = new URL("../../lang-examples/", import.meta.url).pathname;

async function loadGrammar(): Promise<textmate.IGrammar> {
  const require = createRequire(import.meta.url);
  const wasm = Deno.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer);
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources: string[]) => new oniguruma.OnigScanner(sources),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: (scope: string) => {
      if (scope !== "source.dlm") return Promise.resolve(null);
      const text = Deno.readTextFileSync(`${HERE}syntaxes/dlm.tmLanguage.json`);
      return Promise.resolve(textmate.parseRawGrammar(text, "dlm.tmLanguage.json"));
    },
  });
  const g = await registry.loadGrammar("source.dlm");
  if (!g) throw new Error("the grammar did not load");
  return g;
}

interface Token {
  line: number;
  /** 0-based columns. */
  start: number;
  end: number;
  text: string;
  scopes: string[];
}

function tokenize(g: textmate.IGrammar, text: string): { tokens: Token[]; endsInString: number[] } {
  let stack = textmate.INITIAL;
  const tokens: Token[] = [];
  const endsInString: number[] = [];
  text.split("\n").forEach((line, i) => {
    const r = g.tokenizeLine(line, stack);
    for (const t of r.tokens) {
      tokens.push({
        line: i + 1,
        start: t.startIndex,
        end: Math.min(t.endIndex, line.length),
        text: line.slice(t.startIndex, t.endIndex),
        scopes: t.scopes.slice(1),
      });
    }
    stack = r.ruleStack;
    // A string is on one line: the grammar must not carry one over.
    if (stack.toString().includes("string.quoted")) endsInString.push(i + 1);
  });
  return { tokens, endsInString };
}

const SAMPLE = `// A line comment
/* a block
   comment */
import "lib/transformer.dlm"

let EPS = 1e-5

block Residual(width: int, stride: int = 1)(x: f32[N, C, H, W]) -> f32[N, ..., _] {
  init conv2d.weight = kaiming_normal(mode: "fan_out")
  let y = x
    |> conv1: conv2d(width, kernel: 3, stride: stride, pad: 1_000)
    |> "layer\${stride + 1}": Bottleneck(64)
    |> relu
  for i in 0..=3 {
    y = y * 2.5 - -1 ** 2
  }
  return if stride == 1 && C != width { y } else { x @ y / 4 % 2 }
}

model M(classes: int = 10) {
  input image: f32[N, 3, 32, 32]
  output logits = image |> _: Residual(8) |> flatten |> fc: linear(classes, bias: true)
}

train M {
  freeze fc
  optimizer = adam(lr: 0.001)
  loss = cross_entropy(logits, label, label_smoothing: 0.1)
  let s = "tab\\t quote\\" \\q"
  let ok = !false || true
  init "ref" from policy
  let fast = Features(8) sharing policy
  let sharing = 3
}
`;

Deno.test("the grammar scopes every class of token of a sample as recorded", async (t) => {
  const g = await loadGrammar();
  const { tokens, endsInString } = tokenize(g, SAMPLE);
  assert.deepEqual(endsInString, []);
  const shown = tokens
    .filter((tk) => tk.text.trim() !== "")
    .map((tk) => `${tk.line}:${tk.start} ${JSON.stringify(tk.text)} ${tk.scopes.join(" ")}`);
  await t.assertSnapshot(shown.join("\n"));
  // And the classes, spelled out, so a change to the snapshot that loses one fails here too.
  const scopeOf = (line: number, text: string) =>
    tokens.find((tk) => tk.line === line && tk.text === text)?.scopes.join(" ") ?? "";
  const has = (line: number, text: string, scope: string) =>
    assert.ok(scopeOf(line, text).includes(scope), `${line} '${text}': ${scopeOf(line, text)}`);
  has(1, "// A line comment".slice(2), "comment.line.double-slash.dlm");
  has(2, "/*", "comment.block.dlm");
  has(4, "import", "keyword.other.import.dlm");
  has(4, "lib/transformer.dlm", "string.quoted.double.dlm");
  has(6, "1e-5", "constant.numeric.dlm");
  has(8, "block", "storage.type.block.dlm");
  has(8, "Residual", "entity.name.type.block.dlm");
  has(8, "int", "storage.type.primitive.dlm");
  has(8, "f32", "storage.type.dtype.dlm");
  has(8, "C", "variable.other.dim.dlm");
  has(8, "C", "meta.shape.dlm");
  has(8, "...", "keyword.operator.rest.dlm");
  has(8, "_", "variable.language.any-dim.dlm");
  has(8, "->", "keyword.operator.arrow.dlm");
  has(9, "mode", "variable.parameter.dlm");
  has(10, "let", "keyword.other.dlm");
  has(11, "|>", "keyword.operator.pipe.dlm");
  has(11, "conv1", "entity.name.label.dlm");
  has(11, "conv2d", "entity.name.function.dlm");
  has(11, "1_000", "constant.numeric.dlm");
  has(12, "layer", "entity.name.label.dlm");
  has(12, "${", "punctuation.section.interpolation.begin.dlm");
  has(12, "Bottleneck", "entity.name.type.block.call.dlm");
  has(14, "for", "keyword.control.dlm");
  has(14, "..=", "keyword.operator.range.dlm");
  has(15, "**", "keyword.operator.arithmetic.dlm");
  has(17, "==", "keyword.operator.comparison.dlm");
  has(17, "&&", "keyword.operator.logical.dlm");
  has(17, "@", "keyword.operator.arithmetic.dlm");
  has(22, "_", "entity.name.label.dlm");
  has(22, "true", "constant.language.boolean.dlm");
  has(26, "freeze", "keyword.other.dlm");
  has(29, "\\t", "constant.character.escape.dlm");
  has(29, "\\q", "invalid.illegal.escape.dlm");
  has(30, "!", "keyword.operator.logical.dlm");
  has(31, "from", "keyword.other.from.dlm");
  has(31, "ref", "string.quoted.double.dlm");
  has(32, "sharing", "keyword.other.sharing.dlm");
  // Elsewhere the contextual words are names.
  assert.ok(!scopeOf(33, "sharing").includes("keyword"), scopeOf(33, "sharing"));
});

/** The scope each class of dlm token must have (a prefix of one of its scopes). */
function expected(tokenType: string, image: string): string | undefined {
  if (tokenType === "StringLit") return "string.quoted.double"; // or a label, below
  if (tokenType === "NumberLit") return "constant.numeric";
  if (tokenType === "Pipe") return "keyword.operator.pipe";
  if (image === "true" || image === "false") return "constant.language.boolean";
  if (/^(let|return|for|if|else|in|import|input|output|with)$/.test(image)) return "keyword.";
  return undefined;
}

Deno.test("every example's comments, strings, numbers, booleans and pipes get their scopes", async () => {
  const g = await loadGrammar();
  const files = [...Deno.readDirSync(EXAMPLES)].filter((e) => e.name.endsWith(".dlm"))
    .map((e) => e.name).sort();
  let checked = 0;
  for (const name of files) {
    const text = Deno.readTextFileSync(`${EXAMPLES}${name}`);
    const { tokens, endsInString } = tokenize(g, text);
    assert.deepEqual(endsInString, [], name);
    const at = (line: number, col: number) =>
      tokens.find((t) => t.line === line && t.start <= col && col < t.end);
    const lexed = lex(text, name).tokens;
    for (const [i, tk] of lexed.entries()) {
      // A keyword before `:` is a label or an argument's name (`block: Bottleneck(64)`).
      const want = lexed[i + 1]?.image === ":" && /^[a-z]/.test(tk.image)
        ? undefined
        : expected(tk.tokenType.name, tk.image);
      if (!want) continue;
      const got = at(tk.startLine!, tk.startColumn! - 1);
      assert.ok(
        got?.scopes.some((s) => s.startsWith(want)),
        `${name}:${tk.startLine}:${tk.startColumn} '${tk.image}': ${got?.scopes.join(" ")}`,
      );
      checked++;
    }
    // Each comment's first character is in a comment scope.
    let from = 0;
    for (const c of commentsOf(text, lex(text, name).tokens)) {
      const offset = text.indexOf(c, from);
      from = offset + c.length;
      const line = text.slice(0, offset).split("\n").length;
      const col = offset - text.lastIndexOf("\n", offset - 1) - 1;
      const got = at(line, col);
      assert.ok(got?.scopes.some((s) => s.startsWith("comment.")), `${name}:${line}: ${c}`);
      checked++;
    }
  }
  assert.ok(checked > 4_000, `${checked} tokens checked`);
});

Deno.test("the extension's manifest names the grammar, its scope and the language configuration it ships", () => {
  const pkg = JSON.parse(Deno.readTextFileSync(`${HERE}package.json`));
  const [lang] = pkg.contributes.languages;
  assert.equal(lang.id, "dlm");
  assert.deepEqual(lang.extensions, [".dlm"]);
  const config = JSON.parse(Deno.readTextFileSync(`${HERE}${lang.configuration}`));
  assert.equal(config.comments.lineComment, "//");
  assert.deepEqual(config.comments.blockComment, ["/*", "*/"]);
  const [grammar] = pkg.contributes.grammars;
  const tm = JSON.parse(Deno.readTextFileSync(`${HERE}${grammar.path}`));
  assert.equal(grammar.scopeName, tm.scopeName);
  assert.equal(grammar.language, lang.id);
  // The client is pinned, and the server command defaults to `dlm lsp`.
  assert.match(pkg.dependencies["vscode-languageclient"], /^\d+\.\d+\.\d+$/);
  assert.deepEqual(pkg.contributes.configuration.properties["dlm.server.command"].default, [
    "dlm",
    "lsp",
  ]);
});
