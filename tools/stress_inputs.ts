/**
 * Large adversarial .dlm inputs, and the whole-process time `dlm check` takes on each: the
 * front end must stay linear in its input (issue 12, defect 4).
 *
 *   deno run -A tools/stress_inputs.ts --kind punct --mb 1 -o /tmp/p.dlm   # write one input
 *   deno run -A tools/stress_inputs.ts --measure                          # 1, 2, 4, 8 MB of each
 *   deno run -A tools/stress_inputs.ts --measure --sizes 1,2 --kinds ident,sum
 *
 * The kinds:
 * - `punct`:  random ASCII punctuation (a newline every 80 characters or so);
 * - `ident`:  one model whose output names an unknown identifier of that many characters;
 * - `models`: many small valid models, one after the other;
 * - `sum`:    one model whose output is a one-line sum `x + x + ... + x`.
 *
 * `--measure` prints, per kind and size, the wall time of `deno run -A cli/main.ts check FILE`
 * and its time per MB (growth faster than linear shows as a rising s/MB), with /usr/bin/time its
 * CPU time (user + system, less disturbed by a busy machine) and peak memory, its exit code and
 * its first diagnostic (cut). A run is killed after `--timeout` seconds (default 120).
 */
import { parseArgs } from "node:util";
import { rng } from "./fuzz.ts";

const ROOT = new URL("..", import.meta.url).pathname;
export const KINDS = ["punct", "ident", "models", "sum"] as const;
export type Kind = typeof KINDS[number];

const PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~";

/** About `bytes` characters of input of `kind`. */
export function generate(kind: Kind, bytes: number, seed = 1): string {
  switch (kind) {
    case "punct": {
      const r = rng(seed);
      const out: string[] = [];
      for (let i = 0; i < bytes; i++) {
        out.push(i % 80 === 79 ? "\n" : PUNCT[Math.floor(r() * PUNCT.length)]);
      }
      return out.join("");
    }
    case "ident": {
      const head = "model M {\n  input x: f32[N, 4]\n  output y = x + ";
      const tail = "\n}\n";
      const n = Math.max(1, bytes - head.length - tail.length);
      return head + "a" + "b".repeat(n - 1) + tail;
    }
    case "models": {
      const out: string[] = [];
      let size = 0;
      for (let i = 0; size < bytes; i++) {
        const m = `model M${i} {\n  input x: f32[N, 4]\n  output y = x |> linear(2) |> relu\n}\n`;
        out.push(m);
        size += m.length;
      }
      return out.join("");
    }
    case "sum": {
      const head = "model M {\n  input x: f32[N, 4]\n  output y = x";
      const tail = "\n}\n";
      const terms = Math.max(1, Math.floor((bytes - head.length - tail.length) / 4));
      return head + " + x".repeat(terms) + tail;
    }
  }
}

interface Run {
  ms: number;
  /** User + system CPU time and peak memory, when /usr/bin/time is there to measure them. */
  cpuS?: number;
  rssMB?: number;
  code: number;
  first: string;
}

const TIME = "/usr/bin/time";
const hasTime = (() => {
  try {
    return Deno.statSync(TIME).isFile;
  } catch {
    return false;
  }
})();

async function checkTime(file: string, timeoutS: number): Promise<Run> {
  const t0 = performance.now();
  const argv = [Deno.execPath(), "run", "-A", "cli/main.ts", "check", file];
  const child = new Deno.Command(hasTime ? TIME : argv[0], {
    args: hasTime ? ["-f", "@@ %U %S %M", ...argv] : argv.slice(1),
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutS * 1000);
  const r = await child.output();
  clearTimeout(timer);
  const err = new TextDecoder().decode(r.stderr);
  const first = (err.split("\n").find((l) => /error|warning/.test(l)) ?? "").replace(file, "FILE");
  const usage = err.match(/^@@ ([\d.]+) ([\d.]+) (\d+)$/m);
  return {
    ms: performance.now() - t0,
    cpuS: usage ? Number(usage[1]) + Number(usage[2]) : undefined,
    rssMB: usage ? Number(usage[3]) / 1024 : undefined,
    code: r.signal ? -1 : r.code,
    first: first.length > 80 ? first.slice(0, 79) + "…" : first,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      kind: { type: "string" },
      mb: { type: "string", default: "1" },
      out: { type: "string", short: "o" },
      measure: { type: "boolean", default: false },
      sizes: { type: "string", default: "1,2,4,8" },
      kinds: { type: "string", default: KINDS.join(",") },
      timeout: { type: "string", default: "120" },
    },
  });
  const mb = (s: string) => Math.round(Number(s) * 1024 * 1024);
  if (values.measure) {
    const dir = Deno.makeTempDirSync({ prefix: "dlm-stress-" });
    try {
      console.log("kind    MB   wall(s)  s/MB  cpu(s)  s/MB  RSS(MB)  exit  first diagnostic");
      for (const kind of values.kinds.split(",") as Kind[]) {
        for (const size of values.sizes.split(",")) {
          const file = `${dir}/${kind}_${size}.dlm`;
          Deno.writeTextFileSync(file, generate(kind, mb(size)));
          const r = await checkTime(file, Number(values.timeout));
          const s = r.ms / 1000, mbs = Number(size);
          const cpu = r.cpuS === undefined
            ? "      -      -"
            : `${r.cpuS.toFixed(2).padStart(7)} ${(r.cpuS / mbs).toFixed(2).padStart(5)}`;
          const rss = r.rssMB === undefined ? "-" : r.rssMB.toFixed(0);
          console.log(
            `${kind.padEnd(7)} ${size.padStart(3)} ${s.toFixed(2).padStart(8)} ${
              (s / mbs).toFixed(2).padStart(5)
            } ${cpu} ${rss.padStart(8)} ${String(r.code).padStart(5)}  ${
              r.code === -1 ? "(killed: timeout)" : r.first
            }`,
          );
          Deno.removeSync(file);
        }
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  } else {
    if (!values.kind || !(KINDS as readonly string[]).includes(values.kind) || !values.out) {
      console.error(`usage: stress_inputs.ts --kind ${KINDS.join("|")} --mb N -o FILE | --measure`);
      Deno.exit(2);
    }
    Deno.writeTextFileSync(values.out, generate(values.kind as Kind, mb(values.mb)));
  }
}
