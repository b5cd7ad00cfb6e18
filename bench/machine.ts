/**
 * Facts about the machine a benchmark ran on, so that figures from two
 * machines are not compared as if they came from one.
 */

/** What the report says about the machine and the runtimes. */
export interface MachineFacts {
  /** CPU model name from /proc/cpuinfo, or "unknown". */
  cpu: string;
  /** Logical cores the process may use (navigator.hardwareConcurrency). */
  cores: number;
  /** Total memory in GiB from /proc/meminfo, when readable. */
  memoryGiB?: number;
  /**
   * 1, 5 and 15 minute load averages from /proc/loadavg when the bench
   * started: above the core count, other processes share the CPU and the
   * timings are noisy.
   */
  loadAverage?: number[];
  os: string;
  deno: string;
  v8: string;
  typescript: string;
  /** onnxruntime-node version pinned in deno.json. */
  onnxruntimeNode?: string;
}

/**
 * The CPU model of a /proc/cpuinfo text: the first `model name` line (x86),
 * else `Model`, `cpu model` or `Hardware` (ARM, MIPS, ...), else "unknown".
 */
export function parseCpuModel(cpuinfo: string): string {
  for (const key of ["model name", "Model", "cpu model", "Hardware"]) {
    const m = cpuinfo.match(new RegExp(`^${key}\\s*:\\s*(.+)$`, "m"));
    if (m) return m[1].trim().replace(/\s+/g, " ");
  }
  return "unknown";
}

/** Total memory in GiB from a /proc/meminfo text (`MemTotal: N kB`), if present. */
export function parseMemTotalGiB(meminfo: string): number | undefined {
  const m = meminfo.match(/^MemTotal:\s*(\d+)\s*kB/m);
  return m ? Number(m[1]) / 2 ** 20 : undefined;
}

/** The three load averages of a /proc/loadavg text ("0.52 0.58 0.59 1/467 12345"). */
export function parseLoadAverage(loadavg: string): number[] | undefined {
  const xs = loadavg.trim().split(/\s+/).slice(0, 3).map(Number);
  return xs.length === 3 && xs.every(Number.isFinite) ? xs : undefined;
}

/** The version in an npm specifier such as "npm:onnxruntime-node@1.30.0". */
export function npmVersion(specifier: string | undefined): string | undefined {
  return specifier?.match(/@([^@/]+)$/)?.[1];
}

function readText(path: string | URL): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** Gather the facts (Linux files where there are any; other systems get "unknown"). */
export function machineFacts(): MachineFacts {
  const denoJson = readText(new URL("../deno.json", import.meta.url));
  let ort: string | undefined;
  try {
    ort = npmVersion(denoJson ? JSON.parse(denoJson).imports?.["onnxruntime-node"] : undefined);
  } catch {
    ort = undefined;
  }
  const meminfo = readText("/proc/meminfo");
  const loadavg = readText("/proc/loadavg");
  return {
    cpu: parseCpuModel(readText("/proc/cpuinfo") ?? ""),
    cores: navigator.hardwareConcurrency,
    memoryGiB: meminfo ? parseMemTotalGiB(meminfo) : undefined,
    loadAverage: loadavg ? parseLoadAverage(loadavg) : undefined,
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    onnxruntimeNode: ort,
  };
}

/** The facts as "key: value" lines. */
export function formatMachineFacts(f: MachineFacts): string {
  const mem = f.memoryGiB !== undefined ? `, ${f.memoryGiB.toFixed(1)} GiB memory` : "";
  const load = f.loadAverage ? `, load average ${f.loadAverage.join(" ")}` : "";
  return [
    `cpu: ${f.cpu} (${f.cores} logical cores${mem}${load})`,
    `os: ${f.os}`,
    `deno ${f.deno}, v8 ${f.v8}, typescript ${f.typescript}, onnxruntime-node ${
      f.onnxruntimeNode ?? "unknown"
    }`,
  ].join("\n");
}
