/** Training: compiling train sections into step models, and the builders they use. */
export {
  type CompiledStage,
  type CompiledTrain,
  compileSection,
  compileTrain,
  type TrainCompileOptions,
  type TrainSettings,
} from "./compile.ts";
export * from "./contract.ts";
export { buildOptimizer, type OptimizerSpec } from "./optimizers.ts";
export { buildSchedule, type ScheduleSpec } from "./schedules.ts";
export { buildClip, type ClipSpec } from "./clip.ts";
