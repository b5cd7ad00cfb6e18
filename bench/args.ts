/** Command-line options of `deno task bench`. */

/** Every option, with its default filled in. */
export interface BenchArgs {
  /** Timed runs of each compile benchmark (after one warm-up). */
  runs: number;
  /** Timed onnxruntime runs (after 3 warm-ups); at least 20 as the report promises. */
  ortRuns: number;
  /** Timed reference-interpreter runs of ResNet-18 (LeNet-5 gets 4x as many). */
  refRuns: number;
  /** torch.onnx export of ResNet-50 to compare with, if the file exists. */
  torchOnnx: string;
  /** Where the JSON results go. */
  out: string;
  /** Only the examples whose file name contains this text. */
  only?: string;
  help: boolean;
}

export const DEFAULT_TORCH_ONNX = "/tmp/dlm-bench/torch_resnet50.onnx";

export const USAGE = `Usage: deno task bench [options]

  --runs N          timed runs per compile benchmark, after a warm-up (default 5)
  --ort-runs N      timed onnxruntime-node runs, after 3 warm-ups (default 30, at least 20)
  --ref-runs N      timed reference-interpreter runs of ResNet-18 (default 5)
  --torch-onnx PATH torchvision ResNet-50 exported by bench/torch_export.py
                    (default ${DEFAULT_TORCH_ONNX}; skipped when missing)
  --out PATH        results file (default bench/results.json)
  --only TEXT       compile benchmarks of the examples whose file name contains TEXT
  --help            this text`;

/**
 * Parse `--name value` / `--name=value` options. Unknown options and bad
 * numbers raise an Error whose message is meant for the user.
 */
export function parseBenchArgs(argv: readonly string[], defaultOut: string): BenchArgs {
  const a: BenchArgs = {
    runs: 5,
    ortRuns: 30,
    refRuns: 5,
    torchOnnx: DEFAULT_TORCH_ONNX,
    out: defaultOut,
    help: false,
  };
  const int = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      throw new Error(`Option ${name} expects an integer >= ${min}, got '${v}'`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      a.help = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const known = ["--runs", "--ort-runs", "--ref-runs", "--torch-onnx", "--out", "--only"];
    if (!known.includes(name)) {
      throw new Error(`Unknown option '${arg}'; expected one of ${known.join(", ")}`);
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    else throw new Error(`Option ${name} needs a value`);
    if (name === "--runs") a.runs = int(name, value, 1);
    else if (name === "--ort-runs") a.ortRuns = int(name, value, 20);
    else if (name === "--ref-runs") a.refRuns = int(name, value, 1);
    else if (name === "--torch-onnx") a.torchOnnx = value;
    else if (name === "--out") a.out = value;
    else a.only = value;
  }
  return a;
}
