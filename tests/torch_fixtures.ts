/**
 * Shared by the PyTorch oracle tests: where the fixtures live (made by the
 * scripts beside them with Debian's python3-torch), how a .dlm fixture is
 * compiled, and the closeness check against torch's numbers.
 */
import assert from "node:assert/strict";
import { compileFile, type CompileOptions, hasErrors } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import type { Graph } from "../compiler/ir/graph.ts";
import { type Tensor, toNumbers } from "../compiler/ir/tensor.ts";
import { readNpy } from "../runtime/formats/mod.ts";

export const FIXTURES = new URL("fixtures/torch/", import.meta.url);
export const RTOL = 1e-4;
export const ATOL = 1e-5;

export function pathOf(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/** The eval-mode graph of a .dlm file; a failed compile fails the test with its diagnostics. */
export function compile(url: URL, opts: CompileOptions = {}): Graph {
  const r = compileFile(pathOf(url), { mode: "eval", ...opts });
  if (hasErrors(r.diagnostics) || !r.graph) {
    assert.fail(r.diagnostics.map((d) => formatDiagnostic(d, r.sources)).join("\n"));
  }
  return r.graph;
}

export function readFixtureNpy(name: string): Tensor {
  const url = new URL(name, FIXTURES);
  return readNpy(Deno.readFileSync(url), pathOf(url));
}

/** Assert |actual - expected| <= atol + rtol * |expected| everywhere, naming the worst element. */
export function assertClose(actual: Tensor, expected: Tensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = toNumbers(actual), e = toNumbers(expected);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < e.length; i++) {
    const excess = Math.abs(a[i] - e[i]) - (ATOL + RTOL * Math.abs(e[i]));
    if (!(excess <= worstExcess)) {
      [worst, worstExcess] = [i, Number.isNaN(excess) ? Infinity : excess];
    }
  }
  assert.ok(
    worst < 0,
    `${what}: element ${worst} is ${a[worst]} but torch says ${e[worst]} ` +
      `(difference ${Math.abs(a[worst] - e[worst])}, rtol ${RTOL}, atol ${ATOL})`,
  );
}
