import assert from "node:assert/strict";
import { DlmError } from "../../compiler/diagnostics.ts";
import { toNumbers } from "../../compiler/ir/tensor.ts";
import { BpeTokenizer, trainBpe, WordCounts } from "../text/bpe.ts";
import { writeTokenizerJson } from "../text/tokenizer_json.ts";
import { loadDataset, parseDataSpecs } from "./load.ts";

const TEXT = "the cat sat on the mat. the cat ate the rat. ".repeat(20);

function withFiles(fn: (dir: string, tok: BpeTokenizer) => void): () => void {
  return () => {
    const dir = Deno.makeTempDirSync({ prefix: "dlm_text_data_" });
    try {
      const w = new WordCounts();
      w.add(TEXT);
      const model = trainBpe(w, { vocabSize: 280 });
      Deno.writeTextFileSync(`${dir}/tok.json`, writeTokenizerJson(model));
      Deno.writeTextFileSync(`${dir}/corpus.txt`, TEXT);
      fn(dir, new BpeTokenizer(model));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof DlmError) return `${e.diagnostics[0].code}: ${e.diagnostics[0].message}`;
    throw e;
  }
  return "no error";
};

Deno.test(
  "text:PATH:T windows of token ids, and :next the same windows one token on",
  withFiles((dir, tok) => {
    const specs = parseDataSpecs([
      `ids=text:${dir}/corpus.txt:8`,
      `target=text:${dir}/corpus.txt:8:next`,
    ]);
    assert.deepEqual(specs[1].text, { window: 8, next: true });
    const d = loadDataset(specs, { tokenizer: `${dir}/tok.json` });
    const all = tok.encode(TEXT);
    const w = Math.floor((all.length - 1) / 8);
    assert.deepEqual(d.arrays.ids.shape, [w, 8]);
    assert.equal(d.arrays.ids.dtype, "i64");
    assert.deepEqual(d.arrays.target.shape, [w, 8]);
    const ids = toNumbers(d.arrays.ids), target = toNumbers(d.arrays.target);
    assert.deepEqual(ids, all.slice(0, w * 8));
    assert.deepEqual(target, all.slice(1, w * 8 + 1));
    // Rows move together when the set is split or shuffled: row r of target follows row r of ids.
    const { train } = d.split(0.25, { seed: 3 });
    const a = toNumbers(train.arrays.ids), b = toNumbers(train.arrays.target);
    for (let r = 0; r < train.arrays.ids.shape[0]; r++) {
      const row = a.slice(r * 8, r * 8 + 8);
      const start = all.findIndex((_, i) => i % 8 === 0 && row.every((x, k) => all[i + k] === x));
      assert.deepEqual(b.slice(r * 8, r * 8 + 8), all.slice(start + 1, start + 9));
    }
  }),
);

Deno.test(
  "text data mistakes: no tokenizer, a bad window, a short text, a file not UTF-8",
  withFiles((dir) => {
    const tok = { tokenizer: `${dir}/tok.json` };
    assert.match(
      code(() => loadDataset(parseDataSpecs([`ids=text:${dir}/corpus.txt:8`]))),
      /DLM0507: --data ids=text:.*corpus.txt:... needs --tokenizer T.json/,
    );
    assert.match(
      code(() => parseDataSpecs([`ids=text:${dir}/corpus.txt`])),
      /DLM0501.*text:PATH:T/,
    );
    assert.match(code(() => parseDataSpecs([`ids=text:${dir}/corpus.txt:0`])), /DLM0501/);
    Deno.writeTextFileSync(`${dir}/short.txt`, "the cat");
    assert.match(
      code(() => loadDataset(parseDataSpecs([`ids=text:${dir}/short.txt:64`]), tok)),
      /DLM0423: text data '.*short.txt' needs at least 65 tokens/,
    );
    Deno.writeFileSync(`${dir}/latin1.txt`, Uint8Array.of(0x63, 0x61, 0x66, 0xe9));
    assert.match(
      code(() => loadDataset(parseDataSpecs([`ids=text:${dir}/latin1.txt:2`]), tok)),
      /DLM0472: text file '.*latin1.txt' is not UTF-8 text: invalid bytes at offset 3/,
    );
    assert.match(
      code(() => loadDataset(parseDataSpecs([`ids=text:${dir}/none.txt:2`]), tok)),
      /DLM0401/,
    );
  }),
);
