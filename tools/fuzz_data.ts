/**
 * The fuzzer's data mode (tools/fuzz.ts `--data`): mutants of the files dlm reads besides
 * programs — `.npy` arrays, `.csv` tables, safetensors and ONNX weights files — each given to the
 * command line path that reads it (`run --input`, `train --data`, `run --weights`), on the
 * reference interpreter or onnxruntime. The seed files are valid inputs of the examples
 * (mlp.dlm's Perceptron, mlp_digits.dlm), made afresh in a temporary folder from fixed values.
 *
 * Every input is a function of (seed, index): the target, the mutation class, the mutation and
 * the backend are drawn from a generator seeded by both.
 */
import { mulberry32 } from "../compiler/ir/rng.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { compileFile } from "../compiler/compile.ts";
import { writeNpy, writeSafetensors } from "../runtime/formats/mod.ts";
import { writeModel } from "../runtime/formats/onnx_file.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MLP = `${ROOT}lang-examples/mlp.dlm`;
const MLP_DIGITS = `${ROOT}lang-examples/mlp_digits.dlm`;

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];

/** The seed files, by name, in `dir`. */
export interface Seeds {
  dir: string;
  files: Record<string, Uint8Array>;
}

/** Make the seed files in a new temporary folder (the caller removes it). */
export function makeSeeds(): Seeds {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_fuzz_data_" });
  const r = mulberry32(12345);
  const f32 = (shape: number[], f: () => number): Tensor => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = f();
    return { dtype: "f32", shape, data };
  };
  const labels = new BigInt64Array(24);
  for (let i = 0; i < 24; i++) labels[i] = BigInt(i % 10);
  // The first 24 rows of the digits: 64 pixels (0..16) and the label.
  const digits = Deno.readTextFileSync(`${ROOT}lang-examples/data/digits.csv`).split("\n")
    .slice(0, 24).join("\n") + "\n";
  // The Perceptron's weights, as safetensors and as an ONNX model's initializers.
  const perceptron = compileFile(MLP, {}).graph!;
  const weights: [string, Tensor][] = [
    ["fc.weight", f32([1, 4], () => r() - 0.5)],
    ["fc.bias", f32([1], () => r() - 0.5)],
  ];
  writeModel(perceptron, `${dir}/seed.onnx`);
  const files: Record<string, Uint8Array> = {
    "x.npy": writeNpy(f32([6, 4], r)),
    "image.npy": writeNpy(f32([24, 64], r)),
    "label.npy": writeNpy({ dtype: "i64", shape: [24], data: labels }),
    "d.csv": new TextEncoder().encode(digits),
    "w.safetensors": writeSafetensors(weights),
    "w.onnx": Deno.readFileSync(`${dir}/seed.onnx`),
  };
  Deno.removeSync(`${dir}/seed.onnx`);
  for (const [name, bytes] of Object.entries(files)) Deno.writeFileSync(`${dir}/${name}`, bytes);
  return { dir, files };
}

/**
 * A command line path that reads a data file: the seed it mutates, and the command line given
 * the mutant's path, the seeds' folder and the backend.
 */
export interface DataTarget {
  seed: string;
  argv(file: string, seeds: string, backend: string): string[];
}

const TRAIN = (data: string[], backend: string) => [
  "train",
  MLP_DIGITS,
  ...data.flatMap((d) => ["--data", d]),
  "--epochs",
  "1",
  "--batch-size",
  "8",
  "--backend",
  backend,
  "--no-cache",
];

/** The targets, by name. */
export const DATA_TARGETS: Record<string, DataTarget> = {
  /** A model input (`run --input x=F.npy`). */
  npy_input: {
    seed: "x.npy",
    argv: (f, _s, b) => ["run", MLP, "--input", `x=${f}`, "--backend", b, "--no-cache"],
  },
  /** Training images (`train --data image=F.npy`). */
  npy_data: {
    seed: "image.npy",
    argv: (f, s, b) => TRAIN([`image=${f}`, `label=${s}/label.npy`], b),
  },
  /** Training labels, class indices a loss reads (`train --data label=F.npy`). */
  npy_label: {
    seed: "label.npy",
    argv: (f, s, b) => TRAIN([`image=${s}/image.npy`, `label=${f}`], b),
  },
  /** A CSV table of images and labels (`train --data image=F.csv:0-63 --data label=F.csv:64`). */
  csv: {
    seed: "d.csv",
    argv: (f, _s, b) => TRAIN([`image=${f}:0-63`, `label=${f}:64`], b),
  },
  /** Weights from safetensors (`run --weights F.safetensors`). */
  safetensors: {
    seed: "w.safetensors",
    argv: (f, _s, b) => ["run", MLP, "--weights", f, "--backend", b, "--no-cache"],
  },
  /** Weights from an ONNX model's initializers (`run --weights F.onnx`). */
  onnx: {
    seed: "w.onnx",
    argv: (f, _s, b) => ["run", MLP, "--weights", f, "--backend", b, "--no-cache"],
  },
};

export const TARGETS = Object.keys(DATA_TARGETS);

/** A place in `b`: half the time in its first 128 bytes (the headers). */
const at = (r: Rand, b: Uint8Array) =>
  r() < 0.5 ? int(r, Math.min(b.length, 128) + 1) : int(r, b.length + 1);

const NUMBERS = [
  "0",
  "-1",
  "1",
  "3.5",
  "-0",
  "1e308",
  "1e400",
  "2147483648",
  "99999999999",
  "9007199254740993",
  "1e-320",
  "NaN",
  "inf",
  "",
  "abc",
  " ",
  '"',
];

const join = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let k = 0;
  for (const p of parts) {
    out.set(p, k);
    k += p.length;
  }
  return out;
};
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder("latin1").decode(b);
/** Latin-1 text back to its bytes, one a character. */
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** A mutation of a data file's bytes (`name` says its format). */
type DataMutation = (r: Rand, b: Uint8Array, name: string) => Uint8Array;

/** The data mutation classes, by name. */
export const DATA_MUTATIONS: Record<string, DataMutation> = {
  /** 1 to 8 bytes set to random values. */
  flip(r, b) {
    const out = b.slice();
    for (let n = 1 + int(r, 8); n > 0 && out.length; n--) {
      out[Math.min(at(r, out), out.length - 1)] = pick(r, [0, 0xff, 0x80, int(r, 256), 0x0a]);
    }
    return out;
  },
  /** The file cut anywhere (the header half the time). */
  truncate(r, b) {
    return b.slice(0, at(r, b));
  },
  /** 1 to 16 random bytes inserted. */
  insert(r, b) {
    const k = at(r, b);
    const ins = Uint8Array.from({ length: 1 + int(r, 16) }, () => int(r, 256));
    return join(b.subarray(0, k), ins, b.subarray(k));
  },
  /** 1 to 64 bytes deleted. */
  delete(r, b) {
    const k = at(r, b);
    return join(b.subarray(0, k), b.subarray(Math.min(b.length, k + 1 + int(r, 64))));
  },
  /** A range of the file repeated in place (a CSV's rows, a header's fields). */
  duplicate(r, b) {
    const k = at(r, b), n = 1 + int(r, 256);
    const part = b.subarray(k, Math.min(b.length, k + n));
    return join(b.subarray(0, k + part.length), part, b.subarray(k + part.length));
  },
  /**
   * A number written as text (a header's shape, offset or length field, a CSV cell) set to 0,
   * -1, something huge, fractional, not a number or empty.
   */
  number(r, b) {
    const text = dec(b.subarray(0, Math.min(b.length, 1 << 16)));
    const nums = [...text.matchAll(/-?\d+(\.\d+)?(e[+-]?\d+)?/g)];
    if (nums.length === 0) return b;
    const m = pick(r, nums);
    const s = m.index!, e = s + m[0].length;
    return join(b.subarray(0, s), enc(pick(r, NUMBERS)), b.subarray(e));
  },
  /** The format's header rewritten with one field changed (npy, safetensors, csv). */
  header(r, b, name) {
    if (name.endsWith(".npy")) return npyHeader(r, b);
    if (name.endsWith(".safetensors")) return safetensorsHeader(r, b);
    if (name.endsWith(".csv")) return csvShape(r, b);
    return DATA_MUTATIONS.flip(r, b, name);
  },
};

export const DATA_CLASSES = Object.keys(DATA_MUTATIONS);

/** A .npy header with its descr, fortran_order or shape changed (the length field kept right). */
function npyHeader(r: Rand, b: Uint8Array): Uint8Array {
  const major = b[6];
  const lenBytes = major === 1 ? 2 : 4;
  const hlen = lenBytes === 2 ? b[8] | (b[9] << 8) : new DataView(b.buffer).getUint32(8, true);
  const start = 8 + lenBytes;
  let head = dec(b.subarray(start, start + hlen));
  const variants = [
    () =>
      head.replace(
        /'descr': '[^']*'/,
        `'descr': '${
          pick(r, ["<f8", ">f4", "|b1", "<i8", "<U4", "|O", "<c8", "<f2", "<u8", "xx"])
        }'`,
      ),
    () =>
      head.replace(/'fortran_order': \w+/, `'fortran_order': ${pick(r, ["True", "1", "None"])}`),
    () =>
      head.replace(
        /'shape': \([^)]*\)/,
        `'shape': ${
          pick(r, [
            "()",
            "(0,)",
            "(-1, 4)",
            "(6,)",
            "(4, 6)",
            "(6, 4, 1)",
            "(1000000000, 4)",
            "(2147483648,)",
            "(6, 4",
            "[6, 4]",
            "(3.5, 4)",
            "(24, 64, 0)",
            "(24,)",
          ])
        }`,
      ),
    () => head.replace(/\}/, pick(r, [", 'extra': 1}", "", "}}"])),
    () => head.replace(/'descr'/, "'dtype'"),
  ];
  head = pick(r, variants)();
  // Padded to keep the data aligned, with its length as the format says (or off by some).
  const body = enc(head.replace(/\s*$/, "").padEnd(hlen, " ").replace(/ $/, "\n"));
  const off = r() < 0.8 ? 0 : pick(r, [-1, 1, 1000]);
  const lenField = new Uint8Array(lenBytes);
  const dv = new DataView(lenField.buffer);
  if (lenBytes === 2) dv.setUint16(0, Math.max(0, Math.min(0xffff, body.length + off)), true);
  else dv.setUint32(0, Math.max(0, body.length + off), true);
  return join(b.subarray(0, 8), lenField, body, b.subarray(start + hlen));
}

/** A safetensors header with one tensor's dtype, shape or offsets changed, or its length off. */
function safetensorsHeader(r: Rand, b: Uint8Array): Uint8Array {
  if (b.length < 8) return b;
  const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  let head: Record<string, any>;
  try {
    head = JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n)));
  } catch {
    return b;
  }
  const names = Object.keys(head).filter((k) => k !== "__metadata__");
  const t = head[pick(r, names)];
  const change = pick(r, ["dtype", "shape", "offsets", "metadata", "drop", "length"]);
  let lengthOff = 0;
  if (change === "dtype") t.dtype = pick(r, ["F64", "I64", "BOOL", "F16", "U8", "XX", 7, null]);
  if (change === "shape") {
    t.shape = pick(r, [[], [4], [1, 4, 1], [0], [-1, 4], [1e10, 4], [2 ** 31, 2], "4", [1.5, 4]]);
  }
  if (change === "offsets") {
    t.data_offsets = pick(r, [[0, 0], [4, 0], [0, 1e12], [-4, 12], [0], "0,16", [16, 32], [
      0,
      2 ** 53,
    ]]);
  }
  if (change === "metadata") head.__metadata__ = pick(r, [{ a: 1 }, "x", null, { format: "pt" }]);
  if (change === "drop") delete head[pick(r, names)];
  if (change === "length") lengthOff = pick(r, [-1, 1, -8, 1e6, 2 ** 40]);
  const json = enc(JSON.stringify(head));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(Math.max(0, json.length + lengthOff)), true);
  return join(len, json, b.subarray(8 + n));
}

/** A CSV with a row's cells changed in count, a header line, a BOM, or other line endings. */
function csvShape(r: Rand, b: Uint8Array): Uint8Array {
  const lines = dec(b).split("\n");
  const i = int(r, Math.max(1, lines.length - 1));
  const cells = lines[i].split(",");
  const v = pick(r, [
    () => lines[i] = cells.slice(0, -1 - int(r, 3)).join(","),
    () => lines[i] = [...cells, pick(r, NUMBERS)].join(","),
    () => lines.unshift(cells.map((_, k) => `c${k}`).join(",")),
    () => lines[0] = "\ufeff" + lines[0],
    () => lines.splice(i, 0, ""),
    () => lines[i] = `"${lines[i]}`,
    () => lines.splice(1),
    () => lines.splice(0, lines.length, ""),
  ]);
  v();
  const sep = pick(r, ["\n", "\n", "\r\n", "\r"]);
  return latin1(lines.join(sep));
}

/** Input `index` of data run `seed`: the target, the class, the backend and the mutant's bytes. */
export function dataInput(
  seed: number,
  index: number,
  seeds: Seeds,
  classes: readonly string[] = DATA_CLASSES,
  targets: readonly string[] = TARGETS,
): { cls: string; target: string; backend: string; bytes: Uint8Array } {
  const r = mulberry32((seed * 0x9e3779b1) ^ (index * 0x85ebca77) ^ 0x1b873593);
  const target = pick(r, targets);
  const cls = pick(r, classes);
  const backend = r() < 0.5 ? "reference" : "node";
  const name = DATA_TARGETS[target].seed;
  let bytes = DATA_MUTATIONS[cls](r, seeds.files[name], name);
  // Sometimes two mutations of the class, one on top of the other.
  if (r() < 0.25) bytes = DATA_MUTATIONS[cls](r, bytes, name);
  return { cls, target, backend, bytes };
}
