/**
 * The worker behind runtime/ort/status.ts: it writes the "dlm: optimising
 * ..." line on stderr while the main thread is blocked in onnxruntime's
 * session creation (onnxruntime-node creates a session synchronously, so no
 * timer of the main thread can fire meanwhile).
 *
 * Shared flags (Int32Array over a SharedArrayBuffer): [0] a lock held around
 * each write, [1] stop, [2] something was written. The main thread sets
 * stop, then takes the lock before it writes anything itself, so no write of
 * this worker can land after its final line.
 */

/** What the main thread sends to start the line. */
export interface StatusStart {
  flags: SharedArrayBuffer;
  text: string;
  tty: boolean;
  /** Date.now() when the load began. */
  start: number;
  /** Nothing is shown before this many ms have passed since `start`. */
  delay: number;
}

const LOCK = 0, STOP = 1, SHOWN = 2;

// A worker's global scope; the type checker sees a window's.
const scope = self as unknown as { onmessage: (e: MessageEvent<StatusStart>) => void };
scope.onmessage = (e) => {
  const { text, tty, start, delay } = e.data;
  const flags = new Int32Array(e.data.flags);
  const enc = new TextEncoder();
  const write = (s: string): boolean => {
    if (Atomics.load(flags, STOP)) return false;
    if (Atomics.compareExchange(flags, LOCK, 0, 1) !== 0) return false;
    try {
      if (Atomics.load(flags, STOP)) return false;
      Deno.stderr.writeSync(enc.encode(s));
      Atomics.store(flags, SHOWN, 1);
      return true;
    } finally {
      Atomics.store(flags, LOCK, 0);
    }
  };
  const tick = () => {
    const secs = Math.floor((Date.now() - start) / 1000);
    if (!write(`\r${text}... ${secs} s`)) return;
    setTimeout(tick, 1000 - ((Date.now() - start) % 1000));
  };
  setTimeout(() => {
    // On a terminal the line counts the seconds in place; elsewhere it is written once, and
    // the main thread ends it with the time taken.
    if (tty) tick();
    else write(`${text}...`);
  }, Math.max(0, start + delay - Date.now()));
};
