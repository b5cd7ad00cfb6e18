/**
 * `deno task bench:tokenizer [FILES...]`: byte-level BPE speed.
 *
 * - Training: a 4,096-token vocabulary learnt from about 10 MB of text
 *   (the files given, or by default the Python sources and docstrings of
 *   Debian's torch package when it is installed, else the repository's own
 *   docs repeated), reported in MB/s and in the corpus's tokens per second
 *   (the trained tokenizer's count of the corpus over the training time).
 * - Encoding: GPT-2's tokenizer on the same text, dlm's encoder against
 *   js-tiktoken's, interleaved, in MB/s (each run with a fresh cache, so
 *   every distinct pre-token is merged once).
 */
import { Tiktoken } from "js-tiktoken/lite";
import gpt2Ranks from "js-tiktoken/ranks/gpt2";
import { BpeTokenizer, trainBpe, WordCounts } from "../runtime/text/bpe.ts";
import { gpt2Model } from "../runtime/text/testing.ts";
import { formatMachineFacts, machineFacts } from "./machine.ts";

const TARGET = 10_000_000;

function* walk(dir: string): Generator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name));
  } catch {
    return;
  }
  for (const e of entries) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(p);
    else if (e.isFile && p.endsWith(".py")) yield p;
  }
}

function corpus(files: string[]): { text: string; from: string } {
  const parts: string[] = [];
  let n = 0;
  const take = (t: string) => {
    parts.push(t);
    n += t.length;
  };
  if (files.length) {
    while (n < TARGET) for (const f of files) take(Deno.readTextFileSync(f));
    return { text: parts.join("\n").slice(0, TARGET), from: files.join(", ") };
  }
  for (const f of walk("/usr/lib/python3/dist-packages/torch")) {
    take(Deno.readTextFileSync(f));
    if (n >= TARGET) return { text: parts.join("\n").slice(0, TARGET), from: "torch's sources" };
  }
  const docs = ["README.md", "ARCHITECTURE.md", "spec/language.md", "spec/builtins.md"]
    .map((f) => Deno.readTextFileSync(new URL(`../${f}`, import.meta.url)));
  while (n < TARGET) for (const d of docs) take(d);
  return { text: parts.join("\n").slice(0, TARGET), from: "the repository's docs, repeated" };
}

const { text, from } = corpus(Deno.args);
const mb = new TextEncoder().encode(text).length / 1e6;
console.log(formatMachineFacts(machineFacts()));
console.log(`corpus: ${mb.toFixed(2)} MB from ${from}`);

for (let round = 0; round < 3; round++) {
  const t0 = performance.now();
  const words = new WordCounts();
  words.add(text);
  const t1 = performance.now();
  const model = trainBpe(words, { vocabSize: 4096, special: ["<|endoftext|>"] });
  const t2 = performance.now();
  const tokens = new BpeTokenizer(model).encode(text).length;
  const s = (t2 - t0) / 1000;
  console.log(
    `train 4k: ${s.toFixed(2)} s (counting ${((t1 - t0) / 1000).toFixed(2)} s, ` +
      `${words.counts.size} pre-tokens, ${model.merges.length} merges): ` +
      `${(mb / s).toFixed(2)} MB/s, ${(tokens / s / 1e6).toFixed(2)} M corpus tokens/s`,
  );
}

const gpt2 = gpt2Model();
const ref = new Tiktoken(gpt2Ranks);
for (let round = 0; round < 3; round++) {
  const ours = new BpeTokenizer(gpt2); // a fresh word cache
  let t0 = performance.now();
  const a = ours.encode(text);
  const dlm = performance.now() - t0;
  t0 = performance.now();
  const b = ref.encode(text, "all");
  const tk = performance.now() - t0;
  const same = a.length === b.length && a.every((x, i) => x === b[i]);
  console.log(
    `encode GPT-2: dlm ${(mb / (dlm / 1000)).toFixed(2)} MB/s, js-tiktoken ${
      (mb / (tk / 1000)).toFixed(2)
    } MB/s (${a.length} tokens, ${same ? "same ids" : "IDS DIFFER"})`,
  );
}
