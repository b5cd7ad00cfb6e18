/**
 * `dlm lsp`: the language server, on stdin and stdout (cli/lsp_server.ts
 * over compiler/service/). Runs until the client sends `exit` or closes the
 * stream; nothing but the protocol is written to stdout.
 */
import process from "node:process";
import {
  createConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-languageserver/node";
import { readFromDisk } from "../../compiler/check/program.ts";
import { formatSource } from "../../compiler/syntax/format.ts";
import { serve } from "../lsp_server.ts";
import { EXIT, type Io, type Parsed } from "../command.ts";

/** Run `dlm lsp`; resolves with the exit code when the client ends the session. */
export function run(_args: Parsed, _io: Io): Promise<number> {
  const connection = createConnection(
    new StreamMessageReader(process.stdin),
    new StreamMessageWriter(process.stdout),
  );
  return new Promise((resolve) => {
    let shutdown = false;
    // Document formatting is dlm fmt's layout; a text that does not parse is left as it is.
    const server = serve(connection, {
      read: readFromDisk,
      format: (text, path) => {
        const r = formatSource(text, { path });
        return r.ok ? r.text : undefined;
      },
    });
    connection.onShutdown(() => {
      shutdown = true;
      server.stop();
    });
    // `exit` after `shutdown` is a normal end (0); without it, 1, as the protocol asks.
    connection.onExit(() => resolve(shutdown ? EXIT.ok : EXIT.input));
    // The client went away without `exit`.
    process.stdin.on("end", () => resolve(shutdown ? EXIT.ok : EXIT.input));
  });
}
