/**
 * Diagnostics: one catalogue of stable codes, and one renderer that prints
 * `file:line:col: error DLM0203: message`, the source line and a `~~~`
 * underline. Every user-facing failure of the compiler, the runtime and the
 * CLI goes through here; a user never sees a stack trace.
 */
import type { Span } from "./ir/graph.ts";

export type Severity = "error" | "warning";

/** One entry of the catalogue, after TypeScript's `diagnosticMessages.json`. */
export interface CodeInfo {
  /** A few words, sentence case: the code's row in spec/language.md 10.2. */
  readonly title: string;
  /**
   * How the code is reported: `error` (raised with `fail`, `error` or a checker's `err`) or
   * `warning` (with `warning`; the loader's DLM0404, for one, whose parameters keep their values).
   */
  readonly category: Severity;
  /**
   * The message: `{0}`, `{1}`, ... are its arguments, filled in by `diag`. Every code has one,
   * except a reserved code.
   */
  readonly message?: string;
  /**
   * A code the spec names that this compiler never reports: it keeps its number and has no
   * template until something raises it.
   */
  readonly reserved?: true;
}

/** The catalogue. Codes are stable: never reuse or renumber one. */
export const CODES = {
  // 00xx: syntax
  DLM0001: { title: "Unexpected character", category: "error", message: "Unexpected {0} {1}" },
  DLM0002: { title: "Syntax error", category: "error", message: "Expected {0} but found {1}" },
  DLM0003: {
    title: "Unterminated string",
    category: "error",
    message: "Unterminated string: expected a closing '\"' before the end of the line",
  },
  DLM0004: {
    title: "Unterminated comment",
    category: "error",
    message: "Unterminated comment: expected '*/' before the end of the file",
  },
  DLM0005: {
    title: "Unknown type",
    category: "error",
    message:
      "Unknown type '{0}': expected int, float, bool, str, tensor, a tensor type such as f32[N, 10] or a tuple type such as (int, int)",
  },
  DLM0006: {
    title: "Tensor type without dims",
    category: "error",
    message: "Expected the dims of the tensor type after '{0}', as in {0}[N, 10]",
  },
  DLM0007: {
    title: "Unknown element type",
    category: "error",
    message: "Unknown dtype '{0}': expected one of {1}",
  },
  DLM0008: { title: "Operators do not chain", category: "error", message: "{0} do not chain: {1}" },
  DLM0009: {
    title: "Unknown escape",
    category: "error",
    message: "Unknown escape '\\{0}' in a string: expected \\\", \\\\, \\n, \\t or \\$",
  },
  DLM0010: {
    title: "Interpolation not allowed",
    category: "error",
    message: "String interpolation is not allowed in {0}",
  },
  DLM0011: {
    title: "Statement not allowed in an expression",
    category: "error",
    message:
      "An 'if' expression's branch cannot hold '{0}': it may run let, assignments, if, for and expressions before its value",
  },
  DLM0012: {
    title: "Branch without a value",
    category: "error",
    message: "An 'if' expression's branch must end with its value, an expression; found {0}",
  },
  DLM0013: {
    title: "Keyword as a name",
    category: "error",
    message:
      "'{0}' is a keyword: it can label a layer ({0}: ...) but cannot name a value; choose another name",
  },
  // 01xx: names
  DLM0101: { title: "Unknown name", category: "error", message: "Unknown name '{0}'{1}" },
  DLM0102: {
    title: "Duplicate definition",
    category: "error",
    message: "'{0}' is already defined{1}",
  },
  DLM0103: {
    title: "Unknown model",
    category: "error",
    message: "No model named '{0}'; the models are: {1}",
  },
  DLM0104: {
    title: "Import not found",
    category: "error",
    message: "Cannot import '{0}': {1}",
  },
  DLM0105: { title: "Import cycle", category: "error", message: "Import cycle: {0}" },
  DLM0106: {
    title: "Duplicate label",
    category: "error",
    message:
      "Label '{0}' is already used in this scope (at line {1}); to share weights, bind the layer with let and call it twice",
  },
  DLM0107: {
    title: "Assignment to an undeclared variable",
    category: "error",
    message: "'{0}' is not declared; declare it first with let {0} = ...",
  },
  DLM0108: { title: "Ambiguous model", category: "error", reserved: true },
  DLM0109: {
    title: "Hides a built-in",
    category: "warning",
    message: "'{0}' hides the built-in {0}() in this scope; calling {0}(...) here calls this value",
  },
  DLM0110: {
    title: "Not allowed here",
    category: "error",
    message: "{0} declarations belong in a model; a block {1}",
  },
  DLM0111: {
    title: "Invalid name",
    category: "error",
    message: "Label '{0}' must be made of letters, digits and _ (dots separate levels)",
  },
  DLM0112: {
    title: "Missing output",
    category: "error",
    message: "Model {0} declares no output",
  },
  DLM0113: { title: "Unknown member", category: "error", message: "{0} has no member '{1}'{2}" },
  DLM0114: {
    title: "Unknown graph value",
    category: "error",
    message: "Unknown value '{0}' in the graph '{1}'",
  },
  DLM0115: { title: "Declared twice", category: "error", message: "{0} '{1}' is declared twice" },
  DLM0116: {
    title: "Name clash",
    category: "error",
    message: "{0} '{1}' clashes with another value of the same name",
  },
  DLM0117: {
    title: "Layer named twice",
    category: "error",
    message: "This layer is already named '{0}'; a layer instance has one name",
  },
  DLM0118: {
    title: "Assignment to a constant",
    category: "error",
    message: "'{0}' is a top-level constant and cannot be reassigned; bind a new name with let",
  },
  DLM0119: {
    title: "Derivation cycle",
    category: "error",
    message: "Model derivation cycle: {0}",
  },
  DLM0120: { title: "Belongs elsewhere", category: "error", message: "{0} belongs in {1}" },
  DLM0121: {
    title: "Wildcard dim in a model input",
    category: "error",
    message: "Model inputs need every dim named or sized; _ and ... are for block parameters",
  },
  // No longer raised: `_:` on a built-in layer gives the level its parameters (DLM0129 guards it).
  DLM0122: { title: "Splice label on a built-in", category: "error", reserved: true },
  DLM0123: {
    title: "Invalid parameter or method name",
    category: "error",
    message: '{0}() needs a name made of letters, digits and _{1}, got "{2}"',
  },
  DLM0124: {
    title: "Invalid init target",
    category: "error",
    message: "init target '{0}' must be layer.role (e.g. conv2d.weight) or a quoted name pattern",
  },
  DLM0125: { title: "No model", category: "error", message: "{0} declares no model" },
  DLM0126: { title: "No train section", category: "error", message: "{0} has no train section{1}" },
  DLM0127: {
    title: "Base is not a model",
    category: "error",
    message: "Model {0} derives from '{1}', which is not a model; the models are: {2}",
  },
  DLM0128: {
    title: "No KV-cache step model",
    category: "error",
    message:
      "No KV-cache step model '{0}' for '{1}' in {2}; declare it (inputs past_key/past_value, outputs present_key/present_value) or pass --no-kv-cache",
  },
  DLM0129: {
    title: "Level owned by another layer",
    category: "error",
    message:
      "Only one built-in layer may take the label _ in {0}: the one at line {1} already owns its parameters; name this one",
  },
  DLM0140: {
    title: "Copied twice",
    category: "error",
    message: "'{0}' is copied twice: from '{1}' ({2}) and from '{3}' ({4})",
  },
  DLM0141: {
    title: "Copy overlaps its source",
    category: "error",
    message:
      "{0}: '{1}' and '{2}' overlap; a copy and its source must be separate sub-models, such as two labels of one block",
  },
  DLM0142: {
    title: "Copies form a cycle",
    category: "error",
    message: "Copies form a cycle, so nothing gives the first values: {0}",
  },
  DLM0143: {
    title: "Copy of a pattern",
    category: "error",
    message:
      "{0} copies a sub-model by its name, not by a pattern: write the name alone, as in init key from query",
  },
  DLM0150: {
    title: "Too many syntax errors",
    category: "error",
    message: "Too many syntax errors: stopped after {0}",
  },
  DLM0151: {
    title: "File too large",
    category: "error",
    message:
      "The file is too large to compile: it has more than {0} {1} (parsing needs hundreds of bytes of memory for each token)",
  },
  DLM0152: {
    title: "Nesting too deep",
    category: "error",
    message:
      "This nests more than {0} levels deep (brackets, calls, operators and blocks each count one); split it with let",
  },
  DLM0153: {
    title: "Strings nested too deep",
    category: "error",
    message: "Strings nest more than {0} levels deep inside interpolations here",
  },
  DLM0154: {
    title: "Number too large",
    category: "error",
    message: "The number {0} is too large: the largest is about 1.8e308",
  },
  DLM0155: {
    title: "Integer too large",
    category: "error",
    message:
      "The integer {0} is beyond 2^53 (9007199254740991), so it would not be exact: write it as a float ({1}) if an approximate value is meant",
  },
  DLM0156: {
    title: "Init of no layer kind",
    category: "error",
    message:
      "init {0}: '{1}' is not a built-in layer, so the rule would set nothing{2}; to set a named layer's parameters, quote a pattern: init \"{0}\" = ...",
  },
  // 02xx: types and shapes
  DLM0201: {
    title: "Wrong argument type",
    category: "error",
    message: "{0} expects {1}, but got {2}",
  },
  DLM0202: {
    title: "Wrong number of arguments",
    category: "error",
    message: "{0}() takes at most {1}, but {2} were given{3}",
  },
  DLM0203: { title: "Shape mismatch", category: "error", message: "{0} needs {1}, got {2}" },
  DLM0204: {
    title: "Cannot broadcast",
    category: "error",
    message: "Cannot broadcast {0} with {1}: dim {2} is {3} but must be 1 or {4}",
  },
  DLM0205: {
    title: "Unknown named argument",
    category: "error",
    message: "{0} has no parameter '{1}'; {2}its parameters are: {3}",
  },
  DLM0206: {
    title: "Missing argument",
    category: "error",
    message: "{0}() is missing its argument '{1}' ({2})",
  },
  DLM0207: { title: "Dtype mismatch", category: "error", message: "{0} needs {1}, got {2}" },
  DLM0208: {
    title: "Declared type does not match",
    category: "error",
    message: "{0} is declared {1} but is {2}: {3}",
  },
  DLM0209: { title: "Not callable", category: "error", message: "{0} is not callable" },
  DLM0210: { title: "Invalid value", category: "error", message: "{0} needs {1}, got {2}" },
  DLM0211: {
    title: "Missing return",
    category: "error",
    message: "Block {0} ends without returning a value",
  },
  DLM0212: {
    title: "Index out of range",
    category: "error",
    message: "Index {0} is out of range for {1}",
  },
  DLM0213: {
    title: "Invalid axis",
    category: "error",
    message: "{0} axis {1} is out of range for {2}",
  },
  DLM0214: {
    title: "Not one of the allowed values",
    category: "error",
    message: '{0} must be {1}, got "{2}"',
  },
  DLM0215: { title: "Matches no parameter", category: "error", message: "{0} matches no {1}{2}" },
  DLM0216: {
    title: "Block input given by name",
    category: "error",
    message: "Block {0} takes its inputs by position, not by name '{1}'",
  },
  DLM0217: {
    title: "Not a named input",
    category: "error",
    message: "{0} is applied to tensors by position{1}; '{2}:' is not one of them",
  },
  DLM0218: { title: "Argument given twice", category: "error", message: "{0}() got '{1}' twice" },
  DLM0219: {
    title: "Wrong number of tensors",
    category: "error",
    message: "{0}() is applied to {1}, got {2}",
  },
  DLM0220: {
    title: "Wrong number of block inputs",
    category: "error",
    message: "Block {0} takes {1} ({2}), got {3}",
  },
  DLM0221: {
    title: "Wrong number of scalar arguments",
    category: "error",
    message: "{0}() takes {1}, got {2}",
  },
  DLM0222: { title: "Takes no arguments", category: "error", message: "{0}() takes no arguments" },
  DLM0223: { title: "Missing value", category: "error", message: "{0} needs {1}" },
  DLM0224: {
    title: "Model used as a value",
    category: "error",
    message: "'{0}' is a model; use a block to reuse layers inside another model",
  },
  DLM0225: {
    title: "Initialiser applied",
    category: "error",
    message: "{0} is an initialiser and cannot be applied to a tensor",
  },
  DLM0226: { title: "Too many indices", category: "error", message: "{0} indices for {1}" },
  DLM0227: {
    title: "Op input not accepted",
    category: "error",
    message: "{0} expects {1}, found {2}",
  },
  DLM0228: { title: "Op inputs disagree", category: "error", message: "{0} expects {1}: {2}" },
  DLM0229: {
    title: "Inner dims differ",
    category: "error",
    message: "{0} cannot multiply {1} by {2}: inner dims {3} and {4} differ",
  },
  DLM0230: { title: "Window does not fit", category: "error", message: "{0} does not fit {1}" },
  DLM0231: {
    title: "Shape input not constant",
    category: "error",
    message: "{0} needs {1}, found {2}",
  },
  DLM0232: { title: "Sizes do not fit", category: "error", message: "{0} cannot {1}" },
  DLM0233: {
    title: "Not a permutation",
    category: "error",
    message: "{0} needs a permutation of 0..{1} for {2}, got ({3})",
  },
  DLM0234: {
    title: "Not a scalar",
    category: "error",
    message: "{0} must be {1}, but {2} is {3}",
  },
  DLM0235: {
    title: "Shared layer applied to another size",
    category: "error",
    message:
      "Shared layer '{0}' needs {1} of shape [{2}] here, but it was created as [{3}]; a layer applied twice needs inputs of the same size",
  },
  DLM0236: { title: "Wrong type", category: "error", message: "{0} must be {1}, got {2}" },
  DLM0237: {
    title: "Operator does not apply",
    category: "error",
    message: "Operator {0} does not apply to {1}",
  },
  DLM0238: {
    title: "Cannot unpack",
    category: "error",
    message: "Cannot unpack {0} into {1} names ({2})",
  },
  DLM0239: { title: "Cannot index", category: "error", message: "Cannot index {0}" },
  DLM0240: {
    title: "Label on a value that is no layer",
    category: "error",
    message: "A label names a layer, but '{0}' labels {1}",
  },
  DLM0241: {
    title: "Top k out of range",
    category: "error",
    message: "{0}() needs k in 0..{1} (dim {2} of {3}), got {4}",
  },
  DLM0242: {
    title: "Symbolic k not in the input",
    category: "error",
    message:
      "{0}() reads a symbolic k's size from a tensor that has it, but {2} is not a dim of {1}; give k as an int, or a tensor that has {2} as like:",
  },
  DLM0243: {
    title: "Indices not integers",
    category: "error",
    message: "{0}() needs integer indices (i64 or i32), got {1}",
  },
  DLM0244: {
    title: "Indices of another rank",
    category: "error",
    message: "{0}() needs indices of the input's rank {1} (one index per element), got {2}",
  },
  DLM0245: {
    title: "Indices larger than the input",
    category: "error",
    message:
      "{0}() needs indices no larger than the input outside the axis: dim {1} of {2} is {3}, but the input {4} has {5}",
  },
  DLM0246: {
    title: "Source does not fit the indices",
    category: "error",
    message: "{0}() needs src of the indices' shape {1}, or a number, got {2}",
  },
  DLM0247: {
    title: "Arguments in another library's order",
    category: "error",
    message: "{0}() expects {1} for '{2}', but got {3}: {4}",
  },
  DLM0250: {
    title: "Loss trains nothing",
    category: "warning",
    message:
      "{0} does not reach {1} it trains: their gradients are zero and training leaves them as they are",
  },
  DLM0251: {
    title: "Parameters without gradient",
    category: "warning",
    message: "{0} does not reach {1} parameters it trains, whose gradients are zero: {2}",
  },
  DLM0252: {
    title: "Gradient of a non-scalar",
    category: "error",
    message:
      "grad() differentiates a value with one element, but y is {0}; reduce it first (reduce_sum(y)) or give grad_output: of its type",
  },
  DLM0253: {
    title: "Gradient of integer values",
    category: "error",
    message: "grad() needs floating-point tensors: {0} is {1}",
  },
  DLM0254: {
    title: "Gradient is zero",
    category: "warning",
    message:
      "y does not depend on {0} through differentiable floating-point ops, so grad() gives zeros{1}",
  },
  DLM0255: {
    title: "Two ellipses in an index",
    category: "error",
    message: "An index has at most one ...: which axes each stands for would be ambiguous",
  },
  DLM0256: {
    title: "Dim smaller than an index assumes",
    category: "error",
    message:
      "{0} assumes {1} >= {2}, as its type does, but {1} is {3} here ({4}); onnxruntime would clamp or fail",
  },
  DLM0257: {
    title: "Sharing without a twin",
    category: "error",
    message:
      "{0}: '{1}' has no twin in '{2}'{3}; a layer sharing an instance's parameters uses only parameters the instance has",
  },
  DLM0258: {
    title: "Sharing a parameter of another shape",
    category: "error",
    message: "{0}: '{1}' is {2} here but {3} in '{4}'",
  },
  DLM0259: {
    title: "Sharing of no layer or instance",
    category: "error",
    message: "The {0} of 'sharing' must be {1}, got {2}",
  },
  DLM0260: {
    title: "No full batch",
    category: "error",
    message:
      "{0} has {1} samples, fewer than one batch of {2}: with --drop-last (drop_last = true) it gives no batch; lower the batch size",
  },
  DLM0261: {
    title: "Sharing inside its source",
    category: "error",
    message:
      "{0} is applied inside '{1}' itself, whose parameters are still being made; apply it outside '{1}'",
  },
  DLM0270: {
    title: "Copy of another shape",
    category: "error",
    message: "{0}: '{1}' is {2} but its source '{3}' is {4}",
  },
  DLM0271: {
    title: "Copy without a twin",
    category: "error",
    message: "{0}: '{1}' has no twin '{2}'{3}; a copy and its source need the same parameter names",
  },
  // 03xx: compile-time evaluation and limits
  DLM0280: {
    title: "Cost is no matrix",
    category: "error",
    message: "linear_sum_assignment() expects a cost of floats, [R, C] or [B, R, C], but got {0}",
  },
  DLM0281: {
    title: "Cost of unknown size",
    category: "error",
    message: "linear_sum_assignment() needs the numbers of rows and columns at compile time " +
      "(at least one of each), but the cost is {0}; pad the objects to a maximum, as DETR does",
  },
  DLM0282: {
    title: "Mask does not fit the cost",
    category: "error",
    message: "linear_sum_assignment() expects a mask of the cost's rows, {0} for the cost {1} " +
      "(or of 1/0 numbers), but got {2}",
  },
  DLM0301: {
    title: "Recursion too deep",
    category: "error",
    message: "Recursion is deeper than {0} block calls: {1} never reaches a base case",
  },
  DLM0302: {
    title: "Graph too large",
    category: "error",
    message: "The graph has more than {0} nodes; is a loop or a recursion running away?",
  },
  DLM0303: {
    title: "Tensor too large",
    category: "error",
    message: "{0} has {1} elements; the limit per tensor is {2}",
  },
  DLM0304: {
    title: "Division by zero",
    category: "error",
    message: "Division by zero: {0} {1} {2}",
  },
  DLM0305: {
    title: "Not known at compile time",
    category: "error",
    message:
      "if needs a condition known at compile time; for a choice at run time use where(cond, a, b)",
  },
  // The message is the assertion's own, or "assertion failed".
  DLM0306: { title: "Assertion failed", category: "error", message: "{0}" },
  DLM0307: {
    title: "Integer overflow",
    category: "error",
    message: "Integer overflow: {0} {1} {2} is beyond 2^53",
  },
  DLM0308: {
    title: "Not a number",
    category: "error",
    message: "{0}({1}) is not a number",
  },
  DLM0309: {
    title: "Symbolic dim compared",
    category: "error",
    message:
      "Cannot compare {0} with {1} at compile time: a symbolic dim is only known at run time",
  },
  DLM0310: {
    title: "Symbolic dim in arithmetic",
    category: "error",
    message: "{0} {1} {2} needs the symbolic dim's value, which is only known at run time",
  },
  DLM0311: {
    title: "Too many iterations",
    category: "error",
    message: "Loops run more than {0} iterations in all; the limit keeps compile times bounded",
  },
  DLM0312: {
    title: "Range too long",
    category: "error",
    message: "{0} has {1} elements; the limit is {2}",
  },
  DLM0313: {
    title: "Too many parameters",
    category: "error",
    message: "The model has more than {0} parameter elements",
  },
  DLM0314: {
    title: "Nesting too deep",
    category: "error",
    message: "{0} nests expressions or calls too deeply to {1}",
  },
  DLM0315: {
    title: "Too many errors",
    category: "error",
    message: "Too many errors; stopping here",
  },
  DLM0316: {
    title: "Weights too large for one protobuf",
    category: "error",
    message:
      "The model's weights take {0} bytes, more than one ONNX protobuf can hold (2 GB); write it with external data (writeModel) instead",
  },
  DLM0317: {
    title: "Clustered value not finite",
    category: "error",
    message:
      "kmeans({0}) needs finite values to cluster, but row {1} of the {2} is {3} with the weights before epoch {4}",
  },
  DLM0318: {
    title: "Too many updates a step",
    category: "error",
    message:
      "minibatches(epochs: {0}, count: {1}) makes {2} updates in each training step, {3}; fewer epochs or minibatches a step keep it in bounds",
  },
  DLM0319: {
    title: "Too many items concatenated",
    category: "error",
    message:
      "Tuple and list concatenations copy more than {0} items in all; the limit keeps compile times bounded",
  },
  DLM0335: {
    title: "Not a special token of the tokenizer",
    category: "error",
    message: "{0}: the tokenizer '{1}' has no special token '{2}' (its special tokens: {3})",
  },
  DLM0350: {
    title: "Constant too large",
    category: "error",
    message: "{0} would be a constant of {1} elements ([{2}]); the limit is {3}",
  },
  DLM0351: {
    title: "Too deep to compile",
    category: "error",
    message: "{0} nest too deeply to compile{1}",
  },
  DLM0352: {
    title: "Schedule longer than training",
    category: "warning",
    message: "The schedule has {0}, more than the training takes ({1}); the rest never runs",
  },
  DLM0353: {
    title: "Run over the memory budget",
    category: "error",
    message:
      "{0} needs about {1} of memory ({2}), more than the budget of {3} ({4}); --memory-budget or DLM_MEMORY_BUDGET sets it",
  },
  // 04xx: files, weights and data
  DLM0401: { title: "Cannot read file", category: "error", message: "Cannot read {0}: {1}" },
  DLM0402: { title: "Invalid safetensors file", category: "error", message: "Invalid {0}: {1}" },
  DLM0403: {
    title: "Weight shape mismatch",
    category: "error",
    message: "{0} is {1} but {2} is {3}",
  },
  DLM0404: {
    title: "Missing weight",
    category: "warning",
    message: "{0} not in {1} keep their initial values: {2}",
  },
  DLM0405: { title: "Invalid ONNX file", category: "error", message: "Invalid {0}: {1}" },
  DLM0406: {
    title: "Invalid .npy file",
    category: "error",
    message: "Invalid {0}: {1}",
  },
  DLM0407: {
    title: "Unused weight",
    category: "warning",
    message: "{0} in {1} match no parameter: {2}",
  },
  DLM0408: { title: "Invalid weights map", category: "error", message: "Invalid {0}: {1}" },
  DLM0409: { title: "Cannot write file", category: "error", message: "Cannot write {0}: {1}" },
  DLM0410: {
    title: "Unsupported operator",
    category: "error",
    message: "Operator '{0}' is not implemented by the reference interpreter (node '{1}')",
  },
  DLM0411: {
    title: "Input mismatch",
    category: "error",
    message: "Input '{0}' expects {1}, found {2}",
  },
  DLM0412: { title: "Invalid data file", category: "error", message: "Invalid {0}: {1}" },
  DLM0413: { title: "Not implemented yet", category: "error", reserved: true },
  DLM0414: {
    title: "Not supported by dlm",
    category: "error",
    message: "{0} has {1}, which dlm does not support",
  },
  DLM0415: {
    title: "Model onnxruntime cannot load",
    category: "error",
    message: "onnxruntime ({0}) cannot load {1}: {2}",
  },
  DLM0416: {
    title: "No initial value",
    category: "error",
    message:
      "No initial value for {0}: give a weights file or store them as initializers of the step model",
  },
  DLM0417: {
    title: "Cannot differentiate",
    category: "error",
    message: "Cannot differentiate {0}: {1}",
  },
  DLM0418: {
    title: "Unknown input",
    category: "error",
    message: "Unknown input {0}; the model's inputs are {1}",
  },
  DLM0419: {
    title: "Missing input",
    category: "error",
    message: "Missing input {0}; the model needs {1}",
  },
  DLM0420: {
    title: "Unknown output",
    category: "error",
    message: "Unknown output {0}; the model's outputs are {1}",
  },
  DLM0421: {
    title: "No random input of this type",
    category: "error",
    message: "Cannot make a random {0} input; give it as a .npy file",
  },
  DLM0422: {
    title: "Not the model expected",
    category: "error",
    message: "{0} needs {1}, got {2}",
  },
  DLM0423: { title: "Data does not fit", category: "error", message: "{0} needs {1}, got {2}" },
  DLM0424: {
    title: "Optimiser state on taps not trained",
    category: "error",
    message:
      "{0} is not zero on kernel taps of '{1}' that only padding reads at this input size, and the step trains the other taps alone: resume at the input size the state was saved at, or without its optimiser state",
  },
  DLM0430: {
    title: "Second-order gradient",
    category: "error",
    message:
      "Second-order gradient not supported: training differentiates a grad() value through op {0} (node '{1}'), which has no gradient rule; wrap the grad() value in stop_gradient() if training need not differentiate it",
  },
  DLM0460: {
    title: "Data value out of range",
    category: "error",
    message: "{0}: {1} {2} is outside {3} that {4} accepts",
  },
  DLM0461: {
    title: "Data value not an integer",
    category: "error",
    message: "{0}: {1} {2} is not an integer",
  },
  DLM0470: { title: "Unusable tokenizer", category: "error", message: "{0}: {1}" },
  DLM0471: {
    title: "Token id out of range",
    category: "error",
    message: "{0}: '{1}' is not a token id of this tokenizer (0..{2})",
  },
  DLM0472: {
    title: "Not UTF-8 text",
    category: "error",
    message: "{0} is not UTF-8 text: invalid bytes at offset {1}",
  },
  DLM0480: {
    title: "Ground truth of the wrong shape",
    category: "error",
    message: "Ground truth {0} is {1}, but needs {2}",
  },
  // 05xx: command line
  DLM0501: { title: "Usage error", category: "error", message: "{0} needs {1}, got {2}" },
  DLM0502: { title: "Unknown option", category: "error", message: "unknown option '{0}'" },
  DLM0503: {
    title: "Option without its value",
    category: "error",
    message: "option '--{0}' needs a value ({1})",
  },
  DLM0504: {
    title: "Option takes no value",
    category: "error",
    message: "option '--{0}' takes no value",
  },
  DLM0505: {
    title: "Wrong number of files",
    category: "error",
    message: "expected one {0}, got {1}",
  },
  DLM0506: { title: "Missing option", category: "error", message: "missing {0}" },
  DLM0507: { title: "Option needs another", category: "error", message: "{0} needs {1}" },
  DLM0508: {
    title: "Options do not go together",
    category: "error",
    message: "{0} and {1} do not go together: {2}",
  },
  DLM0509: {
    title: "Outputs name one file",
    category: "error",
    message: "{0} name the same file '{1}'",
  },
  DLM0510: {
    title: "Output would overwrite the source",
    category: "error",
    message: "refusing to overwrite the source file '{0}' with an output",
  },
  DLM0511: {
    title: "Cannot merge adapters",
    category: "error",
    message: "Cannot merge adapters: {0}",
  },
  DLM0512: {
    title: "No fine-tuning methods",
    category: "error",
    message: "{0}: model {1} has no fine-tuning methods (derive one: model M = {1} with lora(...))",
  },
  DLM0513: {
    title: "Adapters option without methods",
    category: "warning",
    message: "{0}: model {1} has no fine-tuning methods (derive one: model M = {1} with lora(...))",
  },
  DLM0514: { title: "Unknown command", category: "error", message: "unknown command '{0}'" },
  DLM0515: {
    title: "Not one of the choices",
    category: "error",
    message: "{0} must be {1}, got {2}",
  },
  DLM0516: {
    title: "Option changed meaning",
    category: "warning",
    message:
      "{0} in dlm generate now turns off the onnxruntime session cache, as in run and train; the KV cache stays on ({1} turns it off)",
  },
  DLM0517: {
    title: "Option given twice",
    category: "error",
    message: "option '--{0}' takes one value and is given two: {1} and {2}",
  },
  DLM0530: {
    title: "Output not an image batch",
    category: "error",
    message: "Cannot draw output '{0}' {1} as images: it needs {2}",
  },
  DLM0531: {
    title: "Input to set",
    category: "error",
    message:
      "Input '{0}' is {1}, which is not drawn as noise: give it with --set {0}=VALUE or --input {0}=DATA",
  },
  DLM0532: {
    title: "Value does not fit the input",
    category: "error",
    message:
      "--set {0}: {1} takes one value, a list of one value a row, or one row's {4} values ({3}); got {2}",
  },
  DLM0540: {
    title: "Sweep list that does not parse",
    category: "error",
    message: "--set '{0}': {1} (a sweep's --set takes KEY=V1,V2,... with distinct values)",
  },
  DLM0541: {
    title: "Sweep key given twice",
    category: "error",
    message: "--set {0} is given twice: list its values once, --set {0}=V1,V2,...",
  },
  DLM0542: {
    title: "Nothing to sweep",
    category: "error",
    message: "dlm sweep needs at least one --set KEY=V1,V2,... with two or more values, got {0}",
  },
  DLM0543: {
    title: "Configurations failed",
    category: "error",
    message: "{0} of {1} configurations failed; their errors are in {2}",
  },
  DLM0544: {
    title: "No scaling fit",
    category: "warning",
    message: "Cannot fit L(N) to {0}: it needs finished runs of at least two parameter counts",
  },
  DLM0545: {
    title: "Outputs are not detections",
    category: "error",
    message: "The model's outputs give no {0}; its outputs are {1}",
  },
  DLM0546: {
    title: "Detection output of the wrong shape",
    category: "error",
    message: "Output '{0}' is {1}, but detections need {2}",
  },
  DLM0547: {
    title: "No weights given",
    category: "warning",
    message: "{0} without --weights runs the model's initial random weights (seed {1})",
  },
  // 06xx: runtime
  DLM0560: {
    title: "File not formatted",
    category: "error",
    message: "'{0}' is not formatted: dlm fmt would change it",
  },
  DLM0601: { title: "Outputs differ", category: "error", reserved: true },
  DLM0602: {
    title: "Runtime failure",
    category: "error",
    message: "{0} failed to run {1}: {2}",
  },
  // 07xx: train sections
  DLM0701: {
    title: "Nothing to train",
    category: "error",
    message: "train {0}: every parameter is frozen; there is nothing to train",
  },
  DLM0702: {
    title: "Parameter trained twice",
    category: "error",
    message: "phase '{0}' trains parameters an earlier phase trains",
  },
  DLM0703: {
    title: "Phase trains nothing",
    category: "error",
    message: "phase '{0}' trains no parameter (params: \"{1}\")",
  },
  DLM0704: {
    title: "Averaged parameter trained",
    category: "error",
    message: 'moving_average(): {0} is trained by gradients too; freeze "{1}.*"',
  },
  DLM0705: {
    title: "Updates with phases",
    category: "error",
    message:
      "updates = minibatches(...) cannot be combined with phase(...): each phase is one update of its own parameters; write one loss",
  },
  DLM0706: {
    title: "Rollout tensor not per sample",
    category: "error",
    message: "minibatches() slices each tensor of over: along axis 0, its samples, but {0}",
  },
  DLM0707: {
    title: "Per-sample value not sliced",
    category: "error",
    message:
      "the loss reads {0} ({1}) with the rollout's samples along axis 0, but minibatches() does not slice it: add it to over:",
  },
  DLM0725: {
    title: "Subspace larger than its parameters",
    category: "error",
    message:
      "subspace(d: {0}) spans only {1} parameter values ({2}): d must be in 1..{1}, a subspace no larger than the space it lies in",
  },
  DLM0726: {
    title: "Sweep metric not reported",
    category: "error",
    message: "--metric {0}: the train section of {1} reports no metric '{0}'; it reports {2}",
  },
  DLM0727: {
    title: "Sweep reference needs a metric",
    category: "error",
    message:
      "{0} needs --metric NAME: the metric whose fraction of the reference's the sweep looks for",
  },
  DLM0728: {
    title: "More clusters than points",
    category: "error",
    message:
      "kmeans(k: {0}) needs at most as many clusters as the {1} rows it clusters{2}: k must be in 1..{1}",
  },
  DLM0729: {
    title: "Stage outside a train section",
    category: "error",
    message:
      "'input {0}: ... from ...' declares data a stage computes between epochs; it belongs in a train section, not {1}",
  },
  DLM0730: {
    title: "Stage data of the wrong type",
    category: "error",
    message: "input '{0}' from {1} must be {2}, got {3}",
  },
  DLM0731: {
    title: "Clustered value of the wrong shape",
    category: "error",
    message: "kmeans() clusters {0}: it needs {1}, got {2}",
  },
  // 08xx: fine-tuning
  DLM0801: {
    title: "Method does not fit the layer",
    category: "error",
    message: "{0} cannot adapt {1}: {2}",
  },
  // 09xx
  DLM0900: { title: "Internal error", category: "error", message: "Internal error: {0}" },
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;

/** The codes whose messages have one template in the catalogue. */
export type TemplatedCode = {
  [C in Code]: (typeof CODES)[C] extends { message: string } ? C : never;
}[Code];

/** A message argument: a name, a type, a number, or a fragment such as a suggestion. */
export type MessageArg = string | number;

/**
 * The code and the message of a templated code, its placeholders filled: spread it into
 * `fail`, `error` or a checker's `err` so the code is written once and the words come from the
 * catalogue. Throws (a bug of ours) when the arguments do not match the template's placeholders.
 * @example fail(...diag("DLM0406", ".npy file 'x.npy'", "truncated data"))
 * // DLM0406: Invalid .npy file 'x.npy': truncated data
 */
export function diag<C extends TemplatedCode>(code: C, ...args: MessageArg[]): [C, string] {
  const template: string = CODES[code].message;
  const used = placeholders(template);
  if (used.length !== args.length) {
    throw new Error(`${code} takes ${used.length} message arguments, got ${args.length}`);
  }
  return [code, template.replace(/\{(\d+)\}/g, (_, i) => String(args[Number(i)]))];
}

/** The distinct placeholder numbers of a template, ascending: [0, 1] for "{1} and {0}". */
export function placeholders(template: string): number[] {
  const found = new Set([...template.matchAll(/\{(\d+)\}/g)].map((m) => Number(m[1])));
  return [...found].sort((a, b) => a - b);
}

export interface Diagnostic {
  code: Code;
  severity: Severity;
  message: string;
  span?: Span;
  /** Extra lines printed under the source excerpt ("note: ..."). */
  notes?: string[];
  /**
   * The fixes the checker knows, as data (an editor offers each as a quick fix; the CLI prints
   * the message, whose words already name the fix).
   */
  fixes?: Fix[];
  /**
   * A symbolic dim the check needs a size for (`--dim NAME=<size>` in the message): the layer
   * that knows the inputs' declarations (the training compiler) turns it into a fix of them.
   */
  needsDim?: string;
}

/** One edit of a fix: the text of `span` replaced by `newText` (an empty span inserts). */
export interface FixEdit {
  span: Span;
  newText: string;
}

/**
 * A fix: what it does, in a few words ("Change to 'relu'", "Insert return"), and its edits,
 * in one file or several (an input declared in an imported file).
 */
export interface Fix {
  title: string;
  edits: FixEdit[];
}

/** `d` with `fix` added to its fixes (returned for chaining). */
export function withFix(d: Diagnostic, fix: Fix | undefined): Diagnostic {
  if (fix) (d.fixes ??= []).push(fix);
  return d;
}

/** The fix of a "did you mean": the name written at `span` (its whole text) replaced by `near`. */
export function renameFix(span: Span, near: string): Fix {
  return { title: `Change to '${near}'`, edits: [{ span, newText: near }] };
}

/** The fix of an assignment to an undeclared name (DLM0107): `let` before it declares it. */
export function declareFix(nameSpan: Span, name: string): Fix {
  return {
    title: `Declare '${name}' here: let ${name} = ...`,
    edits: [{
      span: { ...nameSpan, endLine: nameSpan.line, endCol: nameSpan.col },
      newText: "let ",
    }],
  };
}

/** The span of `length` characters at the start of `span` (a named argument's name). */
export function headSpan(span: Span, length: number): Span {
  return { ...span, endLine: span.line, endCol: span.col + length };
}

/** The span of the last `length` characters of `span` (the name ending a statement). */
export function tailSpan(span: Span, length: number): Span {
  return { ...span, line: span.endLine, col: span.endCol - length };
}

/**
 * Where a diagnostic about a whole file is reported (it declares no model, it nests too deeply):
 * its first character, as TypeScript places its file-level errors (`file.ts(1,1)`).
 */
export function fileStart(file: string): Span {
  return { file, line: 1, col: 1, endLine: 1, endCol: 1 };
}

/** Thrown to abort with one or more diagnostics. Caught by the CLI. */
export class DlmError extends Error {
  readonly diagnostics: Diagnostic[];
  /** Source texts for quoting lines, when the diagnostics point into .dlm files. */
  sources?: SourceMap;
  constructor(diagnostics: Diagnostic[] | Diagnostic, sources?: SourceMap) {
    const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics];
    super(list.map((d) => `${d.code}: ${d.message}`).join("\n"));
    this.name = "DlmError";
    this.diagnostics = list;
    this.sources = sources;
  }
}

/** A warning diagnostic (a code whose category is "warning"). */
export function warning(code: Code, message: string, span?: Span, notes?: string[]): Diagnostic {
  return { code, severity: "warning", message, span, notes };
}

/** A mistake in the command line, 05xx: the CLI exits with its usage status (2). */
export function isUsageCode(code: Code): boolean {
  return code.startsWith("DLM05");
}

/** Shorthand: a DlmError with one error diagnostic. */
export function fail(code: Code, message: string, span?: Span, notes?: string[]): never {
  throw new DlmError({ code, severity: "error", message, span, notes });
}

export function error(code: Code, message: string, span?: Span, notes?: string[]): Diagnostic {
  return { code, severity: "error", message, span, notes };
}

/** Source texts by file name, so diagnostics can quote the offending line. */
export class SourceMap {
  #files = new Map<string, string[]>();
  add(file: string, text: string): void {
    this.#files.set(file, text.split(/\r?\n/));
  }
  line(file: string, line: number): string | undefined {
    return this.#files.get(file)?.[line - 1];
  }
  /** Each file and its text (lines joined by "\n"), in the order they were added. */
  files(): [string, string][] {
    return [...this.#files].map(([file, lines]) => [file, lines.join("\n")]);
  }
}

/**
 * A huge name (generated or mangled code) is shown cut to its first 40 characters and "…", so
 * that a message stays a line however long the name it quotes.
 */
export function cutLongNames(text: string): string {
  // A loop, not a regular expression: V8's backtracking runs out of stack on a run of millions.
  const word = (c: number) =>
    (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length;) {
    if (!word(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i;
    while (j < text.length && word(text.charCodeAt(j))) j++;
    if (j - i > 40) {
      out += `${text.slice(from, i + 40)}…`;
      from = j;
    }
    i = j;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** Render one diagnostic as people read it. */
export function formatDiagnostic(d: Diagnostic, sources?: SourceMap): string {
  const where = d.span ? `${d.span.file}:${d.span.line}:${d.span.col}: ` : "";
  const out = [`${where}${d.severity} ${d.code}: ${cutLongNames(d.message)}`];
  const src = d.span && sources?.line(d.span.file, d.span.line);
  if (d.span && src !== undefined) {
    const num = String(d.span.line);
    const pad = " ".repeat(num.length);
    let line = src;
    let start = Math.max(1, d.span.col);
    let end = d.span.endLine === d.span.line ? Math.max(d.span.endCol, start + 1) : line.length + 1;
    // A very long line (generated code) is shown as a window around the error.
    const MAX = 160;
    if (line.length > MAX) {
      const from = Math.max(0, Math.min(start - 1 - 40, line.length - MAX));
      const head = from > 0 ? "..." : "";
      const tail = from + MAX < line.length ? "..." : "";
      line = head + line.slice(from, from + MAX) + tail;
      start = start - from + head.length;
      end = Math.min(end - from + head.length, head.length + MAX + 1);
    }
    line = line.replace(/\t/g, " ");
    const width = Math.max(1, Math.min(end, line.length + 1) - start);
    out.push(`${num} | ${line}`);
    out.push(`${pad} | ${" ".repeat(start - 1)}${"~".repeat(width)}`);
  }
  for (const n of d.notes ?? []) out.push(`  note: ${cutLongNames(n)}`);
  return out.join("\n");
}

/**
 * One diagnostic per code and place (the first): the resolver and the elaborator may both see an
 * unknown name, and the model and a train section compile the same declarations.
 */
export function dedupeDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = d.span
      ? `${d.code}@${d.span.file}:${d.span.line}:${d.span.col}`
      : `${d.code}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Sort by file, line, column; keeps the order of diagnostics without spans. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => {
    if (!a.span || !b.span) return 0;
    if (a.span.file !== b.span.file) return a.span.file < b.span.file ? -1 : 1;
    return a.span.line - b.span.line || a.span.col - b.span.col;
  });
}
