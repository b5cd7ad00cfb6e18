/**
 * Test support: the dlm command line run in-process, as a user types it, with
 * what it prints captured (the exit code, stdout and stderr as text).
 */
import { main } from "../cli/main.ts";

/** What one in-process `dlm` run returned and printed. */
export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Run `dlm ...argv` in-process, capturing what it prints. */
export async function dlm(...argv: string[]): Promise<CliResult> {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}
