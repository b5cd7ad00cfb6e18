/**
 * Conv (opset 11): X (N, C, D1..Dn), W (M, C/group, k1..kn), optional B (M)
 * -> Y (N, M, O1..On) with Oi from `windowOutput`.
 */
import { formatType } from "../ir/graph.ts";
import { register, ShapeError } from "./registry.ts";
import { dimEquals, dimMul } from "./dims.ts";
import {
  expectDtype,
  expectRank,
  FLOAT_NO_BF16,
  input,
  intAttr,
  intsAttr,
  sameDtype,
} from "./rules.ts";
import { windowOutput } from "./window.ts";

register({
  op: "Conv",
  since: 11,
  inputs: [{ name: "X" }, { name: "W" }, { name: "B", optional: true }],
  outputs: [{ name: "Y" }],
  attrs: {
    auto_pad: { type: "string", default: "NOTSET" },
    dilations: { type: "ints" },
    group: { type: "int", default: 1 },
    kernel_shape: { type: "ints" },
    pads: { type: "ints" },
    strides: { type: "ints" },
  },
  infer(ctx) {
    const x = input(ctx, "Conv", 0, "X");
    const w = input(ctx, "Conv", 1, "W");
    const b = ctx.inputs[2];
    expectDtype("Conv", "X", x, FLOAT_NO_BF16);
    const dtype = sameDtype("Conv", [["X", x], ["W", w], ["B", b]]);
    expectRank("Conv", "X", x, 3, true);
    if (w.shape.length !== x.shape.length) {
      throw new ShapeError(
        `Conv expects weight rank to equal input rank: input ${
          formatType(x)
        } has ${x.shape.length} dims, weight ${formatType(w)} has ${w.shape.length}`,
      );
    }
    const group = intAttr(ctx.attrs, "group", 1);
    if (group < 1) throw new ShapeError(`Conv expects group >= 1, found ${group}`);
    const need = dimMul(w.shape[1], group);
    const c = x.shape[1];
    if (typeof c === "number" && typeof need === "number" && c !== need) {
      throw new ShapeError(
        `Conv expects input channels to equal weight channels x group: input ${
          formatType(x)
        } has ${c}, weight ${formatType(w)} needs ${need}`,
      );
    }
    const m = w.shape[0];
    if (typeof m === "number" && m % group !== 0) {
      throw new ShapeError(
        `Conv expects output channels to be a multiple of group ${group}: weight ${
          formatType(w)
        } has ${m}`,
      );
    }
    const kernel = w.shape.slice(2);
    const ks = intsAttr(ctx.attrs, "kernel_shape");
    if (ks && (ks.length !== kernel.length || ks.some((k, i) => !dimEquals(k, kernel[i])))) {
      throw new ShapeError(
        `Conv expects kernel_shape to match the weight: kernel_shape is [${
          ks.join(", ")
        }], weight ${formatType(w)} has [${kernel.join(", ")}]`,
      );
    }
    if (b) {
      if (
        b.shape.length !== 1 ||
        (typeof b.shape[0] === "number" && typeof m === "number" && b.shape[0] !== m)
      ) {
        throw new ShapeError(
          `Conv expects bias of shape [${m}] to match weight ${formatType(w)}, found ${
            formatType(b)
          }`,
        );
      }
    }
    const spatial = windowOutput("Conv", x, ks ?? kernel, ctx.attrs, false);
    return [{ dtype, shape: [x.shape[0], m, ...spatial] }];
  },
});
