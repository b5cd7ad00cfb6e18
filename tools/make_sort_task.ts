/**
 * Writes lang-examples/data/sort_digits.csv, the task of the SFT and RLHF
 * examples (lang-examples/rlhf_sort.dlm): a prompt of 4 random digits, the
 * response the same digits in ascending order. The reward of a response is
 * exactly computable, the fraction of its 4 positions equal to the sorted
 * prompt, so the reward before and after RL is a measurement, not a model's
 * opinion.
 *
 * Columns (a header row, then one example a row, all integers):
 * - `d0..d3`: the prompt's digits;
 * - `r0..r3`: the response, the digits sorted (SFT's target, DPO's chosen);
 * - `x0..x3`: a rejected response for DPO, the sorted digits with one
 *   mistake: two neighbouring positions of different digits swapped, or one
 *   position replaced by another digit (half each), the near misses a policy
 *   makes.
 *
 * Read with `--data prompt=sort_digits.csv:d0-d3@i64` style column lists
 * (`prompt=...:0-3@i64 response=...:4-7@i64 rejected=...:8-11@i64`).
 *
 *   deno run -A tools/make_sort_task.ts [--rows 2000] [--seed 1] [-o PATH]
 *
 * The output is committed (56 KB); this tool remakes it byte for byte.
 */
import { writeFileAtomic } from "../runtime/fs.ts";
// A small seeded generator, so the file is the same on every machine.
import { mulberry32 } from "../compiler/ir/rng.ts";

export const DIGITS = 4;

/** One row: prompt digits, sorted response, and a response with one mistake. */
export function sortExample(
  rand: () => number,
): { prompt: number[]; chosen: number[]; rejected: number[] } {
  const digit = () => Math.floor(rand() * 10);
  let prompt = Array.from({ length: DIGITS }, digit);
  // A swap needs two different digits; redraw the rare all-equal prompt.
  while (prompt.every((d) => d === prompt[0])) prompt = Array.from({ length: DIGITS }, digit);
  const chosen = [...prompt].sort((a, b) => a - b);
  const rejected = [...chosen];
  if (rand() < 0.5) {
    const pairs = [];
    for (let i = 0; i + 1 < DIGITS; i++) if (chosen[i] !== chosen[i + 1]) pairs.push(i);
    const i = pairs[Math.floor(rand() * pairs.length)];
    [rejected[i], rejected[i + 1]] = [rejected[i + 1], rejected[i]];
  } else {
    const i = Math.floor(rand() * DIGITS);
    rejected[i] = (chosen[i] + 1 + Math.floor(rand() * 9)) % 10;
  }
  return { prompt, chosen, rejected };
}

/** The CSV text of `rows` examples drawn with `seed`. */
export function sortTaskCsv(rows: number, seed: number): string {
  const rand = mulberry32(seed);
  const cols = ["d", "r", "x"].flatMap((p) => Array.from({ length: DIGITS }, (_, i) => `${p}${i}`));
  const lines = [cols.join(",")];
  for (let n = 0; n < rows; n++) {
    const { prompt, chosen, rejected } = sortExample(rand);
    lines.push([...prompt, ...chosen, ...rejected].join(","));
  }
  return lines.join("\n") + "\n";
}

if (import.meta.main) {
  const args = [...Deno.args];
  const opt = (name: string, dflt: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : dflt;
  };
  const out = opt("-o", new URL("../lang-examples/data/sort_digits.csv", import.meta.url).pathname);
  writeFileAtomic(
    out,
    new TextEncoder().encode(
      sortTaskCsv(Number(opt("--rows", "2000")), Number(opt("--seed", "1"))),
    ),
  );
}
