import { lex } from "./compiler/syntax/lexer.ts";
import { parseTokens } from "./compiler/syntax/parser.ts";
import { AstBuilder } from "./compiler/syntax/cst_to_ast.ts";
const ex = Deno.readTextFileSync("/tmp/ex.dlm").split("\n");
let lines: string[] = [];
let k = 0;
while (lines.length < 300) lines.push(...ex.map((l) => l.replace(/\b(LeNet5|Basic|Fractal|ResNet|GPT)\b/g, "$1_" + k))), k++;
const src = lines.join("\n");
Deno.writeTextFileSync("/tmp/big.dlm", src);
const N = 300;
for (let i = 0; i < N; i++) {
  const { tokens } = lex(src, "f");
  const { cst, errors } = parseTokens(tokens, "file");
  if (i == 0) console.log(errors.length, src.split("\n").length);
  new AstBuilder("f").decls(cst);
}
