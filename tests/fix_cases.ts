/**
 * Programs with one mistake each whose diagnostic carries a fix (compiler/diagnostics.ts `Fix`),
 * shared by the language service's test and the language server's over stdio: each applies the
 * fix, checks again, and finds the diagnostic gone.
 */
import type { FileFix, Position } from "../compiler/service/service.ts";

export const LIB = `block Mlp(width: int)(x) {
  return x |> linear(width) |> relu
}
`;
export const MAIN = `import "lib.dlm"

model Net(classes: int = 3) {
  input x: f32[N, 8]
  let h = x |> Mlp(16) |> enc: Mlp(4)
  output y = h |> fc: linear(classes)
}
`;

/** `files` with the edits of `fix` applied (each file's edits from its end, so ranges hold). */
export function applyFix(files: Record<string, string>, fix: FileFix): Record<string, string> {
  const out = { ...files };
  const byFile = Map.groupBy(fix.edits, (e) => e.path);
  for (const [path, edits] of byFile) {
    const lines = out[path].split("\n");
    const offset = (p: Position) =>
      lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
    let text = out[path];
    for (const e of [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start))) {
      text = text.slice(0, offset(e.range.start)) + e.newText + text.slice(offset(e.range.end));
    }
    out[path] = text;
  }
  return out;
}

export const RNN = `model Rnn(classes: int = 3) {
  input tokens: i64[N, T]
  let (y, h) = tokens |> embedding(20, 8) |> rnn(16)
  output logits: f32[N, classes] = h[-1] |> fc: linear(classes)
}
`;
export const TRAIN_RNN = `import "rnn.dlm"

train Rnn {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.1)
}
`;

/** Programs with one error each, the fix the checker offers for it, and its title. */
export const FIX_CASES: {
  name: string;
  files: Record<string, string>;
  code: string;
  title: string;
  fixDims?: Record<string, number>;
  /** Files opened in the editor before main.dlm. */
  open?: string[];
}[] = [
  {
    name: "a misspelt layer",
    files: { "lib.dlm": LIB, "main.dlm": MAIN.replace("fc: linear", "fc: lienar") },
    code: "DLM0101",
    title: "Change to 'linear'",
  },
  {
    name: "a misspelt named argument",
    files: {
      "lib.dlm": LIB,
      "main.dlm": MAIN.replace("linear(classes)", "linear(classes, bais: false)"),
    },
    code: "DLM0205",
    title: "Change to 'bias'",
  },
  {
    name: "a misspelt name in a block of another file",
    files: { "lib.dlm": LIB.replace("|> relu", "|> rleu"), "main.dlm": MAIN },
    code: "DLM0101",
    title: "Change to 'relu'",
  },
  {
    name: "a block that ends with its value but does not return it",
    files: { "lib.dlm": LIB.replace("return x", "x"), "main.dlm": MAIN },
    code: "DLM0211",
    title: "Return the last expression",
  },
  {
    name: "arithmetic on an integer and a float tensor",
    files: {
      "lib.dlm": LIB,
      "main.dlm": MAIN.replace("input x: f32[N, 8]", "input x: f32[N, 8]\n  input k: i64[N, 8]")
        .replace("let h = x |>", "let h = x * k |>"),
    },
    code: "DLM0207",
    title: 'Convert the right side with cast(..., "f32")',
  },
  {
    name: "a linear layer on a feature map where a flat vector was declared",
    files: {
      "main.dlm": `model Net {
  input x: f32[N, 1, 8, 8]
  output y: f32[N, 10] = x |> conv2d(4, 3) |> relu |> fc: linear(10)
}
`,
    },
    code: "DLM0208",
    title: "Insert |> flatten() before linear(...)",
  },
  {
    name: "a block of an open file the program does not import",
    files: {
      "lib.dlm": LIB,
      "main.dlm": MAIN.replace('import "lib.dlm"\n', ""),
    },
    open: ["lib.dlm"],
    code: "DLM0101",
    title: "Import 'lib.dlm' (it declares block 'Mlp')",
  },
  {
    name: "an assignment to a name never declared",
    files: {
      "lib.dlm": LIB,
      "main.dlm": MAIN.replace("let h = x |>", "h = x |>"),
    },
    code: "DLM0107",
    title: "Declare 'h' here: let h = ...",
  },
  {
    name: "a misspelt source of a copy",
    files: {
      "main.dlm": `model M {
  input x: f32[N, 4]
  output y = (x |> enc: linear(4)) + (x |> dec: linear(4))
}
train M {
  init dec from encc
  loss = reduce_mean(y)
  optimizer = sgd(lr: 0.1)
}
`,
    },
    code: "DLM0215",
    title: "Change to 'enc'",
  },
  {
    name: "a misspelt parameter to freeze",
    files: {
      "lib.dlm": LIB,
      "main.dlm": MAIN +
        "\ntrain Net {\n  input label: i64[N]\n  loss = cross_entropy(y, label)\n  optimizer = sgd(lr: 0.1)\n  freeze fcc\n}\n",
    },
    code: "DLM0215",
    title: "Change to 'fc'",
  },
  {
    name: "a recurrent model whose length training must know (--dim), declared in an imported file",
    files: { "rnn.dlm": RNN, "main.dlm": TRAIN_RNN },
    code: "DLM0417",
    title: "Fix T to 6 in the input's type",
    fixDims: { T: 6 },
  },
  {
    name: "a convolution whose gradient needs a size training does not know (--dim)",
    files: {
      "main.dlm": `model M {
  input x: f32[N, 3, H, 8]
  output y = x |> c: conv2d(4, kernel: 3, pad: 1) |> global_avg_pool |> flatten
}
train M {
  loss = reduce_mean(y * y)
  optimizer = sgd(lr: 0.1)
}
`,
    },
    code: "DLM0417",
    title: "Fix H to 8 in the input's type",
    fixDims: { H: 8, T: 6 },
  },
];
