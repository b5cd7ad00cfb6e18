/** onnxruntime's graph optimisation levels, from none to all (as its session options name them). */
export const LEVELS = ["disabled", "basic", "extended", "all"] as const;
export type Level = typeof LEVELS[number];

export function isLevel(s: string): s is Level {
  return (LEVELS as readonly string[]).includes(s);
}
