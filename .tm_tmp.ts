import { parse } from "./compiler/syntax/mod.ts";
const ex = Deno.readTextFileSync("/tmp/ex.dlm").split("\n");
let lines: string[] = [];
let k = 0;
while (lines.length < 300) lines.push(...ex.map((l) => l.replace(/\b(LeNet5|Basic|Fractal|ResNet|GPT)\b/g, "$1_" + k))), k++;
const src = Deno.readTextFileSync("/tmp/big.dlm");
// cut at a decl boundary is not needed: errors allowed? check
const r0 = parse(src, "big.dlm");
console.log("lines", src.split("\n").length, "diags", r0.diagnostics.length);
const t0 = performance.now();
for (let i = 0; i < 20; i++) parse(src, "big.dlm");
const t1 = performance.now();
const N = 200;
for (let i = 0; i < N; i++) parse(src, "big.dlm");
console.log("ms per parse (300 lines, warm):", ((performance.now() - t1) / N).toFixed(2));
