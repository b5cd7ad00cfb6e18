/**
 * The line on stderr that says what a slow session load is doing and for
 * how long: "dlm: optimising the training step (10,111 nodes) in
 * onnxruntime... 12 s". Nothing for a load shorter than a second; on a
 * terminal the seconds count in place and the line stays with the time
 * taken; elsewhere (a file, a pipe) it is one line, written when the second
 * has passed and completed with the time taken at the end.
 *
 * onnxruntime-node creates a session synchronously, blocking the main
 * thread, so the line is written by a worker (status_worker.ts) that the
 * main thread stops, under a shared lock, before it writes the end of the
 * line itself: nothing the worker writes can land after it. A worker costs
 * about 25 ms to start here, so callers start one only for loads that may
 * be slow (`mayBeSlow`).
 */
import type { StatusStart } from "./status_worker.ts";

const LOCK = 0, STOP = 1, SHOWN = 2;

/** Loads of at least this many nodes get a status worker: below it, creation takes well under 1 s. */
export const STATUS_MIN_NODES = 1000;
/**
 * The same for a load that optimises nothing (an optimised graph from the cache, or level
 * disabled), which takes 0.2-0.3 ms a node (bench/results_ort_levels.json: ResNet-18's
 * 1,263-node step from the cache in 0.22 s, ResNeXt-50's 3,738 at disabled in 0.47-1.0 s,
 * ShuffleNetV2's 5,702 in 1.7 s): a warm start of a 1,600-node step does not pay for a worker.
 */
export const STATUS_MIN_NODES_UNOPTIMISED = 3000;
/** ... or of models at least this big (reading weights can take a second on its own). */
export const STATUS_MIN_BYTES = 64 * 2 ** 20;

/**
 * Whether a load of a model this size may take a second or more; `optimising: false` for one
 * that runs none of onnxruntime's graph optimisations.
 */
export function mayBeSlow(nodes: number, bytes: number, optimising = true): boolean {
  const min = optimising ? STATUS_MIN_NODES : STATUS_MIN_NODES_UNOPTIMISED;
  return nodes >= min || bytes >= STATUS_MIN_BYTES;
}

/** Where the line goes and how. */
export interface StatusOptions {
  /** stderr is a terminal (default: asked of Deno.stderr). */
  tty?: boolean;
  /** Nothing is shown for loads shorter than this (ms; default 1000). */
  delay?: number;
}

/** A status line in progress. */
export class LoadStatus {
  #worker: Worker | undefined;
  #flags: Int32Array;
  #start: number;
  #text: string;
  #tty: boolean;

  private constructor(text: string, opts: StatusOptions) {
    this.#text = text;
    this.#tty = opts.tty ?? Deno.stderr.isTerminal();
    this.#start = Date.now();
    const sab = new SharedArrayBuffer(12);
    this.#flags = new Int32Array(sab);
    const msg: StatusStart = {
      flags: sab,
      text,
      tty: this.#tty,
      start: this.#start,
      delay: opts.delay ?? 1000,
    };
    try {
      this.#worker = new Worker(new URL("./status_worker.ts", import.meta.url).href, {
        type: "module",
      });
      this.#worker.postMessage(msg);
    } catch {
      // No worker (a runtime without them): the load goes unreported rather than failing.
      this.#worker = undefined;
    }
  }

  /** Start the line for a load described by `text` ("dlm: optimising ..."). */
  static start(text: string, opts: StatusOptions = {}): LoadStatus {
    return new LoadStatus(text, opts);
  }

  /**
   * End the line: stop the worker and, if it showed anything, finish the
   * line with the time taken and `note` (", cached for the next run").
   * Returns whether a line was shown.
   */
  stop(note = ""): boolean {
    Atomics.store(this.#flags, STOP, 1);
    // Wait out a write in progress (microseconds), then hold the lock for good.
    while (Atomics.compareExchange(this.#flags, LOCK, 0, 2) !== 0) { /* spin */ }
    this.#worker?.terminate();
    if (!Atomics.load(this.#flags, SHOWN)) return false;
    const secs = (Date.now() - this.#start) / 1000;
    const took = `${secs < 10 ? secs.toFixed(1) : Math.round(secs)} s${note}`;
    const enc = new TextEncoder();
    // A terminal's line is rewritten whole (it may show "... 12 s"); elsewhere it is completed.
    // (Padded over the last count shown, in case the final text is shorter.)
    const shown = `${this.#text}... ${Math.floor(secs)} s`;
    const line = this.#tty
      ? `\r${`${this.#text}... ${took}`.padEnd(shown.length)}\n`
      : ` ${took}\n`;
    Deno.stderr.writeSync(enc.encode(line));
    return true;
  }
}
