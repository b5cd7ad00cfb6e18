/**
 * The baseline of lang-examples/deep_clustering_digits.dlm: k-means on the digits' raw pixels
 * (runtime/eval/kmeans.ts), on the training rows `dlm train` keeps at the same seed (the fifth
 * it holds out for validation left out), scored as the stage scores its clusterings: normalised
 * mutual information and Hungarian-matched accuracy against the labels.
 *
 *   deno run -A tools/kmeans_raw_digits.ts [--seeds 0,1,2] [--k 10] [--iterations 50]
 *
 * Prints a Markdown table, one row per seed.
 */
import { parseArgs } from "node:util";
import { loadDataset, parseDataSpecs } from "../runtime/data/mod.ts";
import { kmeans } from "../runtime/eval/kmeans.ts";
import { clusteringAccuracy, normalizedMutualInfo } from "../runtime/eval/clustering.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seeds: { type: "string", default: "0,1,2" },
    k: { type: "string", default: "10" },
    iterations: { type: "string", default: "50" },
  },
});
const data = loadDataset(parseDataSpecs(["digits"]));
const k = Number(values.k), maxIter = Number(values.iterations);
console.log("| seed | NMI | accuracy | seconds |\n| ---- | --- | -------- | ------- |");
for (const seed of values.seeds.split(",").map(Number)) {
  const { train } = data.split(0.2, { seed });
  const x = train.arrays.image.data as Float32Array;
  const y = Array.from(train.arrays.label.data as BigInt64Array, Number);
  const t0 = performance.now();
  // The stage's seed for its first clustering (runtime/train/stages.ts: seed * 100003 + epoch).
  const r = kmeans(x, train.size, x.length / train.size, k, { seed: seed * 100003, maxIter });
  const s = (performance.now() - t0) / 1000;
  console.log(
    `| ${seed} | ${normalizedMutualInfo(y, r.labels).toFixed(3)} | ${
      clusteringAccuracy(y, r.labels).toFixed(3)
    } | ${s.toFixed(2)} |`,
  );
}
