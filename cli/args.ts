/**
 * A small, strict argument parser: known flags only, values checked, so a
 * typo is a usage error (exit 2) rather than a silently ignored option.
 */
import { type Code, diag } from "../compiler/diagnostics.ts";

export type OptKind = "string" | "number" | "bool" | "multi";

export interface OptSpec {
  kind: OptKind;
  short?: string;
  help: string;
  /** Placeholder shown in help: FILE, N, ... */
  arg?: string;
  /** A number option's accepted values, checked as the command line is parsed. */
  range?: NumberRange;
  /**
   * A path the command writes, a file or a folder of files: checked before the
   * command does any work (cli/command.ts, runtime/fs.ts).
   */
  output?: "file" | "dir";
}

/**
 * The values a number option accepts: `int` for whole numbers (at most
 * 2^53 - 1 in size), `min`/`max` inclusive bounds, `below` an exclusive
 * upper bound.
 */
export interface NumberRange {
  int?: boolean;
  min?: number;
  max?: number;
  below?: number;
}

/** `an integer from 0 to 4294967295`, `a number >= 0 and < 1`, ... */
export function describeRange(r: NumberRange | undefined): string {
  const what = r?.int ? "an integer" : "a number";
  if (!r) return what;
  if (r.min !== undefined && r.max !== undefined) return `${what} from ${r.min} to ${r.max}`;
  const bounds = [
    r.min !== undefined ? `>= ${r.min}` : "",
    r.max !== undefined ? `<= ${r.max}` : "",
    r.below !== undefined ? `< ${r.below}` : "",
  ].filter((b) => b);
  return bounds.length ? `${what} ${bounds.join(" and ")}` : what;
}

/** Is `n` one of the values `r` accepts? */
export function inRange(n: number, r: NumberRange | undefined): boolean {
  if (!Number.isFinite(n)) return false;
  if (!r) return true;
  if (r.int && !Number.isSafeInteger(n)) return false;
  return (r.min === undefined || n >= r.min) && (r.max === undefined || n <= r.max) &&
    (r.below === undefined || n < r.below);
}

export class UsageError extends Error {
  /** `new UsageError(...diag(code, ...args))`: a code of the catalogue and its message. */
  constructor(readonly code: Code, message: string) {
    super(message);
  }
}

export interface Parsed {
  positional: string[];
  opts: Record<string, string | number | boolean | string[] | undefined>;
}

export function parseArgs(argv: string[], spec: Record<string, OptSpec>): Parsed {
  const out: Parsed = { positional: [], opts: {} };
  const byShort = new Map(
    Object.entries(spec).filter(([, s]) => s.short).map(([k, s]) => [s.short!, k]),
  );
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      out.positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      out.positional.push(a);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq > 0 ? a.slice(eq + 1) : undefined;
    } else {
      const k = byShort.get(a.slice(1));
      if (!k) throw new UsageError(...diag("DLM0502", a));
      name = k;
    }
    const s = spec[name];
    if (!s) throw new UsageError(...diag("DLM0502", `--${name}`));
    if (s.kind === "bool") {
      if (inline !== undefined) throw new UsageError(...diag("DLM0504", name));
      out.opts[name] = true;
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined) {
      throw new UsageError(...diag("DLM0503", name, s.arg ?? "VALUE"));
    }
    if (s.kind === "multi") {
      ((out.opts[name] ??= []) as string[]).push(v);
      continue;
    }
    let value: string | number = v;
    if (s.kind === "number") {
      value = Number(v);
      if (v.trim() === "" || !inRange(value, s.range)) {
        throw new UsageError(
          ...diag("DLM0501", `option '--${name}'`, describeRange(s.range), `'${v}'`),
        );
      }
    }
    // A second, different value is a mistake to point out, not one to settle by order.
    const before = out.opts[name];
    if (before !== undefined && before !== value) {
      throw new UsageError(...diag("DLM0517", name, `'${before}'`, `'${v}'`));
    }
    out.opts[name] = value;
  }
  return out;
}

export function formatOptions(spec: Record<string, OptSpec>): string {
  const rows = Object.entries(spec).map(([k, s]) => {
    const flag = `${s.short ? `-${s.short}, ` : ""}--${k}${
      s.kind === "bool" ? "" : ` ${s.arg ?? "VALUE"}`
    }`;
    return [flag, s.help];
  });
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([f, h]) => `  ${f.padEnd(w)}  ${h}`).join("\n");
}

/** `--flag KEY=VALUE` pairs (a repeatable option) as a record. */
export function keyValues(list: unknown, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of (list as string[] | undefined) ?? []) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new UsageError(...diag("DLM0501", `--${flag}`, "KEY=VALUE", `'${s}'`));
    out[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return out;
}

/** `--dim SYM=N` sizes of symbolic dims. */
export function dimsOf(args: Parsed): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(keyValues(args.opts.dim, "dim"))) {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) {
      throw new UsageError(...diag("DLM0501", `--dim ${k}`, "a non-negative integer", `'${v}'`));
    }
    out[k] = n;
  }
  return out;
}

/** A `--set` value as written: true/false are bools, numbers are numbers, anything else a string. */
export function setValue(v: string): number | boolean | string {
  return v === "true"
    ? true
    : v === "false"
    ? false
    : v.trim() !== "" && Number.isFinite(Number(v))
    ? Number(v)
    : v;
}

/**
 * `--set KEY=VALUE` pairs as model parameter overrides: true/false are
 * bools, numbers are numbers, anything else a string.
 */
export function overridesOf(args: Parsed): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const [k, v] of Object.entries(keyValues(args.opts.set, "set"))) {
    out[k] = setValue(v);
  }
  return out;
}
