/**
 * Gather (opset 13): out = data.shape[:axis] + indices.shape + data.shape[axis+1:].
 */
import { register } from "./registry.ts";
import { expectDtype, expectRank, INDEX, input, intAttr, normAxis } from "./rules.ts";

register({
  op: "Gather",
  since: 13,
  inputs: [{ name: "data" }, { name: "indices" }],
  outputs: [{ name: "output" }],
  attrs: { axis: { type: "int", default: 0 } },
  infer(ctx) {
    const x = input(ctx, "Gather", 0, "data");
    const idx = input(ctx, "Gather", 1, "indices");
    expectRank("Gather", "data", x, 1, true);
    expectDtype("Gather", "indices", idx, INDEX);
    const axis = normAxis("Gather", intAttr(ctx.attrs, "axis"), x.shape.length);
    return [{
      dtype: x.dtype,
      shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)],
    }];
  },
});
