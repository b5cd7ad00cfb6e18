/**
 * LeNet's training step as the playground runs it (web/src/train.ts: lenet_digits.dlm's section,
 * packed, 8 steps a run, batch 16, the digits set), timed outside the page: on onnxruntime-node
 * with 1 and 2 intra-op threads, and on onnxruntime-web's WASM backend inside Deno (the page's
 * runtime without the browser). The page's own figure is what tests/web_train_test.ts prints
 * (`ms a step`, measured the same way: the mean over the runs after the first, of each run's
 * time over its steps, feeds included). Each backend trains `--epochs` epochs (default 2) from
 * the same start; the machine is shared, so the figures are noisy.
 *
 *   deno run -A bench/web_train_step.ts [--epochs E]
 */
import { createSession } from "../runtime/ort/mod.ts";
import { Dataset, loadDigits } from "../runtime/data/mod.ts";
import { exampleFiles } from "../web/build.ts";
import { workspaceReader } from "../web/src/service.ts";
import { prepare, TrainSession } from "../web/src/train.ts";
import type { Runner } from "../runtime/train/runner.ts";

const i = Deno.args.indexOf("--epochs");
const epochs = i >= 0 ? Number(Deno.args[i + 1]) : 2;
const FILE = "lenet_digits.dlm";
const files = exampleFiles();
const read = workspaceReader(files, FILE, files[FILE]);
const digits = loadDigits();

async function time(backend: "node" | "web", threads: number) {
  const prep = prepare(FILE, read, digits, { seed: 0, perRun: 8 });
  const s = new TrainSession(prep, new Dataset(digits), {
    epochs,
    batchSize: prep.settings.batchSize ?? 32,
    seed: 0,
    valSplit: prep.settings.valSplit,
    perRun: 8,
  }, async (m, kind): Promise<Runner> => {
    const x = await createSession(m.bytes, { backend, threads, kind, spin: kind === "step" });
    return { run: (f) => x.run(f), release: () => x.release() };
  });
  const per: number[] = [];
  await s.advance(() => false, (r) => per.push(r.msPerStep));
  await s.release();
  const later = per.slice(1);
  const mean = later.reduce((a, b) => a + b, 0) / later.length;
  const sorted = [...later].sort((a, b) => a - b);
  return {
    mean,
    median: sorted[Math.floor(sorted.length / 2)],
    acc: s.history.at(-1)?.values.val_accuracy ?? NaN,
  };
}

console.log(`LeNet step (batch 16, 8 steps a run), ${epochs} epochs each; machine shared, noisy`);
for (const [backend, threads] of [["node", 1], ["node", 2], ["web", 1]] as const) {
  const r = await time(backend, threads);
  console.log(
    `${backend === "node" ? "onnxruntime-node" : "onnxruntime-web (WASM, in Deno)"} ${threads} ` +
      `thread${threads > 1 ? "s" : ""}: ${r.mean.toFixed(3)} ms a step (mean), ${
        r.median.toFixed(3)
      } (median run); val_accuracy ${r.acc.toFixed(4)}`,
  );
}
