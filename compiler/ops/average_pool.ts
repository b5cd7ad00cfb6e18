/**
 * AveragePool (opset 11): X (N, C, D1..Dn) -> (N, C, O1..On), the window
 * sizes from `kernel_shape` (see `windowOutput`). Opset 11 has no dilations.
 */
import { register, ShapeError } from "./registry.ts";
import { expectDtype, expectRank, FLOAT_NO_BF16, input, intAttr, intsAttr } from "./rules.ts";
import { windowOutput } from "./window.ts";

register({
  op: "AveragePool",
  since: 11,
  inputs: [{ name: "X" }],
  outputs: [{ name: "Y" }],
  attrs: {
    auto_pad: { type: "string", default: "NOTSET" },
    ceil_mode: { type: "int", default: 0 },
    count_include_pad: { type: "int", default: 0 },
    kernel_shape: { type: "ints", required: true },
    pads: { type: "ints" },
    strides: { type: "ints" },
  },
  infer(ctx) {
    const x = input(ctx, "AveragePool", 0, "X");
    expectDtype("AveragePool", "X", x, FLOAT_NO_BF16);
    expectRank("AveragePool", "X", x, 3, true);
    const kernel = intsAttr(ctx.attrs, "kernel_shape");
    if (!kernel || kernel.length !== x.shape.length - 2) {
      throw new ShapeError(
        `AveragePool expects kernel_shape with ${
          x.shape.length - 2
        } values for input of rank ${x.shape.length}, found ${
          kernel ? `[${kernel.join(", ")}]` : "none"
        }`,
      );
    }
    const attrs = { ...ctx.attrs };
    delete attrs.dilations;
    const ceil = intAttr(ctx.attrs, "ceil_mode") === 1;
    const spatial = windowOutput("AveragePool", x, kernel, attrs, ceil);
    return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...spatial] }];
  },
});
