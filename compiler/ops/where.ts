/**
 * Where (opset 16): picks X where `condition` is true, else Y; the three
 * inputs broadcast together (numpy rules).
 */
import { register } from "./registry.ts";
import { broadcastTypes, expectDtype, input, sameDtype } from "./rules.ts";

register({
  op: "Where",
  since: 16,
  inputs: [{ name: "condition" }, { name: "X" }, { name: "Y" }],
  outputs: [{ name: "output" }],
  attrs: {},
  infer(ctx) {
    const c = input(ctx, "Where", 0, "condition");
    const x = input(ctx, "Where", 1, "X");
    const y = input(ctx, "Where", 2, "Y");
    expectDtype("Where", "condition", c, ["bool"]);
    const dtype = sameDtype("Where", [["X", x], ["Y", y]]);
    return [{ dtype, shape: broadcastTypes([c, x, y]) }];
  },
});
