/**
 * Naming frames. A Frame is one application of a block (or the model body,
 * or a group): it owns the hierarchical name prefix, the labels used so far,
 * the counters that give unlabelled layers their deterministic names, and
 * the init rules in force. (Lexical scopes, which map names to values, are
 * values.ts's Scope.)
 */
import type { Span } from "../ir/graph.ts";
import type { InitSpec } from "../ir/init.ts";

export interface InitRule {
  /** `conv2d.weight` form: layer kind and role; or a glob over full parameter names. */
  target: string;
  glob: boolean;
  spec: InitSpec;
  /** Frame prefix where the rule was written: kind rules apply below it. */
  prefix: string;
}

export class Frame {
  readonly labels = new Map<string, Span>();
  readonly counters = new Map<string, number>();
  readonly rules: InitRule[];
  constructor(readonly prefix: string, parent?: Frame) {
    this.rules = parent ? [...parent.rules] : [];
  }
  /** The full name of a child: `prefix.child`, or `child` at the top. */
  child(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }
  /** The next automatic name for a kind: conv2d_0, conv2d_1, ... */
  auto(kind: string): string {
    const k = this.counters.get(kind) ?? 0;
    this.counters.set(kind, k + 1);
    return `${kind}_${k}`;
  }
}
