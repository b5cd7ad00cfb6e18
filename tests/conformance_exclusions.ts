/**
 * ONNX backend cases the reference interpreter is known not to pass, each
 * with its reason. The conformance suite still runs them and expects them to
 * fail: a case that starts passing must be removed from this list.
 * Cases whose operators have no kernel at all are not listed here: the
 * suite reports them as "not implemented".
 */

const RANDOM = "the expected values come from numpy's random generator, which the " +
  "interpreter's seeded generator does not reproduce";
const BF16_TRUNCATION = "the onnx 1.12 generator truncates f32 to bf16; the interpreter " +
  "rounds to nearest even, as onnxruntime and later ONNX releases do";
const LIKE_SHAPE = "the model declares input 'like' as [3, 4] but the test data feeds a " +
  "tensor of shape [1], which the interpreter's input check rejects";
const ADAM_EPSILON = "the generator computed the expected values with epsilon 1e-2, but " +
  "the model omits the attribute, so the spec default 1e-6 applies";
const SEQUENCE = "sequence and optional values are not representable in the IR (tensors only)";

export const EXCLUSIONS: Record<string, string> = {
  test_bernoulli: RANDOM,
  test_bernoulli_double: RANDOM,
  test_bernoulli_seed: RANDOM,
  test_bernoulli_double_expanded: RANDOM,
  test_bernoulli_expanded: RANDOM,
  test_bernoulli_seed_expanded: RANDOM,
  test_training_dropout: RANDOM,
  test_training_dropout_default: RANDOM,
  test_training_dropout_default_mask: RANDOM,
  test_training_dropout_mask: RANDOM,
  test_cast_FLOAT_to_BFLOAT16: BF16_TRUNCATION,
  test_castlike_FLOAT_to_BFLOAT16: LIKE_SHAPE,
  test_castlike_FLOAT_to_BFLOAT16_expanded: LIKE_SHAPE,
  test_castlike_BFLOAT16_to_FLOAT: LIKE_SHAPE,
  test_castlike_BFLOAT16_to_FLOAT_expanded: LIKE_SHAPE,
  test_adam_multiple: ADAM_EPSILON,
  test_identity_opt: SEQUENCE,
  test_identity_sequence: SEQUENCE,
};
