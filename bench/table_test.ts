import assert from "node:assert/strict";
import { bytes, count, formatTable, ms } from "./table.ts";

Deno.test("formatTable() pads columns to the widest cell and right-aligns numbers", () => {
  const text = formatTable(
    [{ header: "model" }, { header: "ms", right: true }],
    [["lenet5", "1.25"], ["vgg16", "512"]],
  );
  assert.equal(text, ["model     ms", "------  ----", "lenet5  1.25", "vgg16    512"].join("\n"));
});

Deno.test("formatTable() treats a missing cell as empty and trims trailing spaces", () => {
  const text = formatTable([{ header: "a" }, { header: "b" }], [["x"]]);
  assert.deepEqual(text.split("\n"), ["a  b", "-  -", "x"]);
});

Deno.test("ms() keeps about three significant figures", () => {
  assert.deepEqual([ms(0.01234), ms(1.234), ms(12.34), ms(1234.5)], [
    "0.01",
    "1.23",
    "12.3",
    "1235",
  ]);
});

Deno.test("count() groups thousands with commas", () => {
  assert.deepEqual([count(7), count(1000), count(25557032)], ["7", "1,000", "25,557,032"]);
});

Deno.test("bytes() picks the largest unit below the value", () => {
  assert.deepEqual([bytes(352), bytes(2048), bytes(102151313)], ["352 B", "2.0 KiB", "97.4 MiB"]);
});
