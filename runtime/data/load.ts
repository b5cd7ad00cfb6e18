/**
 * `--data` specifications: named arrays from `.npy` and `.csv` files, and
 * the bundled digits set.
 *
 * Syntax: `NAME=PATH[:COLUMNS][@DTYPE]`
 *   - `PATH.npy`: the whole array (no column selector).
 *   - `PATH.csv:0-63`, `PATH.csv:64`, `PATH.csv:0,3,5-7`, `PATH.csv:label`:
 *     0-based columns, inclusive ranges, or header names. One plain column
 *     gives a vector [rows]; ranges and lists give a matrix [rows, k].
 *   - `@f32` / `@i64` (and the other dtypes) force the dtype; by default a
 *     single all-integer column is i64 (labels), anything else f32.
 *   - `digits` as PATH is the bundled handwritten digits set
 *     (lang-examples/data/digits.csv: 1797 rows, 64 pixels then the label);
 *     its f32 columns are divided by 16 so pixels lie in 0..1.
 *   - `digits` alone (no `NAME=`) is `image=digits:0-63 label=digits:64`.
 *   - `text:PATH:T` is a text file as token ids, cut by the tokenizer of
 *     `--tokenizer T.json` into windows of T tokens: i64 [W, T], window w
 *     the tokens w*T .. w*T+T-1. `text:PATH:T:next` is the same windows
 *     one token later (the next-token targets of a language model), and W
 *     is (tokens - 1) / T rounded down, so both name the same windows.
 *     The text is tokenized once however many specs read it.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import type { Graph } from "../../compiler/ir/graph.ts";
import { type DType, DTYPES, type Tensor } from "../../compiler/ir/tensor.ts";
import { readNpy } from "../formats/mod.ts";
import { readFileOrFail, readTextOrFail } from "../fs.ts";
import { columnName, type CsvTable, parseCsv, selectColumns, tableToTensor } from "./csv.ts";
import { type DataOrigin, Dataset } from "./dataset.ts";
import type { BpeTokenizer } from "../text/bpe.ts";
import { openTokenizer } from "../text/tokenizer_json.ts";
import { readUtf8File } from "../text/utf8.ts";

/** The bundled digits CSV, found relative to this module. */
export const DIGITS_PATH = new URL("../../lang-examples/data/digits.csv", import.meta.url).pathname;
/** Pixels of the digits set are 0..16. */
const DIGITS_SCALE = 1 / 16;

/** One parsed `--data` item. */
export interface DataSpec {
  name: string;
  path: string;
  columns?: string;
  dtype?: DType;
  /** `text:PATH:T[:next]`: windows of T token ids, or the same windows one token on. */
  text?: { window: number; next: boolean };
}

/** What loading needs besides the specs. */
export interface LoadOptions {
  /** The tokenizer.json that `text:` data is tokenized with. */
  tokenizer?: string;
}

/**
 * Parse `--data` items. `digits` alone expands to two items. A malformed
 * item raises DLM0501 (a usage error).
 */
export function parseDataSpecs(items: string[]): DataSpec[] {
  const out: DataSpec[] = [];
  for (const item of items) {
    if (item === "digits") {
      out.push({ name: "image", path: "digits", columns: "0-63" });
      out.push({ name: "label", path: "digits", columns: "64" });
      continue;
    }
    const eq = item.indexOf("=");
    if (eq <= 0 || eq === item.length - 1) {
      fail(...diag("DLM0501", "--data", "NAME=PATH[:COLUMNS][@DTYPE] or 'digits'", `'${item}'`));
    }
    const name = item.slice(0, eq);
    let rest = item.slice(eq + 1);
    if (rest.startsWith("text:")) {
      out.push({ name, ...parseTextSpec(item, rest.slice(5)) });
      continue;
    }
    let dtype: DType | undefined;
    const at = rest.lastIndexOf("@");
    if (at > 0) {
      const d = rest.slice(at + 1);
      if (!(d in DTYPES) || d === "str") {
        fail(...diag("DLM0501", `--data '${item}'`, "a dtype such as f32 or i64", `'${d}'`));
      }
      dtype = d as DType;
      rest = rest.slice(0, at);
    }
    // The selector follows the ':' after a file name ending in .csv/.npy (or `digits`),
    // so a ':' inside a path is left alone.
    let path = rest;
    let columns: string | undefined;
    const colon = rest.lastIndexOf(":");
    const head = rest.slice(0, Math.max(colon, 0)).toLowerCase();
    if (colon > 0 && (head.endsWith(".csv") || head.endsWith(".npy") || head === "digits")) {
      path = rest.slice(0, colon);
      columns = rest.slice(colon + 1);
    }
    if (out.some((s) => s.name === name)) {
      fail(...diag("DLM0501", "--data", "a new name for each data set", `'${name}' twice`));
    }
    out.push({ name, path, columns, dtype });
  }
  return out;
}

/** `PATH:T[:next]` of a `text:` item. */
function parseTextSpec(item: string, rest: string): Omit<DataSpec, "name"> {
  const next = rest.endsWith(":next");
  if (next) rest = rest.slice(0, -5);
  const colon = rest.lastIndexOf(":");
  const t = colon > 0 ? rest.slice(colon + 1) : "";
  if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > 1 << 20) {
    fail(
      ...diag("DLM0501", `--data '${item}'`, "text:PATH:T with T the window's tokens", `'${t}'`),
    );
  }
  return { path: rest.slice(0, colon), text: { window: Number(t), next } };
}

/**
 * Load every spec as a named tensor. Each CSV file is parsed once. Bad files
 * raise DLM0401 (unreadable), DLM0406 (bad .npy) or DLM0412 (bad CSV or
 * column selection).
 */
export function loadData(specs: DataSpec[], options: LoadOptions = {}): Record<string, Tensor> {
  return load(specs, options).arrays;
}

/**
 * Load every spec into one Dataset that remembers where each array came from (file, columns,
 * lines), so that a value the model cannot read is reported at its place in the file.
 */
export function loadDataset(specs: DataSpec[], options: LoadOptions = {}): Dataset {
  const { arrays, origins } = load(specs, options);
  return new Dataset(arrays, origins);
}

function load(
  specs: DataSpec[],
  options: LoadOptions,
): { arrays: Record<string, Tensor>; origins: Record<string, DataOrigin> } {
  const tables = new Map<string, CsvTable>();
  const streams = new Map<string, Int32Array>();
  let tokenizer: BpeTokenizer | undefined;
  const out: Record<string, Tensor> = {};
  const origins: Record<string, DataOrigin> = {};
  for (const s of specs) {
    if (s.text) {
      tokenizer ??= loadTokenizer(options.tokenizer, s);
      let ids = streams.get(s.path);
      if (!ids) {
        ids = Int32Array.from(tokenizer.encode(readUtf8File(s.path, "text file")));
        streams.set(s.path, ids);
      }
      out[s.name] = windows(ids, s.text.window, s.text.next, s);
      origins[s.name] = { file: s.path };
      continue;
    }
    const digits = s.path === "digits";
    const path = digits ? DIGITS_PATH : s.path;
    const lower = path.toLowerCase();
    if (lower.endsWith(".npy")) {
      if (s.columns !== undefined) {
        fail(
          ...diag(
            "DLM0412",
            `column selection ':${s.columns}' on '${path}'`,
            "column selectors apply to .csv files only",
          ),
        );
      }
      const t = readNpy(readFileOrFail(path, "data file"), path);
      if (s.dtype && s.dtype !== t.dtype) {
        fail(...diag("DLM0412", `data file '${path}'`, `expected ${s.dtype}, found ${t.dtype}`));
      }
      out[s.name] = t;
      origins[s.name] = { file: path };
    } else if (lower.endsWith(".csv")) {
      const shown = digits ? "digits" : path;
      let table = tables.get(path);
      if (!table) {
        table = parseCsv(readTextOrFail(path, "data file"), shown);
        tables.set(path, table);
      }
      const sel = selectColumns(s.columns, table, shown);
      out[s.name] = tableToTensor(table, sel, {
        dtype: s.dtype,
        scale: digits ? DIGITS_SCALE : 1,
        path: shown,
      });
      origins[s.name] = {
        file: shown,
        columns: sel.columns.map((c) => columnName(table!, c)),
        select: s.columns,
        lines: table.lines,
      };
    } else {
      fail(
        ...diag("DLM0412", `data file '${s.path}' for '${s.name}'`, "expected a .csv or .npy file"),
      );
    }
  }
  return { arrays: out, origins };
}

function loadTokenizer(path: string | undefined, s: DataSpec): BpeTokenizer {
  if (!path) {
    fail(...diag("DLM0507", `--data ${s.name}=text:${s.path}:...`, "--tokenizer T.json"));
  }
  return openTokenizer(path);
}

/** Windows of T tokens (one token on for `next`): i64 [W, T] with W = (n - 1) / T rounded down. */
function windows(ids: Int32Array, t: number, next: boolean, s: DataSpec): Tensor {
  const w = Math.floor((ids.length - 1) / t);
  if (w < 1) {
    fail(
      ...diag(
        "DLM0423",
        `text data '${s.path}'`,
        `at least ${t + 1} tokens for one window of ${t} and its next tokens`,
        `${ids.length} tokens`,
      ),
    );
  }
  const out = new BigInt64Array(w * t);
  const off = next ? 1 : 0;
  for (let i = 0; i < w * t; i++) out[i] = BigInt(ids[i + off]);
  return { dtype: "i64", shape: [w, t], data: out };
}

/** The bundled digits set: `image` f32[1797, 64] in 0..1 and `label` i64[1797] in 0..9. */
export function loadDigits(): { image: Tensor; label: Tensor } {
  const d = loadData(parseDataSpecs(["digits"]));
  return { image: d.image, label: d.label };
}

/** True when a model's batch inputs are exactly `image` f32[N, 64] and `label` i64[N]: the digits set fits. */
export function digitsFit(g: Graph, names: string[]): boolean {
  if (names.length !== 2 || !names.includes("image") || !names.includes("label")) return false;
  const img = g.inputs.find((i) => i.name === "image")!.type;
  const lab = g.inputs.find((i) => i.name === "label")!.type;
  return img.dtype === "f32" && img.shape.length === 2 && img.shape[1] === 64 &&
    lab.dtype === "i64" && lab.shape.length === 1;
}
