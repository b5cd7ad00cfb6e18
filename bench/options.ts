/**
 * A small option parser for the training benchmark and its parity check: `--name value`,
 * `--name=value` and bare flags, unknown options and bad numbers rejected with a message meant
 * for the user.
 */

/** An option's kind: a flag, a string or a number (with its least value). */
export type OptionKind = "flag" | "string" | { min: number; integer?: boolean };

export type Options = Record<string, string | number | boolean | undefined>;

/**
 * Parse `argv` against `spec` (option names without the dashes).
 *
 * @example
 * ```ts
 * parseOptions(["--only", "resnet", "--quick"], { only: "string", quick: "flag" });
 * // { only: "resnet", quick: true }
 * ```
 */
export function parseOptions(
  argv: readonly string[],
  spec: Record<string, OptionKind>,
): Options {
  const out: Options = {};
  const names = Object.keys(spec).map((n) => `--${n}`).join(", ");
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new Error(`Unexpected argument '${arg}'; options: ${names}`);
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const kind = spec[name];
    if (kind === undefined) throw new Error(`Unknown option '${arg}'; expected one of ${names}`);
    if (kind === "flag") {
      if (eq >= 0) throw new Error(`Option --${name} takes no value`);
      out[name] = true;
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    else throw new Error(`Option --${name} needs a value`);
    if (kind === "string") {
      out[name] = value;
      continue;
    }
    const n = Number(value);
    if (
      value.trim() === "" || !Number.isFinite(n) || n < kind.min ||
      (kind.integer && !Number.isInteger(n))
    ) {
      throw new Error(
        `Option --${name} expects ${
          kind.integer ? "an integer" : "a number"
        } >= ${kind.min}, got '${value}'`,
      );
    }
    out[name] = n;
  }
  return out;
}
