/**
 * The shape of compiler/check that the redesign promised, checked on the
 * import lines themselves (type-only imports included): no import cycle;
 * the resolver and the docs generator reach the name tables without the
 * elaborator (the spec test takes them from names.ts too); built-ins see
 * the elaborator only through Ctx.
 */
import assert from "node:assert/strict";
import { cycles, importsOf } from "../../tests/module_graph.ts";

const ROOT = new URL("../../", import.meta.url);

/** The modules the module at `path` imports statically (repository-relative paths). */
const imported = (path: string) => importsOf(path).filter((i) => !i.dynamic).map((i) => i.to);

/** Every module reachable from `start` (itself included). */
function closure(start: string): Set<string> {
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...imported(f));
  }
  return seen;
}

function checkModules(dir = "compiler/check/"): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(new URL(dir, ROOT))) {
    const p = `${dir}${e.name}`;
    if (e.isDirectory) out.push(...checkModules(`${p}/`));
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) out.push(p);
  }
  return out.sort();
}

const inElaborator = (f: string) => f.startsWith("compiler/check/elaborate/");

Deno.test("compiler/check has no import cycle, type-only imports included", () => {
  const graph = new Map(
    checkModules().map((f) => [f, imported(f).filter((g) => g.startsWith("compiler/check/"))]),
  );
  assert.deepEqual(cycles(graph), []);
});

Deno.test("the resolver and the docs generator reach the name tables without the elaborator", () => {
  for (
    const start of [
      "compiler/check/resolve.ts",
      "tools/gen_builtins_doc.ts",
    ]
  ) {
    const reached = [...closure(start)].filter(inElaborator);
    assert.deepEqual(reached, [], `${start} imports the elaborator`);
  }
  // The spec test compiles examples (so it reaches the elaborator), but takes its names from names.ts.
  assert.ok(imported("tests/spec_test.ts").includes("compiler/check/names.ts"));
});

Deno.test("built-ins, compile-time functions included, see the elaborator only through Ctx", () => {
  const builtins = checkModules().filter((f) => f.startsWith("compiler/check/builtins/"));
  assert.ok(builtins.some((f) => f.endsWith("/scan.ts")));
  for (const f of builtins) {
    assert.deepEqual([...closure(f)].filter(inElaborator), [], f);
  }
});
