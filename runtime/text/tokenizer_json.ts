/**
 * Hugging Face's `tokenizer.json` for byte-level BPE (GPT-2's, RoBERTa's
 * and every tokenizer `tokenizers.ByteLevelBPETokenizer` trains): read and
 * written, so a tokenizer trained here loads in `tokenizers` and
 * transformers, and GPT-2's own file loads here.
 *
 * What is read: `model` of type "BPE" (its `vocab`, token -> id, and
 * `merges`, either "a b" strings or ["a", "b"] pairs, the format of
 * tokenizers 0.20 and later), a `ByteLevel` pre-tokenizer (alone or in a
 * `Sequence`; `add_prefix_space` honoured, `use_regex` must be true) and
 * `added_tokens` marked special. A normalizer, dropout, a continuing-subword
 * prefix or an end-of-word suffix are refused with the reason, rather than
 * encoded differently from the original.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import { BpeError, type BpeModel, BpeTokenizer } from "./bpe.ts";
import { readUtf8File } from "./utf8.ts";

/** Parse a tokenizer.json's text into a model, or throw BpeError saying what is not supported. */
export function readTokenizerJson(text: string): BpeModel {
  let j: any;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new BpeError(`not JSON: ${(e as Error).message}`);
  }
  if (typeof j !== "object" || j === null) throw new BpeError("not a tokenizer.json object");
  const m = j.model;
  if (!m || m.type !== "BPE") {
    throw new BpeError(
      `model.type is ${JSON.stringify(m?.type)}; dlm reads byte-level BPE ("BPE")`,
    );
  }
  if (m.dropout) {
    throw new BpeError(`BPE dropout ${m.dropout} is not supported (encoding is exact)`);
  }
  if (m.continuing_subword_prefix || m.end_of_word_suffix) {
    throw new BpeError("a continuing-subword prefix or end-of-word suffix is not byte-level BPE");
  }
  if (j.normalizer) {
    throw new BpeError(`normalizer ${JSON.stringify(j.normalizer.type)} is not supported`);
  }
  const pre = byteLevel(j.pre_tokenizer);
  if (!pre) {
    throw new BpeError(
      `pre_tokenizer ${JSON.stringify(j.pre_tokenizer?.type ?? null)} is not ByteLevel`,
    );
  }
  if (pre.use_regex === false) {
    throw new BpeError("ByteLevel with use_regex false is not supported");
  }
  if (typeof m.vocab !== "object" || m.vocab === null) throw new BpeError("model.vocab is missing");
  const tokens: string[] = [];
  for (const [t, id] of Object.entries(m.vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0) {
      throw new BpeError(`vocab entry '${t}' has id ${JSON.stringify(id)}`);
    }
    if (tokens[id as number] !== undefined) {
      throw new BpeError(`ids ${id} is given to '${tokens[id as number]}' and '${t}'`);
    }
    tokens[id as number] = t;
  }
  const special: string[] = [];
  for (const a of j.added_tokens ?? []) {
    if (typeof a?.content !== "string" || !Number.isInteger(a?.id)) {
      throw new BpeError("an added_tokens entry lacks content or id");
    }
    if (tokens[a.id] !== undefined && tokens[a.id] !== a.content) {
      throw new BpeError(`added token '${a.content}' has id ${a.id}, which is '${tokens[a.id]}'`);
    }
    tokens[a.id] = a.content;
    if (a.special !== false) special.push(a.content);
  }
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === undefined) throw new BpeError(`no token has id ${i} (ids must be 0..n-1)`);
  }
  if (!Array.isArray(m.merges)) throw new BpeError("model.merges is missing");
  const merges: [string, string][] = m.merges.map((x: unknown, k: number) => {
    if (typeof x === "string") {
      const parts = x.split(" ");
      if (parts.length !== 2) throw new BpeError(`merge ${k + 1} '${x}' is not two tokens`);
      return [parts[0], parts[1]];
    }
    if (Array.isArray(x) && x.length === 2 && x.every((p) => typeof p === "string")) {
      return [x[0], x[1]];
    }
    throw new BpeError(`merge ${k + 1} is ${JSON.stringify(x)}`);
  });
  return { tokens, merges, special, addPrefixSpace: !!pre.add_prefix_space };
}

function byteLevel(p: any): any {
  if (!p) return null;
  if (p.type === "ByteLevel") return p;
  if (p.type === "Sequence" && Array.isArray(p.pretokenizers) && p.pretokenizers.length === 1) {
    return byteLevel(p.pretokenizers[0]);
  }
  return null;
}

/** A model as a tokenizer.json text (the layout tokenizers' ByteLevelBPETokenizer saves). */
export function writeTokenizerJson(model: BpeModel): string {
  const byteLevelOpts = {
    add_prefix_space: !!model.addPrefixSpace,
    trim_offsets: true,
    use_regex: true,
  };
  // Special tokens are in the vocabulary too, as tokenizers' trainers write them.
  const vocab: Record<string, number> = {};
  model.tokens.forEach((t, id) => vocab[t] = id);
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: model.special.map((s) => ({
      id: model.tokens.indexOf(s),
      content: s,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", ...byteLevelOpts },
    post_processor: { type: "ByteLevel", ...byteLevelOpts },
    decoder: { type: "ByteLevel", ...byteLevelOpts },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: model.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  // One merge or vocabulary entry per line keeps the file diffable, as tokenizers writes it.
  return JSON.stringify(json, null, 2) + "\n";
}

/** The model of the tokenizer.json at `path`; one dlm cannot use is DLM0470 naming the file. */
export function readTokenizerFile(path: string): BpeModel {
  return orDiagnostic(path, () => readTokenizerJson(readUtf8File(path, "tokenizer")));
}

/** The tokenizer of the tokenizer.json at `path` (DLM0470 when it cannot be used). */
export function openTokenizer(path: string): BpeTokenizer {
  return orDiagnostic(path, () => new BpeTokenizer(readTokenizerFile(path)));
}

function orDiagnostic<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof BpeError) fail(...diag("DLM0470", path, e.message));
    throw e;
  }
}
