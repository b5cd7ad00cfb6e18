/**
 * `deno task bench:lsp [FILES...]`: keystroke-to-published-diagnostics latency of `dlm lsp`.
 *
 * The server runs as its own process, driven over stdio by vscode-jsonrpc as an editor drives
 * it. Each file (by default lang-examples/gpt2.dlm, resnet50.dlm and swin.dlm) is opened, then
 * typed into: each keystroke is one incremental `didChange` (a character inserted at the end of
 * its last line, then removed, alternately), and the time is taken from sending it to receiving
 * the diagnostics published for that version. Every keystroke re-parses the file and re-checks
 * the program (the service caches the parses of the files that did not change: imports and the
 * prelude). The server's debounce is set to 0 for the check's own latency; an editor's default
 * (25 ms) adds to it once the user pauses. "server CPU" is the server process's CPU time per
 * keystroke (the mean, from /proc), which a loaded machine inflates far less than wall time.
 *
 * Then the same keystrokes in this process, through the language service alone (no protocol, no
 * process boundary): wall time, CPU time (the process's, which a loaded machine inflates less
 * than wall time; it includes the garbage collector's threads), and the part of each that is
 * parsing the changed file. For a file with train sections, the last column is the training
 * compiler's checks (trainDiagnostics: each section's step built), which the server runs once
 * the document rests (initializationOptions.trainDelayMs) and never on a keystroke: the typing
 * above does not wait for them.
 */
import { spawn } from "node:child_process";
import process from "node:process";
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-jsonrpc/node";
import { formatMachineFacts, machineFacts } from "./machine.ts";
import { LanguageService } from "../compiler/service/service.ts";
import { parse } from "../compiler/syntax/mod.ts";
import { readFromDisk } from "../compiler/check/program.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const FILES = Deno.args.length
  ? Deno.args
  : ["lang-examples/gpt2.dlm", "lang-examples/resnet50.dlm", "lang-examples/swin.dlm"];
const WARMUP = 5;
const KEYSTROKES = 30;
const TRAIN_RUNS = 5;

const child = spawn(Deno.execPath(), ["run", "-A", `${ROOT}cli/main.ts`, "lsp", "--stdio"], {
  stdio: ["pipe", "pipe", "inherit"],
});
const conn = createMessageConnection(
  new StreamMessageReader(child.stdout!),
  new StreamMessageWriter(child.stdin!),
);
const waiting = new Map<string, (n: number) => void>();
conn.onNotification(
  "textDocument/publishDiagnostics",
  (p: { uri: string; version?: number; diagnostics: unknown[] }) => {
    waiting.get(`${p.uri}@${p.version}`)?.(p.diagnostics.length);
  },
);
conn.listen();
await conn.sendRequest("initialize", {
  processId: null,
  rootUri: `file://${ROOT}`,
  capabilities: {},
  initializationOptions: { debounceMs: 0 },
});
await conn.sendNotification("initialized", {});

/**
 * The server process's CPU time so far in ms (user + system, from /proc: clock ticks of 10 ms),
 * or NaN where there is no /proc.
 */
function serverCpuMs(): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${child.pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

function published(uri: string, version: number): Promise<number> {
  return new Promise((resolve) => waiting.set(`${uri}@${version}`, resolve));
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

console.log(formatMachineFacts(machineFacts()));
console.log(`${KEYSTROKES} keystrokes per file after ${WARMUP} warm-up ones; debounce 0\n`);
console.log(
  "file                          open ms  median ms  p90 ms  max ms  server CPU ms  diagnostics",
);
for (const file of FILES) {
  const path = file.startsWith("/") ? file : `${ROOT}${file}`;
  const uri = `file://${path}`;
  const text = Deno.readTextFileSync(path);
  const lines = text.split("\n");
  const last = lines.length - 1;
  let t = performance.now();
  const opened = published(uri, 1);
  await conn.sendNotification("textDocument/didOpen", {
    textDocument: { uri, languageId: "dlm", version: 1, text },
  });
  let count = await opened;
  const openMs = performance.now() - t;
  const times: number[] = [];
  let cpu0 = 0;
  for (let k = 0; k < WARMUP + KEYSTROKES; k++) {
    if (k === WARMUP) cpu0 = serverCpuMs();
    const version = k + 2;
    const at = { line: last, character: 0 };
    const insert = k % 2 === 0;
    const change = insert
      ? { range: { start: at, end: at }, text: " " }
      : { range: { start: at, end: { line: last, character: 1 } }, text: "" };
    const done = published(uri, version);
    t = performance.now();
    await conn.sendNotification("textDocument/didChange", {
      textDocument: { uri, version },
      contentChanges: [change],
    });
    count = await done;
    if (k >= WARMUP) times.push(performance.now() - t);
  }
  const cpu = (serverCpuMs() - cpu0) / KEYSTROKES;
  await conn.sendNotification("textDocument/didClose", { textDocument: { uri } });
  console.log(
    `${file.padEnd(30)}${openMs.toFixed(0).padStart(7)}${
      quantile(times, 0.5).toFixed(1).padStart(11)
    }${quantile(times, 0.9).toFixed(1).padStart(8)}${Math.max(...times).toFixed(1).padStart(8)}${
      cpu.toFixed(1).padStart(15)
    }${String(count).padStart(13)}`,
  );
}

console.log("\nin process (the language service alone)");
console.log(
  "file                          median ms  p90 ms  CPU median ms  parse median ms  train checks ms",
);
for (const file of FILES) {
  const path = file.startsWith("/") ? file : `${ROOT}${file}`;
  const text = Deno.readTextFileSync(path);
  const service = new LanguageService(readFromDisk);
  service.open(path, text, 1);
  service.diagnostics(path);
  const times: number[] = [];
  const parses: number[] = [];
  const cpus: number[] = [];
  for (let k = 0; k < WARMUP + KEYSTROKES; k++) {
    const edited = k % 2 === 0 ? `${text} ` : text;
    const c = process.cpuUsage();
    const t = performance.now();
    service.update(path, edited, k + 2);
    service.diagnostics(path);
    const ms = performance.now() - t;
    const cpu = process.cpuUsage(c);
    const t2 = performance.now();
    parse(edited, path);
    const parseMs = performance.now() - t2;
    if (k >= WARMUP) {
      times.push(ms);
      parses.push(parseMs);
      cpus.push((cpu.user + cpu.system) / 1000);
    }
  }
  // The training compiler's checks of a file's train sections (building each step), which the
  // server runs once the document rests rather than on each keystroke: their median after a change.
  const trains: number[] = [];
  for (let k = 0; service.hasTrainSections(path) && k < TRAIN_RUNS; k++) {
    service.update(path, k % 2 === 0 ? `${text} ` : text, WARMUP + KEYSTROKES + k + 2);
    service.diagnostics(path);
    const t = performance.now();
    service.trainDiagnostics(path);
    trains.push(performance.now() - t);
  }
  console.log(
    `${file.padEnd(30)}${quantile(times, 0.5).toFixed(1).padStart(9)}${
      quantile(times, 0.9).toFixed(1).padStart(8)
    }${quantile(cpus, 0.5).toFixed(1).padStart(15)}${
      quantile(parses, 0.5).toFixed(1).padStart(17)
    }${(trains.length ? quantile(trains, 0.5).toFixed(1) : "-").padStart(17)}`,
  );
}
await conn.sendRequest("shutdown");
await conn.sendNotification("exit");
conn.dispose();
