import assert from "node:assert/strict";
import {
  classify,
  compare,
  describeFailure,
  kinkExplaining,
  KNOWN_DIFFERENCES,
  type StepComparison,
  summarizeComparisons,
} from "./parity.ts";

const STRICT = { atol: 1e-4, rtol: 0, slack: 0 };

Deno.test("compare() passes values within atol + rtol |expected| and names the largest difference", () => {
  const c = compare("w", [1, 2.00005, 3], [1, 2, 3], STRICT);
  assert.equal(c.ok, true);
  assert.equal(c.worst, 1);
  assert.ok(Math.abs(c.maxAbs - 5e-5) < 1e-9);
  assert.equal(c.needsSlack, false);
  assert.equal(compare("w", [10.001], [10], { atol: 0, rtol: 1e-3, slack: 0 }).ok, true);
});

Deno.test("compare() fails at the element furthest over its tolerance", () => {
  const c = compare("w", [1.2, 5, 3.0002], [1, 5, 3], { atol: 1e-4, rtol: 0.1, slack: 0 });
  // 1.2 is 0.2 from 1, over 1e-4 + 0.1 * 1; 3.0002 is well within 1e-4 + 0.1 * 3.
  assert.equal(c.ok, false);
  assert.equal(c.worst, 0);
  assert.deepEqual([c.actual, c.expected], [1.2, 1]);
  assert.match(describeFailure(c), /^w: element 0 is 1.2 but torch says 1 \(\|diff\| 2.00e-1/);
});

Deno.test("compare() widens the tolerance by torch's own float64 deviation and says so", () => {
  const tol = { atol: 1e-5, rtol: 0, slack: 10 };
  const c = compare("g", [0.5005], [0.5], tol, 1e-4);
  assert.deepEqual([c.ok, c.needsSlack], [true, true]);
  assert.equal(compare("g", [0.502], [0.5], tol, 1e-4).ok, false);
});

Deno.test("compare() fails on NaN and refuses lists of different lengths", () => {
  const c = compare("y", [1, NaN], [1, 2], STRICT);
  assert.equal(c.ok, false);
  assert.equal(c.worst, 1);
  assert.throws(() => compare("y", [1], [1, 2], STRICT), /y: 1 values against torch's 2/);
});

Deno.test("summarizeComparisons() counts passes, slack and the largest difference", () => {
  const cs = [
    compare("a", [1], [1], STRICT),
    compare("b", [1.5], [1], STRICT),
    compare("c", [1.001], [1], { atol: 0, rtol: 0, slack: 10 }, 1e-3),
  ];
  assert.equal(
    summarizeComparisons(cs),
    "2/3 tensors within tolerance, 1 only with torch's float64 slack, max |diff| 5.0e-1 (b)",
  );
});

Deno.test("classify() puts failures under the known differences that explain them", () => {
  const fail = (name: string, kink?: boolean): StepComparison => ({
    ...compare(name, [0], [1], STRICT),
    kink: kink ? { module: "layer1.relu", channel: 0, value: 1e-6 } : undefined,
  });
  const cs = [
    fail("step 1 layer1.conv1.weight", true),
    fail("step 1 bn1.running_var"),
    fail("step 1 bn1.num_batches_tracked"),
    { ...compare("step 1 fc.bias", [1], [1], STRICT) },
  ];
  const { unexplained, known } = classify(cs);
  // dlm's batch norms count and blend running_var as torch's do: nothing explains their failure.
  assert.deepEqual(unexplained.map((c) => c.name), [
    "step 1 bn1.running_var",
    "step 1 bn1.num_batches_tracked",
  ]);
  assert.deepEqual([...known.keys()], ["relu_kink"]);
  assert.deepEqual(known.get("relu_kink")!.map((c) => c.name), ["step 1 layer1.conv1.weight"]);
  for (const d of KNOWN_DIFFERENCES) assert.ok(d.what && d.where, `${d.id} says what and where`);
});

Deno.test("compare() lists the channels (leading-axis slices) of a failure when given the shape", () => {
  const want = [0, 0, 0, 0, 0, 0, 0, 0];
  const got = [0, 0, 0, 1, 0, 0, 1, 0];
  assert.deepEqual(compare("w", got, want, STRICT, 0, [4, 2]).badSlices, [1, 3]);
  assert.equal(compare("w", want, want, STRICT, 0, [4, 2]).badSlices, undefined);
});

Deno.test("kinkExplaining() explains a failure confined to channels with a ReLU kink of the same block", () => {
  const kinks = [{ module: "layer4.0.relu", channel: 714, value: 1.7e-6 }];
  const fail = (name: string, shape: number[], bad: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1), per = n / shape[0];
    const want = new Array(n).fill(0), got = want.slice();
    for (const c of bad) got[c * per] = 1;
    return compare(name, got, want, STRICT, 0, shape);
  };
  assert.deepEqual(
    kinkExplaining(fail("layer4.0.conv1.weight", [1024, 2], [714]), kinks),
    kinks[0],
  );
  assert.deepEqual(
    kinkExplaining(fail("momentum_buffer:layer4.0.bn1.bias", [1024], [714]), kinks),
    kinks[0],
  );
  // Another channel, another block, or a failure beyond the kink's channel: not explained.
  assert.equal(kinkExplaining(fail("layer4.0.conv1.weight", [1024, 2], [713]), kinks), undefined);
  assert.equal(kinkExplaining(fail("layer4.1.conv1.weight", [1024, 2], [714]), kinks), undefined);
  assert.equal(kinkExplaining(fail("layer4.0.bn1.bias", [1024], [714, 3]), kinks), undefined);
  // MobileNetV2's Conv2dNormActivation: the ReLU6 is features.14.conv.0.2.
  const mb = [{ module: "features.14.conv.0.2", channel: 5, value: -3e-6 }];
  assert.deepEqual(kinkExplaining(fail("features.14.conv.0.1.weight", [96], [5]), mb), mb[0]);
});
