import { parse } from "./compiler/syntax/mod.ts";
const src = Deno.readTextFileSync("/tmp/ex.dlm");
let seed = 42;
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
const pieces = ["(", ")", "{", "}", "[", "]", ",", ":", "|>", "=", "let", "if", "else", '"', "${", "x", "1", ";", "..", "/*", "//", "->", "model", "\n"];
function checkSpans(v: any, path: string): void {
  if (Array.isArray(v)) return v.forEach((x, i) => checkSpans(x, path + "." + i));
  if (v && typeof v === "object") {
    if ("line" in v && "endCol" in v) {
      for (const k of ["line", "col", "endLine", "endCol"]) if (!Number.isFinite(v[k]) || v[k] < 1) throw new Error("bad span at " + path + JSON.stringify(v));
      if (v.endLine < v.line || (v.endLine === v.line && v.endCol < v.col)) throw new Error("inverted span at " + path + JSON.stringify(v));
    }
    for (const [k, x] of Object.entries(v)) checkSpans(x, path + "." + k);
  }
}
let fails = 0;
for (let n = 0; n < 3000; n++) {
  let s = src;
  const k = 1 + Math.floor(rnd() * 4);
  for (let j = 0; j < k; j++) {
    const at = Math.floor(rnd() * s.length);
    const r = rnd();
    if (r < 0.4) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rnd() * 10));
    else if (r < 0.8) s = s.slice(0, at) + pieces[Math.floor(rnd() * pieces.length)] + s.slice(at);
    else s = s.slice(0, at);
  }
  try {
    const r = parse(s, "f.dlm");
    if (r.diagnostics.some((d) => d.code === "DLM0900")) throw new Error(r.diagnostics.find((d) => d.code === "DLM0900")!.message);
    checkSpans(r, "");
  } catch (e) {
    if (fails++ < 5) { console.log("FAIL", (e as Error).message); Deno.writeTextFileSync(`/tmp/fail${fails}.dlm`, s); }
  }
}
console.log("fails", fails);
let f2 = 0;
const words = [...pieces, "model", "M", "block", "B", "(x)", "train", "T", "with", "input", "output", "return", "for", "in", "init", "freeze", '"a${', '"b"', "}", "1.5", "...", "_", "f32[", "**", "-", "!", "@"];
for (let n = 0; n < 3000; n++) {
  const len = Math.floor(rnd() * 40);
  let s = "";
  for (let i = 0; i < len; i++) s += words[Math.floor(rnd() * words.length)] + (rnd() < 0.5 ? " " : "");
  try {
    const r = parse(s, "f.dlm");
    if (r.diagnostics.some((d) => d.code === "DLM0900")) throw new Error(r.diagnostics.find((d) => d.code === "DLM0900")!.message);
    checkSpans(r, "");
  } catch (e) {
    if (f2++ < 5) { console.log("FAIL2", (e as Error).message, JSON.stringify(s)); }
  }
}
console.log("fails2", f2);
