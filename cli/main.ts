/**
 * The dlm command line. Exit codes: 0 success, 1 an error in the user's
 * input (diagnostics printed), 2 a usage error. A user never sees a stack
 * trace: an unexpected exception is reported as an internal error.
 *
 * This entry point loads only the command table (commands/mod.ts) and the
 * argument parser: help and usage errors start no compiler. A command's
 * implementation is imported when it runs. main_test.ts keeps it so.
 */
import { DLM_VERSION } from "../compiler/version.ts";
import { parseArgs, type Parsed, UsageError } from "./args.ts";
import { commandHelp, defaultIo, EXIT, type Io, usageErrorText, withHelp } from "./command.ts";
import { COMMANDS } from "./commands/mod.ts";
import { diag } from "../compiler/diagnostics.ts";

export type { Io };

/**
 * A command's line in the list: the first paragraph of its summary (up to a blank line), wrapped
 * at 100 columns under the summary column (names padded to `width`). The rest is for `dlm <command> --help`.
 */
export function listEntry(name: string, summary: string, width = 8): string {
  const words = summary.split(/\n\s*\n/)[0].split(/\s+/).filter((w) => w);
  const indent = " ".repeat(width + 3);
  const lines: string[] = [];
  let line = `  ${name.padEnd(width)}`;
  for (const w of words) {
    if (line.length > indent.length && line.length + 1 + w.length > 100) {
      lines.push(line);
      line = indent + w;
    } else line += ` ${w}`;
  }
  return [...lines, line].join("\n");
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const rows = Object.entries(COMMANDS).map(([k, c]) => listEntry(k, c.summary, width)).join("\n");
  return `dlm ${DLM_VERSION}: a declarative deep-learning model language, compiled to ONNX

usage: dlm <command> [options]

commands:
${rows}

Run 'dlm <command> --help' for a command's options.`;
}

/** Run the CLI; returns the exit code. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    (name ? io.out : io.err)(usage());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === "--version" || name === "version") {
    io.out(`dlm ${DLM_VERSION}`);
    return EXIT.ok;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) {
    const [code, message] = diag("DLM0514", name);
    io.err(`error ${code}: ${message}\n\n${usage()}`);
    return EXIT.usage;
  }
  let args: Parsed;
  try {
    args = parseArgs(rest, withHelp(cmd.options));
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(usageErrorText(name, cmd, e));
      return EXIT.usage;
    }
    throw e;
  }
  if (args.opts.help) {
    io.out(commandHelp(name, cmd));
    return EXIT.ok;
  }
  try {
    return await cmd.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error ${e.code}: ${e.message}\nusage: dlm ${name} ${cmd.usage}`);
      return EXIT.usage;
    }
    // Diagnostics need the compiler's formatter, loaded only when something failed.
    const { reportFailure } = await import("./report.ts");
    return reportFailure(name, e, io);
  }
}

if (import.meta.main) {
  const code = await main(Deno.args, { ...defaultIo, exitsAfter: true });
  Deno.exit(code);
}
