/**
 * The elaborator: checks a model and builds its graph in one walk. It runs
 * the .dlm program at compile time — loops unroll, conditionals pick a
 * branch, recursion expands — while tensors stay symbolic IR values whose
 * shapes are inferred node by node through the op table. Every error is a
 * diagnostic at the user's span; after one, the failing expression yields
 * the poison value and elaboration goes on, so independent errors are all
 * reported in one run.
 *
 * One class, written in layers, one file each; each extends the one before
 * it, so a file sees the methods below it and none above:
 *
 * - core.ts: state, diagnostics, and the Ctx that built-ins run against
 *   (nodes, parameters, constants);
 * - types.ts: model input types, declared-type checks;
 * - operators.ts: unary and binary operators;
 * - indexing.ts: `x[i, a:b]` and `x.shape`;
 * - statements.ts: statements, and what finishes a model;
 * - expressions.ts: expressions and name lookup;
 * - calls.ts: calls, layer and block instances, labels;
 * - elaborator.ts: the entry points (a model, a model with its train section).
 *
 * The few methods a lower layer calls but a higher one defines (eval,
 * applyInstance, ...) are declared abstract in core.ts. Built-in layers,
 * functions and compile-time functions (scan, param, adam, ...) are not
 * here: they live in ../builtins/ and see only Ctx.
 */
export { elaborate, elaborateTrain, TRAIN_SETTINGS } from "./elaborator.ts";
export type { ElabResult, TrainElabResult, TrainPhase, TrainStage } from "./elaborator.ts";
export type { ElabOptions } from "./core.ts";
export { LIMITS } from "../limits.ts";
export { COMPILE_FNS, INIT_FNS, isSymbolName } from "../names.ts";
