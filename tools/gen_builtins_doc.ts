/**
 * Generates `spec/builtins.md`, the reference of the built-in layers, the
 * tensor functions and the training settings, from the tables the
 * elaborator and the training compiler use (`LAYERS`, `FUNCTIONS`, and the
 * optimiser, schedule and clipping rules of train_rules.ts), so the
 * reference cannot drift from the implementation.
 * `tests/spec_test.ts` fails when the committed file is out of date.
 *
 * Usage: `deno run -A tools/gen_builtins_doc.ts` (rewrites spec/builtins.md),
 * or `deno run -A tools/gen_builtins_doc.ts --check` (exit 1 when stale).
 *
 * The output is already in `deno fmt`'s markdown form (prose wrapped at 100
 * columns, tables padded), so `deno fmt --check` accepts it unchanged.
 */
import type { ArgType, ParamSig } from "../compiler/check/signature.ts";
import { show, type Value } from "../compiler/check/values.ts";
import { COMPILE_FNS, FUNCTIONS, INIT_FNS, LAYERS } from "../compiler/check/names.ts";
import {
  CLIPS,
  describeSetting,
  languageArgs,
  MINIBATCHES,
  MOVING_AVERAGE,
  type OptimizerRule,
  OPTIMIZERS,
  SCHEDULES,
  SECTION_SETTINGS,
  type SettingArg,
} from "../compiler/check/builtins/train_rules.ts";
import { writeFileAtomic } from "../runtime/fs.ts";

/** Where the generated reference lives, relative to the repository root. */
export const BUILTINS_DOC_PATH = "spec/builtins.md";

const LINE_WIDTH = 100;

/** How each argument type is written in a signature; a new ArgType fails `deno check` here. */
const TYPE_NAMES: Record<ArgType, string> = {
  tensor: "tensor",
  tensors: "tensor",
  int: "int",
  float: "float",
  number: "number",
  bool: "bool",
  str: "str",
  ints: "ints",
  ints_or_str: "ints_or_str",
  init: "initialiser",
  tensor_or_number: "tensor_or_number",
  any: "any",
};

/** What each type name accepts, for the legend. */
const TYPE_MEANINGS: [string, string][] = [
  ["tensor", "a tensor"],
  ["int", "an int"],
  ["float", "a number (an int is accepted)"],
  ["number", "an int or a float"],
  ["bool", "`true` or `false`"],
  ["str", 'a string such as `"same"`'],
  ["ints", "an int, or a tuple or list of ints; a single int is repeated for every spatial dim"],
  ["ints_or_str", "an int, a tuple or list of ints, or a string"],
  ["initialiser", 'an initialiser such as `zeros` or `kaiming_normal(mode: "fan_out")`'],
  ["tensor_or_number", "a tensor or a number"],
  ["any", "any value"],
];

/** One parameter as written in a signature: `stride: ints = 1`, `init?: initialiser`, `...xs: tensor`. */
export function formatParam(p: ParamSig): string {
  const type = TYPE_NAMES[p.type];
  if (p.variadic) return `...${p.name}: ${type}`;
  if (p.default !== undefined) return `${p.name}: ${type} = ${formatDefault(p.default)}`;
  return `${p.name}${p.optional ? "?" : ""}: ${type}`;
}

function formatDefault(v: Value): string {
  return v.k === "str" ? JSON.stringify(v.v) : show(v);
}

/**
 * A signature `name(p1, p2, ...)`, broken after a comma when it would pass
 * the line width, continuation lines indented under the first parameter.
 */
export function formatSignature(name: string, sig: ParamSig[]): string {
  const params = sig.map(formatParam);
  const indent = " ".repeat(name.length + 1);
  const lines: string[] = [];
  let line = `${name}(`;
  params.forEach((p, k) => {
    const piece = p + (k < params.length - 1 ? "," : ")");
    const sep = line.endsWith("(") ? "" : " ";
    if (line.length + sep.length + piece.length > LINE_WIDTH && !line.endsWith("(")) {
      lines.push(line);
      line = indent + piece;
    } else line += sep + piece;
  });
  if (params.length === 0) line += ")";
  lines.push(line);
  return lines.join("\n");
}

/**
 * Greedy word wrap at the line width, as `deno fmt` wraps markdown prose:
 * a code span is never broken, so it counts as one word.
 */
export function wrap(text: string, width = LINE_WIDTH): string {
  const words: string[] = [];
  let inCode = false;
  for (const w of text.split(/\s+/).filter((x) => x !== "")) {
    if (inCode) words[words.length - 1] += " " + w;
    else words.push(w);
    if ((w.split("`").length - 1) % 2 === 1) inCode = !inCode;
  }
  const out: string[] = [];
  let line = "";
  for (const word of words) {
    if (line === "") line = word;
    else if (line.length + 1 + word.length <= width) line += " " + word;
    else {
      out.push(line);
      line = word;
    }
  }
  if (line !== "") out.push(line);
  return out.join("\n");
}

/** Prose from a doc string: ends with a full stop; `*` outside code spans is escaped (`C*H*W`). */
function prose(doc: string): string {
  const text = doc.trim().split("`").map((s, k) => (k % 2 === 0 ? s.replace(/\*/g, "\\*") : s))
    .join("`");
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** A markdown table padded the way `deno fmt` pads it. Cells must not contain `|`. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, c) => Math.max(3, h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => `| ${cells.map((x, c) => x.padEnd(widths[c])).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function section(title: string, name: string, sig: ParamSig[], doc: string, extra: string): string {
  return [
    `### ${title}`,
    "",
    "```text",
    formatSignature(name, sig),
    "```",
    "",
    wrap(`${prose(doc)}${extra ? ` ${extra}` : ""}`),
  ].join("\n");
}

function inputsText(n: number | [number, number]): string {
  if (Array.isArray(n)) return `Applied to ${n[0]} to ${n[1]} tensors.`;
  return n === 1 ? "Applied to one tensor." : `Applied to ${n} tensors.`;
}

/** The whole of spec/builtins.md. */
export function generateBuiltinsDoc(): string {
  const layers = Object.values(LAYERS);
  const fns = Object.values(FUNCTIONS);
  const parts: string[] = [
    "# Built-in layers and functions",
    "",
    wrap(
      "This file is generated by `tools/gen_builtins_doc.ts` from `LAYERS` " +
        "(`compiler/check/builtins/layers.ts`) and `FUNCTIONS` (`compiler/check/builtins/functions.ts`). " +
        "Do not edit it by hand: change the tables and run `deno run -A tools/gen_builtins_doc.ts`. " +
        "The language itself, including the compile-time functions (`min`, `range`, `enumerate`, ...) " +
        "and the initialisers (`kaiming_normal`, `zeros`, ...), is specified in [language.md](language.md).",
    ),
    "",
    "## Reading the signatures",
    "",
    wrap(
      "Arguments are matched as in [language.md](language.md) section 6: positional arguments fill the " +
        "parameters in order, named ones (`kernel: 3`) by name. `name: type = value` has a default; " +
        "`name?: type` may be left out (the description says what that means); a parameter without either " +
        "is required (DLM0206 when missing). `...xs: tensor` takes all remaining positional tensors, or " +
        "a single tuple of tensors. The types:",
    ),
    "",
    table(["type", "accepts"], TYPE_MEANINGS.map(([t, m]) => [`\`${t}\``, m])),
    "",
    `## Layers (${layers.length})`,
    "",
    wrap(
      "A layer is configured by a first call, which gives it its parameters, and applied to tensors by " +
        "a second call or a pipe: `conv2d(64, kernel: 3)(x)` is `x |> conv2d(64, kernel: 3)`. Each " +
        "application of one configured instance uses the same weights. Parameter names and layouts " +
        "follow PyTorch; the defaults of the initial values are listed in language.md section 8.",
    ),
    "",
    table(["layer", "summary"], layers.map((l) => [`[\`${l.name}\`](#${l.name})`, oneLine(l.doc)])),
    "",
    ...layers.flatMap((
      l,
    ) => [section(l.name, l.name, l.sig, l.doc, inputsText(l.inputs ?? 1)), ""]),
    `## Functions (${fns.length})`,
    "",
    wrap(
      "Functions are stateless: they own no parameters and are applied directly. In a pipe the piped " +
        "value is the first argument: `x |> softmax(axis: 1)` is `softmax(x, axis: 1)`. A function " +
        "whose name is also a compile-time function (`abs`, `sqrt`, `exp`, `log`, `floor`, `ceil`) " +
        "runs at compile time when none of its arguments is a tensor.",
    ),
    "",
    table(["function", "summary"], fns.map((f) => [`[\`${f.name}\`](#${f.name})`, oneLine(f.doc)])),
    "",
    ...fns.flatMap((f) => [section(f.name, f.name, f.sig, f.doc, ""), ""]),
    ...trainingSettings(),
    "## Also built in",
    "",
    wrap(
      "The compile-time functions and the initialisers have no documentation strings in the compiler; " +
        "they are specified by hand in [language.md](language.md), whose test checks that these lists " +
        "and its tables agree.",
    ),
    "",
    bullet(`Compile-time functions (language.md 4.8): ${codeList(Object.keys(COMPILE_FNS))}.`),
    bullet(`Initialisers (language.md 8.2): ${codeList([...INIT_FNS])}.`),
  ];
  return parts.join("\n").replace(/\n*$/, "\n");
}

/** A setting's constructor arguments as a signature: all optional, with their defaults. */
function settingSig(args: readonly SettingArg[]): ParamSig[] {
  return languageArgs({ args }).map((a) => ({
    name: a.name,
    type: a.type,
    optional: a.default === undefined,
    default: a.default === undefined
      ? undefined
      : typeof a.default === "boolean"
      ? { k: "bool", v: a.default }
      : Number.isInteger(a.default) && a.type === "int"
      ? { k: "int", v: a.default }
      : { k: "float", v: a.default },
  }));
}

/** One setting: its signature, what it does, and a table of its arguments. */
function settingSection(
  rule: { name: string; doc: string; args: readonly SettingArg[] },
  extra = "",
): string {
  const rows = languageArgs(rule).map((
    a,
  ) => [`\`${a.name}\``, oneLine(describeSetting(a)), oneLine(a.doc)]);
  return [
    section(rule.name, rule.name, settingSig(rule.args), rule.doc, extra),
    "",
    table(["argument", "values", "meaning"], rows),
  ].join("\n");
}

/** The state an optimiser keeps per parameter, as a sentence. */
function slotsText(rule: OptimizerRule): string {
  if (rule.slots.length === 0) return "It keeps no state.";
  const slots = rule.slots.map((s) => `\`${s.name}\`${s.when ? ` (when ${s.when.doc})` : ""}`);
  return `State per parameter (inputs \`opt:<slot>:<param>\`): ${slots.join(", ")}.`;
}

/** The training settings of a train section: optimisers, schedules, clipping, weight averaging. */
function trainingSettings(): string[] {
  const all = [...OPTIMIZERS, ...SCHEDULES, ...CLIPS, MOVING_AVERAGE, MINIBATCHES];
  return [
    `## Training settings (${all.length})`,
    "",
    wrap(
      "The values of a train section's `optimizer`, `schedule`, `clip`, `ema` and `updates`, and of a " +
        "`phase`'s `optimizer:`. Every argument is named and may be left out; the defaults are " +
        "PyTorch's. Generated from the rules in `compiler/check/builtins/train_rules.ts`, which the " +
        "checker and the training compiler read. Without a schedule the rate is constant; without " +
        "`clip`, gradients are not clipped.",
    ),
    "",
    table(
      ["setting", "summary"],
      all.map((r) => [`[\`${r.name}\`](#${r.name})`, oneLine(r.doc)]),
    ),
    "",
    wrap(
      "A train section's settings besides `loss`, and the values each takes (`dlm check` reports " +
        "another type as DLM0201 and a number out of range as DLM0210, at the assignment; so are " +
        "the arguments below, at the argument):",
    ),
    "",
    table(
      ["setting", "values", "meaning"],
      SECTION_SETTINGS.map((
        a,
      ) => [
        `\`${a.name}\``,
        oneLine(
          a.specs ? "a call of " + a.specs.map((s) => `\`${s}\``).join(", ") : describeSetting(a),
        ),
        oneLine(a.doc),
      ]),
    ),
    "",
    ...OPTIMIZERS.flatMap((r) => [settingSection(r, slotsText(r)), ""]),
    ...SCHEDULES.flatMap((r) => [settingSection(r), ""]),
    ...CLIPS.flatMap((r) => [settingSection(r), ""]),
    settingSection(MOVING_AVERAGE),
    "",
    settingSection(MINIBATCHES),
    "",
  ];
}

/** A list item, wrapped with its continuation lines indented under the text. */
function bullet(text: string): string {
  return wrap(text, LINE_WIDTH - 2).split("\n").map((l, k) => (k === 0 ? "- " : "  ") + l).join(
    "\n",
  );
}

/** Names as a comma-separated list of code spans. */
function codeList(names: string[]): string {
  return names.map((n) => `\`${n}\``).join(", ");
}

/** A table cell: the doc on one line, without characters that would break the table. */
function oneLine(doc: string): string {
  return prose(doc).replace(/\s+/g, " ").replace(/\|/g, "\\|");
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url);
  const path = new URL(BUILTINS_DOC_PATH, root);
  const text = generateBuiltinsDoc();
  if (Deno.args.includes("--check")) {
    let current = "";
    try {
      current = Deno.readTextFileSync(path);
    } catch { /* a missing file is stale */ }
    if (current !== text) {
      console.error(
        `${BUILTINS_DOC_PATH} is out of date: run deno run -A tools/gen_builtins_doc.ts`,
      );
      Deno.exit(1);
    }
  } else {
    writeFileAtomic(path.pathname, text);
    console.error(`wrote ${BUILTINS_DOC_PATH}`);
  }
}
