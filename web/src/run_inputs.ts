/// <reference lib="dom" />
/**
 * Run inputs uploaded as .npy, next to the random ones: one file picker per model input, shown
 * once a compile or run has said what the inputs are. The bytes go to the worker as they are;
 * there runtime/formats/npy.ts reads them and runtime/inputs.ts checks dtype and shape against
 * the input as `dlm run --input` does, so a wrong file is the CLI's message (DLM0411), not a
 * crash. Also the weights download (safetensors, the CLI's writer, in the worker).
 */
import type { TensorInfo } from "./protocol.ts";

export interface Upload {
  input: string;
  file: string;
  bytes: Uint8Array;
}

/** The uploads chosen so far, by input name (kept until the example changes or "clear"). */
const chosen = new Map<string, Upload>();

/** A file picker per input in `span`, each labelled with the input's type. */
export function showUploads(span: HTMLElement, inputs: TensorInfo[]): void {
  // A picker (and its file) of an input the model no longer has goes: the program was edited.
  const names = new Set(inputs.map((i) => i.name));
  for (const field of [...span.querySelectorAll("input")]) {
    if (names.has(field.name)) continue;
    chosen.delete(field.name);
    field.closest("label")?.remove();
  }
  if (chosen.size) span.dataset.uploads = String(chosen.size);
  else delete span.dataset.uploads;
  const have = new Set([...span.querySelectorAll("input")].map((i) => i.name));
  for (const inp of inputs) {
    if (have.has(inp.name)) continue;
    const label = document.createElement("label");
    label.title = `an .npy file for input ${inp.name}: ${inp.dtype}[${inp.shape.join(", ")}]`;
    label.textContent = `${inp.name}.npy `;
    const field = document.createElement("input");
    field.type = "file";
    field.accept = ".npy";
    field.name = inp.name;
    field.onchange = async () => {
      const f = field.files?.[0];
      if (!f) chosen.delete(inp.name);
      else {
        chosen.set(inp.name, {
          input: inp.name,
          file: f.name,
          bytes: new Uint8Array(await f.arrayBuffer()),
        });
      }
      span.dataset.uploads = String(chosen.size);
    };
    label.append(field);
    span.append(label);
  }
}

export function clearUploads(span: HTMLElement): void {
  chosen.clear();
  span.replaceChildren();
  delete span.dataset.uploads;
}

/** The uploads to send with a run (copies: the worker may keep them). */
export function uploads(): Upload[] {
  return [...chosen.values()].map((u) => ({ ...u, bytes: u.bytes.slice() }));
}

/**
 * The dims form's values minus the symbols an uploaded file's shape sets (the file's shape is
 * the truth for them; a stale form value would only contradict it).
 */
export function dimsBesideUploads(
  dims: Record<string, number>,
  inputs: TensorInfo[],
): Record<string, number> {
  const bound = new Set<string>();
  for (const i of inputs) {
    if (!chosen.has(i.name)) continue;
    for (const d of i.shape) if (typeof d === "string") bound.add(d);
  }
  return Object.fromEntries(Object.entries(dims).filter(([k]) => !bound.has(k)));
}
