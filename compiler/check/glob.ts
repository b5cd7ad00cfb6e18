/**
 * Hierarchical names (`layer1.0.conv1.weight`) and the patterns that select them, for init,
 * freeze, fine-tuning targets and parameter groups: `*` matches any run of characters (dots
 * included), `?` one character, `{q,v}` one of the alternatives. Anchored at both ends.
 *
 * Both are read by loops, not by JavaScript regular expressions: V8's backtracking takes time
 * exponential in the number of `*` on a name that almost matches (`*a*a*a*a*a*a*a*a*a*a*a*a*b`
 * against 35 `a`s took 24 s), and stack linear in a repeated group's count (a label of a million
 * dots ran out of stack).
 */

/** A compiled name pattern. */
export interface NamePattern {
  /** Whether the whole of `name` matches, in time O(|name| * |pattern|). */
  test(name: string): boolean;
}

type Part = { k: "lit"; s: string } | { k: "one" } | { k: "star" } | { k: "alt"; alts: string[] };

/** Compile a glob: `*`, `?` and `{a,b}`; every other character stands for itself. */
export function compileGlob(glob: string): NamePattern {
  const parts: Part[] = [];
  const lit = (s: string) => {
    const last = parts[parts.length - 1];
    if (last?.k === "lit") last.s += s;
    else parts.push({ k: "lit", s });
  };
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      while (glob[i + 1] === "*") i++;
      parts.push({ k: "star" });
    } else if (c === "?") parts.push({ k: "one" });
    else if (c === "{") {
      const end = glob.indexOf("}", i);
      if (end < 0) {
        lit(c);
        continue;
      }
      parts.push({ k: "alt", alts: glob.slice(i + 1, end).split(",") });
      i = end;
    } else lit(c);
  }
  return { test: (name) => matches(parts, name) };
}

/**
 * The positions of `name` the pattern's parts so far can end at, advanced part by part (a
 * nondeterministic automaton run breadth-first): no backtracking, so no blow-up.
 */
function matches(parts: Part[], name: string): boolean {
  const n = name.length;
  let at = new Uint8Array(n + 1);
  at[0] = 1;
  for (const part of parts) {
    const next = new Uint8Array(n + 1);
    let any: boolean | number = false;
    if (part.k === "star") {
      let on = false;
      for (let p = 0; p <= n; p++) {
        if (at[p]) on = true;
        if (on) next[p] = 1;
      }
      any = on;
    } else {
      for (let p = 0; p <= n; p++) {
        if (!at[p]) continue;
        if (part.k === "one") {
          if (p < n) any = next[p + 1] = 1;
        } else {
          for (const s of part.k === "lit" ? [part.s] : part.alts) {
            if (name.startsWith(s, p)) any = next[p + s.length] = 1;
          }
        }
      }
    }
    if (!any) return false;
    at = next;
  }
  return at[n] === 1;
}

/**
 * Whether `name` is made of segments of letters, digits and `_` joined by dots (`a.b_1.c`); with
 * `leadingLetter`, the first segment does not begin with a digit.
 */
export function isDottedName(name: string, leadingLetter = false): boolean {
  if (name.length === 0) return false;
  if (leadingLetter && isDigit(name.charCodeAt(0))) return false;
  let segment = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 46 /* . */) {
      if (segment === 0) return false;
      segment = 0;
    } else if (isWord(c)) segment++;
    else return false;
  }
  return segment > 0;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isWord(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
