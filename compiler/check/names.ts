/**
 * Every name the language predefines, by kind, and the rule that makes a
 * name in a tensor type a symbolic dim. The resolver (which runs before
 * elaboration), the elaborator, tools/gen_builtins_doc.ts and the spec test
 * read these tables; none of them needs the elaborator for it.
 */
import { COMPILE_FNS, FUNCTIONS, INIT_FNS, LAYERS } from "./builtins/mod.ts";

export { COMPILE_FNS, FUNCTIONS, INIT_FNS, LAYERS };

/**
 * Every predefined name, in the order "did you mean" considers them:
 * layers, functions, compile-time functions, initialisers.
 */
export function predefinedNames(): string[] {
  return [
    ...Object.keys(LAYERS),
    ...Object.keys(FUNCTIONS),
    ...Object.keys(COMPILE_FNS),
    ...INIT_FNS,
  ];
}

/**
 * Capitalised names in a tensor type introduce symbolic dims (N, C, H);
 * other names must already be bound (classes, width), so a typo such as
 * f32[N, clases] is an unknown name, not a new dim.
 */
export function isSymbolName(name: string): boolean {
  return /^[A-Z]/.test(name);
}
