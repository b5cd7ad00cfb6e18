/**
 * Training data: named arrays from `.npy` and `.csv` files (and the bundled
 * digits set), aligned into a Dataset with seeded shuffling, batching and a
 * validation split.
 */
export { type CsvTable, parseCsv, selectColumns, tableToTensor } from "./csv.ts";
export {
  type DataSpec,
  DIGITS_PATH,
  digitsFit,
  loadData,
  loadDataset,
  loadDigits,
  parseDataSpecs,
} from "./load.ts";
export {
  type Batch,
  type BatchOptions,
  type DataOrigin,
  Dataset,
  describeElement,
  describeRows,
  permutation,
  type SplitOptions,
  takeRows,
} from "./dataset.ts";
export { checkData, type CheckOptions, checkValues, inputNeeds } from "./validate.ts";
