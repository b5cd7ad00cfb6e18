/**
 * PNG images, encoded and decoded by pngjs (pinned in deno.json: a pure-JS
 * encoder with no dependencies of its own). The image grids they draw (a batch
 * tiled into one picture) are image_grid.ts's, re-exported here; the browser
 * playground uses those without pngjs and its Node Buffer.
 * Pure byte-level code; callers read and write the files (runtime/fs.ts).
 */
import { Buffer } from "node:buffer";
import { PNG } from "pngjs";
import type { Image } from "./image_grid.ts";

export {
  autoRange,
  type Image,
  imageGrid,
  imageShape,
  type ValueRange,
  zoomImage,
} from "./image_grid.ts";

/** PNG colour types (PNG spec 11.2.2): 0 greyscale, 2 truecolour. */
const COLOR_TYPE = { 1: 0, 3: 2 } as const;

/** The PNG file of an image (8 bits a sample, greyscale or RGB). */
export function encodePng(img: Image): Uint8Array {
  if (img.data.length !== img.width * img.height * img.channels) {
    throw new Error(
      `internal error: ${img.width}x${img.height}x${img.channels} image with ${img.data.length} bytes`,
    );
  }
  const colorType = COLOR_TYPE[img.channels];
  const png = new PNG({
    width: img.width,
    height: img.height,
    colorType,
    inputColorType: colorType,
  });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  const out: Uint8Array = PNG.sync.write(png, { colorType, inputColorType: colorType });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** A PNG file's pixels as RGBA (what pngjs decodes to, whatever the file's colour type). */
export function decodePng(bytes: Uint8Array): { width: number; height: number; rgba: Uint8Array } {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const d: Uint8Array = png.data;
  return {
    width: png.width,
    height: png.height,
    rgba: new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
  };
}
