import assert from "node:assert/strict";
const assertEquals: (a: unknown, b: unknown) => void = assert.deepStrictEqual;
import { isProgram, loadProgram } from "./program.ts";
import { elaborate } from "./elaborate/mod.ts";
import { countParams, Facts } from "./facts.ts";

const SRC = `block Mlp(width: int)(x) {
  return x |> linear(width) |> relu
}
model M {
  input x: f32[N, 8]
  let h = x |> Mlp(16) |> Mlp(4)
  output y = h |> linear(2)
}
`;

function factsOf(src: string): Facts {
  const p = loadProgram("m.dlm", () => src);
  if (!isProgram(p)) throw new Error("no program");
  const facts = new Facts();
  const r = elaborate(p, p.models.get("M")!, { facts });
  assertEquals(r.diagnostics, []);
  return facts;
}

/** The fact of the span that starts at line:col and covers `text`. */
function at(f: Facts, line: number, text: string) {
  const col = SRC.split("\n")[line - 1].indexOf(text) + 1;
  return [...f.bySpan.values()].find((x) =>
    x.span.line === line && x.span.col === col && x.span.endCol === col + text.length
  );
}

Deno.test("facts: each pipe stage records the type after it and the parameters it created", () => {
  const f = factsOf(SRC);
  assertEquals(at(f, 6, "Mlp(16)")?.types, ["f32[N, 16]"]);
  assertEquals(at(f, 6, "Mlp(4)")?.types, ["f32[N, 4]"]);
  const p = at(f, 6, "Mlp(16)")!.params!;
  assertEquals(f.params.slice(p[0], p[1]).map((x) => [x.name, x.shape]), [
    ["Mlp_0.linear_0.weight", [16, 8]],
    ["Mlp_0.linear_0.bias", [16]],
  ]);
  assertEquals(at(f, 6, "h")?.types, ["f32[N, 4]"]);
  assertEquals(at(f, 5, "x")?.types, ["f32[N, 8]"]);
});

Deno.test("facts: a block body run twice keeps both types; block parameter counts", () => {
  const f = factsOf(SRC);
  assertEquals(at(f, 2, "linear(width)")?.types, ["f32[N, 16]", "f32[N, 4]"]);
  assertEquals(at(f, 2, "linear(width)")?.runs, 2);
  assertEquals(f.blockParams.get("Mlp"), 8 * 16 + 16);
  assertEquals(countParams(f.params), 8 * 16 + 16 + 16 * 4 + 4 + 4 * 2 + 2);
});
