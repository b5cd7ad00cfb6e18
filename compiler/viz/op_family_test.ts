import assert from "node:assert/strict";
import { FAMILIES, FAMILY_STYLES, opFamily } from "./op_family.ts";

Deno.test("opFamily() puts common ops in the family a reader expects", () => {
  assert.equal(opFamily("Conv"), "conv");
  assert.equal(opFamily("ConvTranspose"), "conv");
  assert.equal(opFamily("MatMul"), "linear");
  assert.equal(opFamily("Gemm"), "linear");
  assert.equal(opFamily("BatchNormalization"), "norm");
  assert.equal(opFamily("LayerNormalization"), "norm");
  assert.equal(opFamily("Relu"), "activation");
  assert.equal(opFamily("Softmax"), "activation");
  assert.equal(opFamily("MaxPool"), "pooling");
  assert.equal(opFamily("GlobalAveragePool"), "pooling");
  assert.equal(opFamily("Reshape"), "shape");
  assert.equal(opFamily("Concat"), "shape");
  assert.equal(opFamily("Add"), "elementwise");
  assert.equal(opFamily("Where"), "elementwise");
  assert.equal(opFamily("ReduceMean"), "reduce");
  assert.equal(opFamily("LSTM"), "recurrent");
});

Deno.test('opFamily() calls an op it does not know "other"', () => {
  assert.equal(opFamily("Constant"), "other");
  assert.equal(opFamily("FusedConvBnRelu"), "other");
  assert.equal(opFamily("relu"), "other");
});

Deno.test("every family has a distinct fill colour and a legend label", () => {
  const fills = FAMILIES.map((f) => FAMILY_STYLES[f].fill);
  assert.equal(new Set(fills).size, fills.length);
  for (const f of FAMILIES) {
    assert.match(FAMILY_STYLES[f].fill, /^#[0-9a-f]{6}$/);
    assert.match(FAMILY_STYLES[f].stroke, /^#[0-9a-f]{6}$/);
    assert.ok(FAMILY_STYLES[f].label.length > 0);
  }
});
