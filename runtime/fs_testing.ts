/**
 * Test support for output files (only tests import it): small file systems
 * that fill up or refuse writes, and special files to write over.
 *
 * A full disk and a read-only folder are real here, not simulated: a tmpfs of
 * a few KiB, mounted (and remounted read-only) for the test. That needs
 * root with the right to mount, as in CI's container; `canMount` says
 * whether this machine allows it, and the tests that need it are ignored
 * where it does not (runtime/fs_test.ts injects write failures instead, which
 * runs everywhere). Permission bits do not stop root, so a read-only mount is
 * the only way to test an unwritable folder as root.
 */

function run(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false; // the command is not installed
  }
}

/** Can this process mount a tmpfs? (Tried once, on a scratch folder.) */
export const canMount: boolean = (() => {
  if (Deno.build.os !== "linux") return false;
  const dir = Deno.makeTempDirSync({ prefix: "dlm_mount_probe_" });
  try {
    if (!run("mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", dir])) return false;
    run("umount", [dir]);
    return true;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
})();

/** Are we root (permission bits do not apply)? */
export const isRoot: boolean = Deno.build.os !== "windows" && Deno.uid() === 0;

/**
 * Run `fn` with a fresh tmpfs of `kib` KiB mounted on a new folder (read-only
 * with `readOnly`), unmounted and removed afterwards.
 */
export async function withTmpfs(
  kib: number,
  fn: (dir: string) => void | Promise<void>,
  opts: { readOnly?: boolean } = {},
): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_tmpfs_" });
  try {
    if (!run("mount", ["-t", "tmpfs", "-o", `size=${kib}k`, "tmpfs", dir])) {
      throw new Error(`cannot mount a tmpfs on ${dir}`);
    }
    try {
      if (opts.readOnly && !run("mount", ["-o", "remount,ro", dir])) {
        throw new Error(`cannot remount ${dir} read-only`);
      }
      await fn(dir);
    } finally {
      run("umount", [dir]);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/**
 * Make the special files a test writes over, in `dir`: a named pipe, a
 * socket and (as root) a character device like /dev/full. Returns their
 * paths by kind; a kind this machine cannot make is missing. The socket's
 * listener is closed: the socket file stays.
 */
export function makeSpecialFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (run("mkfifo", [`${dir}/fifo`])) out["named pipe (FIFO)"] = `${dir}/fifo`;
  if (Deno.build.os !== "windows") {
    const l = Deno.listen({ transport: "unix", path: `${dir}/sock` });
    l.close();
    try {
      if (Deno.lstatSync(`${dir}/sock`).isSocket) out["socket"] = `${dir}/sock`;
    } catch { /* closing removed it */ }
  }
  // Major 1, minor 7 is /dev/full on Linux: a copy that tests may lose without harm.
  if (isRoot && run("mknod", [`${dir}/full`, "c", "1", "7"])) {
    out["character device"] = `${dir}/full`;
  }
  return out;
}

/** A process id that names no running process: a child's, after it exited and was reaped. */
export async function deadPid(): Promise<number> {
  const child = new Deno.Command("true", { stdout: "null", stderr: "null" }).spawn();
  await child.status;
  return child.pid;
}

/** A running child process (`sleep`), to stand for a live writer; kill it when done. */
export function livePid(): { pid: number; stop: () => Promise<void> } {
  const child = new Deno.Command("sleep", { args: ["600"], stdout: "null", stderr: "null" })
    .spawn();
  return {
    pid: child.pid,
    stop: async () => {
      child.kill("SIGKILL");
      await child.status;
    },
  };
}
