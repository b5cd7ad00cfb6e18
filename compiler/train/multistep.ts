/**
 * Several training steps per run: the step graph becomes the body of a
 * Scan over stacked batches, so the state (parameters, optimiser state,
 * statistics) stays inside onnxruntime between the steps of one run. A step
 * outputs its whole state, and onnxruntime-node copies every output into a
 * fresh JavaScript buffer: for ResNet-18 that is 90 MB and about 40 ms per
 * step, paid once per run instead (ResNet-18 at batch 16: 200 -> 146 ms per
 * step; LeNet, whose state is small, 1.95 -> 1.80 ms).
 *
 * The multi-step model has the step's inputs, each batch input with a
 * leading `steps` axis (K batches of one size), and the step's outputs:
 * `next:<X>` after the last step, and `loss` and every `metric:<name>` as
 * [K] vectors, one value per step.
 */
import type { AttrValue, Graph, TensorType } from "../ir/graph.ts";
import { cloneType, isGraph, tapWeights } from "../ir/graph.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { BODY_PREFIX, fedInput, nextName, stateInputs } from "./contract.ts";

/** The symbolic dim of the stacked batches and of the per-step outputs. */
export const STEPS_DIM = "steps";

export { BODY_PREFIX } from "./contract.ts";

/** Wrap a step graph (contract.ts) in a Scan that runs one step per stacked batch. */
export function multiStep(step: Graph): Graph {
  const outNames = step.outputs.map((o) => o.name);
  const state = stateInputs(outNames);
  const stateSet = new Set(state);
  const batch = step.inputs.filter((i) => !stateSet.has(i.name));
  const perStep = outNames.filter((o) => fedInput(o) === undefined);
  const typeOf = (name: string): TensorType => {
    const t = step.types.get(name) ?? step.inputs.find((i) => i.name === name)?.type;
    if (!t) throw new Error(`internal: step value ${name} has no type`);
    return t;
  };

  // The body: the step with every value but its constants renamed, so that no name is
  // defined twice across the two scopes.
  // Weights trained at some taps keep their other taps in the outer graph, as the step does
  // (compiler/train/pack.ts): no node reads them.
  const tapped = tapWeights(step.packs);
  const constants = new Map(
    [...step.initializers].filter(([k]) =>
      !step.inputs.some((i) => i.name === k) && !tapped.has(k)
    ),
  );
  const rename = (v: string) => (v && !constants.has(v) ? BODY_PREFIX + v : v);
  // The step's own values, which a node's subgraph (a Loop body) may read by name.
  const stepValues = new Set([
    ...step.inputs.map((i) => i.name),
    ...step.nodes.flatMap((n) => n.outputs),
  ]);
  const body: Graph = {
    name: `${step.name}_step`,
    inputs: [...state, ...batch.map((b) => b.name)].map((n) => ({
      name: rename(n),
      type: cloneType(typeOf(n)),
    })),
    outputs: [...state.map(nextName), ...perStep].map((n) => ({
      name: rename(n),
      type: cloneType(typeOf(n)),
    })),
    nodes: step.nodes.map((n) => ({
      ...n,
      name: BODY_PREFIX + n.name,
      inputs: n.inputs.map(rename),
      outputs: n.outputs.map(rename),
      attrs: renameCaptures(n.attrs, rename, stepValues),
    })),
    initializers: constants,
    types: new Map([...step.types].map(([k, t]) => [rename(k), t])),
    params: [],
  };

  const b = new GraphBuilder(step.name);
  const g = b.graph;
  // The step's inputs in its order: state as it was (initial values stay the defaults), batches
  // with the steps axis in front.
  for (const x of step.inputs) {
    if (!stateSet.has(x.name)) {
      b.input(x.name, { dtype: x.type.dtype, shape: [STEPS_DIM, ...x.type.shape] });
      continue;
    }
    b.input(x.name, cloneType(x.type));
    const initial = step.initializers.get(x.name);
    if (initial) g.initializers.set(x.name, initial);
  }
  b.addNode("Scan", [...state, ...batch.map((x) => x.name)], {
    body,
    num_scan_inputs: batch.length,
  }, {
    name: "steps",
    outputs: [...state.map(nextName), ...perStep],
  });
  for (const n of [...state.map(nextName), ...perStep]) b.output(n);
  g.params = step.params.map((p) => ({ ...p }));
  if (step.packs) g.packs = step.packs;
  for (const k of tapped) {
    const t = step.initializers.get(k);
    if (t) g.initializers.set(k, t);
  }
  // Each stacked batch input holds the values the step reads.
  if (step.needs) g.needs = step.needs.map((n) => ({ ...n }));
  if (step.dimBounds) g.dimBounds = step.dimBounds.map((b) => ({ ...b }));
  return g;
}

/**
 * A node's attributes with the step values its subgraphs read (If/Loop/Scan bodies, nested
 * ones too) renamed as the step's are; the subgraphs' own values keep their names (names are
 * unique across scopes, so a name of `outer` is always a capture). Copies, never mutates.
 */
function renameCaptures(
  attrs: Record<string, AttrValue>,
  rename: (v: string) => string,
  outer: Set<string>,
): Record<string, AttrValue> {
  const r = (v: string) => (outer.has(v) ? rename(v) : v);
  const sub = (g: Graph): Graph => ({
    ...g,
    nodes: g.nodes.map((n) => ({
      ...n,
      inputs: n.inputs.map(r),
      attrs: renameCaptures(n.attrs, rename, outer),
    })),
    outputs: g.outputs.map((o) => ({ ...o, name: r(o.name) })),
  });
  const out: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(attrs)) {
    out[k] = isGraph(v) ? sub(v) : v;
  }
  return out;
}
