import assert from "node:assert/strict";
import { compileGlob, isDottedName } from "./glob.ts";

/** The regular expression globs were compiled to before (the meaning the matcher keeps). */
function globRegExp(glob: string): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      while (glob[i + 1] === "*") i++;
      re += ".*";
    } else if (c === "?") re += ".";
    else if (c === "{") {
      const end = glob.indexOf("}", i);
      if (end < 0) {
        re += "\\{";
        continue;
      }
      re += `(?:${glob.slice(i + 1, end).split(",").map(esc).join("|")})`;
      i = end;
    } else re += esc(c);
  }
  return new RegExp(`^${re}$`);
}

function rng(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
}

Deno.test("compileGlob() matches what the regular expression of the glob matches", () => {
  const r = rng(99);
  const pick = (s: string, n: number) =>
    Array.from({ length: Math.floor(r() * n) }, () => s[Math.floor(r() * s.length)]).join("");
  for (let t = 0; t < 20_000; t++) {
    const glob = pick("ab.*?{,}", 8);
    const name = pick("ab.{},", 8);
    assert.equal(compileGlob(glob).test(name), globRegExp(glob).test(name), `${glob} ${name}`);
  }
  const g = compileGlob("layer*.{q,v}.w?ight");
  assert.deepEqual(["layer1.q.weight", "layer1.k.weight", "layer.v.wxight"].map((n) => g.test(n)), [
    true,
    false,
    true,
  ]);
});

Deno.test("compileGlob() takes linear time on a glob that makes a regular expression backtrack", () => {
  // As a regular expression this takes 24 s on 35 characters, and doubles with each more.
  const g = compileGlob("*a*a*a*a*a*a*a*a*a*a*a*a*b");
  const t0 = performance.now();
  assert.equal(g.test("a".repeat(100_000)), false);
  assert.equal(g.test("a".repeat(100_000) + "b"), true);
  assert.ok(performance.now() - t0 < 5_000, `${performance.now() - t0} ms`);
});

Deno.test("isDottedName() accepts what the label and parameter name rules accept", () => {
  const label = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;
  const param = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_0-9]+)*$/;
  const r = rng(5);
  for (let t = 0; t < 20_000; t++) {
    const s = Array.from({ length: Math.floor(r() * 7) }, () => "a1_.-"[Math.floor(r() * 5)]).join(
      "",
    );
    assert.equal(isDottedName(s), label.test(s), s);
    assert.equal(isDottedName(s, true), param.test(s), s);
  }
  // A regular expression runs out of stack on this; the loop does not.
  assert.equal(isDottedName("a.".repeat(2_000_000) + "a"), true);
});
