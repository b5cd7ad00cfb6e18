import assert from "node:assert/strict";
import { firstInvalidUtf8 } from "./utf8.ts";

Deno.test("firstInvalidUtf8 agrees with a strict TextDecoder on every prefix of mixed bytes", () => {
  const enc = new TextEncoder();
  const good = enc.encode("a é 深 🙂 z");
  assert.equal(firstInvalidUtf8(good), good.length);
  const cases: [number[], number][] = [
    [[0x61, 0xe9, 0x62], 1], // Latin-1 é
    [[0xc0, 0x80], 0], // overlong NUL
    [[0xe0, 0x80, 0x80], 0], // overlong 3-byte
    [[0xed, 0xa0, 0x80], 0], // a surrogate
    [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
    [[0x61, 0xe6, 0xb7], 1], // truncated at the end
    [[0x80], 0], // a lone continuation byte
  ];
  for (const [bytes, at] of cases) {
    assert.equal(firstInvalidUtf8(Uint8Array.from(bytes)), at, bytes.join(","));
    // The prefix before it decodes strictly; with the byte it does not.
    const dec = new TextDecoder("utf-8", { fatal: true });
    dec.decode(Uint8Array.from(bytes.slice(0, at)));
    assert.throws(() => dec.decode(Uint8Array.from(bytes)));
  }
});
