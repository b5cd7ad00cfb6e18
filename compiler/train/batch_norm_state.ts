/**
 * The state a training step's batch norms carry from step to step, as
 * PyTorch's `BatchNorm` modules do in training mode: the running statistics
 * (`running_mean`, `running_var`) and the count of batches they have seen
 * (`num_batches_tracked`).
 *
 * A `batch_norm` compiled in train mode is one `BatchNormalization` node with
 * `training_mode` 1 per application, whose extra outputs are the running
 * statistics after it. PyTorch, per training forward of a module, updates
 * its running statistics from the batch and adds one to its counter:
 *
 *   running <- (1 - m) running + m batch          (dlm's momentum m; ONNX's is 1 - m)
 *   num_batches_tracked <- num_batches_tracked + 1
 *
 * A layer applied k times in one forward (a shared instance, 6.7 of the
 * spec) does so k times in order: its statistics pass through each
 * application's update and its counter grows by k. So, in the order the
 * nodes were built (the program's order, which is PyTorch's call order):
 * each train-mode node reads the running statistics the previous
 * application of its layer produced, the last application's are the step's
 * next values, and the counter's next value is counter + k.
 *
 * Only train-mode nodes count, as PyTorch counts only in training mode. dlm
 * has no per-layer eval mode: a train section compiles every batch norm its
 * forward applies in train mode. Frozen parameters (`freeze`, fine-tuning
 * methods) do not change the mode, as `requires_grad = False` leaves a
 * PyTorch module in training mode: their statistics and counters move.
 */
import type { Graph } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import type { GraphBuilder } from "../ops/builder.ts";
import { newPack } from "./pack.ts";

/** What a step's batch norms update. */
export interface BatchNormState {
  /** Each running statistic (an input of the step) -> its value after the step. */
  buffers: Map<string, string>;
  /** Each `num_batches_tracked` -> the train-mode applications of its layer in one step. */
  counters: Map<string, number>;
}

const MEAN = "running_mean";
const COUNTER = "num_batches_tracked";

/**
 * The batch norms' state updates of a step's forward graph `g`, built in
 * train mode; chains the running statistics of a layer applied more than
 * once (rewriting the later nodes' inputs).
 */
export function batchNormState(g: Graph): BatchNormState {
  // A batch norm's parameters are `<layer>.running_mean`, ... `<layer>.num_batches_tracked`.
  const counterOf = new Map<string, string>();
  const roles = new Map(g.params.map((p) => [p.name, p.role]));
  for (const p of g.params) {
    if (p.role !== MEAN) continue;
    const counter = p.name.slice(0, p.name.length - MEAN.length) + COUNTER;
    if (roles.get(counter) === COUNTER) counterOf.set(p.name, counter);
  }
  const buffers = new Map<string, string>();
  const counters = new Map<string, number>();
  for (const n of g.nodes) {
    if (n.op !== "BatchNormalization" || n.attrs.training_mode !== 1 || n.outputs.length < 3) {
      continue;
    }
    const mean = n.inputs[3];
    for (const j of [3, 4]) {
      const running = n.inputs[j];
      // A later application reads what the earlier one left.
      const before = buffers.get(running);
      if (before !== undefined) n.inputs[j] = before;
      if (n.outputs[j - 2]) buffers.set(running, n.outputs[j - 2]);
    }
    const counter = counterOf.get(mean);
    if (counter) counters.set(counter, (counters.get(counter) ?? 0) + 1);
  }
  return { buffers, counters };
}

/**
 * The counters' next values, `counter + k`, as [value, counter] pairs. With
 * `pack` and at least two counters, they become one i64 input `pack:<k>`
 * (compiler/train/pack.ts) updated by one Add, since no node reads them;
 * else one Add each. The counters must be inputs of the step already.
 */
export function countBatches(
  b: GraphBuilder,
  counters: Map<string, number>,
  pack: boolean,
): [string, string][] {
  const names = [...counters.keys()];
  if (names.length === 0) return [];
  if (pack && names.length > 1) {
    const layout = newPack(b, names);
    const k = b.initializer(
      `${layout.name}/batches`,
      tensor("i64", [layout.size], names.map((c) => counters.get(c)!)),
    );
    const [next] = b.addNode("Add", [layout.name, k], {}, { name: `${layout.name}/count` });
    return [[next, layout.name]];
  }
  const amounts = new Map<number, string>();
  return names.map((c) => {
    const k = counters.get(c)!;
    let amount = amounts.get(k);
    if (!amount) {
      amount = b.initializer(`${COUNTER}.add${k}`, tensor("i64", [], [k]));
      amounts.set(k, amount);
    }
    const [next] = b.addNode("Add", [c, amount], {}, { name: `${c}/count` });
    return [next, c];
  });
}
