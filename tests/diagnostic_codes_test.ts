/**
 * One small input per diagnostic code that no other test or golden error file raises: each case
 * asserts the code and the whole message its catalogue template gives. With the golden errors,
 * the spec's error examples and the other tests, every code of the catalogue but the reserved
 * ones is raised somewhere (compiler/diagnostics_test.ts checks that).
 */
import assert from "node:assert/strict";
import { main } from "../cli/main.ts";
import { compileFile, type CompileOptions } from "../compiler/compile.ts";
import { type Diagnostic, DlmError } from "../compiler/diagnostics.ts";
import { emptyGraph } from "../compiler/ir/graph.ts";
import { getOp, withDefaults } from "../compiler/ops/mod.ts";
import { GraphBuilder } from "../compiler/ops/builder.ts";
import { ShapeError } from "../compiler/ops/op_def.ts";
import { buildGradients } from "../compiler/grad/autodiff.ts";
import { mergeAdapters } from "../compiler/passes/merge_adapters.ts";
import { parse } from "../compiler/syntax/mod.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { prepareInputs } from "../runtime/inputs.ts";

/** Compile one in-memory file. */
function compile(src: string, opts: CompileOptions = {}): Diagnostic[] {
  return compileFile("main.dlm", {
    ...opts,
    read: (p) => (p === "main.dlm" ? src : new Error("no such file")),
  }).diagnostics;
}

/** Compile a train section of a model with layers a, b and h. */
function train(section: string): Diagnostic[] {
  const src = "model M {\n  input x: f32[N, 4]\n" +
    "  output y = x |> a: linear(4) |> b: linear(4) |> h: linear(1)\n}\n" + section;
  return compileTrain("main.dlm", { read: () => src }).diagnostics;
}

/** A model with one input `x: f32[N, 4]` around `body`. */
const model = (body: string) => `model M {\n  input x: f32[N, 4]\n${body}\n}\n`;

/** The diagnostics a call throws (as a DlmError, or a ShapeError of an op's rule). */
function thrown(f: () => unknown): Diagnostic[] {
  try {
    f();
  } catch (e) {
    if (e instanceof DlmError) return e.diagnostics;
    if (e instanceof ShapeError) return [{ code: e.code, severity: "error", message: e.message }];
    throw e;
  }
  return [];
}

/** `code: message` of every diagnostic. */
const lines = (ds: Diagnostic[]) => ds.map((d) => `${d.code}: ${d.message}`);

/** A source of diagnostics for one code, and the message its template gives there. */
const CASES: [string, string, () => string[] | Promise<string[]>][] = [
  [
    "DLM0109",
    "'relu' hides the built-in relu() in this scope; calling relu(...) here calls this value",
    () => lines(compile(model("  let relu = 1\n  output y = x"))),
  ],
  [
    "DLM0110",
    "input declarations belong in a model; a block takes its inputs as parameters",
    () =>
      lines(
        compile(`block B(x) {\n  input z: f32[N]\n  return x\n}\n${model("  output y = x |> B")}`),
      ),
  ],
  [
    "DLM0111",
    "Label 'a-b' must be made of letters, digits and _ (dots separate levels)",
    () => lines(compile(model('  output y = x |> "a-b": linear(2)'))),
  ],
  [
    "DLM0112",
    "Model M declares no output",
    () => lines(compile("model M {\n  input x: f32[N]\n}\n")),
  ],
  [
    "DLM0113",
    "A tensor has no member 'foo'; it has shape, rank, dtype and T",
    () => lines(compile(model("  output y = x.foo"))),
  ],
  [
    "DLM0114",
    "Unknown value 'nope' in the graph 'g'",
    () => {
      const b = new GraphBuilder("g");
      const x = b.input("x", { dtype: "f32", shape: [2] });
      return lines(thrown(() => buildGradients(b, "nope", [x])));
    },
  ],
  [
    "DLM0115",
    "output 'y' is declared twice",
    () => lines(compile(model("  output y = x\n  output y = x"))),
  ],
  [
    "DLM0116",
    "Parameter name 'x' clashes with another value of the same name",
    () => lines(compile(model('  let p = param((2,), name: "x")\n  output y = x'))),
  ],
  [
    "DLM0117",
    "This layer is already named 'a'; a layer instance has one name",
    () => lines(compile(model("  let f = a: linear(2)\n  output y = x |> b: f"))),
  ],
  [
    "DLM0118",
    "'K' is a top-level constant and cannot be reassigned; bind a new name with let",
    () => lines(compile(`let K = 3\n${model("  K = 4\n  output y = x")}`)),
  ],
  [
    "DLM0119",
    "Model derivation cycle: A -> B -> A",
    () =>
      lines(compile(
        'model A = B with lora(rank: 1, targets: "fc")\nmodel B = A with lora(rank: 1, targets: "fc")\n',
      )),
  ],
  [
    "DLM0120",
    "return belongs in a block; a model declares outputs",
    () => lines(compile(model("  return x"))),
  ],
  [
    "DLM0121",
    "Model inputs need every dim named or sized; _ and ... are for block parameters",
    () => lines(compile("model M {\n  input x: f32[_]\n  output y = x\n}\n")),
  ],
  [
    "DLM0129",
    "Only one built-in layer may take the label _ in the model's top level: the one at line 3 already owns its parameters; name this one",
    () => lines(compile(model("  output y = x |> _: linear(4) |> _: linear(2)"))),
  ],
  [
    "DLM0123",
    'param() needs a name made of letters, digits and _ (dots for levels), got "a-b"',
    () => lines(compile(model('  let p = param((2,), name: "a-b")\n  output y = x'))),
  ],
  [
    "DLM0124",
    "init target 'foo' must be layer.role (e.g. conv2d.weight) or a quoted name pattern",
    () => lines(compile(model("  init foo = zeros\n  output y = x |> linear(2)"))),
  ],
  [
    "DLM0125",
    "main.dlm declares no model",
    () => lines(compile("block B(x) { return x }\n")),
  ],
  [
    "DLM0209",
    "int 3 is not callable",
    () => lines(compile(model("  let a = 3\n  output y = a(x)"))),
  ],
  [
    "DLM0211",
    "Block B ends without returning a value",
    () => lines(compile(`block B(x) {\n  let y = x\n}\n${model("  output y = x |> B")}`)),
  ],
  [
    "DLM0212",
    "Index 5 is out of range for a tuple of 2",
    () => lines(compile(model("  let t = (1, 2)\n  let z = t[5]\n  output y = x"))),
  ],
  [
    "DLM0216",
    "Block B takes its inputs by position, not by name 'a'",
    () => lines(compile(`block B(a) { return a }\n${model("  output y = B(a: x)")}`)),
  ],
  [
    "DLM0218",
    "linear() got 'out' twice",
    () => lines(compile(model("  output y = x |> linear(2, out: 3)"))),
  ],
  [
    "DLM0219",
    "linear() is applied to 1 tensor, got 2",
    () => lines(compile(model("  output y = linear(2)(x, x)"))),
  ],
  [
    "DLM0220",
    "Block B takes 1 input (a), got 2",
    () => lines(compile(`block B(a) { return a }\n${model("  output y = B(x, x)")}`)),
  ],
  [
    "DLM0221",
    "len() takes 1 argument, got 2",
    () => lines(compile(model("  let n = len(1, 2)\n  output y = x"))),
  ],
  [
    "DLM0222",
    "training() takes no arguments",
    () => lines(compile(model("  let t = training(1)\n  output y = x"))),
  ],
  [
    "DLM0224",
    "'A' is a model; use a block to reuse layers inside another model",
    () =>
      lines(compile("model A {\n  input x: f32[N]\n  output y = x\n}\n" + model("  output y = A"), {
        model: "M",
      })),
  ],
  [
    "DLM0225",
    "zeros is an initialiser and cannot be applied to a tensor",
    () => lines(compile(model("  output y = x |> zeros"))),
  ],
  ["DLM0226", "3 indices for f32[N, 4]", () => lines(compile(model("  output y = x[0, 0, 0]")))],
  [
    "DLM0227",
    "MatMul expects tensors of rank 1 or more, found f32[] and f32[N, 4]",
    () => lines(compile(model("  output y = tensor(1.0) @ x"))),
  ],
  [
    "DLM0228",
    "Concat expects inputs of equal rank: f32[2, 3] has 2 dims, f32[3] has 1",
    () =>
      lines(compile(
        "model M {\n  input a: f32[2, 3]\n  input b: f32[3]\n  output y = concat((a, b), axis: 0)\n}\n",
      )),
  ],
  [
    "DLM0231",
    "Reshape needs a constant shape or a shape of known length, found i64[K]",
    () => {
      const op = getOp("Reshape")!;
      const inputs = [{ dtype: "f32" as const, shape: [2, 3] }, {
        dtype: "i64" as const,
        shape: ["K"],
      }];
      return lines(
        thrown(() => op.infer({ inputs, attrs: withDefaults(op, {}), constant: () => undefined })),
      );
    },
  ],
  [
    "DLM0236",
    "model parameter 'width' must be an int, got float 2.5",
    () => lines(compile("model M(width: int = 2.5) {\n  input x: f32[N, 4]\n  output y = x\n}\n")),
  ],
  [
    "DLM0237",
    'Operator - does not apply to string "s" and int 1',
    () => lines(compile(model('  let a = "s" - 1\n  output y = x'))),
  ],
  [
    "DLM0238",
    "Cannot unpack int 3 into 2 names (a, b)",
    () => lines(compile(model("  let (a, b) = 3\n  output y = x"))),
  ],
  [
    "DLM0239",
    "Cannot index int 3",
    () => lines(compile(model("  let a = 3\n  let b = a[0]\n  output y = x"))),
  ],
  ["DLM0306", "boom", () => lines(compile(model('  assert(false, "boom")\n  output y = x')))],
  [
    "DLM0307",
    "Integer overflow: 9007199254740991 + 2 is beyond 2^53",
    () => lines(compile(model("  let a = 9007199254740991 + 2\n  output y = x"))),
  ],
  [
    "DLM0308",
    "sqrt(-1) is not a number",
    () => lines(compile(model("  let a = sqrt(-1)\n  output y = x"))),
  ],
  [
    "DLM0310",
    "symbolic dim N * int 2 needs the symbolic dim's value, which is only known at run time",
    () => lines(compile(model("  let k = x.shape[0] * 2\n  let z = range(k)\n  output y = x"))),
  ],
  [
    "DLM0313",
    "The model has more than 4,294,967,296 parameter elements",
    () =>
      lines(compile(
        "model M {\n  input x: f32[N, 40000]\n" +
          "  output y = x |> linear(40000) |> linear(40000) |> linear(40000)\n}\n",
      )),
  ],
  [
    "DLM0314",
    "deep.dlm nests expressions or calls too deeply to parse",
    () => {
      // The last resort, for a parse that runs out of call stack although the nesting limit
      // (DLM0152) holds: parse 90 levels from ever deeper in the stack until the parser's own
      // frames no longer fit.
      const deep = `${"(".repeat(90)}x${")".repeat(90)}`;
      const src = model(`  output y = ${deep}`);
      const from = (depth: number): string[] =>
        depth > 0 ? from(depth - 1) : lines(parse(src, "deep.dlm").diagnostics);
      for (let depth = 0;; depth += 200) {
        let got: string[];
        try {
          got = from(depth);
        } catch (e) {
          if (e instanceof RangeError) return ["the stack ran out before the parse did"];
          throw e;
        }
        if (got.some((l) => l.includes("DLM0314"))) return got;
      }
    },
  ],
  [
    "DLM0315",
    "Too many errors; stopping here",
    () => {
      const body = Array.from({ length: 210 }, (_, i) => `  let a${i} = "s" - ${i}`).join("\n");
      return lines(compile(model(`${body}\n  output y = x`)));
    },
  ],
  [
    "DLM0421",
    "Cannot make a random str input; give it as a .npy file",
    () => {
      const g = emptyGraph("g");
      g.inputs.push({ name: "s", type: { dtype: "str", shape: [2] } });
      return lines(thrown(() => prepareInputs(g)));
    },
  ],
  [
    "DLM0511",
    "Cannot merge adapters: LoRA A 'fc.lora_A.default.weight' is not a constant of the graph",
    () => {
      const src = "model A {\n  input x: f32[N, 4]\n  output y = x |> fc: linear(2)\n}\n" +
        'model B = A with lora(rank: 1, targets: "fc")\n';
      const g = compileFile("main.dlm", { model: "B", read: () => src }).graph!;
      const a = g.merges!.find((m) => m.method === "lora")!;
      if (a.method === "lora") g.initializers.delete(a.a);
      return lines(thrown(() => mergeAdapters(g)));
    },
  ],
  [
    "DLM0702",
    "phase 'two' trains parameters an earlier phase trains",
    () =>
      lines(train(`train M {
  phase("one", loss: reduce_mean(y), optimizer: sgd(lr: 0.1), params: "a.*")
  phase("two", loss: reduce_mean(y * y), optimizer: sgd(lr: 0.1), params: "a.*")
}`)),
  ],
  [
    "DLM0703",
    "phase 'two' trains no parameter (params: \"nothing.*\")",
    () =>
      lines(train(`train M {
  phase("one", loss: reduce_mean(y), optimizer: sgd(lr: 0.1), params: "a.*")
  phase("two", loss: reduce_mean(y * y), optimizer: sgd(lr: 0.1), params: "nothing.*")
}`)),
  ],
  [
    "DLM0704",
    'moving_average(): a.weight is trained by gradients too; freeze "a.*"',
    () =>
      lines(train(`train M {
  loss = reduce_mean(y)
  optimizer = sgd(lr: 0.1)
  ema = moving_average(target: "a", source: "b")
}`)),
  ],
  [
    "DLM0801",
    "lora() parts: cannot adapt c, a conv2d: it is for linear layers",
    () =>
      lines(compile(
        "model A {\n  input x: f32[N, 3, 8, 8]\n  output y = x |> c: conv2d(4, kernel: 3)\n}\n" +
          'model B = A with lora(rank: 1, targets: "c", parts: (true, false))\n',
        { model: "B" },
      )),
  ],
];

for (const [code, message, run] of CASES) {
  Deno.test(`${code}: ${message}`, async () => {
    const got = await run();
    assert.ok(
      got.includes(`${code}: ${message}`),
      `${code}: ${message}\nnot in:\n${got.join("\n")}`,
    );
  });
}

// ---------------------------------------------------------------- the command line

const MLP = decodeURIComponent(new URL("../lang-examples/mlp.dlm", import.meta.url).pathname);

/** The diagnostic lines (`error DLM0502: ...`, `warning ...`) and exit code of a CLI run. */
async function dlm(...argv: string[]): Promise<{ code: number; lines: string[] }> {
  const err: string[] = [];
  const code = await main(argv, { out: () => {}, err: (s) => err.push(s) });
  const found = err.join("\n").split("\n").flatMap((l) => {
    const m = /(?:^|: )(error|warning) (DLM\d{4}): (.*)$/.exec(l);
    return m ? [`${m[2]}: ${m[3]}`] : [];
  });
  return { code, lines: found };
}

/** Run `body` with a fresh temporary folder, removed afterwards. */
async function inTemp(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_codes_test_" });
  try {
    await body(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const CLI: [string, string, number, (dir: string) => string[]][] = [
  ["DLM0502", "unknown option '--frobnicate'", 2, () => ["check", MLP, "--frobnicate"]],
  ["DLM0503", "option '--out' needs a value (OUT.onnx)", 2, () => ["compile", MLP, "--out"]],
  ["DLM0504", "option '--help' takes no value", 2, () => ["check", "--help=yes"]],
  ["DLM0505", "expected one file, got 2", 2, () => ["check", MLP, MLP]],
  ["DLM0506", "missing -o OUT.onnx", 2, () => ["compile", MLP]],
  [
    "DLM0508",
    "--train and --eval do not go together: they write different models; give one",
    2,
    (d) => ["compile", MLP, "--train", "--eval", "-o", `${d}/m.onnx`],
  ],
  [
    "DLM0510",
    `refusing to overwrite the source file '${MLP}' with an output`,
    2,
    () => ["compile", MLP, "-o", MLP],
  ],
  [
    "DLM0512",
    "--save-adapter: model Perceptron has no fine-tuning methods (derive one: model M = Perceptron with lora(...))",
    2,
    (d) => ["compile", MLP, "-o", `${d}/m.onnx`, "--save-adapter", `${d}/a.safetensors`],
  ],
  [
    "DLM0513",
    "--adapters merged: model Perceptron has no fine-tuning methods (derive one: model M = Perceptron with lora(...))",
    0,
    (d) => ["compile", MLP, "-o", `${d}/m.onnx`, "--adapters", "merged"],
  ],
  ["DLM0514", "unknown command 'compiel'", 2, () => ["compiel", MLP]],
  [
    "DLM0517",
    "option '--model' takes one value and is given two: 'Perceptron' and 'Other'",
    2,
    () => ["check", MLP, "--model", "Perceptron", "--model=Other"],
  ],
];

for (const [code, message, exit, argv] of CLI) {
  Deno.test(`${code}: ${message}`, () =>
    inTemp(async (dir) => {
      const r = await dlm(...argv(dir));
      assert.ok(
        r.lines.includes(`${code}: ${message}`),
        `${code}: ${message}\nnot in:\n${r.lines.join("\n")}`,
      );
      assert.equal(r.code, exit);
    }));
}
