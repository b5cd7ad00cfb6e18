import assert from "node:assert/strict";
import { parse } from "./mod.ts";
import { sexpr } from "./sexpr.ts";

function show(src: string): string[] {
  const { file, diagnostics } = parse(src, "t.dlm");
  assert.deepEqual(diagnostics, []);
  return file.decls.map(sexpr);
}

Deno.test("sexpr() prints declarations, statements and types without spans", () => {
  assert.deepEqual(
    show(
      'import "a.dlm"\nlet w: int = 2\n' +
        "block B(c: int)(x: f32[N, _, ...]) -> (int, bool[]) { let (a, b) = x; return a, b }\n" +
        'train M with lora(r: 8) { init "x*" = zeros freeze y for i in 0..=2 { } }',
    ),
    [
      '(import "a.dlm")',
      "(const w : int = 2)",
      "(block B (c: int) (x: f32[N, _, ...]) -> (int, bool[]) { (let (a b) = x) (return (tuple a b)) })",
      '(train M [(call lora r=8)] { (init "x*" = zeros) (freeze y) (for i in (..= 0 2) { }) })',
    ],
  );
});

Deno.test("sexpr() prints expressions with their structure made explicit", () => {
  assert.deepEqual(
    show('model M { output o: (int,) = l: (a |> "s${i}": f(k: 1)[0, ::2].w) }'),
    [
      '(model M () { (output o : (int,) = (label l (group a <"s" i>:(. (index (call f k=1) 0 (slice _ _ 2)) w)))) })',
    ],
  );
});
