/**
 * The training runtime: the loop over a step model (compiler/train/contract.ts),
 * checkpoints, the loss/metric history and its curves, progress display.
 */
export {
  type EarlyStopping,
  initialState,
  type SessionChoices,
  stateInParamShapes,
  stepTensor,
  train,
  type TrainOptions,
  type TrainResult,
} from "./loop.ts";
export { type LoadedModel, loadModel, type ModelSource } from "./model.ts";
export { type Backend, openRunner, type Runner, type SessionSettings } from "./runner.ts";
export { type Checkpoint, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
export {
  type EpochRecord,
  historyColumns,
  historyCsv,
  historySvg,
  writeHistory,
} from "./history.ts";
export { Progress, type ProgressSink, stderrSink } from "./progress.ts";
