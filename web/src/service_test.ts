import assert from "node:assert/strict";
import { handle, workspaceReader } from "./service.ts";
import { exampleFiles } from "../build.ts";
import { outputSummary } from "./stats.ts";
import { tensor } from "../../compiler/ir/tensor.ts";
import { decodeModel } from "../../compiler/onnx/decode.ts";

const files = exampleFiles();

Deno.test("the bundled workspace is every .dlm file of lang-examples/, lib/ included", () => {
  const names = [...Deno.readDirSync(new URL("../../lang-examples/", import.meta.url))]
    .filter((e) => e.name.endsWith(".dlm")).map((e) => e.name).sort();
  assert.deepEqual(Object.keys(files).filter((f) => !f.includes("/")).sort(), names);
  assert.ok(files["lib/transformer.dlm"]);
});

Deno.test("the reader puts the editor's text over the workspace and refuses other files", () => {
  const read = workspaceReader({ "a.dlm": "A", "lib/b.dlm": "B" }, "a.dlm", "edited");
  assert.equal(read("a.dlm"), "edited");
  assert.equal(read("./lib/b.dlm"), "B");
  assert.ok(read("c.dlm") instanceof Error);
  assert.ok(read("constructor") instanceof Error);
});

Deno.test("check: a diagnostic with its code, line and column, in the page's file", async () => {
  const text = "model M {\n  input x: f32[N, 4]\n  output y: f32[N, 4] = x |> relux\n}\n";
  const r = await handle({ id: 1, kind: "check", path: "m.dlm", text }, files);
  assert.equal(r.kind, "check");
  assert.deepEqual(
    r.diagnostics.map((d) => [d.code, d.file, d.line, d.col, d.endCol]),
    [["DLM0101", "m.dlm", 3, 30, 35]],
  );
});

Deno.test("check: an import resolves in the workspace (gpt2.dlm imports lib/transformer.dlm)", async () => {
  assert.match(files["gpt2.dlm"], /import "lib\/transformer.dlm"/);
  const ok = await handle(
    { id: 1, kind: "check", path: "gpt2.dlm", text: files["gpt2.dlm"] },
    files,
  );
  assert.deepEqual(ok.diagnostics.filter((d) => d.severity === "error"), []);
  const without = { ...files };
  delete without["lib/transformer.dlm"];
  const r = await handle(
    { id: 2, kind: "check", path: "gpt2.dlm", text: files["gpt2.dlm"] },
    without,
  );
  assert.ok(r.diagnostics.some((d) => d.code === "DLM0104" && d.file === "gpt2.dlm"));
});

Deno.test("compile: ONNX bytes that decode to the model, and its inputs with symbolic dims", async () => {
  const r = await handle({
    id: 1,
    kind: "compile",
    path: "mlp.dlm",
    text: files["mlp.dlm"],
    model: "MLP",
  }, files);
  assert.equal(r.kind, "compile");
  if (r.kind !== "compile") return;
  assert.equal(r.name, "MLP");
  assert.deepEqual(r.inputs, [{ name: "x", dtype: "f32", shape: ["N", 784] }]);
  const { graph } = decodeModel(r.onnx!);
  assert.deepEqual(graph.outputs.map((o) => o.name), ["logits", "probs"]);
});

Deno.test("graph and compile of a program with errors answer with the diagnostics only", async () => {
  const text = "model M {\n  output y: f32[2] = nope\n}\n";
  const g = await handle({ id: 1, kind: "graph", path: "m.dlm", text }, files);
  assert.ok(g.kind === "graph" && g.svg === undefined && g.diagnostics.length > 0);
  const c = await handle({ id: 2, kind: "compile", path: "m.dlm", text }, files);
  assert.ok(c.kind === "compile" && c.onnx === undefined && c.diagnostics.length > 0);
});

Deno.test("graph: the compiler's SVG with the source lines of its nodes", async () => {
  const r = await handle({ id: 1, kind: "graph", path: "mlp.dlm", text: files["mlp.dlm"] }, files);
  assert.ok(r.kind === "graph" && r.svg?.includes("<svg") && r.svg.includes("mlp.dlm:"));
});

Deno.test("outputSummary: shape, min, max, mean and std over the finite values", () => {
  const { std, ...rest } = outputSummary("y", tensor("f32", [2, 2], [1, 3, NaN, 2]));
  assert.deepEqual(rest, { name: "y", dtype: "f32", shape: [2, 2], min: 1, max: 3, mean: 2 });
  assert.ok(Math.abs(std - Math.sqrt(2 / 3)) < 1e-12);
});
