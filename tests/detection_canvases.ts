/**
 * Test support for the detection examples: digit canvases (tools/digits_detection_data.ts)
 * written as .npy files, and the `--data` arguments that name them as a train section reads them.
 */
import { writeNpy } from "../runtime/formats/mod.ts";
import { digitsCanvases } from "../tools/digits_detection_data.ts";

type Field = "image" | "boxes" | "labels" | "mask";

/** The canvases of `opts` in `dir`, each `--data NAME=FILE` its `as[NAME]` field (default: by their own names). */
export function writeCanvases(
  dir: string,
  opts: Parameters<typeof digitsCanvases>[0],
  as: Record<string, Field> = { image: "image", boxes: "boxes", labels: "labels", mask: "mask" },
): string[] {
  const d = digitsCanvases(opts);
  Deno.mkdirSync(dir, { recursive: true });
  for (const [name, field] of Object.entries(as)) {
    Deno.writeFileSync(`${dir}/${name}.npy`, writeNpy(d[field]));
  }
  return Object.keys(as).flatMap((name) => ["--data", `${name}=${dir}/${name}.npy`]);
}
