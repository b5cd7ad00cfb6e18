/**
 * The compiler's fuzzer: mutates the example programs (lang-examples/*.dlm) and compiles each
 * mutant in a worker process (tools/fuzz_worker.ts: parse, check, graph, passes, ONNX bytes, and
 * the training step of a file that has one), with a time budget per input. It fails on an
 * internal error (DLM0900), an uncaught exception, a hang (its budget of CPU time spent), a crash (the
 * worker died, e.g. out of memory), or an error diagnostic without a location.
 *
 *   deno task fuzz                                    # seed 1, 2,000 inputs
 *   deno task fuzz --seed 7 --count 50000 --workers 2 # a long run
 *   deno task fuzz --time 600                         # as many as 10 minutes allow
 *   deno task fuzz --seed 7 --only 1234 --show        # one input again: its text and outcome
 *   deno task fuzz --classes nest,long_name --out /tmp/fuzz   # failing inputs written there
 *   deno task fuzz --files ssd_digits,rlhf_sort       # mutants of these examples only
 *   deno task fuzz --passes-up-to Infinity            # the passes on every graph (slower)
 *
 *   deno task fuzz --data --count 1000               # data files instead (tools/fuzz_data.ts)
 *
 * Every input is a function of (seed, index): the example file, the mutation class and the
 * mutation are drawn from a generator seeded by both, so `--only INDEX` replays any of them.
 * With `--data`, the mutants are data files (.npy, .csv, safetensors, ONNX weights) given to the
 * command line paths that read them (tools/fuzz_data.ts); a rejection must also name the file.
 */
import { parseArgs } from "node:util";
import { lex } from "../compiler/syntax/lexer.ts";
import { mulberry32 } from "../compiler/ir/rng.ts";
import { COMPILE_FNS, FUNCTIONS, INIT_FNS, LAYERS } from "../compiler/check/names.ts";
import type { DataJob, FuzzJob, FuzzResult, Outcome } from "./fuzz_worker.ts";
import { DATA_CLASSES, DATA_TARGETS, dataInput, makeSeeds, type Seeds } from "./fuzz_data.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const EXAMPLES = `${ROOT}lang-examples`;

/** A deterministic generator of floats in [0, 1). */
export const rng = mulberry32;

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];

/** A token of a source, by offsets. */
interface Tok {
  start: number;
  end: number;
  type: string;
  image: string;
}

/** A source and its tokens (comments and whitespace left out). */
export interface Source {
  path: string;
  text: string;
  toks: Tok[];
}

/** The examples, or those of `only` (file names, `ssd_digits` or `ssd_digits.dlm`). */
export function loadSources(only?: readonly string[]): Source[] {
  const want = only?.map((n) => n.endsWith(".dlm") ? n : `${n}.dlm`);
  const names = [...Deno.readDirSync(EXAMPLES)].filter((e) => e.isFile && e.name.endsWith(".dlm"))
    .map((e) => e.name).filter((n) => !want || want.includes(n)).sort();
  for (const n of want ?? []) {
    if (!names.includes(n)) throw new Error(`no example '${n}' in lang-examples/`);
  }
  return names.map((n) => {
    const path = `${EXAMPLES}/${n}`;
    const text = Deno.readTextFileSync(path);
    const toks = lex(text, path).tokens.map((t) => ({
      start: t.startOffset,
      end: (t.endOffset ?? t.startOffset) + 1,
      type: t.tokenType.name,
      image: t.image,
    }));
    return { path, text, toks };
  });
}

const splice = (text: string, start: number, end: number, insert: string) =>
  text.slice(0, start) + insert + text.slice(end);

const HUGE = ["1000000000", "2147483648", "99999999999", "9007199254740993", "1e308", "1e400"];
const DEPTHS = [50, 99, 100, 101, 150, 1000, 10_000, 100_000];
const LENGTHS = [41, 1000, 100_000, 1_000_000];

/** Tensors the `call` class declares as inputs of the model it mutates, by rank and dtype. */
const CALL_INPUTS = [
  "input fz4: f32[N, 3, 8, 8]",
  "input fz3: f32[N, 6, 5]",
  "input fz2: f32[N, 5]",
  "input fz1: f32[N]",
  "input fzi: i64[N, 5]",
  "input fzb: bool[N, 5]",
];
const CALL_TENSORS = ["fz4", "fz3", "fz2", "fz1", "fzi", "fzb"];
/** Values a built-in's argument is given by the `call` class. */
const CALL_VALUES = [
  "0",
  "-1",
  "1",
  "2",
  "3",
  "1000000000",
  "0.5",
  "-2.5",
  "true",
  '"f32"',
  '"same"',
  '"x*"',
  "(1,)",
  "(2, 2)",
  "(0, 0)",
  "(-1, 3)",
  "(1, 2, 3)",
  "()",
  "[1, 2]",
  "relu",
  "zeros",
  "N",
];
const BUILTINS = [
  ...Object.keys(FUNCTIONS).map((n) => ({ n, layer: false, sig: FUNCTIONS[n].sig })),
  ...Object.keys(LAYERS).map((n) => ({ n, layer: true, sig: LAYERS[n].sig })),
  ...Object.keys(COMPILE_FNS).map((n) => ({ n, layer: false, sig: [] as { name: string }[] })),
  ...[...INIT_FNS].map((n) => ({ n, layer: false, sig: [] as { name: string }[] })),
];

/** A mutation: the text of a mutant of `s` (`all` is every source, for cross-overs). */
type Mutation = (r: Rand, s: Source, all: Source[]) => string;

/** The mutation classes, by name. */
export const MUTATIONS: Record<string, Mutation> = {
  /** 1 to 3 consecutive tokens deleted. */
  delete(r, s) {
    const i = int(r, s.toks.length), n = 1 + int(r, 3);
    const last = s.toks[Math.min(i + n, s.toks.length) - 1];
    return splice(s.text, s.toks[i].start, last.end, "");
  },
  /** 1 to 8 consecutive tokens repeated in place. */
  duplicate(r, s) {
    const i = int(r, s.toks.length), n = 1 + int(r, 8);
    const last = s.toks[Math.min(i + n, s.toks.length) - 1];
    const part = s.text.slice(s.toks[i].start, last.end);
    return splice(s.text, last.end, last.end, " " + part);
  },
  /** Two tokens swapped. */
  swap(r, s) {
    let a = s.toks[int(r, s.toks.length)], b = s.toks[int(r, s.toks.length)];
    if (a.start > b.start) [a, b] = [b, a];
    if (a === b) return s.text;
    return s.text.slice(0, a.start) + b.image + s.text.slice(a.end, b.start) + a.image +
      s.text.slice(b.end);
  },
  /** A number set to 0, -1 or something huge. */
  number(r, s) {
    const nums = s.toks.filter((t) => t.type === "NumberLit");
    if (nums.length === 0) return s.text;
    const t = pick(r, nums);
    const v = pick(r, ["0", "-1", "0", "-1", ...HUGE]);
    return splice(s.text, t.start, t.end, v);
  },
  /** The file cut anywhere. */
  truncate(r, s) {
    return s.text.slice(0, int(r, s.text.length));
  },
  /** An operand wrapped in deep nesting (or a long chain of operators, which is not nesting). */
  nest(r, s) {
    const ops = s.toks.filter((t) => t.type === "Identifier" || t.type === "NumberLit");
    if (ops.length === 0) return s.text;
    const t = pick(r, ops), k = pick(r, DEPTHS), x = t.image;
    const wrapped = pick(r, [
      () => "(".repeat(k) + x + ")".repeat(k),
      () => "-".repeat(k) + x,
      () => "relu(".repeat(k) + x + ")".repeat(k),
      () => "[".repeat(k) + x + "]".repeat(k),
      () => x + "[0]".repeat(k),
      () => x + " ** 1".repeat(k),
      () => `if true { ${x} } else `.repeat(k) + `{ ${x} }`,
      () => x + ` + ${x}`.repeat(k),
      () => x + " |> relu".repeat(k),
      () => `"${"${".repeat(k)}${x}${"}".repeat(k)}"`,
    ])();
    return splice(s.text, t.start, t.end, wrapped);
  },
  /** A name (or a string) made very long. */
  long_name(r, s) {
    const names = s.toks.filter((t) => t.type === "Identifier" || t.type === "StringLit");
    if (names.length === 0) return s.text;
    const t = pick(r, names), n = pick(r, LENGTHS);
    if (t.type === "StringLit") {
      const body = pick(r, ["a", "a.", "_", "*", "${i}"]).repeat(n).slice(0, n);
      return splice(s.text, t.start, t.end, `"${body}"`);
    }
    const unit = t.image.slice(0, 64) + pick(r, ["a", "_", "9", t.image.slice(0, 64)]);
    const long = unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
    return splice(s.text, t.start, t.end, long);
  },
  /** Random bytes (decoded as the CLI reads a file: invalid UTF-8 as U+FFFD) inserted. */
  bytes(r, s) {
    const n = 1 + int(r, 16);
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      b[i] = pick(r, [int(r, 32), int(r, 256), 0, 0x0d, 0x80 + int(r, 64), 0xff, 0xef]);
    }
    const at = int(r, s.text.length + 1);
    return splice(s.text, at, at, new TextDecoder().decode(b));
  },
  /** A run of tokens from another example inserted between two tokens (a cross-over). */
  splice(r, s, all) {
    const o = pick(r, all);
    const i = int(r, o.toks.length), n = 1 + int(r, 12);
    const last = o.toks[Math.min(i + n, o.toks.length) - 1];
    const part = o.text.slice(o.toks[i].start, last.end);
    const at = pick(r, s.toks).start;
    return splice(s.text, at, at, part + " ");
  },
  /**
   * A built-in (function, layer, compile-time function or initialiser) called on tensors of
   * every rank and dtype, with arguments of any kind, positional and named: its argument checks.
   */
  call(r, s) {
    const open = s.text.search(/^model\s+\w+[^{]*\{/m);
    if (open < 0) return s.text;
    const at = s.text.indexOf("{", open) + 1;
    const b = pick(r, BUILTINS);
    const value = () => r() < 0.4 ? pick(r, CALL_TENSORS) : pick(r, CALL_VALUES);
    const args: string[] = [];
    for (let k = int(r, 4); k > 0; k--) {
      const named = b.sig.length > 0 && r() < 0.5;
      args.push(named ? `${pick(r, b.sig).name}: ${value()}` : value());
    }
    const call = `${b.n}(${args.join(", ")})`;
    const use = b.layer && r() < 0.7 ? `${pick(r, CALL_TENSORS)} |> ${call}` : call;
    const stmt = pick(r, [`let fzr = ${use}`, `output fzo = ${use}`]);
    return splice(s.text, at, at, `\n  ${CALL_INPUTS.join("\n  ")}\n  ${stmt}\n`);
  },
  /** A token replaced by a token of another example (a name by another built-in, say). */
  substitute(r, s, all) {
    const t = pick(r, s.toks);
    const o = pick(r, all);
    return splice(s.text, t.start, t.end, pick(r, o.toks).image);
  },
};

export const CLASSES = Object.keys(MUTATIONS);

/** Input `index` of run `seed`: which file, which class, and the mutant. */
export function input(
  seed: number,
  index: number,
  sources: Source[],
  classes: readonly string[] = CLASSES,
): { cls: string; source: Source; text: string } {
  const r = rng((seed * 0x9e3779b1) ^ (index * 0x85ebca77) ^ 0x5bd1e995);
  const source = pick(r, sources);
  const cls = pick(r, classes);
  // Sometimes two mutations of the class, one on top of the other.
  let text = MUTATIONS[cls](r, source, sources);
  if (r() < 0.25) {
    const toks = lex(text, source.path).tokens;
    if (toks.length > 0 && text.length < 200_000) {
      const again: Source = {
        path: source.path,
        text,
        toks: toks.map((t) => ({
          start: t.startOffset,
          end: (t.endOffset ?? t.startOffset) + 1,
          type: t.tokenType.name,
          image: t.image,
        })),
      };
      text = MUTATIONS[cls](r, again, sources);
    }
  }
  return { cls, source, text };
}

/** A worker process and the job it is on. */
class Worker {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;

  constructor() {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--v8-flags=--max-old-space-size=3072", `${ROOT}tools/fuzz_worker.ts`],
      // An internal error's stack, for the report (the CLI prints it only with DLM_DEBUG).
      env: { DLM_DEBUG: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#lines = lines(this.#child.stdout)[Symbol.asyncIterator]();
  }

  /**
   * Run a job: its result, "crash" when the worker died, or "hang" when it used `budgetMs` of
   * CPU time without answering (the process is then to be killed). The budget is CPU time, not
   * wall time, so that a worker the machine starves (a busy CI runner, `nice`) is not taken for
   * hung; without /proc to read it from, wall time. A job is given at most 10x its budget of wall
   * time in any case.
   */
  async run(job: FuzzJob | DataJob, budgetMs: number): Promise<FuzzResult | "hang" | "crash"> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(job) + "\n"));
    const next = this.#lines.next().then((r) =>
      r.done ? "crash" as const : JSON.parse(r.value) as FuzzResult
    );
    const cpu0 = this.#cpuMs();
    const t0 = performance.now();
    let wait = budgetMs;
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"wait">((res) => timer = setTimeout(() => res("wait"), wait));
      const out = await Promise.race([next, timeout]);
      clearTimeout(timer);
      if (out !== "wait") return out;
      const wall = performance.now() - t0;
      const cpu = this.#cpuMs();
      const used = cpu0 === undefined || cpu === undefined ? wall : cpu - cpu0;
      if (used >= budgetMs || wall >= 10 * budgetMs) return "hang";
      wait = Math.max(100, budgetMs - used);
    }
  }

  /** CPU time (user and system, all threads) the worker has used, in ms; undefined without /proc. */
  #cpuMs(): number | undefined {
    try {
      const stat = Deno.readTextFileSync(`/proc/${this.#child.pid}/stat`);
      // After "pid (name) ": state, ppid, ... utime and stime are the 12th and 13th fields, in
      // clock ticks (100 a second).
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(f[11]) + Number(f[12])) * 10;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.#child.status;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, nl);
      pending = pending.slice(nl + 1);
    }
  }
}

export interface FuzzOptions {
  seed: number;
  /** Mutate data files instead of programs (tools/fuzz_data.ts); `classes` are then its classes. */
  data?: boolean;
  /** Inputs to run (default 2,000), unless `timeS` stops the run first. */
  count?: number;
  /** Stop starting new inputs after this many seconds. */
  timeS?: number;
  /**
   * CPU time one input may take before it counts as a hang: this (default 30 s) and 20 s per
   * megabyte of input, for the compile is linear in the input, not constant. The default is above
   * what the compiler's own runaway limits allow (250,000 nodes or 2^32 parameter elements are
   * reached in 5-10 s: a GRU of 2^31 layers), so a hang is a hang.
   */
  budgetMs?: number;
  /** CPU time allowed per megabyte of input on top of `budgetMs` (default 20 s). */
  budgetPerMBMs?: number;
  workers?: number;
  classes?: readonly string[];
  /** Mutate only these examples (file names in lang-examples/; default all). */
  files?: readonly string[];
  /** Also compile the training step of files that have a train section (default true). */
  train?: boolean;
  /** Run the inference passes on graphs of at most this many weight elements (default 1e6). */
  passesUpTo?: number;
  /** Only these input indices. */
  only?: number[];
  /** Write the text of each failing input here. */
  out?: string;
  /** Called after each input. */
  progress?: (done: number, failures: number) => void;
}

/** What went wrong with one input. */
export interface Failure {
  index: number;
  cls: string;
  file: string;
  outcome: Outcome | "hang" | "crash";
  detail?: string;
  /** The mutant: a program's text, or for a data file its command line. */
  text: string;
}

export interface FuzzReport {
  seed: number;
  inputs: number;
  seconds: number;
  /** Per mutation class, the count of each outcome. */
  table: Record<string, Record<string, number>>;
  failures: Failure[];
  /** The slowest inputs: index, class, file, ms. */
  slowest: { index: number; cls: string; file: string; ms: number }[];
  /** Diagnostic codes of the rejected inputs, with their counts. */
  codes: Record<string, number>;
}

export const OK_OUTCOMES = new Set(["ok", "rejected"]);

/** Run the fuzzer. */
export async function fuzz(o: FuzzOptions): Promise<FuzzReport> {
  const sources = o.data ? [] : loadSources(o.files);
  const seeds: Seeds | undefined = o.data ? makeSeeds() : undefined;
  const classes = o.classes ?? (o.data ? DATA_CLASSES : CLASSES);
  const budget = o.budgetMs ?? 30_000;
  const count = o.only ? o.only.length : o.count ?? 2_000;
  const t0 = performance.now();
  const report: FuzzReport = {
    seed: o.seed,
    inputs: 0,
    seconds: 0,
    table: {},
    failures: [],
    slowest: [],
    codes: {},
  };
  /** Input `index`: its class (a table row), what it mutates, the job, and what to keep of it. */
  const make = (index: number) => {
    if (!seeds) {
      const { cls, source, text } = input(o.seed, index, sources, classes);
      const job: FuzzJob = {
        id: index,
        path: source.path,
        text,
        train: o.train ?? true,
        passesUpTo: o.passesUpTo ?? 1e6,
      };
      return { cls, file: source.path.slice(ROOT.length), job, text, size: text.length };
    }
    const { cls, target, backend, bytes } = dataInput(o.seed, index, seeds, classes);
    const name = DATA_TARGETS[target].seed;
    const file = `${seeds.dir}/m${index}_${name}`;
    Deno.writeFileSync(file, bytes);
    const argv = DATA_TARGETS[target].argv(file, seeds.dir, backend);
    const job: DataJob = { id: index, kind: "data", argv, file };
    const keep = () => {
      if (!o.out) return;
      Deno.mkdirSync(o.out, { recursive: true });
      Deno.writeFileSync(`${o.out}/seed${o.seed}_${index}_${target}_${cls}_${name}`, bytes);
    };
    return {
      cls: `${target}/${cls}`,
      file: `${name} (${backend})`,
      job,
      text: `dlm ${argv.join(" ")}`,
      size: bytes.length,
      keep,
      cleanup: () => Deno.removeSync(file),
    };
  };
  let next = 0;
  const one = async (w: Worker): Promise<Worker> => {
    while (next < count && !(o.timeS !== undefined && performance.now() - t0 > o.timeS * 1000)) {
      const index = o.only ? o.only[next] : next;
      next++;
      const m = make(index);
      const { cls, file, job, text } = m;
      const started = performance.now();
      const allowed = budget + (o.budgetPerMBMs ?? 20_000) * m.size / 2 ** 20;
      const r = await w.run(job, allowed);
      const ms = performance.now() - started;
      const outcome = typeof r === "string" ? r : r.outcome;
      if (typeof r === "string") {
        await w.close();
        w = new Worker();
      } else {
        for (const c of r.codes) report.codes[c] = (report.codes[c] ?? 0) + 1;
      }
      report.inputs++;
      const row = report.table[cls] ??= {};
      row[outcome] = (row[outcome] ?? 0) + 1;
      report.slowest.push({ index, cls, file, ms: Math.round(ms) });
      report.slowest.sort((a, b) => b.ms - a.ms).splice(10);
      if (!OK_OUTCOMES.has(outcome)) {
        const detail = typeof r === "string"
          ? (r === "hang"
            ? `no answer after ${Math.round(allowed)} ms of CPU time (${Math.round(ms)} ms)`
            : "the worker died")
          : r.detail;
        report.failures.push({ index, cls, file, outcome, detail, text });
        if (m.keep) m.keep();
        else if (o.out) {
          Deno.mkdirSync(o.out, { recursive: true });
          Deno.writeTextFileSync(`${o.out}/seed${o.seed}_${index}_${cls}_${outcome}.dlm`, text);
        }
      }
      m.cleanup?.();
      o.progress?.(report.inputs, report.failures.length);
    }
    return w;
  };
  const workers = Array.from({ length: Math.max(1, o.workers ?? 1) }, () => new Worker());
  try {
    const finished = await Promise.all(workers.map(one));
    await Promise.all(finished.map((w) => w.close()));
  } finally {
    if (seeds) Deno.removeSync(seeds.dir, { recursive: true });
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

/** The report as a table of inputs per class and outcome, then the failures. */
export function formatReport(r: FuzzReport): string {
  const outcomes = ["ok", "rejected", "internal", "exception", "unlocated", "hang", "crash"];
  const w = Math.max(11, ...Object.keys(r.table).map((c) => c.length + 1));
  const head = ["class".padEnd(w), ...outcomes.map((o) => o.padStart(10)), "     total"].join("");
  const rows = Object.keys(r.table).sort().map((c) => {
    const row = r.table[c];
    const total = Object.values(row).reduce((a, b) => a + b, 0);
    return [c.padEnd(w), ...outcomes.map((o) => String(row[o] ?? 0).padStart(10))].join("") +
      String(total).padStart(10);
  });
  const sum = (o: string) => Object.values(r.table).reduce((a, row) => a + (row[o] ?? 0), 0);
  const totals = ["total".padEnd(w), ...outcomes.map((o) => String(sum(o)).padStart(10))].join("") +
    String(r.inputs).padStart(10);
  const lines = [
    `seed ${r.seed}: ${r.inputs} inputs in ${r.seconds.toFixed(1)} s`,
    head,
    ...rows,
    totals,
    `slowest: ${
      r.slowest.slice(0, 5).map((s) => `#${s.index} ${s.cls} ${s.file} ${s.ms} ms`).join("; ")
    }`,
  ];
  for (const f of r.failures) {
    lines.push(`FAIL #${f.index} ${f.cls} ${f.file}: ${f.outcome}: ${f.detail ?? ""}`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seed: { type: "string", default: "1" },
      data: { type: "boolean", default: false },
      count: { type: "string" },
      time: { type: "string" },
      budget: { type: "string", default: "30000" },
      workers: { type: "string", default: "1" },
      classes: { type: "string" },
      files: { type: "string" },
      only: { type: "string" },
      "no-train": { type: "boolean", default: false },
      "passes-up-to": { type: "string", default: "1000000" },
      out: { type: "string" },
      show: { type: "boolean", default: false },
      json: { type: "string" },
    },
  });
  const seed = Number(values.seed);
  const classes = values.classes?.split(",");
  const known = values.data ? DATA_CLASSES : CLASSES;
  for (const c of classes ?? []) {
    if (!known.includes(c)) {
      console.error(`unknown class '${c}'; the classes are ${known.join(", ")}`);
      Deno.exit(2);
    }
  }
  const only = values.only?.split(",").map(Number);
  const files = values.files?.split(",");
  if (values.show && only && !values.data) {
    const sources = loadSources(files);
    for (const i of only) {
      const { cls, source, text } = input(seed, i, sources, classes);
      console.log(`// #${i} ${cls} of ${source.path.slice(ROOT.length)}\n${text.slice(0, 5000)}`);
    }
  }
  const count = values.count !== undefined
    ? Number(values.count)
    : values.time !== undefined
    ? Infinity
    : 2_000;
  let last = 0;
  const report = await fuzz({
    seed,
    data: values.data,
    count,
    timeS: values.time !== undefined ? Number(values.time) : undefined,
    budgetMs: Number(values.budget),
    workers: Number(values.workers),
    classes,
    files,
    only,
    train: !values["no-train"],
    passesUpTo: Number(values["passes-up-to"]),
    out: values.out,
    progress(done, failures) {
      if (performance.now() - last > 10_000) {
        last = performance.now();
        console.error(`${done} inputs, ${failures} failures`);
      }
    },
  });
  console.log(formatReport(report));
  if (values.json) Deno.writeTextFileSync(values.json, JSON.stringify(report, null, 1));
  Deno.exit(report.failures.length ? 1 : 0);
}
