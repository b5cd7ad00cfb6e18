import { parse } from "./compiler/syntax/mod.ts";
const src = Deno.readTextFileSync("/tmp/big.dlm");
for (let i = 0; i < 50; i++) parse(src, "big.dlm");
const times: number[] = [];
for (let b = 0; b < 15; b++) {
  const t = performance.now();
  for (let i = 0; i < 20; i++) parse(src, "big.dlm");
  times.push((performance.now() - t) / 20);
}
times.sort((a, b) => a - b);
console.log("median ms", times[7].toFixed(2), "min", times[0].toFixed(2));
