/**
 * Child processes with a time limit, for the benchmarks that measure work which may take minutes
 * (a training step's session at onnxruntime's "all" level) and must not hang the run: a child that
 * outlives its limit is killed and reported as timed out, and the benchmark moves on.
 */

/** How a child ended. */
export type ChildStatus = "ok" | "failed" | "timed out";

export interface ChildResult {
  status: ChildStatus;
  /** Exit code (undefined when killed at the time limit). */
  code?: number;
  stdout: string;
  stderr: string;
  /** Wall-clock milliseconds from spawn to exit (or to the kill). */
  ms: number;
}

export interface ChildOptions {
  cwd?: string;
  /** Time limit in milliseconds; none when undefined or Infinity. */
  timeoutMs?: number;
  /** Extra environment variables (the parent's are inherited). */
  env?: Record<string, string>;
}

/**
 * Run `cmd args` and collect its output, killing it (SIGKILL) at the time limit.
 *
 * @example
 * ```ts
 * const r = await runChild(Deno.execPath(), ["eval", "console.log(1)"], { timeoutMs: 10_000 });
 * r.status; // "ok"
 * ```
 */
export async function runChild(
  cmd: string,
  args: readonly string[],
  opts: ChildOptions = {},
): Promise<ChildResult> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd, {
    args: [...args],
    cwd: opts.cwd,
    env: opts.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const limit = opts.timeoutMs;
  const timer = limit !== undefined && Number.isFinite(limit)
    ? setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }, limit)
    : undefined;
  try {
    const out = await child.output();
    const ms = performance.now() - t0;
    const dec = new TextDecoder();
    return {
      status: timedOut ? "timed out" : out.success ? "ok" : "failed",
      code: timedOut ? undefined : out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
      ms,
    };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** The last line of a child's stdout parsed as JSON (children print their result last). */
export function lastJsonLine<T>(stdout: string): T {
  const lines = stdout.trim().split("\n").filter((l) => l.trim() !== "");
  const last = lines.at(-1);
  if (last === undefined) throw new Error("the child printed nothing");
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`the child's last line is not JSON: ${last.slice(0, 200)}`);
  }
}

/** The last `n` non-empty lines of a text, for error reports. */
export function tail(text: string, n = 6): string {
  return text.trim().split("\n").filter((l) => l.trim() !== "").slice(-n).join("\n");
}
