/**
 * Numeric CSV files as tensors: parse the numbers (an optional header row
 * names the columns), select columns, infer the dtype. No quoting: a data
 * file for training holds numbers only.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import { type DType, isInteger, setNumber, type Tensor, zeros } from "../../compiler/ir/tensor.ts";

/** A parsed numeric CSV file: `rows` x `cols` values, row-major. */
export interface CsvTable {
  rows: number;
  cols: number;
  values: Float64Array;
  /** Column names from a header row, when the first row is not numeric. */
  header?: string[];
  /** The 1-based line of each row in the file (blank lines and the header are skipped). */
  lines: Int32Array;
}

/**
 * Parse CSV text of numbers. A first row with any non-numeric field is a
 * header. Blank lines are skipped. Every row must have the same number of
 * fields; a field that is not a number raises DLM0412 with its line and
 * column.
 */
export function parseCsv(text: string, path = "the CSV data"): CsvTable {
  const lines = text.split(/\r?\n/);
  let header: string[] | undefined;
  const rows: number[][] = [];
  const lineOf: number[] = [];
  let cols = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    const fields = line.split(",").map((f) => f.trim());
    if (cols < 0 && header === undefined && rows.length === 0 && fields.some((f) => !isNumber(f))) {
      header = fields;
      cols = fields.length;
      continue;
    }
    if (cols < 0) cols = fields.length;
    if (fields.length !== cols) {
      fail(
        ...diag(
          "DLM0412",
          `data file '${path}'`,
          `expected ${cols} fields on every row, found ${fields.length} on line ${i + 1}`,
        ),
      );
    }
    const row = new Array<number>(cols);
    for (let j = 0; j < cols; j++) {
      if (!isNumber(fields[j])) {
        fail(
          ...diag(
            "DLM0412",
            `data file '${path}'`,
            `expected a number at line ${i + 1}, column ${j}, found '${fields[j]}'`,
          ),
        );
      }
      row[j] = Number(fields[j]);
    }
    rows.push(row);
    lineOf.push(i + 1);
  }
  if (rows.length === 0) {
    fail(...diag("DLM0412", `data file '${path}'`, "expected at least one row of numbers"));
  }
  const values = new Float64Array(rows.length * cols);
  rows.forEach((r, i) => values.set(r, i * cols));
  const at = Int32Array.from(lineOf);
  return header
    ? { rows: rows.length, cols, values, header, lines: at }
    : { rows: rows.length, cols, values, lines: at };
}

function isNumber(f: string): boolean {
  return f !== "" && Number.isFinite(Number(f));
}

/** Which columns to take and whether the result keeps a column axis. */
export interface ColumnSelection {
  columns: number[];
  /** A single plain index (`64`, `label`) gives a 1-D tensor; ranges and lists give 2-D. */
  vector: boolean;
}

/**
 * Parse a column selector against a table: comma-separated items, each a
 * 0-based index (`64`), an inclusive range (`0-63`) or a header name
 * (`label`). Undefined selects every column. Bad selectors raise DLM0412.
 */
export function selectColumns(
  spec: string | undefined,
  table: CsvTable,
  path = "the CSV data",
): ColumnSelection {
  if (spec === undefined || spec === "") {
    return { columns: [...Array(table.cols).keys()], vector: false };
  }
  const items = spec.split(",").map((s) => s.trim());
  const columns: number[] = [];
  const check = (c: number, item: string) => {
    if (c >= table.cols) {
      fail(
        ...diag(
          "DLM0412",
          `column selection '${item}'`,
          `column ${c} is out of range: '${path}' has columns 0-${table.cols - 1}`,
        ),
      );
    }
  };
  for (const item of items) {
    const range = /^(\d+)-(\d+)$/.exec(item);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (a > b) {
        fail(
          ...diag(
            "DLM0412",
            `column selection '${item}'`,
            "expected a range FROM-TO with FROM <= TO",
          ),
        );
      }
      check(b, item);
      for (let c = a; c <= b; c++) columns.push(c);
    } else if (/^\d+$/.test(item)) {
      check(Number(item), item);
      columns.push(Number(item));
    } else {
      const k = table.header?.indexOf(item) ?? -1;
      if (k < 0) {
        const names = table.header
          ? `; its columns are ${table.header.map((h) => `'${h}'`).join(", ")}`
          : " (it has no header row)";
        fail(
          ...diag("DLM0412", `column selection '${item}'`, `'${path}' has no such column${names}`),
        );
      }
      columns.push(k);
    }
  }
  const vector = items.length === 1 && !items[0].includes("-");
  return { columns, vector };
}

/** Integer dtypes' ranges: a CSV value outside is refused, not wrapped. */
const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  u8: [0, 255],
  i8: [-128, 127],
  u16: [0, 65535],
  i16: [-32768, 32767],
  u32: [0, 2 ** 32 - 1],
  i32: [-(2 ** 31), 2 ** 31 - 1],
  u64: [0, Number.MAX_SAFE_INTEGER],
  i64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** How messages name column `c` of a table: its header name, else its 0-based number. */
export function columnName(table: CsvTable, c: number): string {
  return table.header ? `'${table.header[c]}'` : String(c);
}

/**
 * The selected columns as a tensor. Without an explicit dtype: i64 when a
 * single column holds only integers (a class label), else f32 (features).
 * `scale` multiplies f32 values (the digits' 0..16 pixels use 1/16). An
 * integer dtype (`@i64`, `@u8`) refuses a value that is not an integer in its
 * range with DLM0412, naming the line and column, instead of truncating or
 * wrapping it.
 */
export function tableToTensor(
  table: CsvTable,
  sel: ColumnSelection,
  opts: { dtype?: DType; scale?: number; path?: string } = {},
): Tensor {
  const k = sel.columns.length;
  const n = table.rows;
  let dtype = opts.dtype;
  if (!dtype) {
    let integral = k === 1;
    for (let i = 0; integral && i < n; i++) {
      integral = Number.isInteger(table.values[i * table.cols + sel.columns[0]]);
    }
    dtype = integral ? "i64" : "f32";
  }
  const t = zeros(dtype, sel.vector ? [n] : [n, k]);
  const scale = dtype === "f32" || dtype === "f64" || dtype === "f16" || dtype === "bf16"
    ? opts.scale ?? 1
    : 1;
  const range = isInteger(dtype) ? INT_RANGE[dtype] : undefined;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const v = table.values[i * table.cols + sel.columns[j]] * scale;
      if (range && !(Number.isInteger(v) && v >= range[0] && v <= range[1])) {
        fail(
          ...diag(
            "DLM0412",
            `data file '${opts.path ?? "the CSV data"}'`,
            `expected ${
              Number.isInteger(v) ? `an integer in ${range[0]}..${range[1]}` : "an integer"
            } for @${dtype} at line ${table.lines[i]}, column ${
              columnName(table, sel.columns[j])
            }, found ${v}`,
          ),
        );
      }
      if (dtype === "bool") (t.data as Uint8Array)[i * k + j] = v !== 0 ? 1 : 0;
      else setNumber(t, i * k + j, v);
    }
  }
  return t;
}
