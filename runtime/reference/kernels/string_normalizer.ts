/**
 * StringNormalizer: drop the stopwords (case-insensitively unless
 * is_case_sensitive) from a [C] or [1, C] string tensor, then apply
 * case_change_action (NONE, LOWER, UPPER). An empty result is [""] with
 * shape [1] or [1, 1].
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, attrString, attrStrings, input, kernelFail, kernelFailIf } from "../util.ts";

export const stringNormalizer: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  kernelFailIf(x.dtype !== "str", `StringNormalizer expects strings, found ${x.dtype}`);
  kernelFailIf(
    !(x.shape.length === 1 || (x.shape.length === 2 && x.shape[0] === 1)),
    `StringNormalizer expects a [C] or [1, C] tensor, found [${x.shape}]`,
  );
  const sensitive = attrInt(attrs, "is_case_sensitive", 0) !== 0;
  const action = attrString(attrs, "case_change_action", "NONE");
  const norm = (s: string) => (sensitive ? s : s.toLowerCase());
  const stop = new Set((attrStrings(attrs, "stopwords") ?? []).map(norm));
  let kept = (x.data as string[]).filter((s) => !stop.has(norm(s)));
  if (action === "LOWER") kept = kept.map((s) => s.toLowerCase());
  else if (action === "UPPER") kept = kept.map((s) => s.toUpperCase());
  else if (action !== "NONE") kernelFail(`Unknown case_change_action "${action}"`);
  if (kept.length === 0) kept = [""];
  const shape = x.shape.length === 1 ? [kept.length] : [1, kept.length];
  return [{ dtype: "str", shape, data: kept }];
};
