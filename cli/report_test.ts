import assert from "node:assert/strict";
import { groupDigits } from "./report.ts";

Deno.test("groupDigits() writes integers as toLocaleString('en-US') does", () => {
  const xs = [
    0,
    7,
    999,
    1000,
    1001,
    65536,
    999999,
    1000000,
    25610205,
    2 ** 31 - 1,
    1e15,
    -1,
    -1234567,
  ];
  for (const n of xs) assert.equal(groupDigits(n), n.toLocaleString("en-US"), String(n));
});
