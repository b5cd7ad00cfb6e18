/**
 * `dlm lsp` driven as an editor drives it: the server runs as its own process and this test
 * talks to it over stdin/stdout with vscode-jsonrpc, the JSON-RPC package VS Code's client uses.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { formatSource } from "../compiler/syntax/format.ts";
import { type Range, TextDocument } from "vscode-languageserver-textdocument";
import { PassThrough } from "node:stream";
import {
  createConnection,
  StreamMessageReader as ServerReader,
  StreamMessageWriter as ServerWriter,
} from "vscode-languageserver/node";
import { serve } from "../cli/lsp_server.ts";
import { FIX_CASES } from "./fix_cases.ts";
import {
  createMessageConnection,
  type MessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-jsonrpc/node";

const CLI = new URL("../cli/main.ts", import.meta.url).pathname;

const LIB = `block Mlp(width: int)(x) {
  return x |> linear(width) |> relu
}
`;
const MAIN = `import "lib.dlm"

model Net(classes: int = 3) {
  input x: f32[N, 8]
  let h = x |> Mlp(16) |> enc: Mlp(4)
  output y = h |> fc: linear(classes)
}
`;

interface Published {
  uri: string;
  version?: number;
  diagnostics: {
    range: { start: { line: number; character: number } };
    code: string;
    message: string;
    data?: unknown;
  }[];
}

/** A started server, its connection, and the diagnostics it published, by URI in order. */
async function start(dir: string, options: Record<string, unknown> = {}) {
  const child = spawn(Deno.execPath(), ["run", "-A", CLI, "lsp", "--stdio"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const conn: MessageConnection = createMessageConnection(
    new StreamMessageReader(child.stdout!),
    new StreamMessageWriter(child.stdin!),
  );
  const published: Published[] = [];
  const waiters: ((p: Published) => void)[] = [];
  conn.onNotification("textDocument/publishDiagnostics", (p: Published) => {
    published.push(p);
    for (const w of waiters.splice(0)) w(p);
  });
  conn.listen();
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const init = await conn.sendRequest("initialize", {
    processId: null,
    rootUri: `file://${dir}`,
    capabilities: {},
    initializationOptions: { debounceMs: 10, ...options },
  }) as { capabilities: Record<string, unknown> };
  await conn.sendNotification("initialized", {});
  /** The next diagnostics published for `uri` (at `version`, when given). */
  const next = (uri: string, version?: number) =>
    new Promise<Published>((resolve) => {
      const wait = (p: Published) => {
        if (p.uri === uri && (version === undefined || p.version === version)) resolve(p);
        else waiters.push(wait);
      };
      waiters.push(wait);
    });
  return { child, conn, init, published, next, exited };
}

function pos(src: string, line: number, text: string, dx = 0) {
  const character = src.split("\n")[line - 1].indexOf(text);
  assert.ok(character >= 0, `${text} on line ${line}`);
  return { line: line - 1, character: character + dx };
}

Deno.test({
  name:
    "dlm lsp: initialize, open, hover, definition, references, completion, rename, change, quick fix, recovery, shutdown",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = Deno.makeTempDirSync();
    Deno.writeTextFileSync(`${dir}/lib.dlm`, LIB);
    Deno.writeTextFileSync(`${dir}/main.dlm`, MAIN);
    const uri = `file://${dir}/main.dlm`;
    const libUri = `file://${dir}/lib.dlm`;
    const s = await start(dir);
    try {
      const caps = s.init.capabilities;
      assert.equal(caps.textDocumentSync, 2, "incremental sync");
      assert.equal(caps.hoverProvider, true);
      assert.deepEqual(caps.renameProvider, { prepareProvider: true });
      assert.equal(caps.documentFormattingProvider, true, "dlm fmt's layout is offered");

      // formatting: a document laid out by hand comes back in dlm fmt's layout
      const messyUri = `file://${dir}/messy.dlm`;
      const messy = "model   Messy {\n  input x:f32[N,4]\n    output y = x|>relu\n}\n";
      await s.conn.sendNotification("textDocument/didOpen", {
        textDocument: { uri: messyUri, languageId: "dlm", version: 1, text: messy },
      });
      const fmtEdits = await s.conn.sendRequest("textDocument/formatting", {
        textDocument: { uri: messyUri },
        options: { tabSize: 2, insertSpaces: true },
      }) as { newText: string }[];
      const expected = formatSource(messy, { path: `${dir}/messy.dlm` });
      assert.ok(expected.ok && expected.text !== messy);
      assert.deepEqual(fmtEdits.map((e) => e.newText), [expected.text]);

      // open: the clean program publishes no diagnostics
      let diags = s.next(uri, 1);
      await s.conn.sendNotification("textDocument/didOpen", {
        textDocument: { uri, languageId: "dlm", version: 1, text: MAIN },
      });
      assert.deepEqual((await diags).diagnostics, []);

      // hover on a stage: its shape and parameters
      const hover = await s.conn.sendRequest("textDocument/hover", {
        textDocument: { uri },
        position: pos(MAIN, 5, "Mlp(16)", 1),
      }) as { contents: { kind: string; value: string } };
      assert.equal(hover.contents.kind, "markdown");
      assert.match(hover.contents.value, /`f32\[N, 16\]`/);
      assert.match(hover.contents.value, /144 parameters/);
      const model = await s.conn.sendRequest("textDocument/hover", {
        textDocument: { uri },
        position: pos(MAIN, 3, "Net", 1),
      }) as { contents: { value: string } };
      assert.match(model.contents.value, /227 parameters in total/);

      // definition: into the imported file, which is not open (read from disk)
      const def = await s.conn.sendRequest("textDocument/definition", {
        textDocument: { uri },
        position: pos(MAIN, 5, "Mlp", 1),
      }) as { uri: string; range: { start: { line: number; character: number } } };
      assert.equal(def.uri, libUri);
      assert.deepEqual(def.range.start, { line: 0, character: 6 });

      // references of the block, across the two files
      const refs = await s.conn.sendRequest("textDocument/references", {
        textDocument: { uri },
        position: pos(MAIN, 5, "Mlp", 1),
        context: { includeDeclaration: true },
      }) as { uri: string }[];
      assert.deepEqual(refs.map((r) => r.uri), [libUri, uri, uri]);

      // completion inside a call: its named arguments, and the program's blocks
      const items = await s.conn.sendRequest("textDocument/completion", {
        textDocument: { uri },
        position: pos(MAIN, 6, "classes)", 7),
      }) as { label: string }[];
      const labels = items.map((i) => i.label);
      assert.ok(labels.includes("bias:"));
      assert.ok(labels.includes("Mlp"));

      // rename a let: both of its places
      const edit = await s.conn.sendRequest("textDocument/rename", {
        textDocument: { uri },
        position: pos(MAIN, 5, "h"),
        newName: "hidden",
      }) as { changes: Record<string, { range: { start: { line: number } } }[]> };
      assert.deepEqual(edit.changes[uri].map((e) => e.range.start.line), [4, 5]);

      // an incremental change introduces a typo: a coded diagnostic and its quick fix
      const at = pos(MAIN, 6, "linear");
      diags = s.next(uri, 2);
      await s.conn.sendNotification("textDocument/didChange", {
        textDocument: { uri, version: 2 },
        contentChanges: [{
          range: { start: at, end: { line: at.line, character: at.character + 6 } },
          text: "lienar",
        }],
      });
      const bad = (await diags).diagnostics;
      assert.equal(bad.length, 1);
      assert.equal(bad[0].code, "DLM0101");
      assert.deepEqual(bad[0].range.start, at);
      const actions = await s.conn.sendRequest("textDocument/codeAction", {
        textDocument: { uri },
        range: { start: at, end: at },
        context: { diagnostics: bad },
      }) as { title: string; edit: { changes: Record<string, { newText: string }[]> } }[];
      assert.equal(actions[0].title, "Change to 'linear'");
      assert.equal(actions[0].edit.changes[uri][0].newText, "linear");

      // recovery: a syntax error; the parts that parse keep their symbols and hovers
      const end = pos(MAIN, 6, "classes)", 7);
      diags = s.next(uri, 3);
      await s.conn.sendNotification("textDocument/didChange", {
        textDocument: { uri, version: 3 },
        contentChanges: [{
          range: { start: end, end: { line: end.line, character: end.character + 1 } },
          text: "",
        }],
      });
      const syntax = (await diags).diagnostics;
      assert.ok(
        syntax.length >= 1 && syntax.every((d) => d.code.startsWith("DLM00")),
        JSON.stringify(syntax),
      );
      const symbols = await s.conn.sendRequest("textDocument/documentSymbol", {
        textDocument: { uri },
      }) as { name: string; children: { name: string }[] }[];
      assert.deepEqual(symbols.map((x) => x.name), ["Net"]);
      assert.ok(symbols[0].children.some((c) => c.name === "h"));
      const still = await s.conn.sendRequest("textDocument/hover", {
        textDocument: { uri },
        position: pos(MAIN, 5, "Mlp(4)", 1),
      }) as { contents: { value: string } };
      assert.match(still.contents.value, /`f32\[N, 4\]`/);

      // inlay hints and semantic tokens answer too
      const hints = await s.conn.sendRequest("textDocument/inlayHint", {
        textDocument: { uri },
        range: { start: { line: 0, character: 0 }, end: { line: 10, character: 0 } },
      }) as { label: string }[];
      assert.ok(hints.some((h) => h.label === ": f32[N, 16]"));
      const tokens = await s.conn.sendRequest("textDocument/semanticTokens/full", {
        textDocument: { uri },
      }) as { data: number[] };
      assert.ok(tokens.data.length > 0 && tokens.data.length % 5 === 0);

      await s.conn.sendRequest("shutdown");
      await s.conn.sendNotification("exit");
      assert.equal(await s.exited, 0);
    } finally {
      s.conn.dispose();
      s.child.kill();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

/** The diagnostics published for `uri` from the `from`th on, once one satisfies `ok`. */
async function until(
  published: Published[],
  uri: string,
  from: number,
  ok: (p: Published) => boolean,
  what: string,
): Promise<Published> {
  for (let waited = 0; waited < 30_000; waited += 20) {
    const p = published.slice(from).find((x) => x.uri === uri && ok(x));
    if (p) return p;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(published.slice(from))}`);
}

Deno.test({
  name:
    "dlm lsp: each fix the checker knows is a quick fix whose edit (in any file) removes its diagnostic",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const root = Deno.makeTempDirSync();
    const fixDims = Object.assign({}, ...FIX_CASES.map((c) => c.fixDims ?? {}));
    const s = await start(root, { fixDims, trainDelayMs: 0 });
    try {
      for (const [k, c] of FIX_CASES.entries()) {
        const dir = `${root}/case${k}`;
        Deno.mkdirSync(dir);
        for (const [name, text] of Object.entries(c.files)) {
          Deno.writeTextFileSync(`${dir}/${name}`, text);
        }
        const uri = `file://${dir}/main.dlm`;
        for (const f of c.open ?? []) {
          await s.conn.sendNotification("textDocument/didOpen", {
            textDocument: {
              uri: `file://${dir}/${f}`,
              languageId: "dlm",
              version: 1,
              text: c.files[f],
            },
          });
        }
        const from = s.published.length;
        await s.conn.sendNotification("textDocument/didOpen", {
          textDocument: { uri, languageId: "dlm", version: 1, text: c.files["main.dlm"] },
        });
        const bad = await until(
          s.published,
          uri,
          from,
          (p) => p.diagnostics.some((d) => d.code === c.code),
          `${c.name}: ${c.code}`,
        );
        const d = bad.diagnostics.find((x) => x.code === c.code)!;
        const actions = await s.conn.sendRequest("textDocument/codeAction", {
          textDocument: { uri },
          range: d.range,
          context: { diagnostics: [d] },
        }) as {
          title: string;
          edit: { changes: Record<string, { range: Range; newText: string }[]> };
        }[];
        const action = actions.find((a) => a.title === c.title);
        assert.ok(action, `${c.name}: ${JSON.stringify(actions.map((a) => a.title))}`);
        // Apply it as an editor does: the open document changes, another file opens edited.
        const after = s.published.length;
        for (const [u, edits] of Object.entries(action.edit.changes)) {
          const path = u.slice("file://".length);
          const text = u === uri ? c.files["main.dlm"] : Deno.readTextFileSync(path);
          const edited = TextDocument.applyEdits(TextDocument.create(u, "dlm", 1, text), edits);
          if (u === uri) {
            await s.conn.sendNotification("textDocument/didChange", {
              textDocument: { uri, version: 2 },
              contentChanges: [{ text: edited }],
            });
          } else {
            await s.conn.sendNotification("textDocument/didOpen", {
              textDocument: { uri: u, languageId: "dlm", version: 1, text: edited },
            });
          }
        }
        // A document with train sections publishes twice: the check, then the training checks.
        const twice = c.files["main.dlm"].includes("train ");
        const good = await until(
          s.published,
          uri,
          after,
          (p) =>
            s.published.slice(after).filter((x) => x.uri === uri).indexOf(p) >= (twice ? 1 : 0),
          `${c.name}: the check after the fix`,
        );
        assert.deepEqual(good.diagnostics.filter((x) => x.code === c.code), [], c.name);
        assert.deepEqual(good.diagnostics, [], c.name);
      }
      await s.conn.sendRequest("shutdown");
      await s.conn.sendNotification("exit");
      assert.equal(await s.exited, 0);
    } finally {
      s.conn.dispose();
      s.child.kill();
      Deno.removeSync(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "dlm lsp: prepareRename and rename refuse a clash with a clear message; the training checks follow the check",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = Deno.makeTempDirSync();
    Deno.writeTextFileSync(`${dir}/lib.dlm`, LIB);
    const src = MAIN + "\ntrain Net {\n  loss = reduce_mean(x)\n  optimizer = sgd(lr: 0.1)\n}\n";
    Deno.writeTextFileSync(`${dir}/main.dlm`, src);
    const uri = `file://${dir}/main.dlm`;
    const s = await start(dir, { trainDelayMs: 50 });
    try {
      const from = s.published.length;
      await s.conn.sendNotification("textDocument/didOpen", {
        textDocument: { uri, languageId: "dlm", version: 1, text: src },
      });
      // First the check (clean), then the training compiler's warning: the loss reaches nothing.
      const first = await until(s.published, uri, from, () => true, "the check");
      assert.deepEqual(first.diagnostics, []);
      const train = await until(
        s.published,
        uri,
        from,
        (p) => p.diagnostics.length > 0,
        "the training checks",
      );
      assert.deepEqual(train.diagnostics.map((d) => d.code), ["DLM0250"]);
      assert.equal(train.version, 1);
      // A keystroke: its check keeps the last training diagnostics until the next ones come;
      // a change that makes the loss reach the parameters clears them once the document rests.
      const typed = s.published.length;
      const at = pos(src, 10, "(x)", 1);
      await s.conn.sendNotification("textDocument/didChange", {
        textDocument: { uri, version: 2 },
        contentChanges: [{
          range: { start: at, end: { ...at, character: at.character + 1 } },
          text: "y",
        }],
      });
      const kept = await until(s.published, uri, typed, (p) => p.version === 2, "the check");
      assert.deepEqual(kept.diagnostics.map((d) => d.code), ["DLM0250"]);
      const cleared = await until(
        s.published,
        uri,
        typed,
        (p) => p.version === 2 && p.diagnostics.length === 0,
        "the training checks after the change",
      );
      assert.deepEqual(cleared.diagnostics, []);

      const prep = await s.conn.sendRequest("textDocument/prepareRename", {
        textDocument: { uri },
        position: pos(src, 5, "h"),
      }) as { placeholder: string };
      assert.equal(prep.placeholder, "h");
      await assert.rejects(
        s.conn.sendRequest("textDocument/prepareRename", {
          textDocument: { uri },
          position: pos(src, 6, "linear", 1),
        }),
        /'linear' is built in/,
      );
      await assert.rejects(
        s.conn.sendRequest("textDocument/rename", {
          textDocument: { uri },
          position: pos(src, 5, "Mlp"),
          newName: "Net",
        }),
        /Cannot rename 'Mlp' to 'Net': model 'Net'/,
      );
      await s.conn.sendRequest("shutdown");
      await s.conn.sendNotification("exit");
      assert.equal(await s.exited, 0);
    } finally {
      s.conn.dispose();
      s.child.kill();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "dlm lsp: the formatting hook (where dlm fmt plugs in) answers textDocument/formatting",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // The server in this process, over a pair of in-memory streams, with a stand-in formatter.
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const server = createConnection(
      new ServerReader(toServer),
      new ServerWriter(toClient),
    );
    const calls: string[] = [];
    const served = serve(server, {
      read: () => new Error("no such file"),
      format: (text, path) => {
        calls.push(path);
        return text.includes("{") ? text.replace(/ +/g, " ") : undefined;
      },
    });
    const client = createMessageConnection(
      new StreamMessageReader(toClient),
      new StreamMessageWriter(toServer),
    );
    client.listen();
    try {
      const init = await client.sendRequest("initialize", {
        processId: null,
        rootUri: null,
        capabilities: {},
      }) as { capabilities: { documentFormattingProvider: boolean } };
      assert.equal(init.capabilities.documentFormattingProvider, true);
      await client.sendNotification("initialized", {});
      const uri = "file:///tmp/fmt.dlm";
      const text = "model M {\n  input x:   f32[N]\n  output y =  x\n}\n";
      await client.sendNotification("textDocument/didOpen", {
        textDocument: { uri, languageId: "dlm", version: 1, text },
      });
      const edits = await client.sendRequest("textDocument/formatting", {
        textDocument: { uri },
        options: { tabSize: 2, insertSpaces: true },
      }) as { newText: string; range: { end: { line: number } } }[];
      assert.deepEqual(calls, ["/tmp/fmt.dlm"]);
      assert.equal(edits.length, 1);
      assert.equal(edits[0].newText, "model M {\n input x: f32[N]\n output y = x\n}\n");
      assert.equal(edits[0].range.end.line, 4);
    } finally {
      // The open document's check is still pending: stop it before the connection goes.
      served.stop();
      client.dispose();
      server.dispose();
    }
  },
});
