/**
 * `dlm tokenizer train|encode|decode`: byte-level BPE tokenizers in
 * Hugging Face's tokenizer.json format (runtime/text/).
 *
 *   dlm tokenizer train CORPUS... --vocab-size V -o tokenizer.json [--special TOKEN]...
 *   dlm tokenizer encode --tokenizer T.json [TEXT | --file F] [-o ids.npy]
 *   dlm tokenizer decode --tokenizer T.json [IDS... | --file ids.npy|ids.txt]
 *
 * encode prints the ids space-separated (what `dlm generate --prompt`
 * takes) or writes them as an i64 .npy; decode reads ids from its
 * arguments, a text file of numbers or an .npy of integers.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import { tensor, toNumbers } from "../../compiler/ir/tensor.ts";
import { readNpy, writeNpy } from "../../runtime/formats/npy.ts";
import { readFileOrFail, writeFileAtomic } from "../../runtime/fs.ts";
import { type BpeTokenizer, trainBpe, WordCounts } from "../../runtime/text/bpe.ts";
import { openTokenizer, writeTokenizerJson } from "../../runtime/text/tokenizer_json.ts";
import { readUtf8File } from "../../runtime/text/utf8.ts";
import { type Io, type Parsed, UsageError } from "../command.ts";

/** Run `dlm tokenizer`; returns the exit code. */
export function run(args: Parsed, io: Io): number {
  const [sub, ...rest] = args.positional;
  switch (sub) {
    case "train":
      return train(rest, args, io);
    case "encode":
      return encode(rest, args, io);
    case "decode":
      return decode(rest, args, io);
    default:
      throw new UsageError(
        ...diag(
          "DLM0515",
          "dlm tokenizer's first argument",
          "train, encode or decode",
          sub ?? "none",
        ),
      );
  }
}

function loadTokenizer(args: Parsed): BpeTokenizer {
  const path = args.opts.tokenizer as string | undefined;
  if (!path) throw new UsageError(...diag("DLM0506", "--tokenizer T.json"));
  return openTokenizer(path);
}

function train(files: string[], args: Parsed, io: Io): number {
  if (!files.length) throw new UsageError(...diag("DLM0506", "one or more corpus files"));
  const out = args.opts.out as string | undefined;
  if (!out) throw new UsageError(...diag("DLM0506", "-o tokenizer.json"));
  const vocabSize = args.opts["vocab-size"] as number | undefined;
  if (vocabSize === undefined) throw new UsageError(...diag("DLM0506", "--vocab-size V"));
  const special = (args.opts.special as string[] | undefined) ?? [];
  const minFrequency = (args.opts["min-frequency"] as number | undefined) ?? 2;
  if (vocabSize < 256 + special.length) {
    throw new UsageError(
      ...diag(
        "DLM0501",
        "--vocab-size",
        `at least 256 byte tokens + ${special.length} special`,
        vocabSize,
      ),
    );
  }
  const t0 = performance.now();
  const words = new WordCounts();
  let bytes = 0;
  for (const f of files) {
    const text = readUtf8File(f, "corpus");
    bytes += new TextEncoder().encode(text).length;
    words.add(text, special);
  }
  const t1 = performance.now();
  const model = trainBpe(words, { vocabSize, special, minFrequency });
  const t2 = performance.now();
  writeFileAtomic(out, new TextEncoder().encode(writeTokenizerJson(model)));
  const mb = bytes / 1e6;
  const s = (ms: number) => (ms / 1000).toFixed(2);
  io.err(
    `read ${mb.toFixed(2)} MB (${words.counts.size} distinct pre-tokens) in ${s(t1 - t0)} s; ` +
      `learnt ${model.merges.length} merges in ${s(t2 - t1)} s ` +
      `(${(mb / ((t2 - t0) / 1000)).toFixed(2)} MB/s overall)`,
  );
  if (model.tokens.length < vocabSize) {
    io.err(
      `note: stopped at ${model.tokens.length} tokens: no pair occurs ${minFrequency} times or more`,
    );
  }
  io.out(`wrote ${out} (${model.tokens.length} tokens)`);
  return 0;
}

function encode(rest: string[], args: Parsed, io: Io): number {
  const tok = loadTokenizer(args);
  const file = args.opts.file as string | undefined;
  if (file && rest.length) {
    throw new UsageError(...diag("DLM0508", "--file", "a text argument", "give one or the other"));
  }
  const text = file ? readUtf8File(file, "text") : rest.join(" ");
  const ids = tok.encode(text, { special: !args.opts["no-special"] });
  const out = args.opts.out as string | undefined;
  if (out) {
    writeFileAtomic(out, writeNpy(tensor("i64", [ids.length], ids)));
    io.out(`wrote ${out} (${ids.length} tokens)`);
  } else io.out(ids.join(" "));
  return 0;
}

function decode(rest: string[], args: Parsed, io: Io): number {
  const tok = loadTokenizer(args);
  const file = args.opts.file as string | undefined;
  if (file && rest.length) {
    throw new UsageError(...diag("DLM0508", "--file", "id arguments", "give one or the other"));
  }
  let ids: number[];
  let where: string;
  if (file?.endsWith(".npy")) {
    const t = readNpy(readFileOrFail(file, "ids"), file);
    if (!["i64", "i32", "u8", "i8", "u16", "i16", "u32", "u64"].includes(t.dtype)) {
      fail(...diag("DLM0423", file, "an integer array of token ids", `${t.dtype} values`));
    }
    ids = toNumbers(t);
    where = file;
  } else {
    const words = file
      ? readUtf8File(file, "ids").split(/\s+/)
      : rest.flatMap((r) => r.split(/\s+/));
    where = file ?? "the arguments";
    ids = words.filter((w) => w.length).map((w) => {
      if (!/^\d+$/.test(w)) fail(...diag("DLM0471", where, w, tok.vocabSize - 1));
      return Number(w);
    });
  }
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= tok.vocabSize) {
      fail(...diag("DLM0471", where, id, tok.vocabSize - 1));
    }
  }
  const text = tok.decode(ids);
  const out = args.opts.out as string | undefined;
  if (out) {
    writeFileAtomic(out, new TextEncoder().encode(text));
    io.out(`wrote ${out}`);
  } else io.out(text);
  return 0;
}
