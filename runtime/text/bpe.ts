/**
 * Byte-level BPE, the tokenizer of GPT-2 and of the notes' chapter on
 * tokenization: text is cut into pre-tokens by GPT-2's pattern
 *
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * (contractions, a word or a number or a run of punctuation with at most
 * one leading space, and whitespace, a run's last space going to the word
 * that follows), each pre-token's UTF-8 bytes become a sequence of the 256
 * base tokens, and the merges are applied in the order they were learnt:
 * while some adjacent pair has a merge, the pair of lowest rank is joined
 * (leftmost first among equal pairs). Every byte is a base token, so every
 * text encodes and decoding gives the text back exactly.
 *
 * Tokens are written as GPT-2 and Hugging Face's `tokenizers` write them:
 * each byte as a printable character (`byteToUnicode`: the printable
 * Latin-1 bytes as themselves, the others as U+0100 upwards, so a space is
 * "Ġ"), a token as the concatenation of its bytes' characters.
 *
 * Training (`trainBpe`) is the algorithm the notes describe: start from the
 * 256 bytes, count every adjacent pair over the corpus's pre-tokens
 * (weighted by how often each pre-token occurs), merge the most frequent
 * pair into a new token, repeat until the vocabulary has its size. Ties
 * are broken by the pair's bytes in lexicographic order (the smaller
 * first), so a corpus gives one tokenizer. Pair counts are kept up to
 * date incrementally: a merge revisits only the pre-tokens that hold the
 * pair.
 */

/** GPT-2's pre-tokenizer pattern (JavaScript's Unicode classes). */
export const GPT2_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * GPT-2's byte → character map: bytes 33-126, 161-172 and 174-255 as
 * themselves, the other 68 in order as U+0100, U+0101, ... The list's
 * order is also the base tokens' ids in GPT-2's vocabulary ("!" is 0).
 */
export const BYTE_ORDER: readonly number[] = (() => {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) bs.push(b);
  return bs;
})();

/** The character of each byte. */
export const BYTE_CHAR: readonly string[] = (() => {
  const chars = new Array<string>(256);
  let n = 0;
  for (const b of BYTE_ORDER) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    chars[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
  return chars;
})();

const CHAR_BYTE = new Map<string, number>(BYTE_CHAR.map((c, b) => [c, b]));

/** A text's UTF-8 bytes as byte-level characters. */
export function toByteChars(text: string): string {
  let s = "";
  for (const b of ENCODER.encode(text)) s += BYTE_CHAR[b];
  return s;
}

const ENCODER = new TextEncoder();
// ignoreBOM: a text that starts with U+FEFF keeps it (TextDecoder drops it by default).
const DECODER = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** A token string's bytes, or null when a character is not a byte character. */
export function tokenBytes(token: string): number[] | null {
  const out: number[] = [];
  for (const ch of token) {
    const b = CHAR_BYTE.get(ch);
    if (b === undefined) return null;
    out.push(b);
  }
  return out;
}

/** A byte-level BPE tokenizer: its vocabulary, its merges in order, its special tokens. */
export interface BpeModel {
  /** Token strings by id (byte characters; special tokens as written). */
  tokens: string[];
  /** Merges in rank order, each a pair of token strings whose join is a token. */
  merges: [string, string][];
  /** Special tokens (`<|endoftext|>`): matched in the text before pre-tokenising. */
  special: string[];
  /** Prepend a space to a text that does not start with one (Hugging Face's add_prefix_space). */
  addPrefixSpace?: boolean;
}

/** Thrown for a tokenizer that cannot be used (the CLI turns it into a diagnostic). */
export class BpeError extends Error {}

const PAIR = 2 ** 21; // ids below 2^21: a pair's key is a * PAIR + b, exact in a double

/** An encoder and decoder over a model. */
export class BpeTokenizer {
  readonly model: BpeModel;
  private readonly ids = new Map<string, number>();
  /** pair key -> (rank, id of the joined token) */
  private readonly mergeOf = new Map<number, { rank: number; id: number }>();
  private readonly byteId = new Int32Array(256);
  private readonly specialIds = new Map<string, number>();
  private readonly specialPattern: RegExp | null;
  private readonly cache = new Map<string, number[]>();

  constructor(model: BpeModel) {
    this.model = model;
    if (model.tokens.length >= PAIR) {
      throw new BpeError(`a vocabulary of ${model.tokens.length} tokens (at most ${PAIR - 1})`);
    }
    model.tokens.forEach((t, id) => {
      if (this.ids.has(t)) throw new BpeError(`token '${t}' appears twice in the vocabulary`);
      this.ids.set(t, id);
    });
    for (let b = 0; b < 256; b++) {
      const id = this.ids.get(BYTE_CHAR[b]);
      if (id === undefined) {
        throw new BpeError(
          `the vocabulary lacks the byte token '${BYTE_CHAR[b]}' (byte ${b}): not a byte-level BPE`,
        );
      }
      this.byteId[b] = id;
    }
    model.merges.forEach(([a, b], rank) => {
      const ia = this.ids.get(a), ib = this.ids.get(b), ij = this.ids.get(a + b);
      if (ia === undefined || ib === undefined || ij === undefined) {
        const missing = ia === undefined ? a : ib === undefined ? b : a + b;
        throw new BpeError(
          `merge ${rank + 1} ('${a} ${b}') uses '${missing}', not in the vocabulary`,
        );
      }
      const key = ia * PAIR + ib;
      if (!this.mergeOf.has(key)) this.mergeOf.set(key, { rank, id: ij });
    });
    for (const s of model.special) {
      const id = this.ids.get(s);
      if (id === undefined) throw new BpeError(`special token '${s}' is not in the vocabulary`);
      this.specialIds.set(s, id);
    }
    const sorted = [...model.special].sort((a, b) => b.length - a.length);
    this.specialPattern = sorted.length
      ? new RegExp(sorted.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g")
      : null;
  }

  get vocabSize(): number {
    return this.model.tokens.length;
  }

  /** The id of a token string, if it is one. */
  tokenId(token: string): number | undefined {
    return this.ids.get(token);
  }

  /**
   * A text's token ids. Special tokens in the text are matched as such
   * unless `special` is false (then they are ordinary text).
   */
  encode(text: string, options: { special?: boolean } = {}): number[] {
    const out: number[] = [];
    if (this.model.addPrefixSpace && text.length && !text.startsWith(" ")) text = " " + text;
    if (this.specialPattern && options.special !== false) {
      let at = 0;
      for (const m of text.matchAll(this.specialPattern)) {
        this.encodeOrdinary(text.slice(at, m.index), out);
        out.push(this.specialIds.get(m[0])!);
        at = m.index! + m[0].length;
      }
      this.encodeOrdinary(text.slice(at), out);
    } else this.encodeOrdinary(text, out);
    return out;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    for (const m of text.matchAll(GPT2_PATTERN)) {
      const word = m[0];
      let ids = this.cache.get(word);
      if (!ids) {
        ids = this.encodeWord(ENCODER.encode(word));
        if (this.cache.size >= 1 << 16) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  /**
   * One pre-token's bytes merged: a linked list of symbols and a heap of
   * candidate merges keyed by (rank, position); an entry is stale when
   * either symbol has been merged away since it was pushed.
   */
  private encodeWord(bytes: Uint8Array): number[] {
    const n = bytes.length;
    const id = new Int32Array(n), next = new Int32Array(n), prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      id[i] = this.byteId[bytes[i]];
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    if (n < 2) return Array.from(id);
    const heap = new MergeHeap();
    const consider = (i: number) => {
      const j = next[i];
      if (j >= n) return;
      const m = this.mergeOf.get(id[i] * PAIR + id[j]);
      if (m) heap.push(m.rank, i, id[i], id[j]);
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    while (heap.size) {
      const [, i, a, b] = heap.pop();
      const j = next[i];
      if (id[i] !== a || j >= n || id[j] !== b) continue; // stale
      id[i] = this.mergeOf.get(a * PAIR + b)!.id;
      id[j] = -1;
      next[i] = next[j];
      if (next[j] < n) prev[next[j]] = i;
      if (prev[i] >= 0) consider(prev[i]);
      consider(i);
    }
    const out: number[] = [];
    for (let i = 0; i < n; i = next[i]) out.push(id[i]);
    return out;
  }

  /** The text of token ids; byte sequences that are not UTF-8 become U+FFFD. */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    const parts: string[] = [];
    const flush = () => {
      if (bytes.length) parts.push(DECODER.decode(new Uint8Array(bytes)));
      bytes.length = 0;
    };
    for (const i of ids) {
      const t = this.model.tokens[i];
      if (t === undefined) {
        throw new BpeError(`token id ${i} is outside the vocabulary (0..${this.vocabSize - 1})`);
      }
      if (this.specialIds.has(t)) {
        flush();
        parts.push(t);
        continue;
      }
      for (const ch of t) bytes.push(CHAR_BYTE.get(ch)!);
    }
    flush();
    return parts.join("");
  }
}

/** A binary min-heap of (rank, position, a, b), four numbers an entry in one flat array. */
class MergeHeap {
  private e: number[] = [];
  get size(): number {
    return this.e.length >> 2;
  }
  private less(i: number, j: number): boolean {
    const e = this.e;
    return e[4 * i] < e[4 * j] || (e[4 * i] === e[4 * j] && e[4 * i + 1] < e[4 * j + 1]);
  }
  private swap(i: number, j: number) {
    const e = this.e;
    for (let k = 0; k < 4; k++) {
      const t = e[4 * i + k];
      e[4 * i + k] = e[4 * j + k];
      e[4 * j + k] = t;
    }
  }
  push(rank: number, pos: number, a: number, b: number) {
    this.e.push(rank, pos, a, b);
    let i = this.size - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number, number, number] {
    const e = this.e;
    const top: [number, number, number, number] = [e[0], e[1], e[2], e[3]];
    const last = this.size - 1;
    this.swap(0, last);
    e.length -= 4;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < last && this.less(l, m)) m = l;
      if (r < last && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

// ------------------------------------------------------------------ training

export interface TrainOptions {
  /** The vocabulary's size, special tokens included (at least 256 + their count). */
  vocabSize: number;
  /** Stop early when the most frequent pair occurs fewer times than this (default 2). */
  minFrequency?: number;
  /** Special tokens, appended after the learnt tokens (GPT-2 puts `<|endoftext|>` last). */
  special?: string[];
  /** Called every `every` merges with the number done. */
  progress?: (merges: number) => void;
}

/** Pre-token counts of texts, the input of `trainBpe` (counted a text at a time). */
export class WordCounts {
  readonly counts = new Map<string, number>();
  add(text: string, special: readonly string[] = []): void {
    // Special tokens in the corpus are boundaries, never merged into words.
    const pieces = special.length ? splitOn(text, special) : [text];
    for (const piece of pieces) {
      for (const m of piece.matchAll(GPT2_PATTERN)) {
        this.counts.set(m[0], (this.counts.get(m[0]) ?? 0) + 1);
      }
    }
  }
}

function splitOn(text: string, special: readonly string[]): string[] {
  let parts = [text];
  for (const s of special) parts = parts.flatMap((p) => p.split(s));
  return parts;
}

/** Learn a byte-level BPE from pre-token counts. */
export function trainBpe(words: WordCounts, options: TrainOptions): BpeModel {
  const special = options.special ?? [];
  const minFrequency = options.minFrequency ?? 2;
  const target = options.vocabSize - special.length;
  if (target < 256) {
    throw new BpeError(
      `a vocabulary of ${options.vocabSize} cannot hold the 256 byte tokens and ${special.length} special ones`,
    );
  }
  // Token ids: the bytes in GPT-2's order, then the merges as they are learnt.
  const tokens: string[] = BYTE_ORDER.map((b) => BYTE_CHAR[b]);
  const tokenBytesOf: Uint8Array[] = BYTE_ORDER.map((b) => Uint8Array.of(b));
  const byteId = new Int32Array(256);
  BYTE_ORDER.forEach((b, i) => byteId[b] = i);

  const seqs: Int32Array[] = [];
  const freq: number[] = [];
  for (const [w, c] of words.counts) {
    const bytes = ENCODER.encode(w);
    if (bytes.length < 2) continue; // a single byte has no pair
    seqs.push(Int32Array.from(bytes, (b) => byteId[b]));
    freq.push(c);
  }
  const lens = seqs.map((s) => s.length);

  const count = new Map<number, number>();
  const where = new Map<number, number[]>();
  const addPair = (key: number, c: number, w: number) => {
    count.set(key, (count.get(key) ?? 0) + c);
    if (c > 0) {
      const ws = where.get(key);
      if (!ws) where.set(key, [w]);
      else if (ws[ws.length - 1] !== w) ws.push(w);
    }
  };
  for (let w = 0; w < seqs.length; w++) {
    const s = seqs[w];
    for (let i = 0; i + 1 < s.length; i++) addPair(s[i] * PAIR + s[i + 1], freq[w], w);
  }

  // Max-heap of pairs by count, ties to the pair whose bytes come first.
  const heap: { key: number; c: number }[] = [];
  const cmpBytes = (x: number, y: number): number => {
    const xa = tokenBytesOf[Math.floor(x / PAIR)], xb = tokenBytesOf[x % PAIR];
    const ya = tokenBytesOf[Math.floor(y / PAIR)], yb = tokenBytesOf[y % PAIR];
    return compareBytes(xa, ya) || compareBytes(xb, yb);
  };
  const before = (p: { key: number; c: number }, q: { key: number; c: number }) =>
    p.c > q.c || (p.c === q.c && cmpBytes(p.key, q.key) < 0);
  const push = (e: { key: number; c: number }) => {
    heap.push(e);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(heap[i], heap[p])) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  };
  const pop = () => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l], heap[m])) m = l;
        if (r < heap.length && before(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  };
  for (const [key, c] of count) push({ key, c });

  const merges: [string, string][] = [];
  const touched = new Map<number, number>(); // pair -> change of count in this merge
  while (tokens.length < target && heap.length) {
    const top = pop();
    const current = count.get(top.key) ?? 0;
    if (current !== top.c) {
      if (current > 0) push({ key: top.key, c: current }); // stale: requeue at its count
      continue;
    }
    if (current < minFrequency) break;
    const a = Math.floor(top.key / PAIR), b = top.key % PAIR;
    const id = tokens.length;
    tokens.push(tokens[a] + tokens[b]);
    const joined = new Uint8Array(tokenBytesOf[a].length + tokenBytesOf[b].length);
    joined.set(tokenBytesOf[a]);
    joined.set(tokenBytesOf[b], tokenBytesOf[a].length);
    tokenBytesOf.push(joined);
    merges.push([tokens[a], tokens[b]]);
    touched.clear();
    for (const w of where.get(top.key) ?? []) {
      const s = seqs[w];
      const n = lens[w];
      const f = freq[w];
      let has = false;
      for (let i = 0; i + 1 < n; i++) if (s[i] === a && s[i + 1] === b) has = true;
      if (!has) continue; // the pair left this word in an earlier merge
      // The word's pairs before and after, counted as differences.
      for (let i = 0; i + 1 < n; i++) bump(touched, s[i] * PAIR + s[i + 1], -f);
      let k = 0;
      for (let i = 0; i < n; i++) {
        if (i + 1 < n && s[i] === a && s[i + 1] === b) {
          s[k++] = id;
          i++;
        } else s[k++] = s[i];
      }
      lens[w] = k;
      for (let i = 0; i + 1 < k; i++) {
        const key = s[i] * PAIR + s[i + 1];
        bump(touched, key, f);
        const ws = where.get(key);
        if (!ws) where.set(key, [w]);
        else if (ws[ws.length - 1] !== w) ws.push(w);
      }
    }
    where.delete(top.key);
    for (const [key, d] of touched) {
      if (d === 0) continue;
      const c = (count.get(key) ?? 0) + d;
      if (c > 0) {
        count.set(key, c);
        if (d > 0) push({ key, c });
      } else count.delete(key);
    }
    if (options.progress && merges.length % 500 === 0) options.progress(merges.length);
  }
  return { tokens: [...tokens, ...special], merges, special: [...special] };
}

function bump(m: Map<number, number>, key: number, d: number) {
  m.set(key, (m.get(key) ?? 0) + d);
}

function compareBytes(x: Uint8Array, y: Uint8Array): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
