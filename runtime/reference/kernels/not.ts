/** Not: logical negation of a bool tensor. */
import type { Kernel } from "../kernel.ts";
import { input, unaryElems } from "../util.ts";

export const not: Kernel = (inputs) => [unaryElems(input(inputs, 0), (v) => (v ? 0 : 1))];
