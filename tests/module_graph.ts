/**
 * The repository's module graph as its import lines give it: the reader and
 * the cycle finder shared by tests/layering_test.ts (the whole code base) and
 * compiler/check/structure_test.ts (the checker's own shape). Paths are
 * relative to the repository's root ("compiler/ir/graph.ts").
 */

const ROOT = new URL("../", import.meta.url);

export interface Import {
  to: string;
  dynamic: boolean;
}

/** Static, type-only, re-exported and side-effect imports (group 1) and literal dynamic ones (group 2). */
export const IMPORT_RE =
  /(?:^|[;\n])\s*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** The repository path that `spec`, imported from the module at `from`, names. */
export function normalize(from: string, spec: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const s of spec.split("/")) {
    if (s === "..") parts.pop();
    else if (s !== ".") parts.push(s);
  }
  return parts.join("/");
}

/** The relative imports of the module at `path` (repository-relative), type-only ones included. */
export function importsOf(path: string): Import[] {
  const src = Deno.readTextFileSync(new URL(path, ROOT))
    // Comments and strings in JSDoc examples are not imports.
    .replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: Import[] = [];
  for (const m of src.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith(".")) continue;
    out.push({ to: normalize(path, spec), dynamic: m[2] !== undefined });
  }
  return out;
}

/** Strongly connected components of more than one module (Tarjan). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}
