/**
 * Text files as UTF-8: read strictly, so a file in another encoding is a
 * diagnostic that says where its first non-UTF-8 byte is (DLM0472) rather
 * than text silently full of U+FFFD.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import { readFileOrFail } from "../fs.ts";

// ignoreBOM: a text that starts with U+FEFF keeps it.
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A file's text; `what` names it in messages ("corpus", "tokenizer", ...). */
export function readUtf8File(path: string, what: string): string {
  const bytes = readFileOrFail(path, what);
  try {
    return UTF8.decode(bytes);
  } catch {
    fail(...diag("DLM0472", `${what} '${path}'`, firstInvalidUtf8(bytes)));
  }
}

/** The offset of the first byte that does not start or continue valid UTF-8 (the length if none). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const x = b[i];
    const n = x < 0x80
      ? 0
      : x >= 0xc2 && x < 0xe0
      ? 1
      : x >= 0xe0 && x < 0xf0
      ? 2
      : x >= 0xf0 && x < 0xf5
      ? 3
      : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (i + k >= b.length || (b[i + k] & 0xc0) !== 0x80) return i;
    // Overlong 3- and 4-byte forms, surrogates and code points above U+10FFFF.
    if (n === 2 && ((x === 0xe0 && b[i + 1] < 0xa0) || (x === 0xed && b[i + 1] >= 0xa0))) return i;
    if (n === 3 && ((x === 0xf0 && b[i + 1] < 0x90) || (x === 0xf4 && b[i + 1] >= 0x90))) return i;
    i += n + 1;
  }
  return b.length;
}
