import assert from "node:assert/strict";
import { LanguageService, type Position, relativePath } from "./service.ts";
import { LAYERS } from "../check/names.ts";
import { normalize } from "../../tests/module_graph.ts";
import { applyFix, FIX_CASES, RNN, TRAIN_RNN } from "../../tests/fix_cases.ts";

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

/** A service over an in-memory file system; `main.dlm` open. */
function service(files: Record<string, string> = { "lib.dlm": LIB, "main.dlm": MAIN }) {
  const s = new LanguageService((p) => files[p] ?? new Error("no such file or directory"));
  s.open("main.dlm", files["main.dlm"], 1);
  return s;
}

/** The position of the `nth` occurrence of `text` on 1-based `line` of `src`, plus `dx`. */
function at(src: string, line: number, text: string, dx = 0): Position {
  const character = src.split("\n")[line - 1].indexOf(text);
  assert.ok(character >= 0, `${text} on line ${line}`);
  return { line: line - 1, character: character + dx };
}

Deno.test("service: a clean program has no diagnostics", () => {
  assert.deepEqual(service().diagnostics("main.dlm"), []);
});

Deno.test("service: hover on a pipe stage shows the type after it and the parameters it made", () => {
  const h = service().hover("main.dlm", at(MAIN, 5, "Mlp(16)", 1))!;
  assert.match(h.markdown, /`f32\[N, 16\]`/);
  assert.match(h.markdown, /2 parameter tensors, 144 parameters/);
  assert.match(h.markdown, /`Mlp_0\.linear_0\.weight` \[16, 8\]/);
  assert.match(h.markdown, /block Mlp\(width: int\)\(x\)/);
  assert.match(h.markdown, /144 parameters per use/);
});

Deno.test("service: hover on a model shows its signature and total parameters", () => {
  const h = service().hover("main.dlm", at(MAIN, 3, "Net", 1))!;
  assert.match(h.markdown, /model Net\(classes: int = 3\)/);
  assert.match(h.markdown, /inputs: `x: f32\[N, 8\]`/);
  // 8*16+16 + 16*4+4 + 4*3+3
  assert.match(h.markdown, /227 parameters in total/);
});

Deno.test("service: hover on a let and on a built-in", () => {
  const s = service();
  assert.match(s.hover("main.dlm", at(MAIN, 5, "h"))!.markdown, /let h`: `f32\[N, 4\]`/);
  const b = s.hover("main.dlm", at(MAIN, 6, "linear", 2))!.markdown;
  assert.ok(b.includes(LAYERS.linear.doc), b);
  assert.match(b, /`f32\[N, 3\]`/);
});

Deno.test("service: a block run twice shows both types", () => {
  const s = service();
  s.open("lib.dlm", LIB, 1);
  // lib.dlm alone declares no model: its types come from main.dlm's check.
  const h = s.hover("main.dlm", at(MAIN, 5, "enc"))!;
  assert.match(h.markdown, /label enc`: `f32\[N, 4\]`/);
});

Deno.test("service: definition and references across an import", () => {
  const s = service();
  const d = s.definition("main.dlm", at(MAIN, 5, "Mlp"))!;
  assert.deepEqual(d, {
    path: "lib.dlm",
    range: { start: { line: 0, character: 6 }, end: { line: 0, character: 9 } },
  });
  const refs = s.references("main.dlm", at(MAIN, 5, "Mlp")).map((r) =>
    `${r.path}:${r.range.start.line + 1}:${r.range.start.character + 1}`
  );
  assert.deepEqual(refs, ["lib.dlm:1:7", "main.dlm:5:16", "main.dlm:5:32"]);
  const imp = s.definition("main.dlm", at(MAIN, 1, "lib"))!;
  assert.equal(imp.path, "lib.dlm");
});

Deno.test("service: rename a block across files, and a let within its body", () => {
  const s = service();
  const edits = s.rename("main.dlm", at(MAIN, 5, "Mlp"), "Perceptron");
  assert.ok(edits instanceof Map);
  assert.deepEqual([...edits.keys()].sort(), ["lib.dlm", "main.dlm"]);
  assert.equal(edits.get("main.dlm")!.length, 2);
  const lets = s.rename("main.dlm", at(MAIN, 6, "h"), "hidden");
  assert.ok(lets instanceof Map);
  assert.deepEqual(
    lets.get("main.dlm")!.map((e) => e.range.start.line + 1),
    [5, 6],
  );
  assert.equal(typeof s.rename("main.dlm", at(MAIN, 6, "h"), "not a name"), "string");
  assert.equal(typeof s.rename("main.dlm", at(MAIN, 6, "linear"), "x"), "string");
});

Deno.test("service: rename refuses a name already visible where the renamed name is", () => {
  const s = service();
  const refused = (line: number, word: string, to: string) => {
    const r = s.rename("main.dlm", at(MAIN, line, word), to);
    assert.equal(typeof r, "string", `${word} -> ${to}`);
    return r as string;
  };
  // A let meets its model's input, and a top-level name it would shadow.
  assert.match(refused(5, "h", "x"), /Cannot rename 'h' to 'x': input 'x' at main.dlm:4:9/);
  assert.match(refused(5, "h", "Net"), /model 'Net' at main.dlm:3:7 is already visible/);
  // A block of lib.dlm meets the model of the file that imports it, and a let where it is used.
  assert.match(refused(5, "Mlp", "Net"), /model 'Net'/);
  assert.match(refused(5, "Mlp", "h"), /let 'h' at main.dlm:5:7/);
  // A label meets the labels of its model.
  assert.match(refused(5, "enc", "fc"), /label 'fc'/);
  // Keywords, built-ins, what is not a name.
  assert.match(refused(5, "h", "model"), /keyword/);
  assert.match(refused(5, "Mlp", "relu"), /built-in name/);
  assert.match(refused(5, "h", "2h"), /is not a name/);
  // What is not renamed here stays renamable there: a label may share a value's name.
  assert.ok(s.rename("main.dlm", at(MAIN, 5, "enc"), "h") instanceof Map);
  assert.ok(s.rename("main.dlm", at(MAIN, 5, "Mlp"), "Perceptron") instanceof Map);
});

Deno.test("service: renaming a model at its train section renames the model everywhere", () => {
  const src = MAIN + "\ntrain Net {\n  loss = reduce_mean(y)\n  optimizer = sgd(lr: 0.1)\n}\n";
  const s = service({ "lib.dlm": LIB, "main.dlm": src });
  for (const [line, word] of [[9, "Net"], [3, "Net"]] as const) {
    const r = s.rename("main.dlm", at(src, line, word, 1), "Classifier");
    assert.ok(r instanceof Map);
    assert.deepEqual(r.get("main.dlm")!.map((e) => e.range.start.line + 1), [3, 9], `${line}`);
  }
  // And a clash met from there is refused as from the model's own name.
  assert.match(s.rename("main.dlm", at(src, 9, "Net"), "Mlp") as string, /block 'Mlp'/);
});

Deno.test("service: prepareRename gives the name under the caret, or why it cannot be renamed", () => {
  const s = service();
  assert.deepEqual(s.prepareRename("main.dlm", at(MAIN, 5, "Mlp", 1)), {
    range: { start: at(MAIN, 5, "Mlp"), end: at(MAIN, 5, "Mlp", 3) },
    placeholder: "Mlp",
  });
  assert.match(s.prepareRename("main.dlm", at(MAIN, 6, "linear")) as string, /built in/);
  assert.match(s.prepareRename("main.dlm", at(MAIN, 4, "input", 2)) as string, /Nothing to rename/);
});

Deno.test("service: diagnostics carry codes and a did-you-mean fix", () => {
  const src = MAIN.replace("|> fc: linear(classes)", "|> fc: lienar(classes)");
  const s = service({ "lib.dlm": LIB, "main.dlm": src });
  const ds = s.diagnostics("main.dlm");
  assert.equal(ds.length, 1);
  assert.equal(ds[0].code, "DLM0101");
  assert.deepEqual(ds[0].range.start, at(src, 6, "lienar"));
  assert.deepEqual(ds[0].fixes?.map((f) => f.title), ["Change to 'linear'"]);
  assert.deepEqual(ds[0].fixes![0].edits.map((e) => [e.path, e.range.start, e.newText]), [
    ["main.dlm", at(src, 6, "lienar"), "linear"],
  ]);
});

Deno.test("service: the quick fix of a misspelt named argument replaces the name alone", () => {
  const src = MAIN.replace("linear(classes)", "linear(classes, bais: false)");
  const ds = service({ "lib.dlm": LIB, "main.dlm": src }).diagnostics("main.dlm");
  assert.equal(ds.length, 1);
  assert.equal(ds[0].code, "DLM0205");
  const fix = ds[0].fixes![0].edits[0];
  assert.equal(fix.newText, "bias");
  assert.deepEqual(fix.range, {
    start: at(src, 6, "bais"),
    end: at(src, 6, "bais", 4),
  });
});

for (const c of FIX_CASES) {
  Deno.test(`service: the fix of ${c.name} removes its diagnostic`, () => {
    const check = (files: Record<string, string>) => {
      const s = new LanguageService((p) => files[p] ?? new Error("no such file"), {
        fixDims: c.fixDims,
      });
      for (const f of c.open ?? []) s.open(f, files[f], 1);
      s.open("main.dlm", files["main.dlm"], 1);
      return [...s.diagnostics("main.dlm"), ...s.trainDiagnostics("main.dlm")];
    };
    const before = check(c.files);
    const d = before.find((x) => x.code === c.code);
    assert.ok(d, JSON.stringify(before));
    const fix = d.fixes?.find((f) => f.title === c.title);
    assert.ok(fix, JSON.stringify(d));
    const after = check(applyFix(c.files, fix));
    assert.deepEqual(after.filter((x) => x.severity === "error"), []);
  });
}

Deno.test("service: an import's path is relative to the importing file", () => {
  assert.equal(relativePath("/w/a/main.dlm", "/w/a/lib.dlm"), "lib.dlm");
  assert.equal(relativePath("/w/a/main.dlm", "/w/b/c/lib.dlm"), "../b/c/lib.dlm");
  assert.equal(relativePath("/w/a/b/main.dlm", "/w/lib.dlm"), "../../lib.dlm");
});

Deno.test("service: the --dim hint has no fix until a size is proposed", () => {
  const files: Record<string, string> = { "rnn.dlm": RNN, "main.dlm": TRAIN_RNN };
  const s = new LanguageService((p) => files[p] ?? new Error("no such file"));
  s.open("main.dlm", TRAIN_RNN, 1);
  const [d] = s.trainDiagnostics("main.dlm");
  assert.equal(d.code, "DLM0417");
  assert.match(d.message, /fix it with --dim T=<length>/);
  assert.equal(d.fixes, undefined);
});

Deno.test("service: the training compiler's checks come apart from the check's, once each", () => {
  // The loss reads only the input: it reaches none of the parameters (DLM0250, a warning the
  // training compiler finds when it builds the step).
  const src = MAIN + "\ntrain Net {\n  loss = reduce_mean(x)\n  optimizer = sgd(lr: 0.1)\n}\n";
  const s = service({ "lib.dlm": LIB, "main.dlm": src });
  assert.deepEqual(s.diagnostics("main.dlm"), []);
  assert.equal(s.hasTrainSections("main.dlm"), true);
  const t = s.trainDiagnostics("main.dlm");
  assert.deepEqual(t.map((d) => [d.code, d.severity, d.range.start.line + 1]), [
    ["DLM0250", "warning", 10],
  ]);
  assert.equal(s.trainDiagnostics("main.dlm"), t, "cached until a change");
  s.update("main.dlm", src.replace("reduce_mean(x)", "reduce_mean(y)"), 2);
  assert.deepEqual(s.trainDiagnostics("main.dlm"), []);
});

Deno.test("service: an error inside a block relates to its call site", () => {
  const lib = LIB.replace("|> relu", "|> softmax(axis: 5)");
  const s = service({ "lib.dlm": lib, "main.dlm": MAIN });
  s.open("lib.dlm", lib, 1);
  const ds = s.diagnostics("main.dlm");
  assert.equal(ds.length, 1);
  assert.match(ds[0].message, /^in lib\.dlm: /);
  assert.deepEqual(ds[0].range.start, { line: 0, character: 0 });
  assert.ok(ds[0].related.some((r) => r.location.path === "main.dlm"), JSON.stringify(ds[0]));
});

Deno.test("service: completion offers named arguments, blocks, built-ins and labels", () => {
  const src = MAIN.replace("fc: linear(classes)", "fc: linear(classes, )");
  const s = service({ "lib.dlm": LIB, "main.dlm": src });
  const labels = s.completion("main.dlm", at(src, 6, ", )", 2)).map((c) => c.label);
  assert.ok(labels.includes("bias:"), labels.join(" "));
  assert.ok(labels.includes("Mlp"));
  assert.ok(labels.includes("conv2d"));
  assert.ok(labels.includes("enc"));
  assert.ok(labels.includes("h"));
});

Deno.test("service: signature help follows the argument being written", () => {
  const s = service();
  const h = s.signatureHelp("main.dlm", at(MAIN, 5, "16"))!;
  assert.equal(h.label, "Mlp(width: int)");
  assert.equal(h.activeParameter, 0);
  const src = "model M {\n  input x: f32[N, 4]\n  output y = x |> conv1d(8, 3, stride: 2)\n}\n";
  const s2 = service({ "main.dlm": src });
  const h2 = s2.signatureHelp("main.dlm", at(src, 3, "3,", 1))!;
  assert.equal(h2.parameters[h2.activeParameter], "kernel");
  const h3 = s2.signatureHelp("main.dlm", at(src, 3, "stride", 3))!;
  assert.equal(h3.parameters[h3.activeParameter], "stride");
});

Deno.test("service: inlay hints give the shape after each pipe stage", () => {
  const hints = service().inlayHints("main.dlm").map((h) =>
    `${h.position.line + 1}:${h.position.character + 1}${h.label}`
  );
  assert.deepEqual(hints, [
    "5:23: f32[N, 16]",
    "5:38: f32[N, 4]",
    "6:38: f32[N, 3]",
  ]);
});

Deno.test("service: semantic tokens are sorted and do not overlap", () => {
  const ts = service().semanticTokens("main.dlm");
  for (let i = 1; i < ts.length; i++) {
    const a = ts[i - 1], b = ts[i];
    assert.ok(b.line > a.line || b.character >= a.character + a.length);
  }
  const mlp = ts.find((t) => t.line === 4 && t.character === 15)!;
  assert.equal(mlp.type, "function");
  const relu = service().semanticTokens("main.dlm").find((t) =>
    t.modifiers.includes("defaultLibrary")
  );
  assert.ok(relu);
});

Deno.test("service: a file with a syntax error still has symbols and hovers where it parsed", () => {
  const src = MAIN.replace(
    "output y = h |> fc: linear(classes)",
    "output y = h |> fc: linear(classes",
  );
  const s = service({ "lib.dlm": LIB, "main.dlm": src });
  const ds = s.diagnostics("main.dlm");
  assert.ok(ds.length >= 1 && ds.every((d) => d.code.startsWith("DLM00")), JSON.stringify(ds));
  const syms = s.documentSymbols("main.dlm");
  assert.deepEqual(syms.map((x) => x.name), ["Net"]);
  assert.ok(syms[0].children.some((c) => c.name === "h"));
  assert.match(s.hover("main.dlm", at(src, 5, "Mlp(16)", 1))!.markdown, /`f32\[N, 16\]`/);
});

Deno.test("service: workspace symbols span the files of open documents", () => {
  const s = service();
  assert.deepEqual(
    s.workspaceSymbols("ml").map((x) => `${x.name} ${x.location.path}`),
    ["Mlp lib.dlm"],
  );
});

Deno.test("service: a change re-checks, and an unchanged import is parsed once", () => {
  const files = { "lib.dlm": LIB, "main.dlm": MAIN };
  let reads = 0;
  const s = new LanguageService((p) => {
    reads++;
    return files[p as keyof typeof files] ?? new Error("no such file");
  });
  s.open("main.dlm", MAIN, 1);
  assert.deepEqual(s.diagnostics("main.dlm"), []);
  s.update("main.dlm", MAIN.replace("Mlp(4)", "Mlp(5)"), 2);
  assert.match(s.hover("main.dlm", at(MAIN, 5, "h"))!.markdown, /f32\[N, 5\]/);
  assert.equal(reads, 2);
});

Deno.test("service: runs without Deno or Node (a browser's Web Worker can host it)", () => {
  // Every module the service reaches: none names Deno or imports a node: or npm: module; the
  // one exception is program.ts's readFromDisk, the CLI's reader, which the service never calls.
  const root = new URL("../../", import.meta.url);
  const seen = new Set<string>();
  const todo = ["compiler/service/service.ts"];
  while (todo.length) {
    const p = todo.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    let text = Deno.readTextFileSync(new URL(p, root));
    if (p === "compiler/check/program.ts") {
      text = text.replace(/export const readFromDisk[\s\S]*?\n};\n/, "");
    }
    assert.ok(!/\bDeno\./.test(text), `${p} uses Deno`);
    for (const m of text.matchAll(/from\s+"([^"]+)"/g)) {
      assert.ok(!/^(node|npm|jsr):/.test(m[1]), `${p} imports ${m[1]}`);
      if (m[1].startsWith(".")) todo.push(normalize(p, m[1]));
    }
  }
  assert.ok(seen.size > 20);
});

Deno.test("service: a change re-checks the documents that load the changed file, not the others", () => {
  const files: Record<string, string> = {
    "lib.dlm": LIB,
    "main.dlm": MAIN,
    "other.dlm": "model O {\n  input x: f32[N, 2]\n  output y = x |> relu\n}\n",
  };
  const s = service(files);
  s.open("lib.dlm", LIB, 1);
  s.open("other.dlm", files["other.dlm"], 1);
  for (const p of s.documents()) s.diagnostics(p);
  assert.deepEqual(s.affectedBy("lib.dlm").sort(), ["lib.dlm", "main.dlm"]);
  assert.deepEqual(s.affectedBy("other.dlm"), ["other.dlm"]);
  // An edit to the library reaches its importer's diagnostics.
  s.update("lib.dlm", LIB.replace("relu", "rleu"), 2);
  assert.equal(s.diagnostics("main.dlm")[0]?.code, "DLM0101");
});

Deno.test("service: hover on a block's and a model's parameters shows the values they were given", () => {
  const s = service();
  assert.match(s.hover("main.dlm", at(MAIN, 3, "classes", 1))!.markdown, /param classes`: `int 3`/);
});

Deno.test("service: a library's types come from an open document that runs it", () => {
  const s = service();
  s.open("lib.dlm", LIB, 1);
  // lib.dlm declares no model; main.dlm, open too, applies Mlp twice.
  assert.match(
    s.hover("lib.dlm", at(LIB, 1, "width", 1))!.markdown,
    /param width`: `int 16`, `int 4`/,
  );
  assert.match(
    s.hover("lib.dlm", at(LIB, 2, "relu", 1))!.markdown,
    /`f32\[N, 16\]`, `f32\[N, 4\]`/,
  );
  assert.deepEqual(s.inlayHints("lib.dlm").map((h) => h.label), [
    ": f32[N, 16] (+1)",
    ": f32[N, 16] (+1)",
  ]);
  s.close("main.dlm");
  assert.equal(s.hover("lib.dlm", at(LIB, 2, "relu", 1))?.markdown.includes("f32"), false);
});

Deno.test("service: models past the time budget are elaborated when a hover or hint reaches them", () => {
  const src = MAIN + `
model Second {
  input z: f32[N, 2]
  output w = z |> linear(7) |> bogus_name
}
`;
  const s = new LanguageService(
    (p) => ({ "lib.dlm": LIB, "main.dlm": src } as Record<string, string>)[p] ?? new Error("none"),
    { budgetMs: 0 },
  );
  s.open("main.dlm", src, 1);
  // The first model is always checked; Second is past the budget (its unknown name is a static
  // error that name resolution reports anyway, without the elaborator).
  assert.deepEqual(s.diagnostics("main.dlm").map((d) => d.code), ["DLM0101"]);
  assert.equal(s.analyze("main.dlm").deferred.size, 1);
  const line = src.split("\n").findIndex((l) => l.includes("linear(7)"));
  const hints = s.inlayHints("main.dlm", {
    start: { line, character: 0 },
    end: { line, character: 0 },
  });
  assert.deepEqual(hints.map((h) => h.label), [": f32[N, 7]"]);
  assert.equal(s.analyze("main.dlm").deferred.size, 0);
  // The first model's hints were there all along.
  assert.ok(s.inlayHints("main.dlm").some((h) => h.label === ": f32[N, 16]"));
});

Deno.test("service: a layer sharing another instance's parameters does not count them again", () => {
  const main = `block Mlp(width: int)(x) {
  return x |> fc: linear(width) |> relu
}
block Head(width: int)(x) {
  return x |> fc: linear(width)
}
model Net {
  input x: f32[N, 8]
  let mlp = Mlp(16)
  let head = Head(16) sharing mlp
  output z = x |> head
  output y = x |> mlp
}
`;
  const s = service({ "main.dlm": main });
  assert.deepEqual(s.diagnostics("main.dlm"), []);
  // 8*16+16, once: the head's fc is the Mlp's.
  assert.match(s.hover("main.dlm", at(main, 7, "Net", 1))!.markdown, /144 parameters in total/);
  const h = s.hover("main.dlm", at(main, 11, "head", 1))!.markdown;
  assert.match(h, /`f32\[N, 16\]`/);
  // Applied before its source, the head makes the parameters, under the source's names.
  assert.match(h, /`mlp\.fc\.weight` \[16, 8\]/);
  assert.doesNotMatch(h, /head\.fc/);
});
