/**
 * Dimension algebra for shape rules. A dim is a number or a symbolic
 * expression kept as a canonical string, so that two ways of computing the
 * same size print the same and compare equal.
 *
 * Canonical form: a polynomial with integer coefficients over atoms, where an
 * atom is a symbol (`N`, `?Reshape_0`), `floor(<poly> / k)` or
 * `max(<dim>, <dim>)`. Monomials print with their atoms sorted, constant
 * last: `2 * H + W - 1`. Division by a number k keeps the part of the
 * polynomial that k divides outside the floor:
 *   floor((k*q + r) / k) = q + floor(r / k)       (q integer-valued)
 * with every coefficient of r reduced to [0, k), and a nested floor is merged:
 *   floor((floor(x / a) + c) / b) = floor((x + a*c) / (a*b))   (a, b > 0)
 * ceil is rewritten as floor: ceil(x / k) = floor((x + k - 1) / k).
 * So a stride-2 3x3 conv with padding 1 gives `floor((H + 1) / 2)` and
 * `(H - 1) / 1 + 1` gives `H`.
 */
import { diag } from "../diagnostics.ts";
import type { Dim } from "../ir/graph.ts";
import { ShapeError } from "./op_def.ts";

/** Atoms of a monomial, sorted; the empty list is the constant monomial. */
type Poly = Map<string, number>;

const SEP = "\u0001";

function monoKey(atoms: string[]): string {
  return [...atoms].sort().join(SEP);
}

function constPoly(c: number): Poly {
  return c === 0 ? new Map() : new Map([["", c]]);
}

function atomPoly(atom: string): Poly {
  return new Map([[atom, 1]]);
}

function addTo(p: Poly, key: string, c: number): void {
  const v = (p.get(key) ?? 0) + c;
  if (v === 0) p.delete(key);
  else p.set(key, v);
}

function polyAdd(a: Poly, b: Poly, sign = 1): Poly {
  const out = new Map(a);
  for (const [k, c] of b) addTo(out, k, sign * c);
  return out;
}

function polyMul(a: Poly, b: Poly): Poly {
  const out: Poly = new Map();
  for (const [ka, ca] of a) {
    for (const [kb, cb] of b) {
      const atoms = [...(ka ? ka.split(SEP) : []), ...(kb ? kb.split(SEP) : [])];
      addTo(out, monoKey(atoms), ca * cb);
    }
  }
  return out;
}

function polyConst(p: Poly): number | undefined {
  if (p.size === 0) return 0;
  if (p.size === 1 && p.has("")) return p.get("")!;
  return undefined;
}

function floorMod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

const FLOOR_ATOM = /^floor\((.*) \/ (\d+)\)$/;

/** floor(p / k) for an integer k > 0, in canonical form. */
function polyFloorDiv(p: Poly, k: number): Poly {
  if (k === 1) return p;
  const q: Poly = new Map();
  const r: Poly = new Map();
  for (const [key, c] of p) {
    const rem = floorMod(c, k);
    addTo(q, key, (c - rem) / k);
    if (rem) addTo(r, key, rem);
  }
  const rc = polyConst(r);
  if (rc !== undefined) return polyAdd(q, constPoly(Math.floor(rc / k)));
  // Merge a nested floor: r = floor(x / a) + c.
  const nonConst = [...r.keys()].filter((key) => key !== "");
  if (nonConst.length === 1 && r.get(nonConst[0]) === 1) {
    const m = FLOOR_ATOM.exec(nonConst[0]);
    if (m && !nonConst[0].includes(SEP)) {
      const a = Number(m[2]);
      const x = parsePoly(m[1]);
      if (x) return polyAdd(q, polyFloorDiv(polyAdd(x, constPoly(a * (r.get("") ?? 0))), a * k));
    }
  }
  const body = printPoly(r);
  const simple = r.size === 1 && !body.startsWith("-");
  return polyAdd(q, atomPoly(`floor(${simple ? body : `(${body})`} / ${k})`));
}

function printMono(key: string, c: number, first: boolean): string {
  const atoms = key ? key.split(SEP) : [];
  const mag = Math.abs(c);
  const body = atoms.length === 0 ? String(mag) : mag === 1 ? atoms.join(" * ") : [
    String(mag),
    ...atoms,
  ].join(" * ");
  if (first) return c < 0 ? `-${body}` : body;
  return c < 0 ? ` - ${body}` : ` + ${body}`;
}

function printPoly(p: Poly): string {
  const keys = [...p.keys()].filter((k) => k !== "").sort();
  if (p.has("")) keys.push("");
  if (keys.length === 0) return "0";
  return keys.map((k, i) => printMono(k, p.get(k)!, i === 0)).join("");
}

function toDim(p: Poly): Dim {
  const c = polyConst(p);
  return c !== undefined ? c : printPoly(p);
}

// ---- parsing canonical strings back into polynomials ----

const PARSE_CACHE = new Map<string, Poly | null>();

type Tok = { kind: "num" | "id" | "op"; text: string };

function tokenize(s: string): Tok[] | null {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const ch = s[i];
    if (ch === " ") {
      i++;
    } else if ("+-*/(),".includes(ch)) {
      out.push({ kind: "op", text: ch });
      i++;
    } else {
      let j = i;
      while (j < s.length && !" +-*/(),".includes(s[j])) j++;
      const text = s.slice(i, j);
      out.push({ kind: /^\d+$/.test(text) ? "num" : "id", text });
      i = j;
    }
  }
  return out;
}

/** A polynomial from a dim string, or undefined when the string is not an expression we wrote. */
function parsePoly(s: string): Poly | undefined {
  if (PARSE_CACHE.has(s)) return PARSE_CACHE.get(s) ?? undefined;
  let result: Poly | null = null;
  const toks = tokenize(s);
  if (toks) {
    let pos = 0;
    const peek = () => toks[pos]?.text;
    const eat = (t: string) => {
      if (peek() !== t) throw new Error("parse");
      pos++;
    };
    const expr = (): Poly => {
      let p = term();
      while (peek() === "+" || peek() === "-") {
        const sign = toks[pos++].text === "+" ? 1 : -1;
        p = polyAdd(p, term(), sign);
      }
      return p;
    };
    const term = (): Poly => {
      let p = factor();
      while (peek() === "*") {
        pos++;
        p = polyMul(p, factor());
      }
      return p;
    };
    const factor = (): Poly => {
      const t = toks[pos++];
      if (!t) throw new Error("parse");
      if (t.text === "-") return polyMul(constPoly(-1), factor());
      if (t.text === "(") {
        const p = expr();
        eat(")");
        return p;
      }
      if (t.kind === "num") return constPoly(Number(t.text));
      if (t.kind === "id") {
        if ((t.text === "floor" || t.text === "ceil") && peek() === "(") {
          pos++;
          const num = expr();
          eat("/");
          if (peek() === "(") {
            // A symbolic divisor that did not divide exactly: an opaque atom.
            pos++;
            const den = expr();
            eat(")");
            eat(")");
            return atomPoly(`${t.text}((${printPoly(num)}) / (${printPoly(den)}))`);
          }
          const den = toks[pos++];
          if (!den || den.kind !== "num") throw new Error("parse");
          eat(")");
          const k = Number(den.text);
          return polyFloorDiv(t.text === "ceil" ? polyAdd(num, constPoly(k - 1)) : num, k);
        }
        if (t.text === "max" && peek() === "(") {
          pos++;
          let m = expr();
          eat(",");
          m = maxPoly(m, expr());
          while (peek() === ",") {
            pos++;
            m = maxPoly(m, expr());
          }
          eat(")");
          return m;
        }
        return atomPoly(t.text);
      }
      throw new Error("parse");
    };
    try {
      const p = expr();
      if (pos === toks.length) result = p;
    } catch {
      result = null;
    }
  }
  PARSE_CACHE.set(s, result);
  return result ?? undefined;
}

function polyOf(d: Dim): Poly {
  if (typeof d === "number") return constPoly(d);
  // A string we cannot read is an opaque symbol of its own.
  return parsePoly(d) ?? atomPoly(d);
}

/** Operands of the n-ary max atoms made so far, by their spelling. */
const MAX_ARGS = new Map<string, string[]>();

/** The operands of p as a max: its own operands when p is a max atom, else p itself. */
function maxOperands(p: Poly): string[] {
  if (p.size === 1) {
    const [[atom, c]] = [...p];
    const args = c === 1 ? MAX_ARGS.get(atom) : undefined;
    if (args) return args;
  }
  return [printPoly(p)];
}

/**
 * max(a, b), flattened and deduplicated: max(N, max(N, M)) is max(M, N), so
 * repeated broadcasting of the same symbols does not grow the expression.
 */
function maxPoly(a: Poly, b: Poly): Poly {
  const sa = printPoly(a), sb = printPoly(b);
  if (sa === sb) return a;
  const ca = polyConst(a), cb = polyConst(b);
  if (ca !== undefined && cb !== undefined) return constPoly(Math.max(ca, cb));
  const ops = new Set<string>();
  let constant: number | undefined;
  for (const o of [...maxOperands(a), ...maxOperands(b)]) {
    if (/^-?\d+$/.test(o)) constant = Math.max(constant ?? -Infinity, Number(o));
    else ops.add(o);
  }
  const list = [...ops].sort();
  if (constant !== undefined) list.push(String(constant));
  if (list.length === 1) return parsePoly(list[0]) ?? atomPoly(list[0]);
  const atom = `max(${list.join(", ")})`;
  MAX_ARGS.set(atom, list);
  return atomPoly(atom);
}

// ---- public API ----

/** The canonical spelling of a dim: numbers stay numbers, expressions are normalised. */
export function canonicalDim(d: Dim): Dim {
  return typeof d === "number" ? d : toDim(polyOf(d));
}

/** True when two dims are the same size for every value of their symbols (as far as the algebra knows). */
export function dimEquals(a: Dim, b: Dim): boolean {
  if (typeof a === "number" && typeof b === "number") return a === b;
  return canonicalDim(a) === canonicalDim(b);
}

/** a + b. @example dimAdd("H", 0) === "H" */
export function dimAdd(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") return a + b;
  return toDim(polyAdd(polyOf(a), polyOf(b)));
}

/** a - b. @example dimSub(dimAdd("H", 2), 2) === "H" */
export function dimSub(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return toDim(polyAdd(polyOf(a), polyOf(b), -1));
}

/** a * b. @example dimMul("N", 3) === "3 * N" */
export function dimMul(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") return a * b;
  return toDim(polyMul(polyOf(a), polyOf(b)));
}

/** Product of a list of dims (1 for the empty list). */
export function dimProduct(ds: readonly Dim[]): Dim {
  let p: Dim = 1;
  for (const d of ds) p = dimMul(p, d);
  return p;
}

/**
 * floor(a / b) or ceil(a / b). A symbolic divisor divides exactly when it
 * is a factor of every term (`3 * N / N` = 3); otherwise the result is an
 * opaque `floor(...)` symbol. Throws ShapeError on division by zero.
 * @example dimDiv("2 * H", 2) === "H"; dimDiv(7, 2, "ceil") === 4
 */
export function dimDiv(a: Dim, b: Dim, mode: "floor" | "ceil" = "floor"): Dim {
  if (b === 0) throw new ShapeError(...diag("DLM0304", a, "/", b));
  if (typeof a === "number" && typeof b === "number") {
    return mode === "floor" ? Math.floor(a / b) : Math.ceil(a / b);
  }
  if (typeof b === "number") {
    const pa = polyOf(a);
    const k = Math.abs(b);
    const num = b < 0 ? polyMul(pa, constPoly(-1)) : pa;
    return toDim(polyFloorDiv(mode === "ceil" ? polyAdd(num, constPoly(k - 1)) : num, k));
  }
  // Symbolic divisor: exact when polynomial long division leaves no remainder.
  const pa = polyOf(a), pb = polyOf(b);
  const q = polyDivExact(pa, pb);
  if (q) return toDim(q);
  const s = `${mode}((${printPoly(pa)}) / (${printPoly(pb)}))`;
  return s;
}

/**
 * a / b when b divides a exactly as polynomials with integer coefficients, else undefined:
 * `K * N + 32 * N` / `N` = `K + 32`, and `H * K * N + 32 * H * N` / `K * N + 32 * N` = `H`
 * (the common factor N * (K + 32)). Atoms (symbols, floor and max atoms) count as independent
 * variables, so a relation between them (floor(H / 2) * 2 = H for an even H) is not used.
 * @example dimDivExact("K * N + 32 * N", "N") === "K + 32"; dimDivExact("N + 1", "N") === undefined
 */
export function dimDivExact(a: Dim, b: Dim): Dim | undefined {
  if (typeof a === "number" && typeof b === "number") {
    return b !== 0 && a % b === 0 ? a / b : undefined;
  }
  const q = polyDivExact(polyOf(a), polyOf(b));
  return q ? toDim(q) : undefined;
}

/** A monomial's atoms, as a multiset in sorted order. */
function monoAtoms(key: string): string[] {
  return key ? key.split(SEP) : [];
}

/** Graded order of monomials: more atoms first, then by spelling; a total order. */
function monoCompare(x: string, y: string): number {
  const dx = monoAtoms(x).length, dy = monoAtoms(y).length;
  if (dx !== dy) return dy - dx;
  return x < y ? -1 : x > y ? 1 : 0;
}

function leadingTerm(p: Poly): [string, number] {
  let best = "";
  let first = true;
  for (const k of p.keys()) {
    if (first || monoCompare(k, best) < 0) best = k, first = false;
  }
  return [best, p.get(best)!];
}

/** The atoms of x once those of y are taken out, or undefined when y does not divide x. */
function monoQuotient(x: string, y: string): string[] | undefined {
  const atoms = monoAtoms(x);
  for (const d of monoAtoms(y)) {
    const i = atoms.indexOf(d);
    if (i < 0) return undefined;
    atoms.splice(i, 1);
  }
  return atoms;
}

/**
 * Multivariate long division in a graded monomial order: while p is not zero, its leading term
 * must be a multiple c * m of the divisor's leading term (c an integer), and p -= c * m * d.
 * If d divides p then p = q * d and LT(p) = LT(q) * LT(d) in any monomial order, so a leading
 * term that is not such a multiple proves there is no exact integer quotient. Each step removes
 * p's leading term and adds only smaller ones, so it ends (a graded order is a well-order).
 */
function polyDivExact(p: Poly, d: Poly): Poly | undefined {
  if (d.size === 0) return undefined;
  const [dk, dc] = leadingTerm(d);
  const q: Poly = new Map();
  let r = p;
  for (let steps = 0; r.size > 0; steps++) {
    if (steps > 1000) return undefined;
    const [rk, rc] = leadingTerm(r);
    const atoms = monoQuotient(rk, dk);
    if (!atoms || rc % dc !== 0) return undefined;
    const t: Poly = new Map([[monoKey(atoms), rc / dc]]);
    addTo(q, monoKey(atoms), rc / dc);
    r = polyAdd(r, polyMul(t, d), -1);
  }
  return q;
}

/** max(a, b), used for broadcasting two different symbols. */
export function dimMax(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") return Math.max(a, b);
  return toDim(maxPoly(polyOf(a), polyOf(b)));
}

/**
 * Output length of a sliding window (conv or pool) along one axis:
 *   out = floor_or_ceil((in + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride) + 1
 * With ceilMode, a last window that would start inside the end padding is
 * dropped (as in onnxruntime and PyTorch); this correction is only applied
 * to concrete sizes.
 * @example convOutDim(32, 5, 1, 0, 0, 1, false) === 28
 */
export function convOutDim(
  input: Dim,
  kernel: Dim,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
  ceilMode: boolean,
): Dim {
  const span = dimAdd(dimMul(dilation, dimSub(kernel, 1)), 1);
  const room = dimSub(dimAdd(input, padBegin + padEnd), span);
  let out = dimAdd(dimDiv(room, stride, ceilMode ? "ceil" : "floor"), 1);
  if (ceilMode && typeof out === "number" && typeof input === "number") {
    if ((out - 1) * stride >= input + padBegin) out--;
  }
  return out;
}

/** "[N, 3, 32, 32]" */
export function formatShape(shape: readonly Dim[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * Numpy broadcasting of two shapes, aligned on the right. Per dim pair:
 * equal dims give that dim; a 1 gives the other dim; a symbol against a
 * number n != 1 gives n (the symbol must be 1 or n at run time); two
 * different symbols give `max(A, B)`, which is the broadcast size whenever
 * the run-time sizes are compatible (both >= 1). Two different numbers,
 * neither 1, are an error. `labels` name the operands in the message
 * (default: their shapes).
 * @example broadcastShapes(["N", 3], [3]) // ["N", 3]
 */
export function broadcastShapes(
  a: readonly Dim[],
  b: readonly Dim[],
  labels?: [string, string],
): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (dimEquals(x, y)) out.push(x);
    else if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (typeof x === "number" && typeof y === "number") {
      const [la, lb] = labels ?? [formatShape(a), formatShape(b)];
      const ia = i - (rank - a.length);
      const [code, message] = ia >= 0
        ? diag("DLM0204", la, lb, ia, x, y)
        : diag("DLM0204", la, lb, i - (rank - b.length), y, x);
      throw new ShapeError(code, message);
    } else if (typeof x === "number") out.push(x);
    else if (typeof y === "number") out.push(y);
    else out.push(dimMax(x, y));
  }
  return out;
}

/**
 * The size a dim takes when its symbols have the sizes `sizes` (`--dim N=4`, a batch's shape),
 * or undefined when it names a symbol `sizes` lacks (`?Reshape_0`, known only at run time) or
 * is not an expression dims.ts wrote. floor/ceil divide as integers, max picks the largest.
 * @example evalDim("floor((H + 1) / 2)", { H: 7 }) === 4
 */
export function evalDim(d: Dim, sizes: Readonly<Record<string, number>>): number | undefined {
  if (typeof d === "number") return d;
  if (Object.hasOwn(sizes, d)) return sizes[d];
  const toks = tokenize(d);
  if (!toks) return undefined;
  let pos = 0;
  const peek = () => toks[pos]?.text;
  const eat = (t: string) => {
    if (peek() !== t) throw new Error("parse");
    pos++;
  };
  const expr = (): number => {
    let v = term();
    while (peek() === "+" || peek() === "-") v = toks[pos++].text === "+" ? v + term() : v - term();
    return v;
  };
  const term = (): number => {
    let v = factor();
    while (peek() === "*") {
      pos++;
      v *= factor();
    }
    return v;
  };
  const factor = (): number => {
    const t = toks[pos++];
    if (!t) throw new Error("parse");
    if (t.text === "-") return -factor();
    if (t.text === "(") {
      const v = expr();
      eat(")");
      return v;
    }
    if (t.kind === "num") return Number(t.text);
    if (t.kind !== "id") throw new Error("parse");
    if ((t.text === "floor" || t.text === "ceil") && peek() === "(") {
      pos++;
      const a = expr();
      eat("/");
      const b = factor();
      eat(")");
      if (b === 0) throw new Error("parse");
      return t.text === "floor" ? Math.floor(a / b) : Math.ceil(a / b);
    }
    if (t.text === "max" && peek() === "(") {
      pos++;
      let m = expr();
      while (peek() === ",") {
        pos++;
        m = Math.max(m, expr());
      }
      eat(")");
      return m;
    }
    if (!Object.hasOwn(sizes, t.text)) throw new Error("unknown");
    return sizes[t.text];
  };
  try {
    const v = expr();
    return pos === toks.length && Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
