import { GRAD_CASES } from "./grad_cases.ts";
import { gradCheck } from "./grad_check.ts";

for (const c of GRAD_CASES) {
  Deno.test(`the gradient rule of ${c.name ?? c.op} matches finite differences`, () => {
    gradCheck(c);
  });
}
