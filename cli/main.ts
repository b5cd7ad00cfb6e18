/**
 * The dlm command line. Exit codes: 0 success, 1 an error in the user's
 * input (diagnostics printed), 2 a usage error. A user never sees a stack
 * trace: an unexpected exception is reported as an internal error.
 */
import { DlmError, formatDiagnostic, sortDiagnostics, SourceMap } from "../compiler/diagnostics.ts";
import { DLM_VERSION } from "../compiler/version.ts";
import { formatOptions, type OptSpec, parseArgs, type Parsed, UsageError } from "./args.ts";
import { COMMANDS } from "./commands.ts";

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(8)} ${c.summary}`).join("\n");
  return `dlm ${DLM_VERSION}: a declarative deep-learning model language, compiled to ONNX

usage: dlm <command> [options]

commands:
${rows}

Run 'dlm <command> --help' for a command's options.`;
}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: Io = {
  out: (s) => console.log(s),
  err: (s) => console.error(s),
};

/** Run the CLI; returns the exit code. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    (name ? io.out : io.err)(usage());
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "version") {
    io.out(`dlm ${DLM_VERSION}`);
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    io.err(`error DLM0501: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const spec: Record<string, OptSpec> = {
    ...cmd.options,
    help: { kind: "bool", short: "h", help: "show this help" },
  };
  let args: Parsed;
  try {
    args = parseArgs(rest, spec);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(
        `error DLM0501: ${e.message}\nusage: dlm ${name} ${cmd.usage}\n${formatOptions(spec)}`,
      );
      return 2;
    }
    throw e;
  }
  if (args.opts.help) {
    io.out(`usage: dlm ${name} ${cmd.usage}\n\n${cmd.summary}\n\noptions:\n${formatOptions(spec)}`);
    return 0;
  }
  try {
    return await cmd.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error DLM0501: ${e.message}\nusage: dlm ${name} ${cmd.usage}`);
      return 2;
    }
    if (e instanceof DlmError) {
      printDiagnostics(e, io);
      return e.diagnostics.some((d) => d.code === "DLM0501") ? 2 : 1;
    }
    const msg = e instanceof Error ? e.message : String(e);
    io.err(
      `dlm ${name}: internal error: ${msg}\n` +
        "This is a bug in dlm, not in your input. Please report it with the command line and the files it used.",
    );
    if (Deno.env.get("DLM_DEBUG")) io.err(e instanceof Error ? e.stack ?? "" : "");
    return 1;
  }
}

export function printDiagnostics(e: DlmError, io: Io, sources?: SourceMap): void {
  const ds = sortDiagnostics(e.diagnostics);
  for (const d of ds) io.err(formatDiagnostic(d, e.sources ?? sources));
  const n = ds.filter((d) => d.severity === "error").length;
  if (n > 1) io.err(`${n} errors`);
}

if (import.meta.main) {
  const code = await main(Deno.args);
  Deno.exit(code);
}
