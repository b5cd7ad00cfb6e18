/**
 * The contract between the CLI's entry point and its commands, and what the
 * commands share: the options groups, positional and mode checks, help text.
 *
 * This module imports nothing from the compiler or the runtime but the diagnostic
 * catalogue (a table of constants, for usage errors), so that
 * `dlm --help`, `dlm <command> --help` and usage errors cost no compiler
 * start-up. A command's implementation is loaded when it runs
 * (commands/mod.ts).
 *
 * Exit codes: 0 success, 1 an error in the user's input (diagnostics
 * printed), 2 a usage error.
 */
import { formatOptions, type NumberRange, type OptSpec, type Parsed, UsageError } from "./args.ts";
import { type Code, diag } from "../compiler/diagnostics.ts";

export { type OptSpec, type Parsed, UsageError };

/** Where a command prints: results to `out` (stdout), diagnostics and progress to `err`. */
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /**
   * The process ends when the command returns (cli/main.ts run as the program): a command may
   * then leave its onnxruntime sessions to the process's end rather than release them, which
   * took 40-100 ms of a DenseNet-121 `dlm train` (0.8 s) for nothing. Unset in-process (tests,
   * the code cache's callers), where sessions are released.
   */
  exitsAfter?: boolean;
}

/** The terminal. */
export const defaultIo: Io = {
  out: (s) => console.log(s),
  err: (s) => console.error(s),
};

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, input: 1, usage: 2 } as const;

/** One command: its help (cheap, always loaded) and `run`, which returns the exit code. */
export interface Command {
  /** Shown in `dlm --help` and `dlm <command> --help`. */
  summary: string;
  usage: string;
  options: Record<string, OptSpec>;
  /** The module that implements it (lazyCommand's `url`). */
  module?: string;
  /** Whether it runs from the CLI's code cache (cli/code_cache.ts) when it can. */
  codeCache?: boolean;
  run(args: Parsed, io: Io): Promise<number>;
}

/** A command implementation module, `cli/commands/<name>.ts`: `run` returns the exit code. */
export interface CommandModule {
  run(args: Parsed, io: Io): number | Promise<number>;
}

/**
 * A command whose implementation, the module at `url`, is imported the first
 * time it runs, so the table of commands (and the help it prints) loads none
 * of it.
 *
 * The specifier is computed, not a string literal, on purpose: Deno resolves
 * and reads the whole module graph behind every literal `import("...")` when
 * the importing module loads, even if the import never runs. With literals,
 * `dlm --help` walked all eight commands' graphs (about 380 modules, 50-70 ms
 * of CPU); computed, it reads five modules. startup_test.ts checks that each
 * command module exports `run`, which the type checker cannot see here.
 *
 * `codeCache`: run it from the CLI's code cache (cli/code_cache.ts: its module
 * graph bundled, with V8's code for it), falling back to importing `url` when
 * the cache is off or cannot hold it, when the command runs in-process (`Io`
 * without `exitsAfter`: tests) or with `--no-cache`. For commands whose
 * start-up matters and whose graph bundles as one script (code_cache_test.ts
 * builds each).
 *
 * @example
 * ```ts
 * const check = lazyCommand({ summary, usage, options }, import.meta.resolve("./check.ts"));
 * ```
 */
export function lazyCommand(
  help: Omit<Command, "run" | "module" | "codeCache">,
  url: string,
  opts: { codeCache?: boolean } = {},
): Command {
  return {
    ...help,
    module: url,
    codeCache: opts.codeCache ?? false,
    run: async (args, io) => {
      // Only a process that runs this one command and ends: in-process (tests) the modules are
      // loaded already and their errors are the caller's classes. --no-cache turns it off too.
      const cached = opts.codeCache && io.exitsAfter && !args.opts["no-cache"]
        ? await loadCached(url, io)
        : undefined;
      if (cached) return await runCached(cached, help.options, args, io);
      const [command, fs] = await Promise.all([import(url), import(FS_URL)]);
      checkOutputs(help.options, args, fs as OutputChecks);
      return (command as CommandModule).run(args, io);
    },
  };
}

/** runtime/fs.ts, imported by a computed specifier for the reason lazyCommand gives. */
const FS_URL = import.meta.resolve("../runtime/fs.ts");

/** cli/code_cache.ts (and node:vm), imported the same way: only a cached command loads it. */
const CODE_CACHE_URL = import.meta.resolve("./code_cache.ts");

/**
 * What a command's bundle in the CLI's code cache (cli/code_cache.ts) exports: the command's
 * `run`, runtime/fs.ts's output checks, and the CLI's `UsageError` and `reportFailure`
 * (cli/args.ts, cli/report.ts) as the bundle has them: an error the bundle throws is an object
 * of the bundle's classes, which the entry point's `instanceof` does not recognise, so it is
 * reported by the bundle's own `reportFailure`. (Declared here, not imported from
 * code_cache.ts: even a type import would add that module to the graph Deno reads at start.)
 */
export interface BundledCommand extends OutputChecks {
  run(args: Parsed, io: Io): number | Promise<number>;
  UsageError: new (...a: never[]) => Error & { code: string };
  reportFailure(name: string, e: unknown, io: Io): number;
}

/** A command loaded from the code cache, and what to do once it ran. */
export interface CachedCommand {
  /** The command's name (its module's, `check` for `.../commands/check.ts`). */
  name: string;
  module: BundledCommand;
  /** Write the code cache if this run should (see cli/code_cache.ts); never throws. */
  finish(): Promise<void>;
}

/** The command module `url` from the CLI's code cache, if it has it. */
async function loadCached(url: string, io: Io): Promise<CachedCommand | undefined> {
  const cache = await import(CODE_CACHE_URL) as {
    loadCached(
      url: string,
      opts: { warn: (s: string) => void },
    ): Promise<CachedCommand | undefined>;
  };
  return cache.loadCached(url, { warn: io.err });
}

/**
 * Run a command from its bundle (exported for its tests). Its errors are objects of the bundle's classes: a usage error
 * becomes the entry point's `UsageError` again (main prints the command's usage line under it),
 * and any other failure is reported by the bundle's `reportFailure`, as main would report it.
 */
export async function runCached(
  cached: CachedCommand,
  options: Record<string, OptSpec>,
  args: Parsed,
  io: Io,
): Promise<number> {
  const m = cached.module;
  try {
    checkOutputs(options, args, m);
    return await m.run(args, io);
  } catch (e) {
    if (e instanceof m.UsageError) throw new UsageError(e.code as Code, e.message);
    return m.reportFailure(cached.name, e, io);
  } finally {
    await cached.finish();
  }
}

/** What checkOutputs needs of runtime/fs.ts. */
interface OutputChecks {
  checkOutputFile(path: string, what?: string): void;
  checkOutputDir(path: string, what?: string): void;
}

/**
 * Every output option given (`output: "file" | "dir"` in the option table)
 * checked before the command does any work: a path that is a special file, a
 * folder where a file goes (or a file where a folder goes), a missing or
 * read-only folder fails now (DLM0409), not after compiling or training.
 */
export function checkOutputs(
  options: Record<string, OptSpec>,
  args: Parsed,
  fs: OutputChecks,
): void {
  for (const [name, spec] of Object.entries(options)) {
    const path = args.opts[name];
    if (!spec.output || typeof path !== "string") continue;
    const flag = spec.short ? `-${spec.short}` : `--${name}`;
    if (spec.output === "dir") fs.checkOutputDir(path, flag);
    else fs.checkOutputFile(path, flag);
  }
}

/** The option every command takes. */
export const HELP_OPTION: OptSpec = { kind: "bool", short: "h", help: "show this help" };

/** A command's options with `--help` added, as parsed and as listed. */
export function withHelp(options: Record<string, OptSpec>): Record<string, OptSpec> {
  return { ...options, help: HELP_OPTION };
}

/** `dlm <name> --help`. */
export function commandHelp(name: string, cmd: Omit<Command, "run">): string {
  return `usage: dlm ${name} ${cmd.usage}\n\n${cmd.summary}\n\noptions:\n${
    formatOptions(withHelp(cmd.options))
  }`;
}

/** A usage error found while parsing the command line: the message, the usage and the options. */
export function usageErrorText(name: string, cmd: Omit<Command, "run">, e: UsageError): string {
  return `error ${e.code}: ${e.message}\nusage: dlm ${name} ${cmd.usage}\n${
    formatOptions(withHelp(cmd.options))
  }`;
}

// ---------------------------------------------------------------- shared option groups

/** Seeds are 32-bit: the generators take `seed >>> 0` (compiler/ir/rng.ts). */
export const SEED_RANGE: NumberRange = { int: true, min: 0, max: 2 ** 32 - 1 };

/** `--opset N`: the opsets the compiler emits (compiler/ops/mod.ts SUPPORTED_OPSETS; a test keeps them equal). */
export const OPSET_RANGE: NumberRange = { int: true, min: 17, max: 21 };

/** Which model of a file to build, and how. */
export const MODEL: Record<string, OptSpec> = {
  model: {
    kind: "string",
    arg: "NAME",
    help: "the model to build (default: the first in the file)",
  },
  set: {
    kind: "multi",
    arg: "KEY=VALUE",
    help: "override a model parameter, e.g. --set classes=100 (repeatable)",
  },
  seed: {
    kind: "number",
    arg: "S",
    range: SEED_RANGE,
    help: "seed for weight initialisation and random inputs (default 0)",
  },
  mode: {
    kind: "string",
    arg: "eval|train",
    help: "build the eval graph (default) or the train-mode forward graph",
  },
  target: {
    kind: "string",
    arg: "onnx|ort",
    help:
      "standard ONNX ops only (default), or onnxruntime's fused contrib ops (Gelu, SkipLayerNormalization, MultiHeadAttention)",
  },
  adapters: {
    kind: "string",
    arg: "unmerged|merged|inputs",
    help:
      "a fine-tuned model's LoRA/IA3 updates: beside the base weights (default), folded into them, or as graph inputs swappable at run time",
  },
};

/** Weights loaded by name. */
export const WEIGHTS: Record<string, OptSpec> = {
  weights: {
    kind: "multi",
    arg: "W.safetensors|W.onnx",
    help:
      "load weights by dlm parameter name from safetensors or an ONNX model's initializers (repeatable: later files override earlier ones)",
  },
  "weights-map": {
    kind: "string",
    arg: "MAP.json",
    help: "regex renames from another framework's names",
  },
};

/** A model's inputs: from files, else random. */
/** The memory a run may plan to use (run, diff, train; runtime/memory.ts). */
export const MEMORY: Record<string, OptSpec> = {
  "memory-budget": {
    kind: "string",
    arg: "SIZE",
    help:
      "refuse a run whose estimated memory exceeds SIZE (16G, 512M; default $DLM_MEMORY_BUDGET, else 75% of the machine's memory)",
  },
};

export const INPUTS: Record<string, OptSpec> = {
  input: {
    kind: "multi",
    arg: "NAME=PATH.npy",
    help: "an input from a .npy file (repeatable); others are random",
  },
  dim: {
    kind: "multi",
    arg: "SYM=N",
    help: "size of a symbolic dim for random inputs, e.g. --dim N=4 (default 1)",
  },
  ...MEMORY,
};

/** How onnxruntime sessions are created (run and train). */
export const SESSION: Record<string, OptSpec> = {
  optimize: {
    kind: "string",
    arg: "disabled|basic|extended|all",
    help:
      "onnxruntime's graph optimisation level (default: all for a model, extended for a training step of up to 2,500 nodes, disabled above)",
  },
  "cache-dir": {
    kind: "string",
    arg: "DIR",
    help:
      "the cache folder of optimised models and compiled training steps (default $DLM_CACHE_DIR, else $XDG_CACHE_HOME/dlm or ~/.cache/dlm)",
  },
  "no-cache": {
    kind: "bool",
    help:
      "neither use nor fill the caches of optimised models, compiled training steps and the CLI's code ($DLM_CACHE_DIR, else $XDG_CACHE_HOME/dlm or ~/.cache/dlm)",
  },
};

// ---------------------------------------------------------------- shared checks

/** The one positional argument (a file). */
export function one(args: Parsed, what: string): string {
  if (args.positional.length !== 1) {
    throw new UsageError(...diag("DLM0505", what, args.positional.length));
  }
  return args.positional[0];
}

/** `--mode eval|train` (default eval). */
export function modeOf(args: Parsed): "eval" | "train" {
  const mode = (args.opts.mode as string | undefined) ?? "eval";
  if (mode !== "eval" && mode !== "train") {
    throw new UsageError(...diag("DLM0515", "--mode", "eval or train", `'${mode}'`));
  }
  return mode;
}

/** `--backend`: onnxruntime-node (default), onnxruntime-web, or (where allowed) the reference interpreter. */
export function backendOf(args: Parsed, allowReference: boolean): "node" | "web" | "reference" {
  const b = (args.opts.backend as string | undefined) ?? "node";
  if (b === "node" || b === "web" || (allowReference && b === "reference")) return b;
  throw new UsageError(
    ...diag("DLM0515", "--backend", `node, web${allowReference ? " or reference" : ""}`, `'${b}'`),
  );
}
