/** Shared by the tests that run `dlm train --out DIR`: its history.csv as rows by column name. */
export function readHistory(dir: string): Record<string, number>[] {
  const [head, ...rows] = Deno.readTextFileSync(`${dir}/history.csv`).trim().split("\n");
  const cols = head.split(",");
  return rows.map((r) => Object.fromEntries(r.split(",").map((v, i) => [cols[i], Number(v)])));
}
