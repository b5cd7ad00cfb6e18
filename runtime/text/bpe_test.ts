import assert from "node:assert/strict";
import { Tiktoken } from "js-tiktoken/lite";
import gpt2Ranks from "js-tiktoken/ranks/gpt2";
import { Tokenizer } from "@huggingface/tokenizers";
import { mulberry32 } from "../../compiler/ir/rng.ts";
import { BpeError, BpeTokenizer, BYTE_CHAR, toByteChars, trainBpe, WordCounts } from "./bpe.ts";
import { readTokenizerJson, writeTokenizerJson } from "./tokenizer_json.ts";
import { gpt2Model } from "./testing.ts";

const GPT2 = gpt2Model();
const ours = new BpeTokenizer(GPT2);
const tiktoken = new Tiktoken(gpt2Ranks);

/** Text that exercises the pre-tokenizer: Unicode, whitespace runs, numbers, contractions. */
const HAND = [
  "Hello world, it's 2026!  Don't stop; we'll see what I'VE done (they'd say).",
  "Whitespace:\tTabs\t\tand  two spaces,   three,\n\nblank lines,\r\nCRLF, trailing   ",
  "   leading spaces, \u00a0NBSP, ideographic\u3000space, a\u2003em space and \u200bzero width.",
  "Numbers: 0 1 12 123 1234 12345 123456 3.14159 -2.5e-10 1,000,000 ¹²³ ٣٤٥ ⅷ 0x1F",
  "Accents: café naïve Zürich façade. Greek: αβγ ΔΕΖ. Cyrillic: Привет мир.",
  "CJK: 深度学习模型 日本語のテキスト 한국어 문장. Arabic: مرحبا بالعالم. Hebrew: שלום",
  "Emoji: 🙂 👍🏽 👨‍👩‍👧‍👦 🇫🇷 and combining e\u0301 a\u0308 ﬁ ligature.",
  "Code: for (let i = 0; i < n; i++) { x += a[i] * b[i]; } // comment\n\tret = f(x)->y;",
  "Punctuation runs: ... !!! ??? --- ___ *** ''' \"\"\" ``` ~~~ @@@ ### $$$ %%% ^^^ &&&",
  "Apostrophes: 's 't 're 've 'm 'll 'd 'S 'T ’s (curly) rock'n'roll o'clock '' '",
  "<|endoftext|> is special here, and <|endoftext|><|endoftext|> twice.",
];

function corpus(): string {
  const parts = [...HAND];
  for (const f of ["README.md", "ARCHITECTURE.md", "spec/language.md", "spec/builtins.md"]) {
    parts.push(Deno.readTextFileSync(new URL(`../../${f}`, import.meta.url)));
  }
  return parts.join("\n");
}

/** Random strings over a pool of awkward characters. */
function randomTexts(n: number, seed: number): string[] {
  const rnd = mulberry32(seed);
  const pool = [
    ..." \t\n\r\u00a0\u3000",
    ..."abcXYZ019'.,;!?-_()[]{}<>/\\\"",
    ..."éüßçøΩЖж深度학🙂👍\u0301\u200d\ufeff\u2028",
    "'s",
    "'ll",
    "<|endoftext|>",
    "  ",
    "\n\n",
  ];
  return Array.from({ length: n }, () => {
    let s = "";
    const len = Math.floor(rnd() * 40);
    for (let i = 0; i < len; i++) s += pool[Math.floor(rnd() * pool.length)];
    return s;
  });
}

Deno.test("byte characters: GPT-2's printable map, one character per byte, 'Ġ' for a space", () => {
  assert.equal(new Set(BYTE_CHAR).size, 256);
  assert.equal(BYTE_CHAR[32], "Ġ");
  assert.equal(BYTE_CHAR[10], "Ċ");
  assert.equal(BYTE_CHAR[65], "A");
  assert.equal(toByteChars("é"), "Ã©");
  assert.equal(GPT2.merges.length, 50000);
  assert.deepEqual(GPT2.merges.slice(0, 3), [["Ġ", "t"], ["Ġ", "a"], ["h", "e"]]);
});

Deno.test("GPT-2's ids: equal to js-tiktoken's on the docs, hand-made and random texts", () => {
  const text = corpus();
  assert.ok(text.length > 100_000, "a large text");
  const want = tiktoken.encode(text, "all");
  const got = ours.encode(text);
  assert.equal(got.length, want.length);
  assert.deepEqual(got, want);
  for (const t of [...HAND, ...randomTexts(2000, 7)]) {
    assert.deepEqual(ours.encode(t), tiktoken.encode(t, "all"), JSON.stringify(t));
  }
});

Deno.test("decode is the inverse of encode; special tokens as text when asked", () => {
  for (const t of [...HAND, ...randomTexts(500, 11), corpus()]) {
    assert.equal(ours.decode(ours.encode(t)), t);
  }
  const asText = ours.encode("<|endoftext|>", { special: false });
  assert.ok(!asText.includes(50256));
  assert.deepEqual(asText, tiktoken.encode("<|endoftext|>", [], []));
  assert.equal(ours.decode(asText), "<|endoftext|>");
  // A split UTF-8 character decodes to U+FFFD, as Hugging Face's decoder does.
  const emoji = ours.encode("🙂");
  assert.ok(emoji.length > 1);
  assert.equal(ours.decode(emoji.slice(0, 1)), "\ufffd");
  assert.throws(() => ours.decode([50257]), BpeError);
});

Deno.test("long runs of one character match tiktoken, and a very long one still encodes", () => {
  // tiktoken's merge loop is quadratic in a pre-token's length; dlm's is a
  // heap (n log n), so the long case is checked by its round trip alone.
  for (const t of ["a".repeat(600), " ".repeat(3000) + "x", "1".repeat(600), "ab".repeat(300)]) {
    assert.deepEqual(ours.encode(t), tiktoken.encode(t, "all"));
  }
  const long = "a".repeat(1_000_000);
  assert.equal(ours.decode(ours.encode(long)), long);
});

Deno.test("tokenizer.json: GPT-2's model round-trips, and Hugging Face's tokenizers.js reads it", () => {
  const text = writeTokenizerJson(GPT2);
  const back = readTokenizerJson(text);
  assert.deepEqual(back.tokens, GPT2.tokens);
  assert.deepEqual(back.merges, GPT2.merges);
  assert.deepEqual(back.special, ["<|endoftext|>"]);
  const hf = new Tokenizer(JSON.parse(text), {});
  for (const t of HAND.slice(0, 9)) {
    assert.deepEqual(hf.encode(t).ids, ours.encode(t), t);
  }
});

Deno.test("tokenizer.json: merges as pairs (tokenizers >= 0.20), add_prefix_space, and refusals", () => {
  const j = JSON.parse(writeTokenizerJson(GPT2));
  j.model.merges = j.model.merges.map((m: string) => m.split(" "));
  j.pre_tokenizer.add_prefix_space = true;
  const m = readTokenizerJson(JSON.stringify(j));
  assert.deepEqual(m.merges, GPT2.merges);
  const t = new BpeTokenizer(m);
  assert.deepEqual(t.encode("Hello"), ours.encode(" Hello"));
  const refuse = (edit: (j: any) => void, re: RegExp) => {
    const k = JSON.parse(writeTokenizerJson({ ...GPT2, merges: GPT2.merges.slice(0, 10) }));
    edit(k);
    assert.throws(() => new BpeTokenizer(readTokenizerJson(JSON.stringify(k))), re);
  };
  refuse((k) => k.model.type = "WordPiece", /model.type is "WordPiece"/);
  refuse((k) => k.pre_tokenizer = { type: "Whitespace" }, /not ByteLevel/);
  refuse((k) => k.normalizer = { type: "NFC" }, /normalizer "NFC"/);
  refuse((k) => k.model.merges.push("Ġ zzzzq"), /uses 'zzzzq', not in the vocabulary/);
  refuse((k) => delete k.model.vocab["Ġ"], /lacks the byte token 'Ġ'|no token has id/);
  assert.throws(() => readTokenizerJson("{"), /not JSON/);
});

Deno.test("training: the most frequent pair first, ties by bytes, special tokens last", () => {
  const w = new WordCounts();
  // One pre-token: pairs aa x4 (a a a b d a a a b a c), ab x2, bd, da, ba, ac x1.
  w.add("aaabdaaabac");
  const m = trainBpe(w, { vocabSize: 256 + 3 + 1, special: ["<|end|>"], minFrequency: 1 });
  assert.deepEqual(m.merges[0], ["a", "a"]);
  // After aa: "aa a b d aa a b a c": (aa, a) and (a, b) twice each; the tie
  // goes to the pair whose first token's bytes come first ("a" < "aa").
  assert.deepEqual(m.merges[1], ["a", "b"]);
  // "aa ab d aa ab a c": (aa, ab) twice.
  assert.deepEqual(m.merges[2], ["aa", "ab"]);
  assert.equal(m.tokens.length, 260);
  assert.equal(m.tokens[259], "<|end|>");
  const t = new BpeTokenizer(m);
  assert.deepEqual(t.encode("aaab<|end|>").map((i) => m.tokens[i]), ["aaab", "<|end|>"]);
  // minFrequency stops before the vocabulary is full.
  const early = trainBpe(w, { vocabSize: 1000, minFrequency: 2 });
  assert.deepEqual(early.merges.map((x) => x.join("+")), ["a+a", "a+b", "aa+ab"]);
  assert.throws(() => trainBpe(w, { vocabSize: 256, special: ["x"] }), BpeError);
});

Deno.test("training on the docs: fewer tokens, exact round trip, and tokenizers.js agrees", () => {
  const text = corpus();
  const w = new WordCounts();
  w.add(text, ["<|endoftext|>"]);
  const m = trainBpe(w, { vocabSize: 1000, special: ["<|endoftext|>"] });
  assert.equal(m.tokens.length, 1000);
  const t = new BpeTokenizer(m);
  const ids = t.encode(text);
  assert.ok(ids.length < new TextEncoder().encode(text).length / 2.5, `${ids.length} tokens`);
  assert.equal(t.decode(ids), text);
  // Training is deterministic.
  assert.deepEqual(trainBpe(w, { vocabSize: 1000, special: ["<|endoftext|>"] }).merges, m.merges);
  // Every merge joins tokens learnt before it.
  const seen = new Set(m.tokens.slice(0, 256));
  for (const [a, b] of m.merges) {
    assert.ok(seen.has(a) && seen.has(b));
    seen.add(a + b);
  }
  const hf = new Tokenizer(JSON.parse(writeTokenizerJson(m)), {});
  for (const s of [...HAND, ...randomTexts(300, 5)]) {
    assert.deepEqual(hf.encode(s).ids, t.encode(s), JSON.stringify(s));
  }
});
