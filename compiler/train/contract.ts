/**
 * The contract between a training-step ONNX model and whoever runs it (the
 * `dlm train` loop, an onnxruntime session in a browser, the reference
 * interpreter). A step model is a plain ONNX graph:
 *
 * inputs
 *   - every trainable parameter, by its dlm name (`fc.weight`);
 *   - every buffer that training updates, by its name (`bn1.running_mean`,
 *     `bn1.num_batches_tracked`, an i64 scalar);
 *   - every optimiser state tensor, named `opt:<slot>:<param>`
 *     (`opt:m:fc.weight`, `opt:v:fc.weight` for Adam), of its parameter's
 *     element count, declared in the shape the step writes it in (a
 *     convolution's SGD momentum [M, C k k], its Gemm's: state_layout.ts);
 *     callers hold it in the parameter's shape and view it in the declared
 *     one (runtime/train: initialState, stateInParamShapes);
 *   - `step`: an i64 scalar, the number of updates done before this one;
 *   - the batch, by the model's input names (`image`, `label`).
 * outputs
 *   - `loss`: the f32 scalar being minimised;
 *   - `metric:<name>`: f32 scalars (`metric:accuracy`);
 *   - `next:<X>` for every state input X above (parameters, buffers,
 *     optimiser state and `step`): the value to feed as X next time.
 *
 * An evaluation model takes the parameters, buffers and batch and returns
 * `loss`, the metrics and the model's outputs.
 *
 * A step with packed parameters (compiler/train/pack.ts, what `dlm train`
 * compiles) takes flat vectors `pack:<k>` in place of their members, with
 * optimiser state `opt:<slot>:pack:<k>`; the ModelProto's metadata entry
 * `dlm.packs` gives each member's offset and shape, and for a convolution
 * weight packed at some kernel taps only, the `taps` (compiler/train/pack.ts,
 * tapWindows): its other taps never change, and the step model keeps its
 * initial value as an initializer that no node reads.
 *
 * A multi-step model (compiler/train/multistep.ts, what `dlm train` runs)
 * takes each batch input with a leading `steps` axis and returns `loss` and
 * the metrics as one value per step.
 */

export const STEP_INPUT = "step";
export const LOSS_OUTPUT = "loss";

/** The prefix of every value of a multi-step model's Scan body (multistep.ts), which names its step. */
export const BODY_PREFIX = "step/";
const NEXT = "next:";
const METRIC = "metric:";
const OPT = "opt:";

/** `next:<name>`: the output that feeds input `name` at the next step. */
export function nextName(name: string): string {
  return NEXT + name;
}

/** The input a `next:` output feeds, or undefined for other outputs. */
export function fedInput(output: string): string | undefined {
  return output.startsWith(NEXT) ? output.slice(NEXT.length) : undefined;
}

/** `metric:<name>`. */
export function metricName(name: string): string {
  return METRIC + name;
}

/** The metric an output reports, or undefined. */
export function metricOf(output: string): string | undefined {
  return output.startsWith(METRIC) ? output.slice(METRIC.length) : undefined;
}

/** `opt:<slot>:<param>`: an optimiser state tensor of a parameter (slot: m, v, momentum, sum, ...). */
export function optSlotName(slot: string, param: string): string {
  return `${OPT}${slot}:${param}`;
}

/** The (slot, param) of an optimiser state name, or undefined. */
export function parseOptSlot(name: string): { slot: string; param: string } | undefined {
  if (!name.startsWith(OPT)) return undefined;
  const rest = name.slice(OPT.length);
  const i = rest.indexOf(":");
  return i < 0 ? undefined : { slot: rest.slice(0, i), param: rest.slice(i + 1) };
}

/** The state inputs of a step model: those with a `next:` output. */
export function stateInputs(outputNames: string[]): string[] {
  return outputNames.map(fedInput).filter((x): x is string => x !== undefined);
}
