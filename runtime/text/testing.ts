/**
 * Test support: GPT-2's tokenizer as a BpeModel, made from the ranks that
 * js-tiktoken ships (OpenAI's `gpt2` encoding), so the tests can compare
 * dlm's encoder with an established one without downloading GPT-2's
 * vocab.json and merges.txt.
 *
 * tiktoken stores each token's bytes and rank; Hugging Face's format stores
 * merges. A token of rank r was made by one merge, and which one is found
 * by encoding its bytes with the ranks below r: the result is exactly two
 * tokens, the merge's pair (the conversion `tokenizers` itself uses).
 */
import gpt2 from "js-tiktoken/ranks/gpt2";
import { type BpeModel, BYTE_CHAR } from "./bpe.ts";

/** GPT-2's tokens (byte-level strings) by id, its 50,000 merges and `<|endoftext|>`. */
export function gpt2Model(): BpeModel {
  // Tokens as binary strings (one char per byte): cheap keys and joins.
  const byRank: string[] = [];
  for (const line of gpt2.bpe_ranks.split("\n")) {
    if (!line) continue;
    const [, offset, ...toks] = line.split(" ");
    toks.forEach((t: string, i: number) => byRank[Number(offset) + i] = atob(t));
  }
  const rankOf = new Map<string, number>(byRank.map((b, r) => [b, r]));
  const str = (b: string) => Array.from(b, (c) => BYTE_CHAR[c.charCodeAt(0)]).join("");
  const merges: [string, string][] = [];
  for (let r = 0; r < byRank.length; r++) {
    const b = byRank[r];
    if (b.length < 2) continue;
    const parts = b.split("");
    for (;;) {
      let best = -1, bestRank = r;
      for (let i = 0; i + 1 < parts.length; i++) {
        const k = rankOf.get(parts[i] + parts[i + 1]);
        if (k !== undefined && k < bestRank) [best, bestRank] = [i, k];
      }
      if (best < 0) break;
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
    if (parts.length !== 2) throw new Error(`token ${r} does not come from one merge`);
    merges.push([str(parts[0]), str(parts[1])]);
  }
  const special = Object.keys(gpt2.special_tokens);
  const tokens = byRank.map(str);
  for (const s of special) tokens[gpt2.special_tokens[s]] = s;
  return { tokens, merges, special };
}
