/**
 * `dlm sweep` as a user runs it: a 2x2 family of lang-examples/gpt_factbook.dlm at tiny sizes
 * on a slice of the corpus, its CSV, plot and fitted exponent; token budgets and the compute
 * frontier; and the sweep's bad input.
 */
import assert from "node:assert/strict";
import { findAll, parseXml, textOf } from "../compiler/viz/xml_wellformed.ts";
import { configurations, parseSweepSets } from "../cli/commands/sweep.ts";
import { dlm } from "./cli_testing.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const EXAMPLE = `${ROOT}lang-examples/gpt_factbook.dlm`;
const TINY = ["vocab=320", "positions=16", "heads=2"].flatMap((s) => ["--set", s]);

/** A slice of the corpus and a 320-token tokenizer in a temporary folder; the --data flags. */
async function corpus(dir: string): Promise<string[]> {
  const text = new TextDecoder().decode(
    Deno.readFileSync(`${ROOT}lang-examples/data/factbook.txt`).slice(0, 40_000),
  );
  Deno.writeTextFileSync(`${dir}/c.txt`, text.slice(0, text.lastIndexOf("\n\n")));
  const t = await dlm(
    "tokenizer",
    "train",
    `${dir}/c.txt`,
    "--vocab-size",
    "320",
    "-o",
    `${dir}/t.json`,
  );
  assert.equal(t.code, 0, t.err);
  return [
    "--tokenizer",
    `${dir}/t.json`,
    "--data",
    `ids=text:${dir}/c.txt:16`,
    "--data",
    `target=text:${dir}/c.txt:16:next`,
  ];
}

/** sweep.csv as records. */
function readCsv(path: string): Record<string, string>[] {
  const [head, ...lines] = Deno.readTextFileSync(path).trim().split("\n");
  const cols = head.split(",");
  return lines.map((l) => {
    // Quoted fields (an error message) hold commas.
    const cells = [...l.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)].map((m) =>
      m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1]
    );
    return Object.fromEntries(cols.map((c, i) => [c, cells[i]]));
  });
}

Deno.test("--set lists expand to their product, the first key slowest", () => {
  const sets = parseSweepSets(["layers=1,2", "dim=16,32", "heads=2", "act=gelu,relu"]);
  assert.deepEqual(sets, [["layers", [1, 2]], ["dim", [16, 32]], ["heads", [2]], [
    "act",
    ["gelu", "relu"],
  ]]);
  const cs = configurations(sets);
  assert.equal(cs.length, 8);
  assert.deepEqual(cs[0], { layers: 1, dim: 16, heads: 2, act: "gelu" });
  assert.deepEqual(cs[7], { layers: 2, dim: 32, heads: 2, act: "relu" });
});

Deno.test("dlm sweep trains a 2x2 family of gpt_factbook.dlm and fits an exponent", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_sweep_" });
  try {
    const data = await corpus(dir);
    const r = await dlm(
      "sweep",
      EXAMPLE,
      ...TINY,
      "--set",
      "layers=1,2",
      "--set",
      "dim=16,32",
      ...data,
      "--epochs",
      "1",
      "-o",
      `${dir}/out`,
    );
    assert.equal(r.code, 0, r.err);
    const rows = readCsv(`${dir}/out/sweep.csv`);
    assert.deepEqual(rows.map((x) => [x.layers, x.dim, x.status]), [
      ["1", "16", "ok"],
      ["1", "32", "ok"],
      ["2", "16", "ok"],
      ["2", "32", "ok"],
    ]);
    for (const x of rows) {
      assert.equal(x.vocab, "320");
      // The tied embedding (320 x dim) and the positions (16 x dim) are all the difference.
      assert.equal(Number(x.params) - Number(x.params_non_embedding), (320 + 16) * Number(x.dim));
      assert.equal(Number(x.compute_flops), 6 * Number(x.params_non_embedding) * Number(x.tokens));
      // One epoch of the same split: the same steps and tokens for every configuration.
      assert.equal(x.steps, rows[0].steps);
      assert.equal(Number(x.tokens) % 16, 0);
      assert.ok(Number(x.val_loss) > 0 && Number(x.val_loss) < Math.log(320), x.val_loss);
      assert.ok(Number(x.seconds) > 0);
    }
    // Per layer count, the wider model reaches the lower loss even after one short epoch.
    assert.ok(Number(rows[1].val_loss) < Number(rows[0].val_loss));
    const fit = JSON.parse(Deno.readTextFileSync(`${dir}/out/fit.json`));
    assert.equal(fit.parameters, "non-embedding");
    assert.equal(fit.loss, "val_loss");
    assert.equal(fit.fit.n, 4);
    assert.ok(fit.fit.alpha > 0 && Number.isFinite(fit.fit.a), JSON.stringify(fit.fit));
    assert.match(r.out, new RegExp(`N\\^-${fit.fit.alpha.toFixed(4)}`));
    const svg = parseXml(Deno.readTextFileSync(`${dir}/out/sweep.svg`));
    assert.equal(findAll(svg, "circle").length, 4 + 1);
    assert.equal(findAll(svg, "polyline").length, 1);
    assert.ok(findAll(svg, "text").map(textOf).includes("non-embedding parameters N (log)"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("dlm sweep --tokens gives every run the same budget and marks the compute frontier", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_sweep_" });
  try {
    const data = await corpus(dir);
    const r = await dlm(
      "sweep",
      EXAMPLE,
      ...TINY,
      "--set",
      "layers=1",
      "--set",
      "dim=8,16,32",
      ...data,
      "--tokens",
      "2048,8192",
      "--batch-size",
      "16",
      "-o",
      `${dir}/out`,
    );
    assert.equal(r.code, 0, r.err);
    const rows = readCsv(`${dir}/out/sweep.csv`);
    assert.equal(rows.length, 6);
    // 16 samples of 16 tokens a step: 8 and 32 steps, whatever the model.
    assert.deepEqual(rows.map((x) => [x.token_budget, x.steps, x.tokens]), [
      ...Array(3).fill(["2048", "8", "2048"]),
      ...Array(3).fill(["8192", "32", "8192"]),
    ]);
    const front = rows.filter((x) => x.frontier === "yes");
    assert.ok(front.length >= 1);
    // No run of less or equal compute has a lower loss than a frontier run.
    for (const f of front) {
      for (const x of rows) {
        if (x !== f && Number(x.compute_flops) <= Number(f.compute_flops)) {
          assert.ok(Number(x.val_loss) >= Number(f.val_loss), JSON.stringify([x, f]));
        }
      }
    }
    const fit = JSON.parse(Deno.readTextFileSync(`${dir}/out/fit.json`));
    assert.equal(fit.fit.token_budget, 8192);
    assert.equal(fit.frontier.length, front.length);
    const svg = parseXml(Deno.readTextFileSync(`${dir}/out/sweep.svg`));
    const texts = findAll(svg, "text").map(textOf);
    assert.ok(texts.includes("training compute, FLOPs (log)"));
    assert.ok(texts.includes("2,048 tokens") && texts.includes("8,192 tokens"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("dlm sweep: lists that do not parse, a key twice, nothing to sweep are usage errors", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_sweep_" });
  try {
    const base = ["sweep", EXAMPLE, "--data", "ids=x.npy", "-o", `${dir}/out`];
    const cases: [string[], RegExp][] = [
      [["--set", "layers=1,,2"], /DLM0540: --set 'layers=1,,2': a value is empty/],
      [["--set", "layers="], /DLM0540: --set 'layers=': a value is empty/],
      [["--set", "=1,2"], /DLM0540: --set '=1,2': it needs KEY=V1,V2/],
      [["--set", "layers=1,2,1"], /DLM0540: .*the value 1 is listed twice/],
      [["--set", "layers=1,2", "--set", "layers=4"], /DLM0541: --set layers is given twice/],
      [["--set", "layers=2", "--set", "dim=64"], /DLM0542: .*got layers=2 dim=64/],
      [["--set", "layers=1,2", "--epochs", "1", "--tokens", "10"], /DLM0508/],
      [["--set", "layers=1,2", "--tokens", "1e5,x"], /DLM0501: --tokens needs positive/],
    ];
    for (const [extra, want] of cases) {
      const r = await dlm(...base, ...extra);
      assert.equal(r.code, 2, `${extra.join(" ")}: ${r.err}`);
      assert.match(r.err, want);
    }
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("dlm sweep stops on a parameter the model lacks, and records a configuration that fails to compile or to train", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_sweep_" });
  try {
    const data = await corpus(dir);
    const lacks = await dlm(
      "sweep",
      EXAMPLE,
      ...TINY,
      "--set",
      "depth=1,2",
      ...data,
      "-o",
      `${dir}/a`,
    );
    assert.equal(lacks.code, 1);
    assert.match(lacks.err, /DLM0205: Model GPTFactbook has no parameter 'depth'/);
    assert.ok(!lacks.err.includes("non-embedding parameters"), "nothing trained");
    // With heads=2, dim=15 is not divisible: that configuration fails, dim=16 trains.
    const r = await dlm(
      "sweep",
      EXAMPLE,
      ...TINY,
      "--set",
      "layers=1",
      "--set",
      "dim=15,16",
      ...data,
      "--tokens",
      "1024",
      "-o",
      `${dir}/b`,
    );
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /DLM0306: dim must be divisible by heads/);
    assert.match(r.err, /DLM0543: 1 of 2 configurations failed; their errors are in .*sweep\.csv/);
    // One finished run cannot determine a law: said, and the files are still written.
    assert.match(r.err, /DLM0544: Cannot fit L\(N\) to 1 run/);
    const rows = readCsv(`${dir}/b/sweep.csv`);
    assert.deepEqual(rows.map((x) => [x.dim, x.status]), [["15", "failed"], ["16", "ok"]]);
    assert.match(rows[0].error, /^DLM0306: dim must be divisible by heads \(.*transformer\.dlm:/);
    assert.equal(JSON.parse(Deno.readTextFileSync(`${dir}/b/fit.json`)).fit, null);
    parseXml(Deno.readTextFileSync(`${dir}/b/sweep.svg`));
    // A run that fails in training (here: over its memory budget) is recorded the same way.
    const m = await dlm(
      "sweep",
      EXAMPLE,
      ...TINY,
      "--set",
      "layers=1",
      "--set",
      "dim=16,32",
      ...data,
      "--tokens",
      "1024",
      "--memory-budget",
      "64K",
      "-o",
      `${dir}/c`,
    );
    assert.equal(m.code, 1, m.err);
    assert.match(m.err, /DLM0543: 2 of 2 configurations failed/);
    const failed = readCsv(`${dir}/c/sweep.csv`);
    assert.deepEqual(failed.map((x) => x.status), ["failed", "failed"]);
    for (const x of failed) {
      assert.match(x.error, /^DLM0353: The step model .* more than the budget of 64.0 KB/);
      assert.ok(Number(x.params_non_embedding) > 0, "the counts of a compiled configuration stay");
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
