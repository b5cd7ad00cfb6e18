/**
 * `--set NAME=TOKEN`: a model parameter given as one of the `--tokenizer`'s special tokens takes
 * that token's id (`--set mask_id=[MASK]`), so a model that needs the id of [MASK] or
 * <|endoftext|> reads it from the tokenizer the data are cut with instead of a number typed by
 * hand. A value written as a special token is ([X] or <|X|>) that the tokenizer does not have is
 * DLM0335, and one given without a tokenizer DLM0507: neither reaches the model as a string.
 */
import { diag, fail } from "../compiler/diagnostics.ts";
import { UsageError } from "./command.ts";

/** How special tokens are written: BERT's [MASK], GPT-2's <|endoftext|>, and <s>, </s>, <pad>. */
const SPECIAL_SHAPE = /^(\[[^\]\s]+\]|<\|[^|\s]+\|>|<\/?[A-Za-z_]+>)$/;

/**
 * The overrides with each special-token value replaced by its id in the tokenizer at `path`
 * (whose reader is loaded only then).
 */
export async function withTokenIds(
  overrides: Record<string, number | boolean | string>,
  path: string | undefined,
): Promise<Record<string, number | boolean | string>> {
  const tokens = Object.entries(overrides).filter(([, v]) =>
    typeof v === "string" && SPECIAL_SHAPE.test(v)
  );
  if (!tokens.length) return overrides;
  if (!path) {
    const [k, v] = tokens[0];
    throw new UsageError(...diag("DLM0507", `--set ${k}=${v}`, "--tokenizer T.json"));
  }
  const { readTokenizerFile } = await import("../runtime/text/tokenizer_json.ts");
  const model = readTokenizerFile(path);
  const out = { ...overrides };
  for (const [k, v] of tokens) {
    const id = model.special.includes(v as string) ? model.tokens.indexOf(v as string) : -1;
    if (id < 0) {
      const known = model.special.length ? model.special.join(" ") : "none";
      fail(...diag("DLM0335", `--set ${k}=${v}`, path, v as string, known));
    }
    out[k] = id;
  }
  return out;
}
