/**
 * Process replay (tinygrad's name for it): compile every model and train
 * section of every file in lang-examples/ through the CLI, and record a
 * SHA-256 of each ONNX file (and of its weights), so that a refactor can
 * show it changed no graph, attribute, name, shape or weight byte.
 *
 *   deno run -A tools/replay.ts --write   # record tools/replay_baseline.json
 *   deno run -A tools/replay.ts           # compare against it; exit 1 on a difference
 *   deno run -A tools/replay.ts --only gpt2,lenet5
 *   deno run -A tools/replay.ts --quick   # skip the full-size models (about 20 s each)
 *
 * It drives `cli/main.ts` as a user does (one process per compile), so it
 * survives any reorganisation behind the command line.
 */
const ROOT = new URL("..", import.meta.url).pathname;
const BASELINE = `${ROOT}tools/replay_baseline.json`;
const EXAMPLES = `${ROOT}lang-examples`;
// Files whose graphs also have an onnxruntime-fused form worth pinning.
const ORT_TARGET = new Set(["bert", "gpt2", "vit", "swin", "transformer", "gpt2_lora"]);
// Full-size models, skipped by --quick.
const LARGE =
  /^(VGG16|AlexNet|GoogLeNet|ResNet50|BertBase|ViTB16|SwinT|TransformerBase|GPT2Small\w*)$/;

interface Job {
  key: string;
  args: string[];
  weights: boolean;
}

function jobsFor(file: string, quick: boolean): Job[] {
  const src = Deno.readTextFileSync(`${EXAMPLES}/${file}`);
  const stem = file.replace(/\.dlm$/, "");
  const models = [...src.matchAll(/^\s*model\s+([A-Za-z_]\w*)/gm)].map((m) => m[1]);
  const trains = [...src.matchAll(/^\s*train\s+([A-Za-z_]\w*)/gm)].map((m) => m[1]);
  const path = `lang-examples/${file}`;
  const jobs: Job[] = [];
  for (const m of models) {
    if (quick && LARGE.test(m)) continue;
    jobs.push({ key: `${stem}:${m}`, args: ["compile", path, "--model", m], weights: true });
    if (ORT_TARGET.has(stem)) {
      jobs.push({
        key: `${stem}:${m}:ort`,
        args: ["compile", path, "--model", m, "--target", "ort"],
        weights: false,
      });
    }
  }
  for (const t of trains) {
    jobs.push({
      key: `${stem}:train ${t}:step`,
      args: ["compile", path, "--model", t, "--train", "--pack-params"],
      weights: true,
    });
    jobs.push({
      key: `${stem}:train ${t}:eval`,
      args: ["compile", path, "--model", t, "--eval"],
      weights: false,
    });
  }
  return jobs;
}

async function sha256(path: string): Promise<string> {
  try {
    const bytes = await Deno.readFile(path);
    const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return [...h.slice(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("");
  } catch {
    return "-";
  }
}

async function run(job: Job, dir: string): Promise<string> {
  const out = `${dir}/out.onnx`;
  const w = `${dir}/w.safetensors`;
  for (const f of [out, `${out}.data`, w]) await Deno.remove(f).catch(() => {});
  const args = ["run", "-A", `${ROOT}cli/main.ts`, ...job.args, "-o", out];
  if (job.weights) args.push("--save-weights", w);
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (r.code !== 0) {
    const msg = new TextDecoder().decode(r.stderr).trim().split("\n")[0];
    return `exit ${r.code}: ${msg}`;
  }
  const parts = [await sha256(out)];
  const data = await sha256(`${out}.data`);
  if (data !== "-") parts.push(`data ${data}`);
  if (job.weights) parts.push(`weights ${await sha256(w)}`);
  return parts.join(" ");
}

async function main(): Promise<number> {
  const write = Deno.args.includes("--write");
  const quick = Deno.args.includes("--quick");
  if (write && quick) {
    console.error("--write records every model: drop --quick");
    return 2;
  }
  const i = Deno.args.indexOf("--only");
  const only = i >= 0 ? new Set(Deno.args[i + 1].split(",")) : undefined;
  const files = [...Deno.readDirSync(EXAMPLES)].filter((e) => e.isFile && e.name.endsWith(".dlm"))
    .map((e) => e.name).sort().filter((f) => !only || only.has(f.replace(/\.dlm$/, "")));
  const dir = await Deno.makeTempDir({ prefix: "dlm_replay" });
  const baseline: Record<string, string> = (() => {
    try {
      return JSON.parse(Deno.readTextFileSync(BASELINE));
    } catch {
      return {};
    }
  })();
  const got: Record<string, string> = {};
  let diffs = 0;
  for (const f of files) {
    for (const job of jobsFor(f, quick)) {
      const t0 = performance.now();
      got[job.key] = await run(job, dir);
      const ms = (performance.now() - t0).toFixed(0);
      const want = baseline[job.key];
      const same = want === got[job.key];
      if (!write && !same) diffs++;
      const mark = write ? "" : same ? "same " : want === undefined ? "NEW  " : "DIFF ";
      console.log(`${mark}${job.key}  ${got[job.key]}  (${ms} ms)`);
      if (!write && !same && want !== undefined) console.log(`     was ${want}`);
    }
  }
  await Deno.remove(dir, { recursive: true });
  if (write) {
    const merged = only ? { ...baseline, ...got } : got;
    const sorted = Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a < b ? -1 : 1));
    Deno.writeTextFileSync(BASELINE, JSON.stringify(sorted, null, 2) + "\n");
    console.log(`wrote ${Object.keys(sorted).length} entries to ${BASELINE}`);
    return 0;
  }
  console.log(diffs ? `${diffs} differ from the baseline` : "every compile matches the baseline");
  return diffs ? 1 : 0;
}

Deno.exit(await main());
