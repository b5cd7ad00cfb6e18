// The dlm extension: the grammar and language configuration are declared in package.json; this
// starts the language server (`dlm lsp`, over stdio) through vscode-languageclient, which gives
// diagnostics, hovers with tensor shapes, inlay hints, navigation and document formatting.
"use strict";
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

/** @type {LanguageClient | undefined} */
let client;

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  const config = vscode.workspace.getConfiguration("dlm");
  const [command, ...args] = config.get("server.command", ["dlm", "lsp"]);
  const serverOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "dlm" }, {
      scheme: "untitled",
      language: "dlm",
    }],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.dlm") },
    initializationOptions: {
      inlayHints: config.get("inlayHints.shapes", true),
      fixDims: config.get("fixDims", {}),
      trainDelayMs: config.get("trainDelayMs", 400),
    },
  };
  client = new LanguageClient("dlm", "dlm language server", serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.commands.registerCommand("dlm.restartServer", () => client && client.restart()),
  );
  try {
    await client.start();
  } catch (e) {
    vscode.window.showWarningMessage(
      `Could not start the dlm language server (${command} ${args.join(" ")}): ${e}. ` +
        "Set dlm.server.command to the command that runs `dlm lsp`.",
    );
  }
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
