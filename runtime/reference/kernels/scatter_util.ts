/** The reduction of ScatterND / ScatterElements: none (replace), add, mul, max, min. */
import { kernelFail } from "../util.ts";

/** Combine an existing element with an update. */
export function combiner(reduction: string): (old: any, upd: any) => any {
  switch (reduction) {
    case "none":
      return (_o, u) => u;
    case "add":
      return (o, u) => o + u;
    case "mul":
      return (o, u) => o * u;
    case "max":
      return (o, u) => (o >= u ? o : u);
    case "min":
      return (o, u) => (o <= u ? o : u);
    default:
      return kernelFail(`Unknown reduction "${reduction}"`);
  }
}
