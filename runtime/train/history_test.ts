import assert from "node:assert/strict";
import { lowerIsBetter } from "./history.ts";

Deno.test("lowerIsBetter: losses, perplexities and errors go down, the rest up", () => {
  for (
    const n of ["loss", "val_loss", "recon_loss", "val_perplexity", "ppl", "mse", "top1_error"]
  ) {
    assert.equal(lowerIsBetter(n), true, n);
  }
  for (const n of ["accuracy", "val_accuracy", "reward", "f1", "map"]) {
    assert.equal(lowerIsBetter(n), false, n);
  }
});
