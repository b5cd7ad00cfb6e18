import assert from "node:assert/strict";
import {
  fedInput,
  metricName,
  metricOf,
  nextName,
  optSlotName,
  parseOptSlot,
  stateInputs,
} from "./contract.ts";

Deno.test("the step-model names round-trip", () => {
  assert.equal(fedInput(nextName("fc.weight")), "fc.weight");
  assert.equal(fedInput("loss"), undefined);
  assert.equal(metricOf(metricName("accuracy")), "accuracy");
  assert.deepEqual(parseOptSlot(optSlotName("m", "layer1.0.conv1.weight")), {
    slot: "m",
    param: "layer1.0.conv1.weight",
  });
  assert.equal(parseOptSlot("fc.weight"), undefined);
  assert.deepEqual(stateInputs(["loss", "next:step", "metric:accuracy", "next:opt:m:w"]), [
    "step",
    "opt:m:w",
  ]);
});
