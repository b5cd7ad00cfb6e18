/**
 * `deno task bench:compile`: whole processes, interleaved in rounds on one
 * machine, of
 *
 * - `dlm compile lang-examples/resnet50.dlm -o X.onnx` against
 *   `bench/torch_export.py --export-only` (python starts, imports torch and
 *   torchvision, builds torchvision's resnet50 and torch.onnx.exports it to a
 *   file; issue 11's target: dlm at least 6x faster), and against the
 *   export call alone, which the script times itself and prints;
 * - start-up: a bare `deno eval 0`, `dlm --help` (target at most 2x bare) and
 *   `dlm check lang-examples/resnet50.dlm` (target at most 4x bare), from the CLI's code
 *   cache (cli/code_cache.ts, in a folder of the run's own, filled in the warm-up round), and
 *   for comparison with the code cache off (`DLM_CLI_CACHE=0`) and as a first run (an empty
 *   cache folder: the bundle is built, then run).
 *
 * Each round runs every process once, in an order rotated from round to
 * round, so that a burst of load from another process falls on all of them
 * alike; one untimed warm-up round fills the file cache. Prints min / median
 * / max of each, the per-round ratios (min / median / max of a/b within a
 * round) and the ratio of the medians, with the load average before and
 * after (on a shared 2-core machine, treat the ranges as the figure).
 * Writes bench/results_compile.json (or `--out`).
 *
 *   deno task bench:compile [--rounds N] [--python PATH] [--no-torch] [--out FILE]
 */
import { writeFileAtomic } from "../runtime/fs.ts";
import { formatMachineFacts, machineFacts, parseLoadAverage } from "./machine.ts";
import { median, summarize, type Timing } from "./stats.ts";
import { formatTable, ms } from "./table.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** One process to time: argv, and what to read from its stdout. */
export interface Proc {
  name: string;
  cmd: string[];
  /** Environment variables for this run (made afresh for each run, before the clock starts). */
  env?: () => Record<string, string>;
  /** A figure the process prints about itself (torch's export call), in ms. */
  inner?: (stdout: string) => number;
}

/** A ratio a/b summarised over the rounds, and as the ratio of the medians. */
export interface Ratio {
  what: string;
  /** min / median / max of a_r / b_r over the rounds r. */
  perRound: { min: number; median: number; max: number };
  ofMedians: number;
  target?: string;
}

/**
 * The order of the processes in round r: the list rotated by r, so that
 * each process runs first, second, ... in turn.
 *
 * @example
 * ```ts
 * roundOrder(["a", "b", "c"], 1); // ["b", "c", "a"]
 * ```
 */
export function roundOrder<T>(procs: readonly T[], round: number): T[] {
  const k = procs.length ? round % procs.length : 0;
  return [...procs.slice(k), ...procs.slice(0, k)];
}

/** a/b per round and of the medians; a and b are run times of the same rounds. */
export function ratioOf(what: string, a: readonly number[], b: readonly number[]): Ratio {
  if (a.length !== b.length || a.length === 0) {
    throw new RangeError(`ratioOf(${what}): ${a.length} and ${b.length} rounds`);
  }
  const r = a.map((x, i) => x / b[i]);
  return {
    what,
    perRound: { min: Math.min(...r), median: median(r), max: Math.max(...r) },
    ofMedians: median(a) / median(b),
  };
}

/** The export call's time in ms from torch_export.py's `{"export_seconds": s}` line. */
export function exportMs(stdout: string): number {
  for (const line of stdout.trim().split("\n").reverse()) {
    try {
      const s = JSON.parse(line)?.export_seconds;
      if (typeof s === "number") return s * 1000;
    } catch { /* not the JSON line */ }
  }
  throw new Error(`torch_export.py printed no export_seconds:\n${stdout}`);
}

interface Options {
  rounds: number;
  python: string;
  torch: boolean;
  out: string;
}

const USAGE = `Usage: deno task bench:compile [options]

  --rounds N     timed rounds, after one warm-up round (default 5)
  --python PATH  the python with torch and torchvision (default /usr/bin/python3)
  --no-torch     only dlm and the start-up processes
  --out FILE     results file (default bench/results_compile.json)`;

function parseOptions(argv: readonly string[]): Options {
  const o: Options = {
    rounds: 5,
    python: "/usr/bin/python3",
    torch: true,
    out: `${ROOT}bench/results_compile.json`,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n\n${USAGE}`);
      return v;
    };
    if (a === "--rounds") {
      o.rounds = Number(value());
      if (!Number.isInteger(o.rounds) || o.rounds < 1) {
        throw new Error(`--rounds expects an integer >= 1\n\n${USAGE}`);
      }
    } else if (a === "--python") o.python = value();
    else if (a === "--no-torch") o.torch = false;
    else if (a === "--out") o.out = value();
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      Deno.exit(0);
    } else throw new Error(`unknown option '${a}'\n\n${USAGE}`);
  }
  return o;
}

/** Run one process to its end; its wall time in ms and its stdout. Fails on a non-zero exit. */
async function timeProcess(p: Proc): Promise<{ ms: number; stdout: string }> {
  const env = p.env?.();
  const t0 = performance.now();
  const r = await new Deno.Command(p.cmd[0], {
    args: p.cmd.slice(1),
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const elapsed = performance.now() - t0;
  const stdout = new TextDecoder().decode(r.stdout);
  if (r.code !== 0) {
    throw new Error(
      `${p.name} exited with ${r.code}:\n${new TextDecoder().decode(r.stderr)}${stdout}`,
    );
  }
  return { ms: elapsed, stdout };
}

function loadAverage(): number[] | undefined {
  try {
    return parseLoadAverage(Deno.readTextFileSync("/proc/loadavg"));
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const o = parseOptions(Deno.args);
  const dir = Deno.makeTempDirSync({ prefix: "dlm-bench-compile-" });
  const deno = Deno.execPath();
  const dlm = [deno, "run", "-A", "cli/main.ts"];
  const check = [...dlm, "check", "lang-examples/resnet50.dlm"];
  // dlm's caches in a folder of the run's own (the CLI's code cache fills in the warm-up round),
  // a fresh empty one for each first run, and the code cache off.
  const cache = { DLM_CACHE_DIR: `${dir}/cache` };
  let fresh = 0;
  const procs: Proc[] = [
    { name: "deno eval 0", cmd: [deno, "eval", "0"] },
    { name: "dlm --help", cmd: [...dlm, "--help"], env: () => cache },
    { name: "dlm check resnet50", cmd: check, env: () => cache },
    { name: "dlm check, no code cache", cmd: check, env: () => ({ DLM_CLI_CACHE: "0" }) },
    {
      name: "dlm check, first run",
      cmd: check,
      env: () => ({ DLM_CACHE_DIR: `${dir}/fresh${fresh++}` }),
    },
    {
      name: "dlm compile resnet50",
      cmd: [...dlm, "compile", "lang-examples/resnet50.dlm", "-o", `${dir}/dlm.onnx`],
      env: () => cache,
    },
  ];
  if (o.torch) {
    procs.push({
      name: "torch export resnet50",
      cmd: [o.python, "bench/torch_export.py", "--export-only", `${dir}/torch.onnx`],
      inner: exportMs,
    });
  }
  const facts = machineFacts();
  console.error(formatMachineFacts(facts));
  const times = new Map<string, number[]>(procs.map((p) => [p.name, []]));
  const inner: number[] = [];
  try {
    for (let round = -1; round < o.rounds; round++) {
      for (const p of roundOrder(procs, Math.max(0, round))) {
        const r = await timeProcess(p);
        if (round < 0) continue; // the warm-up round
        times.get(p.name)!.push(r.ms);
        if (p.inner) inner.push(p.inner(r.stdout));
      }
      if (round >= 0) console.error(`round ${round + 1}/${o.rounds} done`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  const loadAfter = loadAverage();

  const t = (name: string) => times.get(name)!;
  const summaries: Record<string, Timing> = {};
  for (const [name, runs] of times) summaries[name] = summarize(runs);
  if (inner.length) summaries["torch.onnx.export call alone"] = summarize(inner);

  const bare = t("deno eval 0");
  const ratios: Ratio[] = [
    { ...ratioOf("dlm --help / deno eval 0", t("dlm --help"), bare), target: "<= 2" },
    { ...ratioOf("dlm check / deno eval 0", t("dlm check resnet50"), bare), target: "<= 4" },
    ratioOf("dlm check, no code cache / deno eval 0", t("dlm check, no code cache"), bare),
    ratioOf("dlm check, first run / deno eval 0", t("dlm check, first run"), bare),
  ];
  if (o.torch) {
    const dlmCompile = t("dlm compile resnet50");
    ratios.push(
      {
        ...ratioOf("torch whole process / dlm compile", t("torch export resnet50"), dlmCompile),
        target: ">= 6",
      },
      ratioOf("torch export call alone / dlm compile", inner, dlmCompile),
    );
  }

  console.log(
    `\nwhole processes, ${o.rounds} interleaved rounds (ms); load average ${
      facts.loadAverage?.join(" ") ?? "?"
    } before, ${loadAfter?.join(" ") ?? "?"} after\n`,
  );
  console.log(formatTable(
    [
      { header: "process" },
      { header: "min", right: true },
      { header: "median", right: true },
      { header: "max", right: true },
    ],
    Object.entries(summaries).map(([name, s]) => [name, ms(s.min), ms(s.median), ms(s.max)]),
  ));
  console.log("");
  console.log(formatTable(
    [
      { header: "ratio" },
      { header: "per round min", right: true },
      { header: "median", right: true },
      { header: "max", right: true },
      { header: "of medians", right: true },
      { header: "target" },
    ],
    ratios.map((r) => [
      r.what,
      r.perRound.min.toFixed(2),
      r.perRound.median.toFixed(2),
      r.perRound.max.toFixed(2),
      r.ofMedians.toFixed(2),
      r.target ?? "",
    ]),
  ));
  writeFileAtomic(
    o.out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: facts,
        loadAverageAfter: loadAfter,
        rounds: o.rounds,
        processes: Object.fromEntries(procs.map((p) => [p.name, p.cmd.join(" ")])),
        timings: summaries,
        ratios,
      },
      null,
      2,
    ) + "\n",
  );
  console.error(`wrote ${o.out}`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`bench:compile: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
