/**
 * Test support for the checker's tests: a program given as one source text
 * (`main.dlm`, importing nothing) compiled to its model, with its
 * diagnostics (`compileSource`), or to its graph when it has none
 * (`compileOk`, which fails the test on any diagnostic).
 */
import assert from "node:assert/strict";
import { compileFile } from "../compile.ts";
import type { Graph } from "../ir/graph.ts";

/** The program `src` compiled as `main.dlm`: its graph and its diagnostics. */
export function compileSource(src: string): ReturnType<typeof compileFile> {
  return compileFile("main.dlm", { read: (p) => (p === "main.dlm" ? src : new Error("no file")) });
}

/** The graph of `src`, asserting that compiling it gives no diagnostic at all. */
export function compileOk(src: string): Graph {
  const r = compileSource(src);
  assert.deepEqual(r.diagnostics.map((d) => `${d.code} ${d.message}`), []);
  return r.graph!;
}
