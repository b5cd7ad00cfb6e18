/**
 * The inputs of a generative model's sample batch (`dlm sample`, and the playground's sample
 * viewer, which draws the same samples from the same weights and seed): an input given as data
 * takes it; an input set by a condition (`--set label=0,1,...,9`) takes those values; every other
 * floating-point input is noise, N(0, 1) from the seed and the input's name; any other input (an
 * integer class label) must be set (DLM0531).
 */
import { diag, fail } from "../compiler/diagnostics.ts";
import { formatType, type Graph } from "../compiler/ir/graph.ts";
import { type DType, isFloat, numel, type Tensor, zeros } from "../compiler/ir/tensor.ts";
import { Rng } from "../compiler/ir/rng.ts";

export interface SampleInputOptions {
  seed: number;
  /** Sizes of the inputs' symbolic dims (the batch symbol is the sample count). */
  dims: Record<string, number>;
  /** Inputs given as data (reconstructions), by name. */
  given?: Record<string, Tensor>;
  /** Inputs set by a value or a list of values (`0,1,2`), by name. */
  conditions?: Record<string, string>;
}

/** The feeds, with the names of the inputs drawn as noise and the `NAME=VALUES` set. */
export function sampleInputs(
  g: Graph,
  o: SampleInputOptions,
): { feeds: Record<string, Tensor>; drawn: string[]; set: string[] } {
  const given = o.given ?? {}, conditions = o.conditions ?? {};
  const feeds: Record<string, Tensor> = {};
  const drawn: string[] = [], set: string[] = [];
  for (const inp of g.inputs) {
    const shapeOfInput = inp.type.shape.map((d) => typeof d === "number" ? d : o.dims[d] ?? 1);
    const batched = typeof inp.type.shape[0] === "string";
    if (given[inp.name]) {
      feeds[inp.name] = given[inp.name];
      continue;
    }
    if (conditions[inp.name] !== undefined) {
      feeds[inp.name] = condition(
        inp.name,
        inp.type.dtype,
        shapeOfInput,
        batched,
        conditions[inp.name],
      );
      set.push(`${inp.name}=${conditions[inp.name]}`);
      continue;
    }
    if (g.initializers.has(inp.name)) continue;
    if (!isFloat(inp.type.dtype) || inp.type.dtype === "bf16" || inp.type.dtype === "f16") {
      fail(...diag("DLM0531", inp.name, formatType(inp.type)));
    }
    const t = zeros(inp.type.dtype, shapeOfInput);
    const rng = Rng.forName(o.seed, inp.name);
    const v = t.data as Float32Array | Float64Array;
    for (let i = 0; i < v.length; i++) v[i] = rng.normal();
    feeds[inp.name] = t;
    drawn.push(inp.name);
  }
  return { feeds, drawn, set };
}

/**
 * An input set by `--set NAME=a[,b,...]`: one value fills it; a list as
 * long as one row of a batched input is every row; any other list gives
 * row i the value i mod its length (rows of one element each).
 */
function condition(
  name: string,
  dtype: DType,
  shape: number[],
  batched: boolean,
  text: string,
): Tensor {
  const values = text.split(",").map((s) => Number(s.trim()));
  const t = zeros(dtype, shape);
  const total = numel(shape), rows = batched ? shape[0] : 1, per = rows ? total / rows : 0;
  const integral = !isFloat(dtype) && dtype !== "bool";
  if (
    values.some((v) => !Number.isFinite(v) || (integral && !Number.isInteger(v))) ||
    !(values.length === 1 || values.length === per || (batched && per === 1))
  ) {
    fail(
      ...diag(
        "DLM0532",
        name,
        formatType({ dtype, shape }),
        `'${text}'`,
        integral ? "integers" : "numbers",
        per,
      ),
    );
  }
  const at = (i: number) =>
    values.length === 1 ? values[0] : values.length === per ? values[i % per] : values[
      Math.floor(i / per) % values.length
    ];
  const d = t.data;
  for (let i = 0; i < total; i++) {
    if (d instanceof BigInt64Array || d instanceof BigUint64Array) d[i] = BigInt(at(i));
    else (d as Float32Array)[i] = at(i);
  }
  return t;
}
