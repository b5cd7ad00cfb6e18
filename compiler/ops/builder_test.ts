import assert from "node:assert/strict";

Deno.test("a script that imports only the builder can add any op of the table", async () => {
  // A fresh process, so that no other module of the test run has loaded the table first.
  const code = `
    import { GraphBuilder } from ${JSON.stringify(new URL("./builder.ts", import.meta.url).href)};
    const b = new GraphBuilder("g");
    const x = b.input("x", { dtype: "f32", shape: [2, 3] });
    const [y] = b.addNode("Relu", [x]);
    const [z] = b.addNode("Gelu", [y], {}, { domain: "com.microsoft" });
    console.log(JSON.stringify([b.graph.types.get(y), b.graph.types.get(z)]));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(out.stderr), "");
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), [
    { dtype: "f32", shape: [2, 3] },
    { dtype: "f32", shape: [2, 3] },
  ]);
});
