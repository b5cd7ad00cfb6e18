import { lex } from "./compiler/syntax/lexer.ts";
import { parseTokens } from "./compiler/syntax/parser.ts";
import { AstBuilder } from "./compiler/syntax/cst_to_ast.ts";
const ex = Deno.readTextFileSync("/tmp/ex.dlm").split("\n");
let lines: string[] = [];
let k = 0;
while (lines.length < 300) lines.push(...ex.map((l) => l.replace(/\b(LeNet5|Basic|Fractal|ResNet|GPT)\b/g, "$1_" + k))), k++;
const src = Deno.readTextFileSync("/tmp/big.dlm");
const N = 200;
let a = 0, b = 0, c = 0;
for (let i = 0; i < N + 20; i++) {
  const t0 = performance.now();
  const { tokens } = lex(src, "f");
  const t1 = performance.now();
  const { cst } = parseTokens(tokens, "file");
  const t2 = performance.now();
  new AstBuilder("f").decls(cst);
  const t3 = performance.now();
  if (i >= 20) { a += t1 - t0; b += t2 - t1; c += t3 - t2; }
}
console.log("lex", (a / N).toFixed(2), "parse", (b / N).toFixed(2), "visit", (c / N).toFixed(2));
