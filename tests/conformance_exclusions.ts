/**
 * ONNX backend cases the reference interpreter is known not to pass, each
 * with its reason. The conformance suite still runs them and expects them to
 * fail: a case that starts passing must be removed from this list.
 * Cases whose operators have no kernel at all are not listed here: the
 * suite reports them as "not implemented".
 */
export const EXCLUSIONS: Record<string, string> = {};
