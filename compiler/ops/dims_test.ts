import assert from "node:assert/strict";
import {
  broadcastShapes,
  canonicalDim,
  convOutDim,
  dimAdd,
  dimDiv,
  dimDivExact,
  dimEquals,
  dimMax,
  dimMul,
  dimProduct,
  dimSub,
  evalDim,
} from "./dims.ts";
import { ShapeError } from "./op_def.ts";

Deno.test("dim arithmetic on numbers stays numeric", () => {
  assert.equal(dimAdd(2, 3), 5);
  assert.equal(dimSub(2, 3), -1);
  assert.equal(dimMul(4, 3), 12);
  assert.equal(dimDiv(7, 2), 3);
  assert.equal(dimDiv(7, 2, "ceil"), 4);
  assert.equal(dimDiv(-7, 2), -4);
  assert.equal(dimProduct([2, 3, 4]), 24);
  assert.equal(dimProduct([]), 1);
});

Deno.test("trivial symbolic expressions simplify away", () => {
  assert.equal(dimAdd("H", 0), "H");
  assert.equal(dimSub(dimAdd("H", 2), 2), "H");
  assert.equal(dimAdd(dimDiv(dimSub("H", 1), 1), 1), "H");
  assert.equal(dimMul("H", 1), "H");
  assert.equal(dimMul("H", 0), 0);
  assert.equal(dimSub("H", "H"), 0);
});

Deno.test("symbolic expressions print in one canonical form", () => {
  assert.equal(dimMul("N", 3), "3 * N");
  assert.equal(dimAdd("W", "H"), "H + W");
  assert.equal(dimAdd("H", "W"), "H + W");
  assert.equal(dimSub(1, "H"), "-H + 1");
  assert.equal(dimMul("W", "H"), "H * W");
  assert.equal(dimMul(dimAdd("H", 1), 2), "2 * H + 2");
  assert.equal(canonicalDim("W + H - 0"), "H + W");
  assert.equal(canonicalDim("N"), "N");
  assert.equal(canonicalDim("?Reshape_3"), "?Reshape_3");
});

Deno.test("dimDiv keeps exactly divisible parts outside the floor", () => {
  assert.equal(dimDiv("2 * H", 2), "H");
  assert.equal(dimDiv(dimAdd(dimMul("H", 2), 3), 2), "H + 1");
  assert.equal(dimDiv(dimSub("H", 1), 2), "floor((H + 1) / 2) - 1");
  assert.equal(dimDiv("H", 2), "floor(H / 2)");
  assert.equal(dimDiv(dimMul("H", 2), 3), "floor(2 * H / 3)");
  assert.equal(canonicalDim("floor(2 * H / 3) + floor(2 * H / 3)"), "2 * floor(2 * H / 3)");
  assert.equal(dimDiv("H", 2, "ceil"), "floor((H + 1) / 2)");
});

Deno.test("dimDiv merges nested floors", () => {
  // floor(floor(H / 2) / 2) = floor(H / 4)
  assert.equal(dimDiv(dimDiv("H", 2), 2), "floor(H / 4)");
  // floor((floor((H + 1) / 2) + 1) / 2) = floor((H + 3) / 4)
  assert.equal(dimDiv(dimAdd(dimDiv(dimAdd("H", 1), 2), 1), 2), "floor((H + 3) / 4)");
});

Deno.test("dimDiv by a symbol divides exactly when the symbol is a factor of every term", () => {
  assert.equal(dimDiv(dimMul("N", 3072), "N"), 3072);
  assert.equal(dimDiv(dimMul(dimMul("N", "C"), 4), dimMul("N", 2)), "2 * C");
  assert.equal(dimDiv(dimAdd("N", 1), "N"), "floor((N + 1) / (N))");
  assert.equal(dimSub(dimAdd(dimDiv(dimAdd("N", 1), "N"), 1), 1), "floor((N + 1) / (N))");
});

Deno.test("dimDiv rejects a zero divisor", () => {
  assert.throws(() => dimDiv("H", 0), { name: "ShapeError", message: "Division by zero: H / 0" });
});

Deno.test("dimEquals compares canonical forms", () => {
  assert.ok(dimEquals("H + W", "W + H"));
  assert.ok(dimEquals(dimDiv(dimSub(dimAdd("H", 2), 3), 2), "floor((H + 1) / 2) - 1"));
  assert.ok(!dimEquals("H", "W"));
  assert.ok(dimEquals(3, 3));
  assert.ok(!dimEquals("H", 3));
});

Deno.test("dimMax is symmetric and folds numbers", () => {
  assert.equal(dimMax(2, 5), 5);
  assert.equal(dimMax("A", "B"), "max(A, B)");
  assert.equal(dimMax("B", "A"), "max(A, B)");
  assert.equal(dimMax("A", "A"), "A");
});

Deno.test("dimMax flattens nested maxima, so repeated broadcasting does not grow the expression", () => {
  let d = dimMax("N", "M");
  for (let i = 0; i < 50; i++) d = dimMax("N", dimMax(d, "N"));
  assert.equal(d, "max(M, N)");
  assert.equal(dimMax(dimMax("A", "B"), dimMax("C", "A")), "max(A, B, C)");
  assert.equal(dimMax(dimMax("A", 2), 5), "max(A, 5)");
  // The spelling reads back as the same dim.
  assert.ok(dimEquals("max(C, B, A)", "max(A, B, C)"));
  assert.ok(dimEquals(dimAdd("max(A, B, C)", 1), "max(A, B, C) + 1"));
});

Deno.test("convOutDim follows the ONNX output size formula", () => {
  assert.equal(convOutDim(32, 5, 1, 0, 0, 1, false), 28); // LeNet conv1
  assert.equal(convOutDim(224, 7, 2, 3, 3, 1, false), 112); // ResNet stem
  assert.equal(convOutDim(112, 3, 2, 1, 1, 1, false), 56); // ResNet max pool
  assert.equal(convOutDim(7, 3, 1, 0, 0, 2, false), 3); // dilation 2: window of 5
  assert.equal(convOutDim(5, 2, 2, 0, 0, 1, false), 2);
  assert.equal(convOutDim(5, 2, 2, 0, 0, 1, true), 3);
});

Deno.test("convOutDim in ceil mode drops a window that starts in the end padding", () => {
  // in 4, kernel 2, stride 2, pad end 1: ceil((4 + 1 - 2) / 2) + 1 = 3, but window 3 starts at 4 (padding).
  assert.equal(convOutDim(4, 2, 2, 0, 1, 1, true), 2);
});

Deno.test("convOutDim on a symbolic size gives the simplified expression", () => {
  assert.equal(convOutDim("H", 3, 1, 1, 1, 1, false), "H");
  assert.equal(convOutDim("H", 3, 2, 1, 1, 1, false), "floor((H + 1) / 2)");
  assert.equal(convOutDim("H", 5, 1, 0, 0, 1, false), "H - 4");
  assert.equal(convOutDim("H", 2, 2, 0, 0, 1, false), "floor(H / 2)");
});

Deno.test("broadcastShapes follows numpy rules", () => {
  assert.deepEqual(broadcastShapes([2, 3, 4], [4]), [2, 3, 4]);
  assert.deepEqual(broadcastShapes([2, 1, 4], [3, 1]), [2, 3, 4]);
  assert.deepEqual(broadcastShapes([], [3]), [3]);
  assert.deepEqual(broadcastShapes([0], [1]), [0]);
});

Deno.test("broadcastShapes handles symbolic dims", () => {
  assert.deepEqual(broadcastShapes(["N", 3], ["N", 3]), ["N", 3]);
  assert.deepEqual(broadcastShapes(["N", 3], [1, 3]), ["N", 3]);
  assert.deepEqual(broadcastShapes(["N", 1], [3]), ["N", 3]);
  // A symbol against n != 1 must be 1 or n at run time: the result is n.
  assert.deepEqual(broadcastShapes(["N"], [4]), [4]);
  // Two different symbols: the larger one, whichever it is.
  assert.deepEqual(broadcastShapes(["A"], ["B"]), ["max(A, B)"]);
});

Deno.test("broadcastShapes rejects two different sizes, neither 1", () => {
  assert.throws(() => broadcastShapes(["N", 3], [4], ["f32[N, 3]", "f32[4]"]), {
    name: "ShapeError",
    message: "Cannot broadcast f32[N, 3] with f32[4]: dim 1 is 3 but must be 1 or 4",
  });
  assert.throws(() => broadcastShapes([2], [5, 3]), {
    message: "Cannot broadcast [2] with [5, 3]: dim 0 is 2 but must be 1 or 3",
  });
  assert.throws(() => broadcastShapes([2], [3]), ShapeError);
});

Deno.test("a ShapeError carries its code: DLM0204 for a broadcast, DLM0304 for a division by zero", () => {
  const codeOf = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof ShapeError ? e.code : "not a ShapeError";
    }
    return "no error";
  };
  assert.equal(codeOf(() => broadcastShapes([2], [3])), "DLM0204");
  assert.equal(codeOf(() => dimDiv("H", 0)), "DLM0304");
});

Deno.test("evalDim gives a symbolic dim the size its numeric twin has, and undefined for an unknown symbol", () => {
  // Each symbolic result, evaluated at H and W, equals the same arithmetic done on numbers.
  for (const h of [1, 2, 7, 8, 31]) {
    for (const w of [1, 5, 64]) {
      const sizes = { H: h, W: w };
      for (
        const [sym, num] of [
          [convOutDim("H", 3, 2, 1, 1, 1, false), convOutDim(h, 3, 2, 1, 1, 1, false)],
          [convOutDim("H", 3, 2, 0, 1, 1, true), convOutDim(h, 3, 2, 0, 1, 1, true)],
          [dimDiv(dimAdd(dimMul("H", 3), "W"), 4, "ceil"), Math.ceil((3 * h + w) / 4)],
          [dimDiv(dimSub("W", 1), 2), Math.floor((w - 1) / 2)],
          [dimMax("H", "W"), Math.max(h, w)],
          [dimMul(dimProduct(["H", "W"]), 2), 2 * h * w],
        ] as const
      ) {
        assert.equal(evalDim(sym, sizes), num, `${sym} at H=${h}, W=${w}`);
      }
    }
  }
  assert.equal(evalDim(12, {}), 12);
  assert.equal(evalDim("N", { N: 3 }), 3);
  assert.equal(evalDim("2 * N + ?Reshape_0", { N: 3 }), undefined);
  assert.equal(evalDim("N", {}), undefined);
});

Deno.test("dimDiv and dimDivExact divide by a polynomial that is a factor", () => {
  const kn = dimAdd(dimMul("K", "N"), dimMul(32, "N")); // K*N + 32*N = N * (K + 32)
  assert.equal(kn, "K * N + 32 * N");
  assert.equal(dimDivExact(kn, "N"), "K + 32");
  assert.equal(dimDivExact(kn, dimAdd("K", 32)), "N");
  assert.equal(dimDiv(kn, dimAdd("K", 32)), "N");
  // (N + 1)(N - 1) / (N - 1), and a product of three factors by two of them.
  assert.equal(dimDivExact(dimMul(dimAdd("N", 1), dimSub("N", 1)), dimSub("N", 1)), "N + 1");
  const three = dimMul(dimMul(dimAdd("H", 1), dimAdd("W", 2)), kn);
  assert.equal(
    dimDivExact(three, dimMul(dimAdd("W", 2), "N")),
    dimMul(dimAdd("H", 1), dimAdd("K", 32)),
  );
  // No exact quotient: a remainder, a fractional coefficient, a divisor of another symbol.
  assert.equal(dimDivExact(dimAdd(kn, 1), "N"), undefined);
  assert.equal(dimDivExact(dimAdd(dimMul(2, "N"), 1), dimMul(2, "N")), undefined);
  assert.equal(dimDivExact(dimMul(3, "N"), dimMul(2, "N")), undefined);
  assert.equal(dimDivExact(kn, "M"), undefined);
  assert.equal(dimDiv(dimAdd("N", 1), "N"), "floor((N + 1) / (N))");
  assert.equal(dimDivExact(12, 4), 3);
  assert.equal(dimDivExact(12, 5), undefined);
});
