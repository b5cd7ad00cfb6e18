/**
 * The demo behind `deno task demo`: compile an example to ONNX, run the
 * file in onnxruntime-node, and diff onnxruntime against the reference
 * interpreter, each step through the real CLI.
 */
import { main } from "../cli/main.ts";

const example = Deno.args[0] ?? "lang-examples/resnet18.dlm";
const out = "out";
const onnx = `${out}/${example.replace(/^.*\//, "").replace(/\.dlm$/, "")}.onnx`;
Deno.mkdirSync(out, { recursive: true });

const steps: [string, string[]][] = [
  ["compile the model to ONNX", ["compile", example, "-o", onnx, "--explain-passes"]],
  ["run the ONNX file in onnxruntime-node", ["run", onnx, "--out", out]],
  ["diff onnxruntime against the reference interpreter", ["diff", example]],
];
for (const [what, argv] of steps) {
  console.log(`\n$ dlm ${argv.join(" ")}    # ${what}`);
  const code = await main(argv);
  if (code !== 0) Deno.exit(code);
}
console.log(`\nThe ONNX file is ${onnx}; open it in Netron to see each node's source line.`);
