import assert from "node:assert/strict";
import { closest, editDistance, MAX_CANDIDATES, SUGGEST_BUDGET, Suggester } from "./suggest.ts";

/** The full dynamic programme of optimal string alignment, for comparison. */
function plainDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

Deno.test("editDistance() within its bound agrees with the full computation", () => {
  let seed = 12345;
  const r = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const word = () =>
    Array.from({ length: Math.floor(r() * 8) }, () => "abc"[Math.floor(r() * 3)]).join("");
  for (let t = 0; t < 20_000; t++) {
    const a = word(), b = word(), bound = Math.floor(r() * 4);
    assert.equal(
      editDistance(a, b, bound),
      Math.min(plainDistance(a, b), bound + 1),
      `${a} ${b} ${bound}`,
    );
  }
});

Deno.test("closest() suggests as before: the first of the nearest, within a third of the length", () => {
  assert.equal(closest("reul", ["relu", "reshape"]), "relu");
  assert.equal(closest("clases", ["classes", "class_es"]), "classes");
  assert.equal(closest("ab", ["xy"]), undefined);
  assert.equal(closest("lenear", ["linear", "lineer"]), "linear");
});

Deno.test("closest() answers at once for a name of a million characters", () => {
  const name = "a" + "b".repeat(1_000_000);
  const t0 = performance.now();
  assert.equal(closest(name, ["relu", "b".repeat(1_000_000), "linear"]), "b".repeat(1_000_000));
  assert.equal(closest(name, ["relu", "linear"]), undefined);
  assert.ok(performance.now() - t0 < 2_000, `${performance.now() - t0} ms`);
});

Deno.test("closest() looks at a bounded number of candidates, the first ones", () => {
  const many = Array.from({ length: MAX_CANDIDATES + 10 }, (_, i) => `name${i}`);
  assert.equal(closest("linaer", [...many, "linear"]), undefined);
  assert.equal(closest("linaer", ["linear", ...many]), "linear");
});

Deno.test("a Suggester stops suggesting when its budget of candidates is spent", () => {
  const s = new Suggester();
  const known = Array.from({ length: 1000 }, (_, i) => `name${i}`);
  let answered = 0;
  for (let i = 0; i < SUGGEST_BUDGET / 1000 + 5; i++) if (s.closest("name1x", known)) answered++;
  assert.equal(answered, SUGGEST_BUDGET / 1000);
});
