/**
 * onnxruntime's session creation against its graph optimisation level
 * (issue 19): for each benchmark model, the time onnxruntime-node takes to
 * create a session at each level (disabled, basic, extended, all) and the
 * run time of the session it creates, for
 *
 * - `forward`: the model as `dlm run FILE.dlm` loads it (eval mode, weights inside);
 * - `step`: one training step, as `dlm compile --train --pack-params` writes it;
 * - `multi`: what `dlm train FILE.dlm` loads: 8 steps per run (compiler/train/multistep.ts).
 *
 * Each (model, kind, level) is created in a fresh process (no warm caches, no
 * second session's threads), in rounds that take the levels in a rotating
 * order so drift in machine load hits them alike; a process that takes longer
 * than `--timeout` seconds is killed and reported as "> T s". With `--cache`,
 * each creation goes through dlm's optimised-model cache (runtime/ort/cache.ts)
 * in a fresh cache folder, then a second process loads the same model again:
 * the "miss" and "hit" figures of a first and a second `dlm train`. With `--cpu`,
 * the sessions' idle threads do not spin and each process also reports its CPU time per step:
 * on a machine shared with other work, wall times vary several-fold between runs while the CPU
 * time a step needs varies by a few percent, so levels are best compared by it.
 *
 *   deno task bench:ort [--only NAME] [--kinds forward,step,multi]
 *     [--levels disabled,basic,extended,all] [--rounds N] [--runs N] [--timeout S] [--cache] [--cpu]
 *
 * The models are the training benchmark's (bench/train_models.ts). Prints a table per model and
 * writes bench/results_ort_levels.json (`--out`; with `--only`, bench/results_ort_levels_only.json).
 */
import { compileTrain } from "../compiler/train/mod.ts";
import { multiStep } from "../compiler/train/multistep.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { stack } from "../runtime/reference/kernels/stack_util.ts";
import { initialState, loadModel } from "../runtime/train/mod.ts";
import { prepareInputs } from "../runtime/inputs.ts";
import { writeFileAtomic } from "../runtime/fs.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { isOptimizeLevel, OPTIMIZE_LEVELS, type OptimizeLevel } from "../runtime/ort/optimize.ts";
import { scanModel } from "../runtime/ort/model_scan.ts";
import { formatMachineFacts, machineFacts } from "./machine.ts";
import { TRAIN_MODELS } from "./train_models.ts";
import { median } from "./stats.ts";
import { count, formatTable, ms } from "./table.ts";

const root = new URL("../", import.meta.url).pathname;
/** Steps per run of the multi-step model, as `dlm train` runs them by default. */
const STEPS_PER_RUN = 8;
/** Intra-op threads, as dlm's sessions use by default (runtime/ort/node.ts). */
const THREADS = 2;

interface Case {
  name: string;
  file: string;
  model?: string;
  batch: number;
  /** Sizes of symbolic dims other than the batch N. */
  dims?: Record<string, number>;
}

/** The training benchmark's models (bench/train_models.ts), by their short ids. */
const CASES: Case[] = TRAIN_MODELS.map((m) => ({
  name: m.id,
  file: m.file,
  model: m.model,
  batch: m.batch,
  dims: m.dims,
}));

type Kind = "forward" | "step" | "multi";
const KINDS: Kind[] = ["forward", "step", "multi"];

interface Args {
  only?: string;
  kinds: Kind[];
  levels: OptimizeLevel[];
  rounds: number;
  runs: number;
  timeout: number;
  cache: boolean;
  cpu: boolean;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    kinds: KINDS,
    levels: [...OPTIMIZE_LEVELS],
    rounds: 3,
    runs: 10,
    timeout: 300,
    cache: false,
    cpu: false,
    out: root + "bench/results_ort_levels.json",
  };
  const int = (name: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs an integer >= 1, got ${v}`);
    return n;
  };
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i], v = () => argv[++i];
    if (arg === "--only") a.only = v();
    else if (arg === "--kinds") {
      a.kinds = v().split(",") as Kind[];
      for (const k of a.kinds) if (!KINDS.includes(k)) throw new Error(`unknown kind '${k}'`);
    } else if (arg === "--levels") {
      const ls = v().split(",");
      for (const l of ls) if (!isOptimizeLevel(l)) throw new Error(`unknown level '${l}'`);
      a.levels = ls as OptimizeLevel[];
    } else if (arg === "--rounds") a.rounds = int(arg, v());
    else if (arg === "--runs") a.runs = int(arg, v());
    else if (arg === "--timeout") a.timeout = int(arg, v());
    else if (arg === "--cache") a.cache = true;
    else if (arg === "--cpu") a.cpu = true;
    else if (arg === "--out") out = v();
    else throw new Error(`unknown option '${arg}'`);
  }
  // Some models' rows go beside the whole run's results, not over them.
  a.out = out ??
    root + (a.only ? "bench/results_ort_levels_only.json" : "bench/results_ort_levels.json");
  return a;
}

/** What one timing process reports. */
interface ChildResult {
  /** Session creation (ms): onnxruntime's, plus the cache's work with --cache. */
  createMs: number;
  /** Per step (ms), after two untimed runs. */
  runMs: number[];
  /** With --cache: whether the session came from the cache. */
  cache?: string;
  /** CPU time per step (ms, all threads; with --cpu, threads do not spin). */
  cpuMs?: number;
}

/** The feeds of one kind: state and a random batch (steps), or random inputs (forward). */
function feedsOf(file: string, kind: Kind, c: Case): Record<string, Tensor> {
  const m = loadModel(file, "model");
  const dims = { N: c.batch, ...c.dims };
  if (kind === "forward") return prepareInputs(m.graph, { seed: 0, dims });
  const state = initialState(m);
  const names = m.inputNames.filter((n) => !state.has(n));
  const sub = { ...m.graph, inputs: m.graph.inputs.filter((i) => names.includes(i.name)) };
  if (kind === "multi") {
    // The stacked inputs' leading axis is the step count: random data for one step, stacked.
    const one = {
      ...sub,
      inputs: sub.inputs.map((i) => ({ ...i, type: { ...i.type, shape: i.type.shape.slice(1) } })),
    };
    const b = prepareInputs(one, { seed: 0, dims, intRange: [0, 10] });
    const stacked: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(b)) stacked[k] = stack(Array(STEPS_PER_RUN).fill(t), 0);
    return { ...Object.fromEntries(state), ...stacked };
  }
  return {
    ...Object.fromEntries(state),
    ...prepareInputs(sub, { seed: 0, dims, intRange: [0, 10] }),
  };
}

/**
 * The CPU time this process has used (ms, all threads), from /proc/self/stat's utime and stime
 * (clock ticks of 10 ms); undefined off Linux.
 */
function cpuTimeMs(): number | undefined {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    // Fields after the command name (which may hold spaces) start at its closing parenthesis.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * A timing process: create the session, run it `runs` times after 2 untimed runs. With `cpu`,
 * the session's idle threads do not spin, so the process's CPU time per step is the work the
 * step needs: a measure that other processes' load touches far less than wall time does.
 */
async function child(
  file: string,
  kind: Kind,
  level: OptimizeLevel,
  runs: number,
  c: Case,
  cacheDir?: string,
  cpu = false,
): Promise<void> {
  const feeds = feedsOf(file, kind, c);
  const bytes = loadModel(file, "model").bytes;
  const t0 = performance.now();
  const s = await createSession(bytes, {
    threads: THREADS,
    optimize: level,
    ...(cpu ? { spin: false } : {}),
    ...(cacheDir ? { cache: { dir: cacheDir, maxBytes: 2 ** 30 } } : {}),
  });
  const createMs = performance.now() - t0;
  const per = kind === "multi" ? STEPS_PER_RUN : 1;
  const runMs: number[] = [];
  let cpu0: number | undefined;
  for (let i = 0; i < runs + 2; i++) {
    if (i === 2) cpu0 = cpuTimeMs();
    const t = performance.now();
    await s.run(feeds);
    if (i >= 2) runMs.push((performance.now() - t) / per);
  }
  const cpu1 = cpuTimeMs();
  await s.release();
  const cpuMs = cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / runs / per : undefined;
  const r: ChildResult = { createMs, runMs, cache: s.load?.cache, cpuMs };
  console.log(JSON.stringify(r));
}

/** Run one timing process; undefined when it passed the timeout (killed). */
async function timeInChild(
  file: string,
  kind: Kind,
  level: OptimizeLevel,
  caseIndex: number,
  a: Args,
  cacheDir?: string,
): Promise<ChildResult | undefined> {
  const args = [
    "run",
    "-A",
    new URL(import.meta.url).pathname,
    "--child",
    file,
    kind,
    level,
    String(a.runs),
    String(caseIndex),
    cacheDir ?? "",
    ...(a.cpu ? ["--cpu"] : []),
  ];
  const p = new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.kill("SIGKILL");
  }, a.timeout * 1000);
  const out = await p.output();
  clearTimeout(timer);
  if (timedOut) return undefined;
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`${file} ${kind} ${level} failed:\n${dec.decode(out.stderr)}`);
  }
  return JSON.parse(dec.decode(out.stdout).trim().split("\n").at(-1)!) as ChildResult;
}

/** Compile a case's three models to ONNX files in `dir`; their paths and node counts. */
async function prepare(
  c: Case,
  dir: string,
): Promise<Record<Kind, { file: string; nodes: number }>> {
  const compiled = compileTrain(root + c.file, { pack: true, model: c.model, dims: c.dims });
  if (!compiled.step) {
    throw new Error(`${c.file}: ${compiled.diagnostics.map((d) => d.message).join("; ")}`);
  }
  const files = {} as Record<Kind, { file: string; nodes: number }>;
  const put = (kind: Kind, bytes: Uint8Array) => {
    const file = `${dir}/${c.name}_${kind}.onnx`;
    Deno.writeFileSync(file, bytes);
    files[kind] = { file, nodes: scanModel(loadModel(file).bytes)?.nodes ?? 0 };
  };
  put("step", emitModel(compiled.step).model);
  put("multi", emitModel(multiStep(compiled.step)).model);
  // The forward model as `dlm run FILE.dlm` builds it: the CLI's compile, eval mode.
  const fwd = `${dir}/${c.name}_forward.onnx`;
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "cli/main.ts",
      "compile",
      c.file,
      ...(c.model ? ["--model", c.model] : []),
      "-o",
      fwd,
    ],
    cwd: root,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
  files.forward = { file: fwd, nodes: scanModel(Deno.readFileSync(fwd))?.nodes ?? 0 };
  return files;
}

interface Cell {
  create: number[];
  /** Median run time of each process. */
  run: number[];
  /** Fastest run of each process: what the load of other processes touches least. */
  fastest: number[];
  /** CPU time per step of each process (--cpu). */
  cpu: number[];
  timeouts: number;
  hitCreate?: number[];
  hitRun?: number[];
  /** With --cache: the model is not one the cache keeps. */
  notCached?: boolean;
}

const range = (xs: number[]) =>
  xs.length === 0
    ? "-"
    : xs.length === 1
    ? ms(xs[0])
    : `${ms(median(xs))} (${ms(Math.min(...xs))}-${ms(Math.max(...xs))})`;

async function main(a: Args): Promise<void> {
  const facts = machineFacts();
  console.log(formatMachineFacts(facts));
  console.log(
    `\nsession creation (ms) and run time per step (ms, median of ${a.runs} runs per process) ` +
      `by onnxruntime level; each in a fresh process, ${a.rounds} round(s), ` +
      `median (min-max) over rounds; timeout ${a.timeout} s`,
  );
  const dir = Deno.makeTempDirSync({ prefix: "dlm_ort_levels_" });
  const results: Record<string, unknown> = {};
  try {
    for (let ci = 0; ci < CASES.length; ci++) {
      const c = CASES[ci];
      if (a.only && !c.name.includes(a.only)) continue;
      const files = await prepare(c, dir);
      const cells: Record<string, Cell> = {};
      for (let r = 0; r < a.rounds; r++) {
        for (const kind of a.kinds) {
          // Rotate the order of the levels each round.
          const levels = a.levels.map((_, i) => a.levels[(i + r) % a.levels.length]);
          for (const level of levels) {
            const key = `${kind} ${level}`;
            const cell = cells[key] ??= { create: [], run: [], fastest: [], cpu: [], timeouts: 0 };
            // A level that timed out once is not tried again: it would only time out again.
            if (cell.timeouts) continue;
            const cacheDir = a.cache ? Deno.makeTempDirSync({ dir, prefix: "cache_" }) : undefined;
            const res = await timeInChild(files[kind].file, kind, level, ci, a, cacheDir);
            if (!res) {
              cell.timeouts++;
              continue;
            }
            cell.create.push(res.createMs);
            cell.run.push(median(res.runMs));
            cell.fastest.push(Math.min(...res.runMs));
            if (res.cpuMs !== undefined) cell.cpu.push(res.cpuMs);
            // A model the cache does not keep (runtime/ort/node.ts: small or big) has no hit.
            if (cacheDir && res.cache === "skipped") cell.notCached = true;
            else if (cacheDir) {
              const hit = await timeInChild(files[kind].file, kind, level, ci, a, cacheDir);
              if (hit?.cache !== "hit") {
                throw new Error(`${key}: expected a cache hit, got ${hit?.cache}`);
              }
              (cell.hitCreate ??= []).push(hit.createMs);
              (cell.hitRun ??= []).push(median(hit.runMs));
            }
            Deno.stderr.writeSync(
              new TextEncoder().encode(`  ${c.name} ${key}: ${ms(res.createMs)} ms\n`),
            );
          }
        }
      }
      console.log(
        `\n${c.name} (batch ${c.batch}): ${
          a.kinds.map((k) => `${k} ${count(files[k].nodes)} nodes`).join(", ")
        }`,
      );
      console.log(formatTable(
        [
          { header: "kind" },
          { header: "level" },
          { header: "create ms", right: true },
          { header: "run ms/step", right: true },
          { header: "fastest run", right: true },
          ...(a.cpu ? [{ header: "CPU ms/step", right: true }] : []),
          ...(a.cache
            ? [{ header: "cache hit create ms", right: true }, {
              header: "hit run ms/step",
              right: true,
            }]
            : []),
        ],
        Object.entries(cells).map(([key, cell]) => {
          const [kind, level] = key.split(" ");
          const create = cell.timeouts ? `> ${a.timeout * 1000}` : range(cell.create);
          return [
            kind,
            level,
            create,
            range(cell.run),
            cell.fastest.length ? ms(Math.min(...cell.fastest)) : "-",
            ...(a.cpu ? [range(cell.cpu)] : []),
            ...(a.cache
              ? cell.notCached
                ? ["not cached", "-"]
                : [range(cell.hitCreate ?? []), range(cell.hitRun ?? [])]
              : []),
          ];
        }),
      ));
      results[c.name] = {
        batch: c.batch,
        nodes: Object.fromEntries(a.kinds.map((k) => [k, files[k].nodes])),
        cells,
      };
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  writeFileAtomic(
    a.out,
    JSON.stringify({ date: new Date().toISOString(), machine: facts, args: a, results }, null, 2) +
      "\n",
  );
  console.log(`\nwrote ${a.out}`);
}

const at = Deno.args.indexOf("--child");
if (at >= 0) {
  const [file, kind, level, runs, caseIndex, cacheDir] = Deno.args.slice(at + 1);
  await child(
    file,
    kind as Kind,
    level as OptimizeLevel,
    Number(runs),
    CASES[Number(caseIndex)],
    cacheDir || undefined,
    Deno.args.includes("--cpu"),
  );
  Deno.exit(0);
}
try {
  await main(parseArgs(Deno.args));
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  Deno.exit(1);
}
