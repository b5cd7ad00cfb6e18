/**
 * The shape of compiler/check that the redesign promised, checked on the
 * import lines themselves (type-only imports included): no import cycle;
 * the resolver and the docs generator reach the name tables without the
 * elaborator (the spec test takes them from names.ts too); built-ins see
 * the elaborator only through Ctx.
 */
import assert from "node:assert/strict";

const CHECK = new URL("./", import.meta.url);
const ROOT = new URL("../../", import.meta.url);
const path = (u: URL) => decodeURIComponent(u.pathname);

/** The modules `file` imports (relative imports only), as absolute paths. */
function importsOf(file: string): string[] {
  const src = Deno.readTextFileSync(file);
  const out: string[] = [];
  for (const m of src.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms)) {
    out.push(path(new URL(m[1], `file://${file}`)));
  }
  return out;
}

/** Every module reachable from `start` (itself included). */
function closure(start: string): Set<string> {
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...importsOf(f));
  }
  return seen;
}

function checkModules(dir = path(CHECK)): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}${e.name}`;
    if (e.isDirectory) out.push(...checkModules(`${p}/`));
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) out.push(p);
  }
  return out.sort();
}

const inElaborator = (f: string) => f.startsWith(path(new URL("elaborate/", CHECK)));

Deno.test("compiler/check has no import cycle, type-only imports included", () => {
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (f: string, stack: string[]) => {
    if (!f.startsWith(path(CHECK))) return;
    if (state.get(f) === "done") return;
    if (state.get(f) === "open") {
      cycles.push(
        [...stack.slice(stack.indexOf(f)), f].map((x) => x.slice(path(ROOT).length)).join(" -> "),
      );
      return;
    }
    state.set(f, "open");
    for (const g of importsOf(f)) visit(g, [...stack, f]);
    state.set(f, "done");
  };
  for (const f of checkModules()) visit(f, []);
  assert.deepEqual(cycles, []);
});

Deno.test("the resolver and the docs generator reach the name tables without the elaborator", () => {
  for (
    const start of [
      path(new URL("resolve.ts", CHECK)),
      path(new URL("tools/gen_builtins_doc.ts", ROOT)),
    ]
  ) {
    const reached = [...closure(start)].filter(inElaborator);
    assert.deepEqual(reached, [], `${start} imports the elaborator`);
  }
  // The spec test compiles examples (so it reaches the elaborator), but takes its names from names.ts.
  const spec = importsOf(path(new URL("tests/spec_test.ts", ROOT)));
  assert.ok(spec.includes(path(new URL("names.ts", CHECK))));
});

Deno.test("built-ins, compile-time functions included, see the elaborator only through Ctx", () => {
  const builtins = checkModules().filter((f) => f.includes("/check/builtins/"));
  assert.ok(builtins.some((f) => f.endsWith("/scan.ts")));
  for (const f of builtins) {
    assert.deepEqual([...closure(f)].filter(inElaborator), [], f);
  }
});
