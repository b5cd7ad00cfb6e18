/**
 * The progress display on stderr: one line rewritten in place on a
 * terminal (epoch, batch, running mean loss, samples/s), or one plain line
 * per epoch when stderr is a file or pipe.
 */

/** Where progress goes. */
export interface ProgressSink {
  write(text: string): void;
  /** A terminal: rewrite one line with `\r`. */
  tty: boolean;
}

/** Progress on the process's stderr. */
export function stderrSink(): ProgressSink {
  const enc = new TextEncoder();
  return {
    write: (s) => Deno.stderr.writeSync(enc.encode(s)),
    tty: Deno.stderr.isTerminal(),
  };
}

/** The progress state of one run. */
export class Progress {
  #last = 0;
  #width = 0;
  constructor(readonly sink: ProgressSink) {}

  /** After a batch: rewrites the line on a terminal (at most every 100 ms), else nothing. */
  batch(epoch: number, epochs: number, batch: number, batches: number, loss: number, rate: number) {
    if (!this.sink.tty) return;
    const now = performance.now();
    if (batch < batches && now - this.#last < 100) return;
    this.#last = now;
    const line = `epoch ${epoch}/${epochs}  batch ${batch}/${batches}  loss ${loss.toFixed(4)}  ${
      Math.round(rate)
    } samples/s`;
    this.sink.write(`\r${line.padEnd(this.#width)}`);
    this.#width = line.length;
  }

  /** At the end of an epoch: a line that stays. */
  epoch(text: string) {
    if (this.sink.tty) {
      this.sink.write(`\r${text.padEnd(this.#width)}\n`);
      this.#width = 0;
    } else this.sink.write(text + "\n");
  }
}
